//! Alerts: rules over metrics and health ("recall p95 above 250 ms for 1 min", "disk free
//! below 1 GB", "the model fell back"), evaluated in-process, delivered to callbacks and to
//! the log.
//!
//! A rule is `metric above|below threshold for for_ms`. Evaluation (every
//! `alerts.interval_ms` on the store's operations thread, or on demand with
//! [`crate::Memorable::evaluate_alerts`]) observes each metric; a rule whose condition has
//! held for `for_ms` fires once ([`AlertState::Firing`]), and once the condition no longer
//! holds it resolves once ([`AlertState::Resolved`]). Windowed metrics (latency quantiles,
//! error rate) cover the calls since the previous evaluation; a window without calls has no
//! value, which leaves a rule's state unchanged. Callbacks run on the evaluating thread,
//! each under `catch_unwind`: a panicking (or, in a binding, throwing) callback is logged
//! and counted, and the engine carries on.

mod hub;
mod observe;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

pub use crate::config::{AlertMetric, AlertRule, AlertsConfig};
pub use hub::AlertCallback;
pub(crate) use hub::AlertHub;

/// Whether an event starts or ends an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Firing,
    Resolved,
}

/// One alert firing or resolving, as delivered to callbacks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    pub rule: String,
    pub metric: AlertMetric,
    pub state: AlertState,
    /// The value observed at this evaluation.
    pub value: f64,
    pub threshold: f64,
    /// `"above"` or `"below"`.
    pub condition: String,
    pub for_ms: u64,
    /// How long the condition had held (firing) or the alert had fired (resolved), ms.
    pub duration_ms: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    pub message: String,
}

#[derive(Debug, Default, Clone)]
struct RuleState {
    /// Since when (ms) the condition holds.
    breached_since: Option<u64>,
    /// Since when (ms) the alert fires.
    firing_since: Option<u64>,
    last_value: f64,
}

/// The state machine of every rule; time is milliseconds on a monotonic clock.
#[derive(Debug, Default)]
pub(crate) struct Evaluator {
    rules: Vec<AlertRule>,
    state: HashMap<String, RuleState>,
}

impl Evaluator {
    pub fn new(rules: Vec<AlertRule>) -> Evaluator {
        Evaluator { rules, state: HashMap::new() }
    }

    pub fn rules(&self) -> &[AlertRule] {
        &self.rules
    }

    /// Replace the rules. A rule that keeps its name keeps its state (a firing alert with a
    /// new threshold resolves at the next evaluation if the value is now fine).
    pub fn set_rules(&mut self, rules: Vec<AlertRule>) {
        self.state.retain(|name, _| rules.iter().any(|r| &r.name == name));
        self.rules = rules;
    }

    /// Advance every rule to `now_ms` given the observed values (`None`: no data this
    /// window, state unchanged); returns the events to deliver.
    pub fn evaluate(&mut self, now_ms: u64, observed: &HashMap<AlertMetric, Option<f64>>) -> Vec<AlertEvent> {
        let mut events = Vec::new();
        for rule in &self.rules {
            let Some(Some(v)) = observed.get(&rule.metric) else { continue };
            let st = self.state.entry(rule.name.clone()).or_default();
            st.last_value = *v;
            if rule.breached(*v) {
                let since = *st.breached_since.get_or_insert(now_ms);
                if st.firing_since.is_none() && now_ms.saturating_sub(since) >= rule.for_ms {
                    st.firing_since = Some(now_ms);
                    events.push(event(rule, AlertState::Firing, *v, now_ms - since));
                }
            } else {
                st.breached_since = None;
                if let Some(since) = st.firing_since.take() {
                    events.push(event(rule, AlertState::Resolved, *v, now_ms - since));
                }
            }
        }
        events
    }

    /// Alerts firing now, as firing events with their latest value.
    pub fn active(&self, now_ms: u64) -> Vec<AlertEvent> {
        self.rules
            .iter()
            .filter_map(|r| {
                let st = self.state.get(&r.name)?;
                let since = st.firing_since?;
                Some(event(r, AlertState::Firing, st.last_value, now_ms.saturating_sub(since)))
            })
            .collect()
    }
}

fn event(rule: &AlertRule, state: AlertState, value: f64, duration_ms: u64) -> AlertEvent {
    let condition = if rule.above.is_some() { "above" } else { "below" };
    let message = match state {
        AlertState::Firing => format!(
            "{}: {} is {value:.3}, {condition} {} for {} ms",
            rule.name,
            rule.metric.as_str(),
            rule.threshold(),
            rule.for_ms
        ),
        AlertState::Resolved => format!(
            "{}: {} is back to {value:.3} (threshold {condition} {}) after {duration_ms} ms",
            rule.name,
            rule.metric.as_str(),
            rule.threshold()
        ),
    };
    AlertEvent {
        rule: rule.name.clone(),
        metric: rule.metric,
        state,
        value,
        threshold: rule.threshold(),
        condition: condition.into(),
        for_ms: rule.for_ms,
        duration_ms,
        at: time::OffsetDateTime::now_utc(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(v: Option<f64>) -> HashMap<AlertMetric, Option<f64>> {
        [(AlertMetric::RecallP95Ms, v)].into_iter().collect()
    }

    #[test]
    fn fires_once_after_the_duration_and_resolves_once() {
        let mut ev = Evaluator::new(vec![AlertRule::above("slow", AlertMetric::RecallP95Ms, 100.0, 60_000)]);
        assert!(ev.evaluate(0, &obs(Some(50.0))).is_empty());
        assert!(ev.evaluate(10_000, &obs(Some(150.0))).is_empty(), "breached, but not for 60 s yet");
        assert!(ev.evaluate(40_000, &obs(Some(150.0))).is_empty());
        assert!(ev.evaluate(50_000, &obs(None)).is_empty(), "no data keeps the state");
        let fired = ev.evaluate(70_000, &obs(Some(180.0)));
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].state, AlertState::Firing);
        assert_eq!(fired[0].duration_ms, 60_000);
        assert_eq!(ev.active(75_000).len(), 1);
        assert!(ev.evaluate(80_000, &obs(Some(190.0))).is_empty(), "fires once");
        let resolved = ev.evaluate(90_000, &obs(Some(20.0)));
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].state, AlertState::Resolved);
        assert!(ev.evaluate(100_000, &obs(Some(20.0))).is_empty(), "resolves once");
        assert!(ev.active(100_000).is_empty());
    }

    #[test]
    fn a_dip_resets_the_duration() {
        let mut ev = Evaluator::new(vec![AlertRule::below("disk", AlertMetric::RecallP95Ms, 10.0, 1_000)]);
        assert!(ev.evaluate(0, &obs(Some(5.0))).is_empty());
        assert!(ev.evaluate(900, &obs(Some(15.0))).is_empty());
        assert!(ev.evaluate(1_500, &obs(Some(5.0))).is_empty(), "the clock restarted at the dip");
        assert_eq!(ev.evaluate(2_500, &obs(Some(5.0))).len(), 1);
    }

    #[test]
    fn config_validation() {
        AlertsConfig::default().validate().unwrap();
        let mut c = AlertsConfig::default();
        c.rules.push(AlertRule {
            name: "x".into(),
            metric: AlertMetric::Errors,
            above: None,
            below: None,
            for_ms: 0,
        });
        assert!(c.validate().is_err());
        let mut c = AlertsConfig::default();
        c.rules.push(c.rules[0].clone());
        assert!(c.validate().is_err());
    }
}
