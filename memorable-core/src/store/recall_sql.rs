//! The SQL behind ranking: the facts a re-ranker needs about candidates, session
//! neighbours, stored vectors, known speakers, and access statistics.

use std::collections::HashMap;

use rusqlite::{params, Connection, OptionalExtension};

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
}

/// Ranking facts of the user's memories among `ids` (others' and forgotten ones are absent).
pub(crate) fn rank_rows(
    conn: &Connection,
    user_key: UserKey,
    ids: &[MemoryId],
) -> Result<HashMap<MemoryId, RankRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT session, speaker, occurred_at, importance, emotion, access_count, text
         FROM memories WHERE id = ?1 AND user_key = ?2",
    )?;
    let mut out = HashMap::with_capacity(ids.len());
    for &id in ids {
        let row = stmt
            .query_row(params![id as i64, user_key], |r| {
                let emotion: Option<String> = r.get(4)?;
                Ok(RankRow {
                    session: r.get(0)?,
                    speaker: r.get(1)?,
                    occurred_at: r.get(2)?,
                    importance: r.get::<_, f64>(3)? as f32,
                    // A snapshot that does not parse only loses its ranking signals.
                    emotion: emotion.and_then(|e| serde_json::from_str(&e).ok()),
                    access_count: r.get::<_, i64>(5)?.max(0) as u64,
                    text: r.get(6)?,
                })
            })
            .optional()?;
        if let Some(row) = row {
            out.insert(id, row);
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

/// Vectors (made by `model_id`) of the memories among `ids`.
pub(crate) fn vectors_of(
    conn: &Connection,
    model_id: &str,
    ids: &[MemoryId],
) -> Result<HashMap<MemoryId, Vec<f32>>> {
    let mut stmt = conn.prepare_cached("SELECT data FROM vectors WHERE memory_id = ?1 AND model_id = ?2")?;
    let mut out = HashMap::with_capacity(ids.len());
    for &id in ids {
        let blob: Option<Vec<u8>> = stmt.query_row(params![id as i64, model_id], |r| r.get(0)).optional()?;
        if let Some(b) = blob {
            out.insert(id, blob_to_vector(&b)?);
        }
    }
    Ok(out)
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
pub(crate) fn record_access(conn: &Connection, ids: &[MemoryId], now: i64) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "UPDATE memories SET access_count = access_count + 1, last_accessed_at = ?2 WHERE id = ?1",
    )?;
    for &id in ids {
        stmt.execute(params![id as i64, now])?;
    }
    Ok(())
}
