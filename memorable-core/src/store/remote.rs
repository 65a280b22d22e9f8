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

use super::backend::StoreMetrics;
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

/// How this instance keeps up with the others: reported as [`StoreMetrics`].
pub(crate) struct SyncStats {
    polls: AtomicU64,
    changes: AtomicU64,
    errors: AtomicU64,
    /// Connections of this store re-opened after a drop (shared with each `PgConn`).
    reconnects: Arc<AtomicU64>,
    /// When the last poll succeeded (when the store opened, until one has).
    last_ok: Mutex<Instant>,
}

impl SyncStats {
    fn new(reconnects: Arc<AtomicU64>) -> SyncStats {
        SyncStats {
            polls: AtomicU64::new(0),
            changes: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            reconnects,
            last_ok: Mutex::new(Instant::now()),
        }
    }

    /// Count a poll that succeeded, and the users it found changed.
    pub fn polled(&self, found: Option<&RemoteChanges>) {
        self.polls.fetch_add(1, Ordering::Relaxed);
        *self.last_ok.lock() = Instant::now();
        let users = match found {
            None => 0,
            Some(RemoteChanges::Users(users)) => users.len() as u64,
            Some(RemoteChanges::Everything) => 1,
        };
        self.changes.fetch_add(users, Ordering::Relaxed);
    }

    /// Count a poll that failed.
    pub fn failed(&self) {
        self.polls.fetch_add(1, Ordering::Relaxed);
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn metrics(&self) -> StoreMetrics {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StoreMetrics {
            backend: "postgres".into(),
            sync_polls: get(&self.polls),
            sync_changes: get(&self.changes),
            sync_errors: get(&self.errors),
            reconnects: get(&self.reconnects),
            sync_lag_seconds: self.last_ok.lock().elapsed().as_secs_f64(),
        }
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
