//! Persisted background jobs: one row each, with its parameters, state, progress, result,
//! error and a bounded log. Jobs of a user are erased with the user.

use crate::store::db::{params, Db, OptionalExtension, Row};
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

fn row(r: &Row<'_>) -> crate::store::db::SqlResult<JobRow> {
    let json = |i: usize, s: String| -> crate::store::db::SqlResult<Value> {
        serde_json::from_str(&s).map_err(|e| crate::error::Error::Corrupt(format!("column {i}: {e}")).into())
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
    conn: &Db,
    kind: &str,
    state: &str,
    user_key: Option<UserKey>,
    params: &Value,
    now: i64,
) -> Result<u64> {
    let id = conn.insert_id(
        "INSERT INTO jobs(kind, state, user_key, params, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        "id",
        params![kind, state, user_key, params.to_string(), now],
    )?;
    Ok(id as u64)
}

pub(crate) fn get_job(conn: &Db, id: u64) -> Result<Option<JobRow>> {
    let sql =
        format!("SELECT {COLUMNS} FROM jobs j LEFT JOIN users u ON u.user_key = j.user_key WHERE j.id = ?1");
    Ok(conn.prepare_cached(&sql)?.query_row([id as i64], row).optional()?)
}

/// Jobs, newest first, at most `limit`.
pub(crate) fn list_jobs(conn: &Db, limit: usize) -> Result<Vec<JobRow>> {
    let sql = format!("SELECT {COLUMNS} FROM jobs j LEFT JOIN users u ON u.user_key = j.user_key ORDER BY j.id DESC LIMIT ?1");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([limit as i64], row)?;
    Ok(rows.collect::<crate::store::db::SqlResult<_>>()?)
}

pub(crate) fn set_progress(conn: &Db, id: u64, progress: &Value, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE jobs SET progress = ?2, updated_at = ?3 WHERE id = ?1")?.execute(params![
        id as i64,
        progress.to_string(),
        now
    ])?;
    Ok(())
}

/// Record how a job ended.
pub(crate) fn finish_job(
    conn: &Db,
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
pub(crate) fn log_line(conn: &Db, id: u64, line: &str, now: i64) -> Result<()> {
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
pub(crate) fn fail_interrupted(conn: &Db, now: i64) -> Result<usize> {
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
pub(crate) fn set_state(conn: &Db, id: u64, state: &str, now: i64) -> Result<()> {
    conn.prepare_cached("UPDATE jobs SET state = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id as i64, state, now])?;
    Ok(())
}

/// How long a `running` job may go without an update before another process may take it
/// over (its runner is presumed dead: on a shared store nobody fails it at open).
pub(crate) const JOB_LEASE_MS: i64 = 10 * 60 * 1000;

/// Claim job `id` for this process: it becomes `running` unless another process runs it (a
/// `running` job updated within [`JOB_LEASE_MS`]). One statement, so of several instances
/// claiming at once exactly one gets it; false for the others.
pub(crate) fn claim(conn: &Db, id: u64, now: i64) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE jobs SET state = 'running', updated_at = ?2
             WHERE id = ?1 AND (state IN ('queued', 'paused') OR (state = 'running' AND updated_at < ?3))",
        )?
        .execute(params![id as i64, now, now - JOB_LEASE_MS])?;
    Ok(n == 1)
}

/// The oldest queued job of `kind`.
pub(crate) fn next_queued(conn: &Db, kind: &str) -> Result<Option<u64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM jobs WHERE state = 'queued' AND kind = ?1 ORDER BY id LIMIT 1")?
        .query_row([kind], |r| r.get::<_, i64>(0))
        .optional()?
        .map(|id| id as u64))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::{Store, StoreOptions};

    /// Of two claims of a queued job, one wins; a claim of a running job whose lease ran
    /// out (its runner died) wins again.
    fn claims_are_exclusive(store: &Store) {
        let w = store.locked();
        let id = insert_job(&w, RESUMABLE_KIND, "queued", None, &json!({}), 1_000).unwrap();
        assert!(claim(&w, id, 2_000).unwrap());
        assert!(!claim(&w, id, 3_000).unwrap(), "a running job is not claimed twice");
        assert!(claim(&w, id, 3_000 + JOB_LEASE_MS).unwrap(), "a job past its lease is taken over");
        finish_job(&w, id, "succeeded", Some(&json!({})), None, 4_000 + JOB_LEASE_MS).unwrap();
        assert!(!claim(&w, id, 10 * JOB_LEASE_MS).unwrap(), "an ended job is never claimed");
    }

    #[test]
    fn claims_on_sqlite() {
        claims_are_exclusive(&Store::open_in_memory(&StoreOptions::default()).unwrap());
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn claims_on_postgres() {
        let Some(db) = crate::store::pg_url::testing::TestDb::create("claims") else { return };
        let target = crate::store::PgTarget::parse(&db.url).unwrap();
        claims_are_exclusive(&Store::open_postgres(&target, &StoreOptions::default()).unwrap());
    }
}
