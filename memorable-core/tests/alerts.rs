//! Alerts fire once past their threshold for the set duration, clear after, reach every
//! callback; a panicking callback does not break the engine.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use memorable_core::{AlertEvent, AlertMetric, AlertRule, AlertState, Builder, NewMemory, Recall};

fn store_with(rules: Vec<AlertRule>, interval_ms: u64, enabled: bool) -> memorable_core::Memorable {
    let mut config = crate::common::hashing_config();
    config.alerts.rules = rules;
    config.alerts.interval_ms = interval_ms;
    config.alerts.enabled = enabled;
    Builder::in_memory().config(config).open().unwrap()
}

fn fail_once(mem: &memorable_core::Memorable) {
    assert!(mem.remember(NewMemory::new("alice", "   ")).is_err());
}

#[test]
fn an_alert_fires_once_after_its_duration_and_resolves_once() {
    let rule = AlertRule::above("failing_calls", AlertMetric::Errors, 0.0, 1_000);
    let mem = store_with(vec![rule], 10_000, false);
    let seen: Arc<Mutex<Vec<AlertEvent>>> = Arc::default();
    let sink = seen.clone();
    // A callback that panics is registered first: the next one still gets every event.
    mem.on_alert(|_| panic!("a broken alert callback"));
    mem.on_alert(move |e| sink.lock().unwrap().push(e.clone()));
    let at = |ms| Duration::from_millis(ms);

    fail_once(&mem);
    assert!(mem.evaluate_alerts_at(at(0)).unwrap().is_empty(), "breached, but not for 1 s yet");
    fail_once(&mem);
    assert!(mem.evaluate_alerts_at(at(600)).unwrap().is_empty());
    fail_once(&mem);
    let fired = mem.evaluate_alerts_at(at(1_200)).unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].state, AlertState::Firing);
    assert_eq!(fired[0].rule, "failing_calls");
    assert_eq!(fired[0].value, 1.0, "one failed call in the window");
    assert_eq!(mem.active_alerts().len(), 1);
    fail_once(&mem);
    assert!(mem.evaluate_alerts_at(at(1_800)).unwrap().is_empty(), "fires once while it holds");
    // No failures in the next window: it clears, once.
    mem.remember(NewMemory::new("alice", "all good again")).unwrap();
    let cleared = mem.evaluate_alerts_at(at(2_400)).unwrap();
    assert_eq!(cleared.len(), 1);
    assert_eq!(cleared[0].state, AlertState::Resolved);
    assert!(mem.evaluate_alerts_at(at(3_000)).unwrap().is_empty());
    assert!(mem.active_alerts().is_empty());

    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.iter().map(|e| e.state).collect::<Vec<_>>(),
        vec![AlertState::Firing, AlertState::Resolved]
    );
    // The panicking callback was counted, and the engine carries on.
    let m = mem.metrics().unwrap();
    assert_eq!(m.counters.alert_callback_failures, 2);
    mem.remember(NewMemory::new("alice", "still working")).unwrap();
    assert_eq!(mem.recall(&Recall::new("alice", "working").limit(1)).unwrap().len(), 1);
}

#[test]
fn latency_rules_use_the_window_since_the_last_evaluation() {
    // Any recall is "slow" against a 0 ms threshold; windows without recalls keep the state.
    let mem =
        store_with(vec![AlertRule::above("slow_recall", AlertMetric::RecallP95Ms, 0.0, 0)], 10_000, false);
    mem.remember(NewMemory::new("alice", "a memory")).unwrap();
    assert!(mem.evaluate_alerts_at(Duration::from_millis(0)).unwrap().is_empty(), "no recall yet: no data");
    mem.recall(&Recall::new("alice", "memory").limit(1)).unwrap();
    let fired = mem.evaluate_alerts_at(Duration::from_millis(10)).unwrap();
    assert_eq!(fired.len(), 1);
    assert!(fired[0].value > 0.0);
    assert!(mem.evaluate_alerts_at(Duration::from_millis(20)).unwrap().is_empty(), "no recall: state kept");
    assert_eq!(mem.active_alerts().len(), 1);
    mem.remove_alert_callback(12345);
}

