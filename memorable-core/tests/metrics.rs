//! Metrics count exactly the operations performed; the Prometheus rendering parses.

use std::collections::{HashMap, HashSet};

use memorable_core::{Builder, HealthStatus, MemoryUpdate, NewMemory, Recall};

#[test]
fn metrics_count_the_operations_performed() {
    let dir = tempfile::tempdir().unwrap();
    let mem = crate::common::open_hashing(dir.path());
    let ids: Vec<u64> = (0..5)
        .map(|i| mem.remember(NewMemory::new("alice", format!("note {i} about tea"))).unwrap())
        .collect();
    mem.remember_batch((0..3).map(|i| NewMemory::new("bob", format!("bob note {i}"))).collect()).unwrap();
    mem.remember(NewMemory::new("carol", "carol's only note")).unwrap();
    for q in ["tea", "note", "coffee", "bob"] {
        mem.recall(&Recall::new("alice", q).limit(3)).unwrap();
    }
    mem.update(ids[0], MemoryUpdate::default().text("note 0 about green tea")).unwrap();
    mem.update(ids[1], MemoryUpdate::default().importance(0.9)).unwrap();
    mem.forget(ids[2]).unwrap();
    assert_eq!(mem.forget_user("carol").unwrap(), 1);
    // Failures, by code.
    assert!(mem.remember(NewMemory::new("alice", "")).is_err());
    assert!(mem.remember(NewMemory::new("alice", "  ")).is_err());
    assert!(mem.get(999).is_err());
    assert!(mem.recall(&Recall::new("", "x")).is_err());
    mem.metrics_registry().readings_fused.add(4);

    let m = mem.metrics().unwrap();
    let c = &m.counters;
    assert_eq!(c.memories_written, 9);
    assert_eq!(c.memories_updated, 2);
    assert_eq!(c.memories_forgotten, 2);
    assert_eq!(c.recalls, 4);
    assert_eq!(c.readings_fused, 4);
    assert_eq!(c.errors, 4);
    let by_code: HashMap<&str, u64> = m.errors_by_code.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(by_code, HashMap::from([("EMPTY_TEXT", 2), ("NOT_FOUND", 1), ("MISSING_USER", 1)]));
    // 7 remember calls + 1 batch + 4 recalls + 2 updates + forget + forget_user + 4 failures.
    assert_eq!(c.calls, 7 + 4 + 2 + 2 + 4);
    assert_eq!(m.latency.remember.count, 7, "successful remember / remember_batch calls");
    assert_eq!(m.latency.recall.count, 4);
    assert!(m.latency.embed.count >= 12, "every embedder call (remember, recall, the re-embedded update)");
    for l in [&m.latency.remember, &m.latency.recall] {
        assert!(
            l.p50_ms > 0.0 && l.p50_ms <= l.p95_ms && l.p95_ms <= l.p99_ms && l.p99_ms <= l.max_ms * 1.0001,
            "{l:?}"
        );
    }
    let g = &m.gauges;
    assert_eq!((g.memories, g.users), (7, 2));
    let per_user: Vec<(&str, u64)> =
        g.memories_per_user.iter().map(|u| (u.user.as_str(), u.memories)).collect();
    assert_eq!(per_user, vec![("alice", 4), ("bob", 3)]);
    assert_eq!(g.loaded_indexes, 2);
    assert_eq!(g.index_live, 7);
    assert!(g.store_bytes > 0);
    if cfg!(target_os = "linux") {
        assert!(g.resident_memory_bytes > 1 << 20);
        assert!(g.disk_free_bytes > 0);
    }
    assert_eq!(m.model_id, "hashing-v1-384");
    assert!(m.uptime_seconds > 0.0);
    mem.close().unwrap();
    assert_eq!(mem.metrics().unwrap_err().code(), memorable_core::ErrorCode::Closed);
}

#[test]
fn metrics_can_be_turned_off() {
    let mut config = crate::common::hashing_config();
    config.metrics = false;
    let mem = Builder::in_memory().config(config).open().unwrap();
    mem.remember(NewMemory::new("a", "hello")).unwrap();
    mem.recall(&Recall::new("a", "hello")).unwrap();
    let m = mem.metrics().unwrap();
    assert_eq!((m.counters.calls, m.latency.recall.count, m.latency.embed.count), (0, 0, 0));
    assert_eq!(m.gauges.memories, 1, "gauges are read from the store either way");
}

