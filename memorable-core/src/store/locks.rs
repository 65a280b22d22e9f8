//! Per-user write locks of a shared (PostgreSQL) store. A write transaction takes its users'
//! locks first, in name order, so two transactions writing the same users never deadlock,
//! and what it checks before writing (an idempotency key) stays true until it commits. The
//! schema's triggers take the same user's id lock at each insert (ids in commit order);
//! on SQLite, whose one writer already serializes writes, this is a no-op.

use super::db::{params, Db, Dialect};
use crate::error::Result;

/// The advisory lock class of per-user name locks ("Memp" in ASCII, beside the triggers'
/// "Memo" class keyed by user id).
const USER_NAME_LOCK: i32 = 0x4d65_6d70;

/// Take the write locks of `users` (any order, duplicates allowed) until the transaction
/// on `tx` ends.
pub(crate) fn lock_users(tx: &Db, users: &[&str]) -> Result<()> {
    if tx.dialect() != Dialect::Postgres {
        return Ok(());
    }
    let mut names: Vec<&str> = users.to_vec();
    names.sort_unstable();
    names.dedup();
    for name in names {
        // hashtext collisions only make two users share a lock.
        tx.query_row(
            "SELECT pg_advisory_xact_lock(?1, hashtext(?2))",
            params![USER_NAME_LOCK, name],
            |_| Ok(()),
        )?;
    }
    Ok(())
}
