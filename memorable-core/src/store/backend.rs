//! What the store reports about its backend for the metrics snapshot (`metrics` reads it;
//! the store keeps the figures: see `remote::SyncStats`).

use serde::{Deserialize, Serialize};

/// The store's backend and, for a shared (PostgreSQL) store, how this instance keeps up with
/// what the others write (see docs/deployment.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreMetrics {
    /// `"sqlite"` (a directory, or memory) or `"postgres"`.
    pub backend: String,
    /// Polls of the change log the other instances write (0 on SQLite).
    pub sync_polls: u64,
    /// Users whose memories another instance changed, as the polls found them (one per user
    /// per poll).
    pub sync_changes: u64,
    /// Polls that failed (the database unreachable); the next one retries.
    pub sync_errors: u64,
    /// Database connections re-opened after the server dropped them.
    pub reconnects: u64,
    /// Seconds since the last successful poll (0 on SQLite): while polls fail, how stale
    /// recall may be.
    pub sync_lag_seconds: f64,
}
