//! The SQL behind ranking: the facts a re-ranker needs about candidates, session
//! neighbours, stored vectors, known speakers, and access statistics.

use std::collections::HashMap;
use std::rc::Rc;

use crate::store::db::{params, Db};
use rusqlite::types::Value;

use super::layout::UserKey;
use super::queries::{
    blob_to_vector, memory_from_row, MEMORY_COLUMNS, MEMORY_COLUMN_COUNT, MEMORY_OCCURRED_AT,
};
use crate::error::Result;
use crate::memory::{Memory, MemoryId};

/// What ranking reads of a candidate memory: the memory itself (a hit is returned
/// from it) and what the signals need in a form that is cheap to use per query.
#[derive(Debug, Clone)]
pub(crate) struct RankRow {
    pub memory: Memory,
    pub user_key: UserKey,
    /// `memory.context.occurred_at` in unix milliseconds.
    pub occurred_at: i64,
    /// Arousal of the memory's emotional snapshot, if it has one.
    pub arousal: Option<f32>,
    pub access_count: u64,
    /// The text's words, lowercased, each with one space before and after
    /// ([`crate::text::word_line`]): who-matching looks names up in it.
    pub words: String,
    /// The vector the given model made, if there is one.
    pub vector: Option<Vec<f32>>,
}

/// Ids bound as one `rarray(?)` parameter.
pub(crate) fn id_array(ids: &[MemoryId]) -> Rc<Vec<Value>> {
    Rc::new(ids.iter().map(|&id| Value::Integer(id as i64)).collect())
}

/// Ranking facts of the user's memories among `ids` (others' and forgotten ones are
/// absent), with the vector `model_id` made of each (none without `model_id`: the caller
/// scores from its index). One cached statement for the whole list: a recall reads a few
/// hundred rows.
pub(crate) fn rank_rows(
    conn: &Db,
    user_key: UserKey,
    ids: &[MemoryId],
    model_id: Option<&str>,
) -> Result<Vec<(MemoryId, RankRow)>> {
    let mut out = Vec::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(out);
    }
    let (vector, join) = match model_id {
        Some(_) => ("v.data", "LEFT JOIN vectors v ON v.memory_id = m.id AND v.model_id = ?3"),
        None => ("NULL", ""),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MEMORY_COLUMNS}, m.arousal, m.access_count, {vector}
         FROM memories m JOIN users u ON u.user_key = m.user_key {join}
         WHERE m.id IN rarray(?2) AND +m.user_key = ?1"
    ))?;
    let mut rows = match model_id {
        Some(model) => stmt.query(params![user_key, id_array(ids), model])?,
        None => stmt.query(params![user_key, id_array(ids)])?,
    };
    while let Some(r) = rows.next()? {
        let memory = memory_from_row(&r)?;
        let vector =
            r.with_opt_blob(MEMORY_COLUMN_COUNT + 2, |b| Ok(b.map(blob_to_vector).transpose()?))?;
        out.push((
            memory.id,
            RankRow {
                user_key,
                occurred_at: r.get(MEMORY_OCCURRED_AT)?,
                arousal: r.get::<_, Option<f64>>(MEMORY_COLUMN_COUNT)?.map(|a| a as f32),
                access_count: r.get::<_, i64>(MEMORY_COLUMN_COUNT + 1)?.max(0) as u64,
                words: crate::text::word_line(&memory.text),
                vector,
                memory,
            },
        ));
    }
    Ok(out)
}

/// Ids of each given session's memories in time order (ties by id), in one statement.
pub(crate) fn session_timelines(
    conn: &Db,
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
        let session: String = r.get(0)?;
        let session = session.as_str();
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
pub(crate) fn speakers(conn: &Db, user_key: UserKey) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT speaker FROM memories WHERE user_key = ?1 AND speaker IS NOT NULL",
    )?;
    let rows = stmt.query_map([user_key], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<crate::store::db::SqlResult<_>>()?)
}
