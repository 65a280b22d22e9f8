//! Persisted background jobs: one row each, with its parameters, state, progress, result,
//! error and a bounded log. Jobs of a user are erased with the user.

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde_json::Value;

use super::UserKey;
use crate::error::Result;

/// Most log lines a job keeps (the oldest go first).
const LOG_LINES: usize = 200;

/// A job row as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JobRow {
    pub id: u64,
    pub kind: String,
    pub state: String,
    pub user: Option<String>,
    pub params: Value,
    pub progress: Value,
    pub result: Option<Value>,
    pub error: Option<String>,
    pub log: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "j.id, j.kind, j.state, u.name, j.params, j.progress, j.result, j.error, j.log, j.created_at, j.updated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<JobRow> {
    let json = |i: usize, s: String| -> rusqlite::Result<Value> {
        serde_json::from_str(&s).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    };
    let result: Option<String> = r.get(6)?;
    let log: String = r.get(8)?;
    Ok(JobRow {
        id: r.get::<_, i64>(0)? as u64,
        kind: r.get(1)?,
        state: r.get(2)?,
        user: r.get(3)?,
        params: json(4, r.get(4)?)?,
        progress: json(5, r.get(5)?)?,
        result: result.map(|s| json(6, s)).transpose()?,
        error: r.get(7)?,
        log: serde_json::from_str(&log).unwrap_or_default(),
        created_at: r.get(9)?,
        updated_at: r.get(10)?,
    })
}

pub(crate) fn insert_job(
    conn: &Connection,
    kind: &str,
    state: &str,
    user_key: Option<UserKey>,
    params: &Value,
    now: i64,
) -> Result<u64> {
    conn.prepare_cached(
        "INSERT INTO jobs(kind, state, user_key, params, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute(params![kind, state, user_key, params.to_string(), now])?;
    Ok(conn.last_insert_rowid() as u64)
}

pub(crate) fn get_job(conn: &Connection, id: u64) -> Result<Option<JobRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM jobs j LEFT JOIN users u ON u.user_key = j.user_key WHERE j.id = ?1");
    Ok(conn.prepare_cached(&sql)?.query_row([id as i64], row).optional()?)
}

/// Jobs, newest first, at most `limit`.
pub(crate) fn list_jobs(conn: &Connection, limit: usize) -> Result<Vec<JobRow>> {
    let sql = format!("SELECT {COLUMNS} FROM jobs j LEFT JOIN users u ON u.user_key = j.user_key ORDER BY j.id DESC LIMIT ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([limit as i64], row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn set_progress(conn: &Connection, id: u64, progress: &Value, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE jobs SET progress = ?2, updated_at = ?3 WHERE id = ?1")?.execute(params![
        id as i64,
        progress.to_string(),
        now
    ])?;
    Ok(())
}

/// Record how a job ended.
pub(crate) fn finish_job(
    conn: &Connection,
    id: u64,
    state: &str,
    result: Option<&Value>,
    error: Option<&str>,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE jobs SET state = ?2, result = ?3, error = ?4, updated_at = ?5 WHERE id = ?1",
    )?
    .execute(params![id as i64, state, result.map(Value::to_string), error, now])?;
    Ok(())
}

/// Append a line to a job's log.
pub(crate) fn log_line(conn: &Connection, id: u64, line: &str, now: i64) -> Result<()> {
    let log: Option<String> = conn
        .prepare_cached("SELECT log FROM jobs WHERE id = ?1")?
        .query_row([id as i64], |r| r.get(0))
        .optional()?;
    let mut lines: Vec<String> = log.and_then(|l| serde_json::from_str(&l).ok()).unwrap_or_default();
    lines.push(line.to_owned());
    if lines.len() > LOG_LINES {
        lines.drain(..lines.len() - LOG_LINES);
    }
    conn.prepare_cached("UPDATE jobs SET log = ?2, updated_at = ?3 WHERE id = ?1")?.execute(params![
        id as i64,
        serde_json::to_string(&lines)?,
        now
    ])?;
    Ok(())
}

/// Kind of the jobs that resume after an interruption (they keep checkpoints).
pub(crate) const RESUMABLE_KIND: &str = "train-emotion";

/// Jobs left `running` by a process that ended (crash, kill) become `failed`, saying so,
/// except resumable ones, which go back to `queued` (they continue from their checkpoint);
/// returns how many failed. Called at open, before any job of this process starts.
pub(crate) fn fail_interrupted(conn: &Connection, now: i64) -> Result<usize> {
    conn.prepare_cached(
        "UPDATE jobs SET state = 'queued', updated_at = ?1 WHERE state = 'running' AND kind = ?2",
    )?
    .execute(params![now, RESUMABLE_KIND])?;
    Ok(conn
        .prepare_cached(
            "UPDATE jobs SET state = 'failed', error = 'interrupted: the process ended while it ran; run it again', updated_at = ?1
             WHERE state IN ('running', 'queued') AND kind <> ?2",
        )?
        .execute(params![now, RESUMABLE_KIND])?)
}

/// Set a job's state (not an ending: see [`finish_job`]).
pub(crate) fn set_state(conn: &Connection, id: u64, state: &str, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE jobs SET state = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id as i64, state, now])?;
    Ok(())
}

/// The oldest queued job of `kind`.
pub(crate) fn next_queued(conn: &Connection, kind: &str) -> Result<Option<u64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM jobs WHERE state = 'queued' AND kind = ?1 ORDER BY id LIMIT 1")?
        .query_row([kind], |r| r.get::<_, i64>(0))
        .optional()?
        .map(|id| id as u64))
}
