//! Queries of a re-embedding: which vectors are not yet made by the target model, and their
//! replacement, one memory at a time, only while its text is unchanged.

use crate::store::db::{params, Db, OptionalExtension};

use super::{vector_to_blob, UserKey};
use crate::error::Result;
use crate::memory::MemoryId;

pub(crate) fn meta_delete(conn: &Db, key: &str) -> Result<()> {
    conn.execute("DELETE FROM meta WHERE key = ?1", [key])?;
    Ok(())
}

/// Vectors not made by `model_id`.
pub(crate) fn count_vectors_not_of(conn: &Db, model_id: &str) -> Result<u64> {
    let n: i64 =
        conn.query_row("SELECT count(*) FROM vectors WHERE model_id != ?1", [model_id], |r| r.get(0))?;
    Ok(n as u64)
}

/// Up to `limit` (memory id, text, user key) whose vector is not made by `model_id`.
pub(crate) fn memories_not_embedded_by(
    conn: &Db,
    model_id: &str,
    limit: usize,
) -> Result<Vec<(MemoryId, String, UserKey)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.id, m.text, m.user_key FROM vectors v JOIN memories m ON m.id = v.memory_id
         WHERE v.model_id != ?1 ORDER BY m.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![model_id, limit as i64], |r| {
        Ok((r.get::<_, i64>(0)? as MemoryId, r.get::<_, String>(1)?, r.get::<_, UserKey>(2)?))
    })?;
    Ok(rows.collect::<crate::store::db::SqlResult<_>>()?)
}

/// Replace the vector of memory `id` with `v` (a new vector id) if its text is still
/// `text`; false when the memory changed or is gone.
pub(crate) fn replace_vector_if_text(
    conn: &Db,
    id: MemoryId,
    text: &str,
    user_key: UserKey,
    model_id: &str,
    v: &[f32],
) -> Result<bool> {
    let current: Option<String> = conn
        .prepare_cached("SELECT text FROM memories WHERE id = ?1")?
        .query_row([id as i64], |r| r.get(0))
        .optional()?;
    if current.as_deref() != Some(text) {
        return Ok(false);
    }
    conn.prepare_cached("DELETE FROM vectors WHERE memory_id = ?1")?.execute([id as i64])?;
    conn.prepare_cached(
        "INSERT INTO vectors(memory_id, user_key, model_id, dim, data) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id as i64, user_key, model_id, v.len() as i64, vector_to_blob(v)])?;
    Ok(true)
}
