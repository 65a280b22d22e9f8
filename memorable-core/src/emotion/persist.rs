//! The SQL of the emotional layer (schema 3 tables `emotion_contexts`, `emotion_sources`,
//! `emotion_history`, `emotion_unknown_names`). Functions take a connection or transaction;
//! none commits on its own.

use std::collections::BTreeMap;

use crate::store::db::{params, Db, OptionalExtension};

use super::fusion::{ContextState, HistoryRecord, SourceRecord, SourceState};
use super::reading::Source;
use super::state::{ContextInfo, EmotionalState, HistoryRange};
use crate::error::{Error, Result};
use crate::time::{from_ms, to_ms};

fn corrupt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("emotion {what}: {e}"))
}

/// A context's fusion state, if the store has it.
pub(crate) fn load_context(conn: &Db, name: &str) -> Result<Option<ContextState>> {
    let row = conn
        .prepare_cached(
            "SELECT context_key, created_at, updated_at, readings, history_seq, closed_at
             FROM emotion_contexts WHERE name = ?1",
        )?
        .query_row([name], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, Option<i64>>(5)?,
            ))
        })
        .optional()?;
    let Some((key, created_at, updated_at, readings, history_seq, closed_at)) = row else {
        return Ok(None);
    };
    let mut ctx = ContextState::new(name, created_at);
    ctx.key = Some(key);
    ctx.updated_at = updated_at;
    ctx.readings = readings as u64;
    ctx.history_seq = history_seq;
    ctx.closed_at = closed_at;
    let mut stmt = conn.prepare_cached("SELECT source, state FROM emotion_sources WHERE context_key = ?1")?;
    let rows = stmt.query_map([key], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (source, state) = row?;
        let source: Source = source.parse().map_err(|e| corrupt("source name", e))?;
        let record: SourceRecord = serde_json::from_str(&state).map_err(|e| corrupt("source state", e))?;
        ctx.sources.push(SourceState::from_record(source, record));
    }
    ctx.sources.sort_by(|a, b| a.source.cmp(&b.source));
    Ok(Some(ctx))
}

/// Write a context's row, the source states in `touched`, and new history entries
/// `(seq, at_ms, state)`; trim its history to `history_limit` entries.
pub(crate) fn save_context(
    conn: &Db,
    ctx: &mut ContextState,
    touched: &[usize],
    history: &[(i64, i64, HistoryRecord)],
    history_limit: usize,
) -> Result<()> {
    let key = match ctx.key {
        Some(key) => {
            conn.prepare_cached(
                "UPDATE emotion_contexts SET updated_at = ?2, readings = ?3, history_seq = ?4, closed_at = ?5
                 WHERE context_key = ?1",
            )?
            .execute(params![
                key,
                ctx.updated_at,
                ctx.readings as i64,
                ctx.history_seq,
                ctx.closed_at
            ])?;
            key
        }
        None => {
            let key = conn.insert_id(
                "INSERT INTO emotion_contexts(name, created_at, updated_at, readings, history_seq, closed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                "context_key",
                params![
                    ctx.name,
                    ctx.created_at,
                    ctx.updated_at,
                    ctx.readings as i64,
                    ctx.history_seq,
                    ctx.closed_at
                ],
            )?;
            ctx.key = Some(key);
            key
        }
    };
    let mut put = conn.prepare_cached(
        "INSERT INTO emotion_sources(context_key, source, state) VALUES (?1, ?2, ?3)
         ON CONFLICT(context_key, source) DO UPDATE SET state = excluded.state",
    )?;
    for &i in touched {
        let st = &ctx.sources[i];
        put.execute(params![key, st.source.to_string(), serde_json::to_string(&st.to_record())?])?;
    }
    let mut add = conn
        .prepare_cached("INSERT INTO emotion_history(context_key, seq, at, state) VALUES (?1, ?2, ?3, ?4)")?;
    for (seq, at, state) in history {
        add.execute(params![key, seq, at, serde_json::to_string(state)?])?;
    }
    if !history.is_empty() {
        conn.prepare_cached("DELETE FROM emotion_history WHERE context_key = ?1 AND seq <= ?2")?
            .execute(params![key, ctx.history_seq - history_limit as i64])?;
    }
    Ok(())
}