/// A strict reader of the Prometheus text format 0.0.4: every sample belongs to a family
/// declared by HELP and TYPE before it, names and labels are well-formed, values parse,
/// counters end in _total, summaries have quantile labels or _sum/_count.
fn parse_prometheus(text: &str) -> HashMap<String, f64> {
    let name_ok = |n: &str| {
        let mut cs = n.chars();
        cs.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    };
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helped: HashSet<String> = HashSet::new();
    let mut samples = HashMap::new();
    assert!(text.ends_with('\n'));
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(name_ok(name), "{line}");
            assert!(helped.insert(name.to_owned()), "HELP twice: {line}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(["counter", "gauge", "summary", "histogram", "untyped"].contains(&kind), "{line}");
            assert!(types.insert(name.to_owned(), kind.to_owned()).is_none(), "TYPE twice: {line}");
            assert!(helped.contains(name), "TYPE before HELP: {line}");
            continue;
        }
        assert!(!line.starts_with('#') && !line.is_empty(), "stray line {line:?}");
        let (series, value) = line.rsplit_once(' ').unwrap();
        let v: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => {
                (n, Some(l.strip_suffix('}').unwrap_or_else(|| panic!("unclosed labels: {line}"))))
            }
            None => (series, None),
        };
        assert!(name_ok(name), "{line}");
        if let Some(labels) = labels {
            // name="value" pairs; values may hold escaped quotes.
            let mut rest = labels;
            while !rest.is_empty() {
                let (lname, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("bad label in {line}"));
                assert!(name_ok(lname), "{line}");
                let mut end = None;
                let mut escaped = false;
                for (i, ch) in after.char_indices() {
                    match (escaped, ch) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '"') => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.unwrap_or_else(|| panic!("unterminated label value in {line}"));
                rest = after[end + 1..].strip_prefix(',').unwrap_or(&after[end + 1..]);
            }
        }
        let family = types
            .keys()
            .filter(|f| {
                name == f.as_str()
                    || name.strip_prefix(f.as_str()).is_some_and(|s| s == "_sum" || s == "_count")
            })
            .max_by_key(|f| f.len())
            .unwrap_or_else(|| panic!("sample of an undeclared family: {line}"));
        match types[family].as_str() {
            "counter" => assert!(family.ends_with("_total") && v >= 0.0, "{line}"),
            "summary" if name == family => {
                assert!(labels.is_some_and(|l| l.starts_with("quantile=\"")), "{line}")
            }
            _ => {}
        }
        samples.insert(series.to_owned(), v);
    }
    samples
}

#[test]
fn prometheus_output_parses_and_matches_the_snapshot() {
    let mem = Builder::in_memory().config(crate::common::hashing_config()).open().unwrap();
    mem.remember(NewMemory::new("alice", "tea with Lena")).unwrap();
    mem.remember(NewMemory::new("a \"quoted\" user\\with\nnewline", "odd user ids are escaped")).unwrap();
    mem.recall(&Recall::new("alice", "tea")).unwrap();
    assert!(mem.get(42).is_err());
    let text = mem.metrics_prometheus().unwrap();
    let s = parse_prometheus(&text);
    assert_eq!(s["memorable_memories_written_total"], 2.0);
    assert_eq!(s["memorable_recalls_total"], 1.0);
    assert_eq!(s["memorable_errors_total{code=\"NOT_FOUND\"}"], 1.0);
    assert_eq!(s["memorable_recall_duration_seconds_count"], 1.0);
    assert!(s["memorable_recall_duration_seconds{quantile=\"0.95\"}"] > 0.0);
    assert_eq!(s["memorable_memories"], 2.0);
    assert_eq!(s["memorable_user_memories{user=\"alice\"}"], 1.0);
    assert_eq!(s["memorable_user_memories{user=\"a \\\"quoted\\\" user\\\\with\\nnewline\"}"], 1.0);
    assert_eq!(s["memorable_model_fallback{model=\"hashing-v1-384\"}"], 0.0);
    // The store's families carry its backend (no other instances to sync with here).
    assert_eq!(s["memorable_store_info{backend=\"sqlite\"}"], 1.0);
    assert_eq!(s["memorable_store_sync_polls_total{backend=\"sqlite\"}"], 0.0);
    assert_eq!(mem.metrics().unwrap().store.backend, "sqlite");
}

#[test]
fn health_reports_checks_and_probes() {
    let dir = tempfile::tempdir().unwrap();
    let mem = crate::common::open_hashing(dir.path());
    crate::common::seed(&mem);
    let h = mem.health().unwrap();
    assert_eq!(h.status, HealthStatus::Ok, "{h:?}");
    let names: Vec<&str> = h.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["store", "index", "model", "disk", "memory"]);
    assert!(h.check("store").unwrap().reason.contains("quick_check ok"));
    // A probe (as the Hume client registers) joins the roll-up.
    mem.add_health_probe("hume", || {
        memorable_core::HealthCheck::new("hume", HealthStatus::Degraded, "reconnecting (attempt 2)")
    });
    let h = mem.health().unwrap();
    assert_eq!(h.status, HealthStatus::Degraded);
    assert_eq!(h.check("hume").unwrap().reason, "reconnecting (attempt 2)");
    mem.add_health_probe("broken", || panic!("probe bug"));
    let h = mem.health().unwrap();
    assert_eq!(h.status, HealthStatus::Failing);
    assert!(mem.remove_health_probe("broken") && mem.remove_health_probe("hume"));
    assert_eq!(mem.health().unwrap().status, HealthStatus::Ok);
    // Disk thresholds come from the config: an impossible one degrades, then fails.
    mem.close().unwrap();
    let mut config = crate::common::hashing_config();
    config.health.disk_free_degraded_mb = u64::MAX / 2;
    let mem = Builder::new_dir(dir.path(), config.clone());
    assert_eq!(mem.health().unwrap().check("disk").unwrap().status, HealthStatus::Degraded);
    mem.close().unwrap();
    config.health.disk_free_failing_mb = u64::MAX / 2;
    let mem = Builder::new_dir(dir.path(), config);
    let h = mem.health().unwrap();
    assert_eq!(h.status, HealthStatus::Failing);
    assert!(h.check("disk").unwrap().reason.contains("writes may fail"));
}

trait OpenWith {
    fn new_dir(dir: &std::path::Path, config: memorable_core::Config) -> memorable_core::Memorable;
}

impl OpenWith for Builder {
    fn new_dir(dir: &std::path::Path, config: memorable_core::Config) -> memorable_core::Memorable {
        memorable_core::Memorable::builder(dir).config(config).open().unwrap()
    }
}
