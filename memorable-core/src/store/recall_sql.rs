//! The SQL behind ranking: the facts a re-ranker needs about candidates, session
//! neighbours, stored vectors, known speakers, and access statistics.

use std::collections::HashMap;

use rusqlite::{params, Connection};

use super::queries::{blob_to_vector, UserKey};
use crate::error::Result;
use crate::memory::{EmotionSnapshot, MemoryId};

/// What ranking reads of a candidate memory.
#[derive(Debug, Clone)]
pub(crate) struct RankRow {
    pub session: Option<String>,
    pub speaker: Option<String>,
    pub occurred_at: i64,
    pub importance: f32,
    pub emotion: Option<EmotionSnapshot>,
    pub access_count: u64,
    pub text: String,
    /// The stored vector, when asked for.
    pub vector: Option<Vec<f32>>,
}

/// Ranking facts of the user's memories among `ids` (others' and forgotten ones are
/// absent), with their vectors made by `model_id` when one is given. One statement per
/// chunk of ids, not one per memory: a recall reads a few hundred of them.
pub(crate) fn rank_rows(
    conn: &Connection,
    user_key: UserKey,
    ids: &[MemoryId],
    model_id: Option<&str>,
) -> Result<HashMap<MemoryId, RankRow>> {
    const CHUNK: usize = 500;
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let marks = vec!["?"; chunk.len()].join(",");
        let sql = format!(
            "SELECT m.id, m.session, m.speaker, m.occurred_at, m.importance, m.emotion, m.access_count,
                    m.text, v.data
             FROM memories m LEFT JOIN vectors v ON v.memory_id = m.id AND v.model_id = ?1
             WHERE m.user_key = ?2 AND m.id IN ({marks})"
        );
        let mut stmt = conn.prepare(&sql)?;
        let mut args: Vec<rusqlite::types::Value> = Vec::with_capacity(chunk.len() + 2);
        args.push(model_id.unwrap_or("").to_owned().into());
        args.push(user_key.into());
        args.extend(chunk.iter().map(|&id| rusqlite::types::Value::Integer(id as i64)));
        let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
        while let Some(r) = rows.next()? {
            let emotion: Option<String> = r.get(5)?;
            let blob: Option<Vec<u8>> = if model_id.is_some() { r.get(8)? } else { None };
            out.insert(
                r.get::<_, i64>(0)? as MemoryId,
                RankRow {
                    session: r.get(1)?,
                    speaker: r.get(2)?,
                    occurred_at: r.get(3)?,
                    importance: r.get::<_, f64>(4)? as f32,
                    // A snapshot that does not parse only loses its ranking signals.
                    emotion: emotion.and_then(|e| serde_json::from_str(&e).ok()),
                    access_count: r.get::<_, i64>(6)?.max(0) as u64,
                    text: r.get(7)?,
                    vector: blob.as_deref().map(blob_to_vector).transpose()?,
                },
            );
        }
    }
    Ok(out)
}

/// Ids of a session's memories in time order (ties by id): the first `cap` of them.
pub(crate) fn session_timeline(
    conn: &Connection,
    user_key: UserKey,
    session: &str,
    cap: usize,
) -> Result<Vec<MemoryId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM memories WHERE user_key = ?1 AND session = ?2
         ORDER BY occurred_at, id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![user_key, session, cap as i64], |r| r.get::<_, i64>(0))?;
    Ok(rows.map(|r| r.map(|id| id as MemoryId)).collect::<rusqlite::Result<_>>()?)
}

/// Distinct speakers of a user's memories.
pub(crate) fn speakers(conn: &Connection, user_key: UserKey) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT speaker FROM memories WHERE user_key = ?1 AND speaker IS NOT NULL",
    )?;
    let rows = stmt.query_map([user_key], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Count one access of each memory in `ids`, at `now` (unix ms).
/// One transaction, so a recall costs one commit however many hits it counts.
pub(crate) fn record_access(conn: &mut Connection, ids: &[MemoryId], now: i64) -> Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "UPDATE memories SET access_count = access_count + 1, last_accessed_at = ?2 WHERE id = ?1",
        )?;
        for &id in ids {
            stmt.execute(params![id as i64, now])?;
        }
    }
    tx.commit()?;
    Ok(())
}