/// Delete every context whose name starts with `prefix` (a user's own contexts,
/// `user_context(user, ...)`), with its sources and history; returns their names.
pub(crate) fn delete_contexts_with_prefix(conn: &Db, prefix: &str) -> Result<Vec<String>> {
    let found: Vec<(i64, String)> = conn
        .prepare_cached("SELECT context_key, name FROM emotion_contexts WHERE substr(name, 1, ?2) = ?1")?
        .query_map(params![prefix, prefix.chars().count() as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<crate::store::db::SqlResult<_>>()?;
    for (key, _) in &found {
        conn.prepare_cached("DELETE FROM emotion_history WHERE context_key = ?1")?.execute([key])?;
        conn.prepare_cached("DELETE FROM emotion_sources WHERE context_key = ?1")?.execute([key])?;
        conn.prepare_cached("DELETE FROM emotion_contexts WHERE context_key = ?1")?.execute([key])?;
    }
    Ok(found.into_iter().map(|(_, name)| name).collect())
}

/// Mark a context closed; false if the store has no such context.
pub(crate) fn close_context(conn: &Db, name: &str, now: i64) -> Result<bool> {
    let n = conn
        .prepare_cached("UPDATE emotion_contexts SET closed_at = coalesce(closed_at, ?2) WHERE name = ?1")?
        .execute(params![name, now])?;
    Ok(n > 0)
}

/// Every context, by name.
pub(crate) fn list_contexts(conn: &Db) -> Result<Vec<ContextInfo>> {
    let mut sources: BTreeMap<i64, Vec<Source>> = BTreeMap::new();
    let mut stmt = conn.prepare_cached("SELECT context_key, source FROM emotion_sources")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
        let (key, source) = row?;
        sources.entry(key).or_default().push(source.parse().map_err(|e| corrupt("source name", e))?);
    }
    let mut stmt = conn.prepare_cached(
        "SELECT context_key, name, created_at, updated_at, readings, closed_at FROM emotion_contexts ORDER BY name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, Option<i64>>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (key, name, created_at, updated_at, readings, closed_at) = row?;
        let mut srcs = sources.remove(&key).unwrap_or_default();
        srcs.sort();
        out.push(ContextInfo {
            context: name,
            created_at: from_ms(created_at),
            updated_at: from_ms(updated_at),
            readings: readings as u64,
            sources: srcs,
            open: closed_at.is_none(),
            closed_at: closed_at.map(from_ms),
        });
    }
    Ok(out)
}

/// A context's stored states in `range`, oldest first; `None` if there is no such context.
pub(crate) fn history(
    conn: &Db,
    name: &str,
    range: &HistoryRange,
    top_k: usize,
) -> Result<Option<Vec<EmotionalState>>> {
    let key: Option<i64> = conn
        .prepare_cached("SELECT context_key FROM emotion_contexts WHERE name = ?1")?
        .query_row([name], |r| r.get(0))
        .optional()?;
    let Some(key) = key else { return Ok(None) };
    let since = range.since.map_or(i64::MIN, to_ms);
    let until = range.until.map_or(i64::MAX, to_ms);
    let mut stmt = conn.prepare_cached(
        "SELECT state FROM emotion_history WHERE context_key = ?1 AND at >= ?2 AND at < ?3
         ORDER BY seq DESC LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![key, since, until, range.limit as i64], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        let record: HistoryRecord = serde_json::from_str(&row?).map_err(|e| corrupt("history state", e))?;
        out.push(record.into_state(name, Vec::new(), top_k));
    }
    out.reverse();
    Ok(Some(out))
}

/// Add to the counts of names outside the catalog.
pub(crate) fn count_unknown(conn: &Db, counts: &BTreeMap<String, u64>) -> Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO emotion_unknown_names(name, count) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET count = emotion_unknown_names.count + excluded.count",
    )?;
    for (name, n) in counts {
        stmt.execute(params![name, *n as i64])?;
    }
    Ok(())
}

/// (contexts, open contexts, readings, unknown name counts)
pub(crate) fn totals(conn: &Db) -> Result<(u64, u64, u64, BTreeMap<String, u64>)> {
    let (contexts, open, readings): (i64, i64, i64) = conn.query_row(
        "SELECT count(*), count(*) FILTER (WHERE closed_at IS NULL), CAST(coalesce(sum(readings), 0) AS BIGINT)
         FROM emotion_contexts",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut stmt = conn.prepare_cached("SELECT name, count FROM emotion_unknown_names")?;
    let unknown = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?
        .collect::<crate::store::db::SqlResult<BTreeMap<_, _>>>()?;
    Ok((contexts as u64, open as u64, readings as u64, unknown))
}
