//! Health: is this store sound and able to serve? [`crate::Memorable::health`] runs every
//! check and rolls them up into one [`HealthReport`]: `ok`, `degraded` (serving, but
//! something needs attention) or `failing` (data at risk or calls will fail), each check
//! with its reason.
//!
//! Checks: `store` (SQLite `quick_check`, schema version), `index` (loaded indexes hold
//! exactly the store's vectors, dumps usable), `model` (which embedder, fallback and why),
//! `disk` (free space), `memory` (available memory, resident size against a budget), and any
//! probe registered with [`crate::Memorable::add_health_probe`] (the Hume client reports its
//! connection state through one).

mod checks;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::Memorable;

/// Thresholds of the health checks (`Config.health`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthConfig {
    /// Free disk space below this many MB is `degraded` (default 1024).
    pub disk_free_degraded_mb: u64,
    /// Free disk space below this many MB is `failing` (default 100).
    pub disk_free_failing_mb: u64,
    /// Available machine memory below this many MB is `degraded` (default 256).
    pub memory_available_degraded_mb: u64,
    /// Resident memory of the process above this many MB is `degraded` (default: no budget).
    pub memory_budget_mb: Option<u64>,
    /// More committed vectors than this waiting for the HNSW graph is `degraded`
    /// (default 100,000).
    pub index_pending_degraded: u64,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            disk_free_degraded_mb: 1024,
            disk_free_failing_mb: 100,
            memory_available_degraded_mb: 256,
            memory_budget_mb: None,
            index_pending_degraded: 100_000,
        }
    }
}

impl HealthConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.disk_free_failing_mb > self.disk_free_degraded_mb {
            return Err(Error::InvalidConfig(
                "health.disk_free_failing_mb must not exceed health.disk_free_degraded_mb".into(),
            ));
        }
        Ok(())
    }
}

/// Outcome of one check, or of all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Ok,
    /// Still serving, but something needs attention.
    Degraded,
    /// Data at risk or calls failing.
    Failing,
}

impl HealthStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Ok => "ok",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Failing => "failing",
        }
    }
}

/// One check: its name, status, why, and what it measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthCheck {
    pub name: String,
    pub status: HealthStatus,
    pub reason: String,
    #[serde(default)]
    pub details: Value,
}

impl HealthCheck {
    pub fn new(name: &str, status: HealthStatus, reason: impl Into<String>) -> HealthCheck {
        HealthCheck { name: name.to_owned(), status, reason: reason.into(), details: Value::Null }
    }
    pub fn with_details(mut self, details: Value) -> HealthCheck {
        self.details = details;
        self
    }
}

/// Every check and their roll-up (the worst status among them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    pub status: HealthStatus,
    pub checks: Vec<HealthCheck>,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: time::OffsetDateTime,
}

impl HealthReport {
    pub fn from_checks(checks: Vec<HealthCheck>) -> HealthReport {
        let status = checks.iter().map(|c| c.status).max().unwrap_or(HealthStatus::Ok);
        HealthReport { status, checks, checked_at: time::OffsetDateTime::now_utc() }
    }

    /// The check named `name`.
    pub fn check(&self, name: &str) -> Option<&HealthCheck> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// A health check contributed by another layer or by the host (`add_health_probe`).
pub type HealthProbe = Arc<dyn Fn() -> HealthCheck + Send + Sync>;

impl Memorable {
    /// Run every health check (including SQLite's `quick_check`, which reads the whole
    /// database: milliseconds for small stores, seconds for gigabytes).
    pub fn health(&self) -> Result<HealthReport> {
        self.metrics.track(self.health_with(true))
    }

    /// Health without the full database scan (what alert evaluation uses every tick).
    pub(crate) fn health_with(&self, full: bool) -> Result<HealthReport> {
        let engine = self.engine()?;
        let mut checks = vec![
            checks::store(&engine, full),
            checks::index(&engine),
            checks::model(&engine),
            checks::disk(&engine),
            checks::memory(&engine.config.health),
        ];
        for (name, probe) in self.ops.probes() {
            let check =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| probe())).unwrap_or_else(|_| {
                    HealthCheck::new(&name, HealthStatus::Failing, "the health probe panicked")
                });
            checks.push(check);
        }
        Ok(HealthReport::from_checks(checks))
    }

    /// Add a check to `health()` (e.g. the Hume client's connection state). A probe with the
    /// same name replaces the previous one. Probes must be quick: they run on every health
    /// call and every alert evaluation.
    pub fn add_health_probe(&self, name: &str, probe: impl Fn() -> HealthCheck + Send + Sync + 'static) {
        self.ops.add_probe(name, Arc::new(probe));
    }

    /// Remove the probe named `name`; returns whether there was one.
    pub fn remove_health_probe(&self, name: &str) -> bool {
        self.ops.remove_probe(name)
    }
}
