//! Custom classifiers' rows: label sets, labelled examples (the application's or a user's),
//! per-user calibrations and training checkpoints. Everything of a user goes with
//! `delete_user`.

use crate::store::db::{params, Db, OptionalExtension};

use super::UserKey;
use crate::error::Result;

/// Scope key of the application's own examples (user keys start at 1).
pub(crate) const APP_SCOPE: UserKey = 0;

/// A classifier row: name, labels (JSON array), mapping (JSON object), creation time.
pub(crate) type ClassifierRow = (String, String, String, i64);

pub(crate) fn put_classifier(conn: &Db, name: &str, labels: &str, mapping: &str, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO classifiers(name, labels, mapping, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(name) DO UPDATE SET labels = excluded.labels, mapping = excluded.mapping",
    )?
    .execute(params![name, labels, mapping, now])?;
    Ok(())
}

pub(crate) fn get_classifier(conn: &Db, name: &str) -> Result<Option<ClassifierRow>> {
    Ok(conn
        .prepare_cached("SELECT name, labels, mapping, created_at FROM classifiers WHERE name = ?1")?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?)
}

pub(crate) fn list_classifiers(conn: &Db) -> Result<Vec<ClassifierRow>> {
    let mut stmt =
        conn.prepare_cached("SELECT name, labels, mapping, created_at FROM classifiers ORDER BY name")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<crate::store::db::SqlResult<_>>()?)
}

/// One labelled example as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExampleRow {
    pub id: u64,
    pub user: Option<String>,
    pub text: String,
    /// JSON array of label names.
    pub labels: String,
    pub source: String,
    pub memory_id: Option<u64>,
    pub created_at: i64,
}

/// Insert an example, or replace the labels and provenance of the one with the same
/// (classifier, scope, text). Returns true when it was new.
#[allow(clippy::too_many_arguments)]
pub(crate) fn upsert_example(
    conn: &Db,
    classifier: &str,
    scope: UserKey,
    text: &str,
    labels: &str,
    source: &str,
    memory_id: Option<u64>,
    now: i64,
) -> Result<bool> {
    let existed: Option<i64> = conn
        .prepare_cached("SELECT id FROM examples WHERE classifier = ?1 AND scope_key = ?2 AND text = ?3")?
        .query_row(params![classifier, scope, text], |r| r.get(0))
        .optional()?;
    conn.prepare_cached(
        "INSERT INTO examples(classifier, scope_key, text, labels, source, memory_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(classifier, scope_key, text) DO UPDATE SET
             labels = excluded.labels, source = excluded.source,
             memory_id = excluded.memory_id, created_at = excluded.created_at",
    )?
    .execute(params![classifier, scope, text, labels, source, memory_id.map(|m| m as i64), now])?;
    Ok(existed.is_none())
}

/// Examples of `classifier`: the application's (`scope` = `Some(APP_SCOPE)`), one user's, or
/// all (`None`), in insertion order.
pub(crate) fn list_examples(conn: &Db, classifier: &str, scope: Option<UserKey>) -> Result<Vec<ExampleRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.id, u.name, e.text, e.labels, e.source, e.memory_id, e.created_at
         FROM examples e LEFT JOIN users u ON u.user_key = e.scope_key AND e.scope_key <> 0
         WHERE e.classifier = ?1 AND (CAST(?2 AS BIGINT) IS NULL OR e.scope_key = ?2) ORDER BY e.id",
    )?;
    let rows = stmt.query_map(params![classifier, scope], |r| {
        Ok(ExampleRow {
            id: r.get::<_, i64>(0)? as u64,
            user: r.get(1)?,
            text: r.get(2)?,
            labels: r.get(3)?,
            source: r.get(4)?,
            memory_id: r.get::<_, Option<i64>>(5)?.map(|m| m as u64),
            created_at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<crate::store::db::SqlResult<_>>()?)
}

/// How many examples `classifier` has (every scope).
pub(crate) fn count_examples(conn: &Db, classifier: &str) -> Result<u64> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM examples WHERE classifier = ?1")?
        .query_row([classifier], |r| r.get::<_, i64>(0))? as u64)
}

/// A user's per-label thresholds for a classifier version: (version, thresholds JSON, examples).
pub(crate) fn get_calibration(
    conn: &Db,
    classifier: &str,
    user_key: UserKey,
) -> Result<Option<(String, String, u64)>> {
    Ok(conn
        .prepare_cached(
            "SELECT version, thresholds, examples FROM calibrations WHERE classifier = ?1 AND user_key = ?2",
        )?
        .query_row(params![classifier, user_key], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)))
        .optional()?)
}

pub(crate) fn put_calibration(
    conn: &Db,
    classifier: &str,
    user_key: UserKey,
    version: &str,
    thresholds: &str,
    examples: u64,
    now: i64,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO calibrations(classifier, user_key, version, thresholds, examples, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(classifier, user_key) DO UPDATE SET version = excluded.version,
             thresholds = excluded.thresholds, examples = excluded.examples, updated_at = excluded.updated_at",
    )?
    .execute(params![classifier, user_key, version, thresholds, examples as i64, now])?;
    Ok(())
}

/// A job's checkpoint: (state JSON, data).
pub(crate) fn get_checkpoint(conn: &Db, job: u64) -> Result<Option<(String, Vec<u8>)>> {
    Ok(conn
        .prepare_cached("SELECT state, data FROM job_checkpoints WHERE job_id = ?1")?
        .query_row([job as i64], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

pub(crate) fn put_checkpoint(conn: &Db, job: u64, state: &str, data: &[u8], now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO job_checkpoints(job_id, state, data, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(job_id) DO UPDATE SET state = excluded.state, data = excluded.data, updated_at = excluded.updated_at",
    )?
    .execute(params![job as i64, state, data, now])?;
    Ok(())
}

pub(crate) fn delete_checkpoint(conn: &Db, job: u64) -> Result<()> {
    conn.prepare_cached("DELETE FROM job_checkpoints WHERE job_id = ?1")?.execute([job as i64])?;
    Ok(())
}
