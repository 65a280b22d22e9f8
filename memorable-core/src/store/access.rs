//! Access counting for ranking's salience signal, kept off the read path.
//!
//! A recall adds its hits to an in-memory log instead of committing a write: a write per
//! recall would serialize readers behind the writer lock and, in WAL mode, make every read
//! connection drop its page cache at its next read. The log is written in one transaction
//! when it holds [`FLUSH_AT`] memories (by the recall that crosses it, only if the writer is
//! free), at checkpoint and at close. Ranking adds the pending counts to the stored ones, so
//! the signal is the same as if every recall had written. A crash loses at most the pending
//! counts: statistics, never an acknowledged write.
//!
//! What ranking caches of a memory stays valid across a flush: the log keeps the counts
//! its last flush wrote and a generation that is odd while a flush writes, so a cache adds
//! them to its rows instead of reading every row again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::store::db::{params, Db};
use parking_lot::{Mutex, MutexGuard};

use crate::error::Result;
use crate::memory::MemoryId;

/// Distinct memories held before a recall writes the log out.
pub(crate) const FLUSH_AT: usize = 1_024;

/// The counts one flush wrote, per memory.
pub(crate) type Written = Arc<Vec<(MemoryId, u64)>>;

/// Per memory: accesses not yet written, and the time (unix ms) of the last one.
#[derive(Default)]
pub(crate) struct AccessLog {
    pending: Mutex<HashMap<MemoryId, (u64, i64)>>,
    /// Bumped before and after each flush: odd while one writes.
    generation: AtomicU64,
    /// The generation the last flush ended at, and the counts it wrote.
    written: Mutex<(u64, Written)>,
}

impl AccessLog {
    /// Count one access of each of `ids` at `now`; true when the log should be written out.
    pub fn record(&self, ids: &[MemoryId], now: i64) -> bool {
        let mut pending = self.pending.lock();
        for &id in ids {
            let e = pending.entry(id).or_insert((0, now));
            e.0 += 1;
            e.1 = now;
        }
        pending.len() >= FLUSH_AT
    }

    /// The pending counts, for ranking to add to the stored ones.
    pub fn pending(&self) -> MutexGuard<'_, HashMap<MemoryId, (u64, i64)>> {
        self.pending.lock()
    }

    /// Odd while a flush writes; a cache read at an even generation holds the counts of
    /// every flush up to it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The generation the last flush ended at, and the counts it wrote.
    pub fn written(&self) -> (u64, Written) {
        let w = self.written.lock();
        (w.0, w.1.clone())
    }

    /// Write the pending counts in one transaction on `conn` (the writer) and clear them.
    /// On failure they stay pending. The caller holds the writer, so flushes never overlap.
    pub fn flush(&self, conn: &mut Db) -> Result<()> {
        let batch: Vec<(MemoryId, (u64, i64))> = {
            let mut pending = self.pending.lock();
            if pending.is_empty() {
                return Ok(());
            }
            pending.drain().collect()
        };
        self.generation.fetch_add(1, Ordering::AcqRel);
        let written = write(conn, &batch);
        let counts =
            if written.is_ok() { batch.iter().map(|(id, (n, _))| (*id, *n)).collect() } else { Vec::new() };
        {
            let mut w = self.written.lock();
            *w = (self.generation.fetch_add(1, Ordering::AcqRel) + 1, Arc::new(counts));
        }
        if written.is_err() {
            let mut pending = self.pending.lock();
            for (id, (n, at)) in batch {
                let e = pending.entry(id).or_insert((0, at));
                e.0 += n;
                e.1 = e.1.max(at);
            }
        }
        written
    }
}

fn write(conn: &mut Db, batch: &[(MemoryId, (u64, i64))]) -> Result<()> {
    let tx = conn.transaction()?;
    {
        // A CASE for max(): SQLite's two-argument max() is greatest() in PostgreSQL.
        let mut stmt = tx.prepare_cached(
            "UPDATE memories SET access_count = access_count + ?2,
                    last_accessed_at = CASE WHEN coalesce(last_accessed_at, 0) > ?3
                                            THEN last_accessed_at ELSE ?3 END
             WHERE id = ?1",
        )?;
        for (id, (n, at)) in batch {
            stmt.execute(params![*id as i64, *n as i64, at])?;
        }
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_accumulate_until_flushed() {
        let log = AccessLog::default();
        assert!(!log.record(&[1, 2], 10));
        log.record(&[1], 20);
        assert_eq!(log.pending().get(&1), Some(&(2, 20)));
        let many: Vec<MemoryId> = (0..FLUSH_AT as u64).collect();
        assert!(log.record(&many, 30), "a full log asks to be written");
    }
}
