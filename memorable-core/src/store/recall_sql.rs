//! The SQL behind ranking: the facts a re-ranker needs about candidates, session
//! neighbours, stored vectors, known speakers, and access statistics.

use std::collections::HashMap;
use std::rc::Rc;

use rusqlite::types::Value;
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
    /// Arousal of the memory's emotional snapshot, if it has one.
    pub arousal: Option<f32>,
    /// The whole snapshot, only when asked for (mood ranking): parsing it costs more
    /// than the rest of the row.
    pub emotion: Option<EmotionSnapshot>,
    pub access_count: u64,
    pub text: String,
    /// The stored vector, when asked for.
    pub vector: Option<Vec<f32>>,
}

/// What [`rank_rows`] reads besides the plain columns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RankFetch<'a> {
    /// Read the vectors this model made.
    pub model_id: Option<&'a str>,
    /// Parse the whole emotional snapshot.
    pub snapshot: bool,
}

/// Ids bound as one `rarray(?)` parameter.
pub(crate) fn id_array(ids: &[MemoryId]) -> Rc<Vec<Value>> {
    Rc::new(ids.iter().map(|&id| Value::Integer(id as i64)).collect())
}

/// Ranking facts of the user's memories among `ids` (others' and forgotten ones are
/// absent). One cached statement for the whole list: a recall reads a few hundred rows.
pub(crate) fn rank_rows(
    conn: &Connection,
    user_key: UserKey,
    ids: &[MemoryId],
    fetch: RankFetch<'_>,
) -> Result<HashMap<MemoryId, RankRow>> {
    let mut out = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(out);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT m.id, m.session, m.speaker, m.occurred_at, m.importance,
                m.arousal, CASE WHEN ?4 THEN m.emotion END, m.access_count, m.text, v.data
         FROM memories m LEFT JOIN vectors v ON v.memory_id = m.id AND v.model_id = ?1
         WHERE m.id IN rarray(?3) AND +m.user_key = ?2",
    )?;
    let mut rows =
        stmt.query(params![fetch.model_id.unwrap_or(""), user_key, id_array(ids), fetch.snapshot])?;
    while let Some(r) = rows.next()? {
        // A snapshot that does not parse only loses its ranking signals.
        let json = r.get_ref(6)?.as_str_or_null().map_err(rusqlite::Error::from)?;
        let emotion: Option<EmotionSnapshot> = json.and_then(|j| serde_json::from_str(j).ok());
        let vector = match r.get_ref(9)?.as_blob_or_null().map_err(rusqlite::Error::from)? {
            Some(b) if fetch.model_id.is_some() => Some(blob_to_vector(b)?),
            _ => None,
        };
        out.insert(
            r.get::<_, i64>(0)? as MemoryId,
            RankRow {
                session: r.get(1)?,
                speaker: r.get(2)?,
                occurred_at: r.get(3)?,
                importance: r.get::<_, f64>(4)? as f32,
                arousal: r.get::<_, Option<f64>>(5)?.map(|a| a as f32),
                emotion,
                access_count: r.get::<_, i64>(7)?.max(0) as u64,
                text: r.get(8)?,
                vector,
            },
        );
    }
    Ok(out)
}

/// Ids of each given session's memories in time order (ties by id), in one statement.
pub(crate) fn session_timelines(
    conn: &Connection,
    user_key: UserKey,
    sessions: &[String],
) -> Result<HashMap<String, Vec<MemoryId>>> {
    let mut out: HashMap<String, Vec<MemoryId>> = HashMap::with_capacity(sessions.len());
    if sessions.is_empty() {
        return Ok(out);
    }
    let names: Rc<Vec<Value>> = Rc::new(sessions.iter().map(|s| Value::Text(s.clone())).collect());
    let mut stmt = conn.prepare_cached(
        "SELECT session, id FROM memories WHERE user_key = ?1 AND session IN rarray(?2)
         ORDER BY session, occurred_at, id",
    )?;
    let mut rows = stmt.query(params![user_key, names])?;
    let mut current: Option<(String, Vec<MemoryId>)> = None;
    while let Some(r) = rows.next()? {
        let session = r.get_ref(0)?.as_str().map_err(rusqlite::Error::from)?;
        let id = r.get::<_, i64>(1)? as MemoryId;
        match &mut current {
            Some((s, ids)) if s == session => ids.push(id),
            _ => {
                if let Some((s, ids)) = current.take() {
                    out.insert(s, ids);
                }
                current = Some((session.to_owned(), vec![id]));
            }
        }
    }
    if let Some((s, ids)) = current {
        out.insert(s, ids);
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
