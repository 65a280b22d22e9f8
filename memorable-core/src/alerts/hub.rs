//! [`AlertHub`]: the rules' state, the registered callbacks, evaluation and delivery.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use super::{AlertEvent, AlertMetric, AlertRule, AlertState, AlertsConfig, Evaluator};
use crate::engine::Engine;
use crate::error::Result;
use crate::health::Probes;
use crate::metrics::{Metrics, Recorded};

/// A function called with every alert event. It runs on the thread that evaluates alerts
/// (the store's operations thread, or the caller of `evaluate_alerts`).
pub type AlertCallback = Arc<dyn Fn(&AlertEvent) + Send + Sync>;

pub(crate) struct AlertHub {
    epoch: Instant,
    callbacks: RwLock<Vec<(u64, AlertCallback)>>,
    next_id: AtomicU64,
    /// The rules' state and the counters seen at the previous evaluation (for windows).
    /// Held for a whole evaluation, so two evaluations never interleave.
    state: Mutex<(Evaluator, Option<Recorded>)>,
}

impl AlertHub {
    pub fn new(config: &AlertsConfig) -> AlertHub {
        AlertHub {
            epoch: Instant::now(),
            callbacks: RwLock::new(Vec::new()),
            next_id: AtomicU64::new(1),
            state: Mutex::new((Evaluator::new(config.rules.clone()), None)),
        }
    }

    /// Time since the store was opened (the clock rule durations run on).
    pub fn elapsed(&self) -> Duration {
        self.epoch.elapsed()
    }

    pub fn subscribe(&self, f: AlertCallback) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.callbacks.write().push((id, f));
        id
    }

    pub fn unsubscribe(&self, id: u64) -> bool {
        let mut cbs = self.callbacks.write();
        let before = cbs.len();
        cbs.retain(|(i, _)| *i != id);
        cbs.len() != before
    }

    /// Evaluate every rule of `engine` as if `elapsed` had passed since the store was opened
    /// (time must not go backwards), deliver what fires or resolves, and return those events.
    pub fn evaluate(&self, engine: &Engine, probes: &Probes, elapsed: Duration) -> Result<Vec<AlertEvent>> {
        let events = {
            let mut state = self.state.lock();
            let recorded = engine.metrics.recorded();
            let observed: HashMap<AlertMetric, Option<f64>> =
                super::observe::observe(engine, probes, &recorded, state.1.as_ref())?;
            state.1 = Some(recorded);
            state.0.evaluate(elapsed.as_millis() as u64, &observed)
        };
        self.deliver(&events, &engine.metrics);
        Ok(events)
    }

    pub fn rules(&self) -> Vec<AlertRule> {
        self.state.lock().0.rules().to_vec()
    }

    /// Replace the rules (validated by the caller), between two evaluations.
    pub fn set_rules(&self, rules: Vec<AlertRule>) {
        self.state.lock().0.set_rules(rules);
    }

    /// The alerts firing now (as of the last evaluation).
    pub fn active(&self) -> Vec<AlertEvent> {
        self.state.lock().0.active(self.epoch.elapsed().as_millis() as u64)
    }

    /// Log every event and hand it to every callback; a callback that panics is logged and
    /// counted, never propagated.
    fn deliver(&self, events: &[AlertEvent], metrics: &Metrics) {
        if events.is_empty() {
            return;
        }
        let callbacks: Vec<AlertCallback> = self.callbacks.read().iter().map(|(_, f)| f.clone()).collect();
        for e in events {
            match e.state {
                AlertState::Firing => tracing::warn!(
                    alert = %e.rule, metric = e.metric.as_str(), value = e.value, threshold = e.threshold,
                    "alert firing: {}", e.message
                ),
                AlertState::Resolved => tracing::info!(
                    alert = %e.rule, metric = e.metric.as_str(), value = e.value,
                    "alert resolved: {}", e.message
                ),
            }
            for f in &callbacks {
                if catch_unwind(AssertUnwindSafe(|| f(e))).is_err() {
                    metrics.alert_callback_failures.inc();
                    tracing::error!(alert = %e.rule, "an alert callback panicked; the engine carries on");
                }
            }
        }
    }
}
