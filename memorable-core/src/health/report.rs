//! What a health check says: its status, reason and details, the roll-up of all checks, and
//! the probes other layers or the host add. A leaf of the health module.

use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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

/// The probes registered on a store (shared by every clone of its handle).
#[derive(Default)]
pub(crate) struct Probes {
    probes: RwLock<Vec<(String, HealthProbe)>>,
}

impl Probes {
    pub(crate) fn all(&self) -> Vec<(String, HealthProbe)> {
        self.probes.read().clone()
    }

    /// Add `probe`, replacing one of the same name.
    pub(crate) fn add(&self, name: &str, probe: HealthProbe) {
        let mut probes = self.probes.write();
        probes.retain(|(n, _)| n != name);
        probes.push((name.to_owned(), probe));
    }

    /// Remove the probe named `name`; returns whether there was one.
    pub(crate) fn remove(&self, name: &str) -> bool {
        let mut probes = self.probes.write();
        let before = probes.len();
        probes.retain(|(n, _)| n != name);
        probes.len() != before
    }
}
