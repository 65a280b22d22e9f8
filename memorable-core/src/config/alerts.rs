//! `Config.alerts`: the rules (a metric, a condition, a threshold, a duration) and how often
//! they are evaluated. A leaf, so the configuration can name it without the evaluator.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertMetric {
    /// p95 latency of recall over the window, ms.
    RecallP95Ms,
    /// p95 latency of remember over the window, ms.
    RememberP95Ms,
    /// p95 latency of the embedder over the window, ms.
    EmbedP95Ms,
    /// Failed calls / calls over the window (0..=1).
    ErrorRate,
    /// Failed calls over the window.
    Errors,
    /// Free space on the store's file system, MB.
    DiskFreeMb,
    /// Resident memory of the process, MB.
    ResidentMemoryMb,
    /// Memory the machine can still hand out, MB.
    AvailableMemoryMb,
    /// 1 when the embedder in use is a fallback taken because the chosen model failed.
    ModelFallback,
    /// Roll-up of the health checks (without the full database scan): 0 ok, 1 degraded,
    /// 2 failing.
    Health,
    /// Committed vectors waiting for the HNSW graph.
    IndexPending,
    /// Database + WAL on disk, MB.
    StoreMb,
}

impl AlertMetric {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertMetric::RecallP95Ms => "recall_p95_ms",
            AlertMetric::RememberP95Ms => "remember_p95_ms",
            AlertMetric::EmbedP95Ms => "embed_p95_ms",
            AlertMetric::ErrorRate => "error_rate",
            AlertMetric::Errors => "errors",
            AlertMetric::DiskFreeMb => "disk_free_mb",
            AlertMetric::ResidentMemoryMb => "resident_memory_mb",
            AlertMetric::AvailableMemoryMb => "available_memory_mb",
            AlertMetric::ModelFallback => "model_fallback",
            AlertMetric::Health => "health",
            AlertMetric::IndexPending => "index_pending",
            AlertMetric::StoreMb => "store_mb",
        }
    }
}

/// One rule: `metric` above (or below) `threshold` for at least `for_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// Unique name, reported in every event.
    pub name: String,
    pub metric: AlertMetric,
    /// Fire when the value is above this (exactly one of `above` / `below`).
    #[serde(default)]
    pub above: Option<f64>,
    /// Fire when the value is below this.
    #[serde(default)]
    pub below: Option<f64>,
    /// How long the condition must hold before the alert fires (0: at the first evaluation).
    #[serde(default)]
    pub for_ms: u64,
}

impl AlertRule {
    pub fn above(name: &str, metric: AlertMetric, threshold: f64, for_ms: u64) -> AlertRule {
        AlertRule { name: name.into(), metric, above: Some(threshold), below: None, for_ms }
    }
    pub fn below(name: &str, metric: AlertMetric, threshold: f64, for_ms: u64) -> AlertRule {
        AlertRule { name: name.into(), metric, above: None, below: Some(threshold), for_ms }
    }

    pub(crate) fn threshold(&self) -> f64 {
        self.above.or(self.below).unwrap_or(f64::NAN)
    }

    pub(crate) fn breached(&self, v: f64) -> bool {
        match (self.above, self.below) {
            (Some(t), _) => v > t,
            (_, Some(t)) => v < t,
            _ => false,
        }
    }
}

/// `Config.alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// Evaluate rules on the operations thread (default true; `evaluate_alerts()` works
    /// either way).
    pub enabled: bool,
    /// Milliseconds between evaluations (default 10,000; also the tick of scheduled backups).
    pub interval_ms: u64,
    /// The rules (default: [`AlertsConfig::default_rules`]).
    pub rules: Vec<AlertRule>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig { enabled: true, interval_ms: 10_000, rules: AlertsConfig::default_rules() }
    }
}

impl AlertsConfig {
    /// The documented defaults (docs/operations.md): recall p95 > 250 ms for 1 min, remember
    /// p95 > 1 s for 1 min, error rate > 5% for 1 min, disk free < 1 GB, resident memory
    /// > 4 GB for 1 min, a model fell back, health failing.
    pub fn default_rules() -> Vec<AlertRule> {
        use AlertMetric::*;
        vec![
            AlertRule::above("recall_latency", RecallP95Ms, 250.0, 60_000),
            AlertRule::above("remember_latency", RememberP95Ms, 1_000.0, 60_000),
            AlertRule::above("error_rate", ErrorRate, 0.05, 60_000),
            AlertRule::below("disk_free", DiskFreeMb, 1024.0, 0),
            AlertRule::above("memory", ResidentMemoryMb, 4096.0, 60_000),
            AlertRule::above("model_fallback", ModelFallback, 0.5, 0),
            AlertRule::above("health_failing", Health, 1.5, 0),
        ]
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidConfig(format!("alerts: {m}")));
        if self.enabled && self.interval_ms == 0 {
            return bad("interval_ms must be positive".into());
        }
        let mut names = std::collections::HashSet::new();
        for r in &self.rules {
            if r.name.trim().is_empty() {
                return bad("every rule needs a name".into());
            }
            if !names.insert(r.name.as_str()) {
                return bad(format!("two rules are named {:?}", r.name));
            }
            match (r.above, r.below) {
                (Some(t), None) | (None, Some(t)) if t.is_finite() => {}
                _ => return bad(format!("rule {:?} needs exactly one finite `above` or `below`", r.name)),
            }
        }
        Ok(())
    }
}