#[test]
fn the_operations_thread_evaluates_and_delivers() {
    let rule = AlertRule::above("any_error", AlertMetric::Errors, 0.0, 0);
    let mem = store_with(vec![rule], 20, true);
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let id = mem.on_alert(move |e| {
        let _ = tx.lock().unwrap().send(e.clone());
    });
    fail_once(&mem);
    let e = rx.recv_timeout(Duration::from_secs(10)).expect("the operations thread delivers the alert");
    assert_eq!((e.rule.as_str(), e.state), ("any_error", AlertState::Firing));
    let e = rx.recv_timeout(Duration::from_secs(10)).expect("and its resolution");
    assert_eq!(e.state, AlertState::Resolved);
    assert!(mem.remove_alert_callback(id));
    assert!(!mem.remove_alert_callback(id));
    mem.close().unwrap();
}

#[test]
fn default_rules_and_invalid_rules() {
    let config = memorable_core::Config::default();
    let names: Vec<&str> = config.alerts.rules.iter().map(|r| r.name.as_str()).collect();
    for n in ["recall_latency", "error_rate", "disk_free", "memory", "model_fallback", "health_failing"] {
        assert!(names.contains(&n), "{n}");
    }
    let json = r#"{"alerts": {"rules": [{"name": "x", "metric": "recall_p95_ms", "above": 5, "below": 1}]}}"#;
    assert_eq!(
        memorable_core::Config::from_json(json).unwrap_err().code(),
        memorable_core::ErrorCode::InvalidConfig
    );
    let json = r#"{"alerts": {"interval_ms": 500, "rules": [{"name": "x", "metric": "disk_free_mb", "below": 5, "for_ms": 100}]}}"#;
    let c = memorable_core::Config::from_json(json).unwrap();
    assert_eq!(c.alerts.rules[0], AlertRule::below("x", AlertMetric::DiskFreeMb, 5.0, 100));
    // A healthy in-memory store with the defaults fires nothing (hashing chosen explicitly is
    // no fallback).
    let mem = Builder::in_memory().config(crate::common::hashing_config()).open().unwrap();
    assert!(mem.evaluate_alerts().unwrap().is_empty(), "{:?}", mem.active_alerts());
}

#[test]
fn rules_change_without_reopening_and_invalid_ones_change_nothing() {
    let mem = store_with(vec![AlertRule::above("errs", AlertMetric::Errors, 5.0, 0)], 1_000, false);
    fail_once(&mem);
    assert!(mem.evaluate_alerts_at(Duration::from_millis(0)).unwrap().is_empty(), "1 error is not above 5");
    // A lower threshold from a reloaded settings file: the next window's error fires it.
    mem.set_alert_rules(vec![AlertRule::above("errs", AlertMetric::Errors, 0.0, 0)]).unwrap();
    assert_eq!(mem.alert_rules(), vec![AlertRule::above("errs", AlertMetric::Errors, 0.0, 0)]);
    fail_once(&mem);
    let fired = mem.evaluate_alerts_at(Duration::from_millis(10)).unwrap();
    assert_eq!(
        fired.iter().map(|e| (e.rule.as_str(), e.state)).collect::<Vec<_>>(),
        [("errs", AlertState::Firing)]
    );
    let before = mem.alert_rules();
    for bad in [
        vec![AlertRule::above("", AlertMetric::Errors, 1.0, 0)],
        vec![
            AlertRule::above("a", AlertMetric::Errors, 1.0, 0),
            AlertRule::below("a", AlertMetric::Errors, 1.0, 0),
        ],
        vec![AlertRule::above("a", AlertMetric::Errors, f64::NAN, 0)],
    ] {
        let e = mem.set_alert_rules(bad).unwrap_err();
        assert_eq!(e.code(), memorable_core::ErrorCode::InvalidConfig);
    }
    assert_eq!(mem.alert_rules(), before);
    assert_eq!(mem.active_alerts().len(), 1, "a kept rule keeps its state");
    mem.set_alert_rules(Vec::new()).unwrap();
    assert!(mem.active_alerts().is_empty());
}
