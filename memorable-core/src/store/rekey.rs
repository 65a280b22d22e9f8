//! `rekey`: give an encrypted store a new key, offline (the store must not be open).
//!
//! SQLCipher's `PRAGMA rekey` re-encrypts every page in one transaction: a crash leaves
//! the database entirely under the old key or entirely under the new one. The key marker
//! (`crypto::marker`) is rewritten after the commit; a crash between the two leaves a stale
//! marker that the next open with the new key repairs. So after an interrupted rekey exactly
//! one of the two keys opens the store, with every memory intact.

use std::path::Path;

use rusqlite::Connection;

use super::{lock_dir, open_error, DB_FILE};
use crate::crash::crash_point;
use crate::crypto::{self, EncryptionKey, MasterKey};
use crate::error::{Error, Result};

/// Re-encrypt the store in `dir` from `old` to `new`. `WRONG_KEY` when `old` does not open
/// it (or it is not encrypted), `LOCKED` while another process has it open; nothing changes
/// in either case.
pub fn rekey(dir: impl AsRef<Path>, old: &EncryptionKey, new: &EncryptionKey) -> Result<()> {
    let dir = dir.as_ref();
    let _span = tracing::info_span!("rekey").entered();
    let db = dir.join(DB_FILE);
    if !db.is_file() {
        return Err(Error::InvalidInput(format!("{} holds no MemoRable store", dir.display())));
    }
    let _lock = lock_dir(dir)?;
    if crypto::marker_iterations(dir)?.is_none() {
        return Err(Error::WrongKey(format!(
            "the store in {} is not encrypted: rekey changes the key of an encrypted store",
            dir.display()
        )));
    }
    let master = crypto::store_key(dir, &db, Some(old))?
        .ok_or_else(|| Error::Internal("an encrypted store without a key".into()))?;
    let conn = Connection::open(&db).map_err(|e| open_error(dir, e))?;
    crypto::apply(&conn, Some(&master))?;
    crypto::read_header(&conn, Some(&master), dir, |e| open_error(dir, e))?;
    let next = MasterKey::derive(new, master.salt(), master.iterations())?;
    // Old-key frames leave the WAL first, so nothing under the old key outlives the rekey.
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let sql = zeroize::Zeroizing::new(format!("PRAGMA rekey = \"{}\";", next.sqlcipher_key().as_str()));
    conn.execute_batch(&sql)
        .map_err(|e| Error::Storage(format!("rekey failed (the old key still opens the store): {e}")))?;
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    crash_point("rekey:before-marker");
    crypto::write_marker(dir, &next)?;
    drop(conn);
    // The index dumps are sealed under the old key: they go (each index is rebuilt and
    // dumped again under the new key at its first load).
    if let Ok(entries) = std::fs::read_dir(dir.join(super::INDEX_DIR)) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    tracing::info!("store rekeyed");
    Ok(())
}
