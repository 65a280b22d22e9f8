//! [`AlertHub`]: the rules' state, the registered callbacks and their delivery; and the
//! alert methods of [`Memorable`].

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use super::{AlertEvent, AlertMetric, AlertState, AlertsConfig, Evaluator};
use crate::error::Result;
use crate::metrics::{Metrics, Recorded};
use crate::Memorable;

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

    fn subscribe(&self, f: AlertCallback) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.callbacks.write().push((id, f));
        id
    }

    fn unsubscribe(&self, id: u64) -> bool {
        let mut cbs = self.callbacks.write();
        let before = cbs.len();
        cbs.retain(|(i, _)| *i != id);
        cbs.len() != before
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

impl Memorable {
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
        self.evaluate_alerts_at(self.ops.alerts.epoch.elapsed())
    }

    /// [`Memorable::evaluate_alerts`] as if `elapsed` had passed since the store was opened
    /// (tests drive rule durations with it; time must not go backwards).
    #[doc(hidden)]
    pub fn evaluate_alerts_at(&self, elapsed: Duration) -> Result<Vec<AlertEvent>> {
        let hub = &self.ops.alerts;
        let events = {
            let mut state = hub.state.lock();
            let recorded = self.metrics.recorded();
            let observed: HashMap<AlertMetric, Option<f64>> =
                super::observe::observe(self, &recorded, state.1.as_ref())?;
            state.1 = Some(recorded);
            state.0.evaluate(elapsed.as_millis() as u64, &observed)
        };
        hub.deliver(&events, &self.metrics);
        Ok(events)
    }

    /// The alerts firing now (as of the last evaluation).
    pub fn active_alerts(&self) -> Vec<AlertEvent> {
        let hub = &self.ops.alerts;
        hub.state.lock().0.active(hub.epoch.elapsed().as_millis() as u64)
    }
}
