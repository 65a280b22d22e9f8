//! Observability: metrics, health and alerts.

use std::sync::Arc;
use std::time::Duration;

use super::Memorable;
use crate::alerts::{AlertEvent, AlertRule, AlertsConfig};
use crate::error::Result;
use crate::health::{self, HealthCheck, HealthReport};
use crate::metrics::{self, Metrics, MetricsSnapshot};

impl Memorable {
    /// Counters, latency quantiles and gauges of this store (see [`MetricsSnapshot`]).
    /// Gauges are computed now: a few SQLite aggregates and a read of /proc.
    pub fn metrics(&self) -> Result<MetricsSnapshot> {
        crate::engine::metrics_snapshot(&*self.engine()?)
    }

    /// [`Memorable::metrics`] in the Prometheus text format, ready to serve on `/metrics`.
    pub fn metrics_prometheus(&self) -> Result<String> {
        Ok(metrics::prometheus::render(&self.metrics()?))
    }

    /// Publish [`Memorable::metrics`] to the `metrics` crate's global recorder (with
    /// `Config::metrics_facade` the operations thread also does it on every tick).
    pub fn publish_metrics(&self) -> Result<()> {
        metrics::facade::publish(&self.metrics()?);
        Ok(())
    }

    /// The recording side of this store's metrics, for layers and hosts that record their
    /// own events (e.g. `metrics_registry().readings_fused.inc()`).
    pub fn metrics_registry(&self) -> &Metrics {
        &self.metrics
    }

    /// Run every health check (including SQLite's `quick_check`, which reads the whole
    /// database: milliseconds for small stores, seconds for gigabytes).
    pub fn health(&self) -> Result<HealthReport> {
        self.metrics.track(self.engine().map(|e| health::report(&e, &self.ops.probes, true)))
    }

    /// Add a check to `health()` (e.g. the Hume client's connection state). A probe with the
    /// same name replaces the previous one. Probes must be quick: they run on every health
    /// call and every alert evaluation.
    pub fn add_health_probe(&self, name: &str, probe: impl Fn() -> HealthCheck + Send + Sync + 'static) {
        self.ops.probes.add(name, Arc::new(probe));
    }

    /// Remove the probe named `name`; returns whether there was one.
    pub fn remove_health_probe(&self, name: &str) -> bool {
        self.ops.probes.remove(name)
    }

    /// Call `f` with every alert that fires or resolves; returns an id for
    /// [`Memorable::remove_alert_callback`]. A callback that panics is logged and counted
    /// (`alert_callback_failures`) and does not affect the engine or other callbacks.
    pub fn on_alert(&self, f: impl Fn(&AlertEvent) + Send + Sync + 'static) -> u64 {
        self.ops.alerts.subscribe(Arc::new(f))
    }

    /// Stop calling a callback; returns whether `id` was registered.
    pub fn remove_alert_callback(&self, id: u64) -> bool {
        self.ops.alerts.unsubscribe(id)
    }

    /// Evaluate every rule now, deliver what fires or resolves, and return those events.
    pub fn evaluate_alerts(&self) -> Result<Vec<AlertEvent>> {
        self.evaluate_alerts_at(self.ops.alerts.elapsed())
    }

    /// [`Memorable::evaluate_alerts`] as if `elapsed` had passed since the store was opened
    /// (tests drive rule durations with it; time must not go backwards).
    #[doc(hidden)]
    pub fn evaluate_alerts_at(&self, elapsed: Duration) -> Result<Vec<AlertEvent>> {
        self.ops.alerts.evaluate(&*self.engine()?, &self.ops.probes, elapsed)
    }

    /// The alert rules in force (`Config.alerts.rules` until [`Memorable::set_alert_rules`]).
    pub fn alert_rules(&self) -> Vec<AlertRule> {
        self.ops.alerts.rules()
    }

    /// Replace the alert rules without reopening (e.g. thresholds from a reloaded settings
    /// file). Validated as `Config.alerts.rules` is (`INVALID_CONFIG`, nothing changed); a
    /// rule that keeps its name keeps its state.
    pub fn set_alert_rules(&self, rules: Vec<AlertRule>) -> Result<()> {
        let config = AlertsConfig { rules, ..AlertsConfig::default() };
        config.validate()?;
        self.ops.alerts.set_rules(config.rules);
        Ok(())
    }

    /// The alerts firing now (as of the last evaluation).
    pub fn active_alerts(&self) -> Vec<AlertEvent> {
        self.ops.alerts.active()
    }
}
