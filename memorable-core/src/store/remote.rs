//! A shared (PostgreSQL) store's view of the other instances: its own instance name (the
//! connections' `application_name`, which the change log records) and where it last read
//! the log ([`changes`](super::changes)). `Store::poll_remote` bumps the store's
//! generations from what a poll returns, so the caches stamped with them (rows for ranking,
//! keyword indexes, speakers and sessions) refresh; the engine brings the loaded vector
//! indexes up to date.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::changes::{self, Changed, Horizon};
use super::db::Db;
use crate::error::Result;

/// How long the change log keeps rows; an instance that polls less often than this
/// refreshes everything.
const KEEP_MS: i64 = 10 * 60 * 1000;
/// How often an instance prunes the log.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

pub(crate) struct Remote {
    pub instance: String,
    horizon: Mutex<Horizon>,
    last_prune: Mutex<Instant>,
    /// How this instance keeps up (the store's metrics).
    pub stats: SyncStats,
}

/// Counts of the polls (reported as `StoreMetrics`).
#[derive(Default)]
pub(crate) struct SyncStats {
    pub polls: AtomicU64,
    pub changes: AtomicU64,
    pub errors: AtomicU64,
    /// Connections of this store re-opened after a drop (shared with each `PgConn`).
    pub reconnects: Arc<AtomicU64>,
    /// When the last poll succeeded (`None`: none has yet; the store opened at `opened`).
    last_ok: Mutex<Option<Instant>>,
    opened: Option<Instant>,
}

impl SyncStats {
    pub fn new(reconnects: Arc<AtomicU64>) -> SyncStats {
        SyncStats { reconnects, opened: Some(Instant::now()), ..SyncStats::default() }
    }

    /// Count one poll and what it found (`Err`: it failed).
    pub fn record(&self, outcome: std::result::Result<Option<&RemoteChanges>, ()>) {
        self.polls.fetch_add(1, Ordering::Relaxed);
        match outcome {
            Err(()) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
            Ok(found) => {
                *self.last_ok.lock() = Some(Instant::now());
                let users = match found {
                    None => 0,
                    Some(RemoteChanges::Users(users)) => users.len() as u64,
                    Some(RemoteChanges::Everything) => 1,
                };
                self.changes.fetch_add(users, Ordering::Relaxed);
            }
        }
    }

    /// Seconds since the last successful poll (since opening, before the first).
    pub fn lag_seconds(&self) -> f64 {
        self.last_ok.lock().or(self.opened).map_or(0.0, |t| t.elapsed().as_secs_f64())
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

impl Remote {
    pub fn new(instance: String, horizon: Horizon, reconnects: Arc<AtomicU64>) -> Remote {
        Remote {
            instance,
            horizon: Mutex::new(horizon),
            last_prune: Mutex::new(Instant::now()),
            stats: SyncStats::new(reconnects),
        }
    }
}

/// What other instances changed since the last poll.
pub(crate) enum RemoteChanges {
    /// These users' memories.
    Users(Vec<Changed>),
    /// Possibly anything (the log was pruned past this instance's last poll).
    Everything,
}

impl Remote {
    /// Read what other instances changed since the last poll (on `db`, a read connection);
    /// `None` when nobody did.
    pub fn poll(&self, db: &Db) -> Result<Option<RemoteChanges>> {
        let mut horizon = self.horizon.lock();
        let (next, changed) = changes::poll(db, &self.instance, *horizon)?;
        *horizon = next;
        Ok(match changed {
            Some(users) if users.is_empty() => None,
            Some(users) => Some(RemoteChanges::Users(users)),
            None => Some(RemoteChanges::Everything),
        })
    }

    /// Whether the change log is due for pruning (about once a minute per instance).
    pub fn prune_due(&self) -> bool {
        let mut last = self.last_prune.lock();
        if last.elapsed() < PRUNE_EVERY {
            return false;
        }
        *last = Instant::now();
        true
    }

    /// Drop what every instance has long read (on `writer`).
    pub fn prune(&self, writer: &Db) {
        match changes::prune(writer, crate::time::now_ms(), KEEP_MS) {
            Ok(n) if n > 0 => tracing::debug!(rows = n, "pruned the change log"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "pruning the change log failed"),
        }
    }
}
