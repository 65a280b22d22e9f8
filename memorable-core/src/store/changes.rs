//! What other instances changed in a shared (PostgreSQL) store, read from the change log
//! that triggers on `vectors` keep: one row per statement and user, stamped with the writing
//! transaction's id. An instance polls it to keep its per-user indexes and caches fresh.
//!
//! Sequence numbers alone would miss a transaction that took its number before another
//! but committed after the poll that saw the other. So a poll asks for every row whose
//! transaction id is at or above the *horizon* of the previous poll — the oldest
//! transaction still running when it was taken (`pg_snapshot_xmin`): everything older had
//! ended, and was seen. Rows may be read twice across polls; applying a change twice is
//! harmless (an index catches up by vector id, and re-reads its live set).

use super::db::{params, Db};
use super::UserKey;
use crate::error::Result;

/// A user whose memories another instance changed since the last poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Changed {
    pub user_key: UserKey,
    /// Some vector was deleted or replaced (a forget, an update, a re-embedding), not only
    /// added.
    pub removed: bool,
    /// Some memory or vector was edited, replaced or deleted (`removed` implies it): what
    /// ranking caches of existing memories is stale.
    pub edited: bool,
}

/// Where the last poll stopped: the horizon to read from next time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Horizon(pub i64);

/// The current horizon (what a new instance starts from: it reads the rows at open).
pub(crate) fn horizon(db: &Db) -> Result<Horizon> {
    Ok(Horizon(db.query_row(
        "SELECT CAST(CAST(pg_snapshot_xmin(pg_current_snapshot()) AS TEXT) AS BIGINT)",
        (),
        |r| r.get(0),
    )?))
}

/// The users other instances than `me` changed at or after `since`, and the horizon to poll
/// from next; `None` when the log no longer reaches back that far (pruned): the caller
/// must refresh everything.
pub(crate) fn poll(db: &Db, me: &str, since: Horizon) -> Result<(Horizon, Option<Vec<Changed>>)> {
    // The horizon first: a change committing after it is read again next time.
    let next = horizon(db)?;
    let pruned: bool = db.query_row(
        "SELECT EXISTS (SELECT 1 FROM memorable_sync WHERE pruned_below > ?1)",
        params![since.0],
        |r| r.get(0),
    )?;
    if pruned {
        return Ok((next, None));
    }
    let mut stmt = db.prepare_cached(
        "SELECT user_key, bool_or(kind = 1), bool_or(kind >= 1) FROM memorable_changes
         WHERE xid >= CAST(CAST(?1 AS TEXT) AS xid8) AND instance <> ?2 GROUP BY user_key",
    )?;
    let rows = stmt.query_map(params![since.0, me], |r| {
        Ok(Changed { user_key: r.get(0)?, removed: r.get(1)?, edited: r.get(2)? })
    })?;
    Ok((next, Some(rows.collect::<super::db::SqlResult<_>>()?)))
}

/// Drop log rows older than `keep_ms` (their transactions long ended) and remember how far
/// the log was cut, so an instance that slept past it knows to refresh everything.
pub(crate) fn prune(db: &Db, now: i64, keep_ms: i64) -> Result<u64> {
    let cut: Option<i64> = db.query_row(
        "SELECT CAST(CAST(max(xid) AS TEXT) AS BIGINT) FROM memorable_changes WHERE at < ?1",
        params![now - keep_ms],
        |r| r.get(0),
    )?;
    let Some(cut) = cut else { return Ok(0) };
    let n = db
        .execute("DELETE FROM memorable_changes WHERE xid <= CAST(CAST(?1 AS TEXT) AS xid8)", params![cut])?;
    db.execute("UPDATE memorable_sync SET pruned_below = greatest(pruned_below, ?1 + 1)", params![cut])?;
    Ok(n as u64)
}
