//! Derived memories (summaries, facts): their links to the memories they came from, and what
//! forgetting a source takes with it. A derived memory keeps its sources in its row
//! (`derived_from`, read with the memory) and in `memory_sources` (indexed by source).

use crate::store::db::{params, Db, OptionalExtension};

use super::layout::UserKey;
use crate::error::{Error, Result};
use crate::memory::MemoryId;

/// Check that every source is a memory of `user_key`.
pub(crate) fn check_sources(conn: &Db, user_key: UserKey, sources: &[MemoryId]) -> Result<()> {
    let mut stmt = conn.prepare_cached("SELECT user_key FROM memories WHERE id = ?1")?;
    for &s in sources {
        let owner: Option<UserKey> = stmt.query_row([s as i64], |r| r.get(0)).optional()?;
        if owner != Some(user_key) {
            return Err(Error::InvalidInput(format!(
                "derived_from: memory {s} is not one of this user's memories"
            )));
        }
    }
    Ok(())
}

/// Record that memory `id` was derived from `sources` (checked to be `user_key`'s).
pub(crate) fn link(conn: &Db, id: MemoryId, user_key: UserKey, sources: &[MemoryId]) -> Result<()> {
    check_sources(conn, user_key, sources)?;
    let mut stmt =
        conn.prepare_cached("INSERT OR IGNORE INTO memory_sources(memory_id, source_id) VALUES (?1, ?2)")?;
    for &s in sources {
        stmt.execute(params![id as i64, s as i64])?;
    }
    Ok(())
}

/// Replace the sources of memory `id` (its row and its links).
pub(crate) fn set_sources(conn: &Db, id: MemoryId, user_key: UserKey, sources: &[MemoryId]) -> Result<()> {
    conn.prepare_cached("DELETE FROM memory_sources WHERE memory_id = ?1")?.execute([id as i64])?;
    link(conn, id, user_key, sources)?;
    let json = (!sources.is_empty()).then(|| serde_json::to_string(sources)).transpose()?;
    conn.prepare_cached("UPDATE memories SET derived_from = ?2 WHERE id = ?1")?
        .execute(params![id as i64, json])?;
    Ok(())
}

/// Memories derived from `source`.
pub(crate) fn dependents(conn: &Db, source: MemoryId) -> Result<Vec<MemoryId>> {
    let mut stmt =
        conn.prepare_cached("SELECT memory_id FROM memory_sources WHERE source_id = ?1 ORDER BY memory_id")?;
    let rows = stmt.query_map([source as i64], |r| Ok(r.get::<_, i64>(0)? as MemoryId))?;
    Ok(rows.collect::<crate::store::db::SqlResult<_>>()?)
}

fn sources_of(conn: &Db, id: MemoryId) -> Result<Vec<MemoryId>> {
    let mut stmt =
        conn.prepare_cached("SELECT source_id FROM memory_sources WHERE memory_id = ?1 ORDER BY source_id")?;
    let rows = stmt.query_map([id as i64], |r| Ok(r.get::<_, i64>(0)? as MemoryId))?;
    Ok(rows.collect::<crate::store::db::SqlResult<_>>()?)
}

/// Drop every link of a memory being deleted (whose text was `text`): as a derived memory,
/// and as a source. A memory derived from it keeps its other sources; returned, to be
/// deleted in turn, are those left with none, and those that quote the deleted text (an
/// extractive summary of several turns): keeping them would keep the forgotten words.
pub(crate) fn unlink(conn: &Db, id: MemoryId, text: &str) -> Result<Vec<MemoryId>> {
    conn.prepare_cached("DELETE FROM memory_sources WHERE memory_id = ?1")?.execute([id as i64])?;
    let derived = dependents(conn, id)?;
    conn.prepare_cached("DELETE FROM memory_sources WHERE source_id = ?1")?.execute([id as i64])?;
    let quoted = quotable(text);
    let mut orphans = Vec::new();
    for d in derived {
        let left = sources_of(conn, d)?;
        let derived_text: String = conn
            .prepare_cached("SELECT text FROM memories WHERE id = ?1")?
            .query_row([d as i64], |r| r.get(0))?;
        if left.is_empty() || quoted.iter().any(|q| derived_text.contains(q.as_str())) {
            orphans.push(d);
            continue;
        }
        let json = serde_json::to_string(&left)?;
        conn.prepare_cached("UPDATE memories SET derived_from = ?2 WHERE id = ?1")?
            .execute(params![d as i64, json])?;
    }
    Ok(orphans)
}

/// The pieces of a text whose presence in another text is a quote: its sentences of at
/// least [`QUOTE_CHARS`] characters (the whole text when it is one short sentence).
fn quotable(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .split(['.', '!', '?', '\n'])
        .map(str::trim)
        .filter(|s| s.chars().count() >= QUOTE_CHARS)
        .map(str::to_owned)
        .collect();
    let whole = text.trim();
    if out.is_empty() && whole.chars().count() >= QUOTE_CHARS / 2 {
        out.push(whole.to_owned());
    }
    out
}

/// Shortest sentence taken as a quote (shorter ones, "I agree", are everywhere).
const QUOTE_CHARS: usize = 16;
