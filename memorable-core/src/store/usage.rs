//! What each user holds (memories, bytes of text and metadata), kept in the `users` row so a
//! quota check is one primary-key read, not a scan of the user's memories. Inserts add to it
//! from the write path, once per user per batch; deletes and text or metadata updates adjust
//! it through triggers (schema 7), whichever code path they come from.

use crate::store::db::{params, Db, OptionalExtension};

use super::UserKey;
use crate::error::Result;

/// Bytes a memory counts for against `limits.max_bytes_per_user` (as the triggers count:
/// UTF-8 text plus the metadata's JSON).
pub(crate) fn memory_bytes(text: &str, metadata_json_len: usize) -> u64 {
    (text.len() + metadata_json_len) as u64
}

/// (memories, bytes) a user holds now (0, 0 for a user without a row).
pub(crate) fn user_usage(conn: &Db, user_key: UserKey) -> Result<(u64, u64)> {
    let row: Option<(i64, i64)> = conn
        .prepare_cached("SELECT memories, bytes FROM users WHERE user_key = ?1")?
        .query_row([user_key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (n, b) = row.unwrap_or((0, 0));
    Ok((n.max(0) as u64, b.max(0) as u64))
}

/// Count `memories` new memories of `bytes` bytes for a user.
pub(crate) fn add_usage(conn: &Db, user_key: UserKey, memories: u64, bytes: u64) -> Result<()> {
    conn.prepare_cached("UPDATE users SET memories = memories + ?2, bytes = bytes + ?3 WHERE user_key = ?1")?
        .execute(params![user_key, memories as i64, bytes as i64])?;
    Ok(())
}
