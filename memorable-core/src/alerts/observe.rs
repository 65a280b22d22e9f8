//! The values alert rules watch, observed once per evaluation.

use std::collections::HashMap;

use super::AlertMetric;
use crate::engine::Engine;
use crate::error::Result;
use crate::health::{HealthStatus, Probes};
use crate::metrics::{process, Recorded};

const MB: f64 = 1024.0 * 1024.0;

/// Observe every metric; windowed ones cover what was recorded since `previous`.
pub(super) fn observe(
    engine: &Engine,
    probes: &Probes,
    now: &Recorded,
    previous: Option<&Recorded>,
) -> Result<HashMap<AlertMetric, Option<f64>>> {
    let window = |cur: &crate::metrics::HistogramSnapshot,
                  prev: Option<&crate::metrics::HistogramSnapshot>| {
        let delta = match prev {
            Some(p) => cur.since(p),
            None => cur.clone(),
        };
        delta.quantile_us(0.95).map(|us| us / 1000.0)
    };
    let calls = now.counters.calls - previous.map_or(0, |p| p.counters.calls);
    let errors = now.counters.errors - previous.map_or(0, |p| p.counters.errors);
    let health = crate::health::report(engine, probes, false);
    let pending: u64 = engine.indexes.all().iter().map(|i| i.stats().pending as u64).sum();
    let fallback = engine.selection.fallback && engine.selection.fallback_reason.is_some();
    let mut m = HashMap::new();
    m.insert(AlertMetric::RecallP95Ms, window(&now.recall, previous.map(|p| &p.recall)));
    m.insert(AlertMetric::RememberP95Ms, window(&now.remember, previous.map(|p| &p.remember)));
    m.insert(AlertMetric::EmbedP95Ms, window(&now.embed, previous.map(|p| &p.embed)));
    m.insert(AlertMetric::ErrorRate, (calls > 0).then(|| errors as f64 / calls as f64));
    m.insert(AlertMetric::Errors, Some(errors as f64));
    m.insert(
        AlertMetric::DiskFreeMb,
        engine.store.path().and_then(process::disk_free_bytes).map(|b| b as f64 / MB),
    );
    m.insert(AlertMetric::ResidentMemoryMb, process::resident_bytes().map(|b| b as f64 / MB));
    m.insert(AlertMetric::AvailableMemoryMb, process::available_memory_bytes().map(|b| b as f64 / MB));
    m.insert(AlertMetric::ModelFallback, Some(if fallback { 1.0 } else { 0.0 }));
    m.insert(
        AlertMetric::Health,
        Some(match health.status {
            HealthStatus::Ok => 0.0,
            HealthStatus::Degraded => 1.0,
            HealthStatus::Failing => 2.0,
        }),
    );
    m.insert(AlertMetric::IndexPending, Some(pending as f64));
    m.insert(AlertMetric::StoreMb, Some(engine.store.disk_bytes() as f64 / MB));
    Ok(m)
}
