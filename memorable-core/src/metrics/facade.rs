//! Adapter to the [`metrics`](https://docs.rs/metrics) crate facade: hosts that already run an exporter (metrics-exporter-prometheus,
//! StatsD, OpenTelemetry bridges ...) get every MemoRable metric through their own recorder.
//!
//! MemoRable keeps its own lock-free counters and histograms and *publishes* a snapshot into
//! the facade, rather than calling the facade on every operation: the hot path stays two
//! relaxed atomic adds whatever recorder the host installed. With `Config::metrics_facade`
//! the store's operations thread publishes every `alerts.interval_ms`; [`crate::Memorable::publish_metrics`]
//! publishes on demand. Counters are set with `absolute` (they count since open), gauges with
//! `set`, and latency summaries become gauges labelled `quantile` plus `_sum` / `_count`
//! gauges, the same names and labels as the Prometheus rendering.

use ::metrics::{counter, gauge, Label};

use super::families::{families, Kind};
use super::MetricsSnapshot;

/// Publish every family of `s` to the globally installed `metrics` recorder (a no-op when
/// none is installed).
pub fn publish(s: &MetricsSnapshot) {
    for f in families(s) {
        for sample in f.samples {
            let name = format!("{}{}", f.name, sample.suffix);
            let labels: Vec<Label> = sample.labels.into_iter().map(|(k, v)| Label::new(k, v)).collect();
            match f.kind {
                Kind::Counter => counter!(name, labels).absolute(sample.value as u64),
                Kind::Gauge | Kind::Summary => gauge!(name, labels).set(sample.value),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};

    use ::metrics::{
        Counter, CounterFn, Gauge, GaugeFn, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
    };

    use super::*;
    use crate::metrics::{Counters, Gauges, Latencies, LatencySummary};

    /// A recorder that remembers the last value of every key, rendered `name{k=v,...}`.
    #[derive(Default)]
    struct Capture(Arc<Mutex<BTreeMap<String, f64>>>);

    struct Cell(String, Arc<Mutex<BTreeMap<String, f64>>>, AtomicU64);
    impl CounterFn for Cell {
        fn increment(&self, v: u64) {
            let n = self.2.fetch_add(v, Ordering::Relaxed) + v;
            self.1.lock().unwrap().insert(self.0.clone(), n as f64);
        }
        fn absolute(&self, v: u64) {
            self.2.store(v, Ordering::Relaxed);
            self.1.lock().unwrap().insert(self.0.clone(), v as f64);
        }
    }
    impl GaugeFn for Cell {
        fn increment(&self, _: f64) {}
        fn decrement(&self, _: f64) {}
        fn set(&self, v: f64) {
            self.1.lock().unwrap().insert(self.0.clone(), v);
        }
    }

    fn render(key: &Key) -> String {
        let labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
        format!("{}{{{}}}", key.name(), labels.join(","))
    }

    impl Recorder for Capture {
        fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            Counter::from_arc(Arc::new(Cell(render(key), self.0.clone(), AtomicU64::new(0))))
        }
        fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::from_arc(Arc::new(Cell(render(key), self.0.clone(), AtomicU64::new(0))))
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }

    #[test]
    fn every_family_reaches_the_recorder_with_its_labels() {
        let mut errors = BTreeMap::new();
        errors.insert("EMPTY_TEXT".to_owned(), 2);
        let snapshot = MetricsSnapshot {
            uptime_seconds: 1.5,
            counters: Counters { recalls: 7, memories_written: 3, ..Counters::default() },
            errors_by_code: errors,
            latency: Latencies {
                recall: LatencySummary {
                    count: 7,
                    sum_ms: 14.0,
                    p50_ms: 2.0,
                    p95_ms: 3.0,
                    p99_ms: 4.0,
                    ..Default::default()
                },
                ..Latencies::default()
            },
            gauges: Gauges { memories: 3, ..Gauges::default() },
            model_id: "hashing-v1-384".into(),
            model_fallback: false,
            store: crate::metrics::StoreMetrics {
                backend: "postgres".into(),
                sync_polls: 4,
                ..Default::default()
            },
        };
        let capture = Capture::default();
        let seen = capture.0.clone();
        ::metrics::with_local_recorder(&capture, || publish(&snapshot));
        let seen = seen.lock().unwrap();
        assert_eq!(seen["memorable_recalls_total{}"], 7.0);
        assert_eq!(seen["memorable_memories_written_total{}"], 3.0);
        assert_eq!(seen["memorable_errors_total{code=EMPTY_TEXT}"], 2.0);
        assert_eq!(seen["memorable_recall_duration_seconds{quantile=0.5}"], 0.002);
        assert_eq!(seen["memorable_recall_duration_seconds_count{}"], 7.0);
        assert_eq!(seen["memorable_memories{}"], 3.0);
        assert_eq!(seen["memorable_model_fallback{model=hashing-v1-384}"], 0.0);
        assert_eq!(seen["memorable_store_sync_polls_total{backend=postgres}"], 4.0);
        // The facade sees exactly the samples the Prometheus rendering prints.
        let prometheus_samples =
            crate::metrics::prometheus::render(&snapshot).lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(seen.len(), prometheus_samples);
    }
}
