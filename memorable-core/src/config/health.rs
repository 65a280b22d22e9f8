//! `Config.health`: the thresholds of the health checks. A leaf, so the configuration can
//! name it without importing the checks.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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
