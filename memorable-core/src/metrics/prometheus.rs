//! Prometheus text exposition (format 0.0.4) of a [`MetricsSnapshot`]: what
//! `memorable metrics --prometheus` prints and what a host serves on its `/metrics` route
//! (`Memorable::metrics_prometheus()`).
//!
//! Counters end in `_total`, latencies are summaries in seconds (p50 / p95 / p99 since
//! open, plus `_sum` and `_count`), sizes are gauges in bytes.

use std::fmt::Write;

use super::families::{families, Kind};
use super::MetricsSnapshot;

/// Render `s` in the Prometheus text format.
pub fn render(s: &MetricsSnapshot) -> String {
    let mut out = String::with_capacity(4096);
    for f in families(s) {
        let kind = match f.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Summary => "summary",
        };
        let _ = writeln!(out, "# HELP {} {}\n# TYPE {} {kind}", f.name, f.help, f.name);
        for sample in &f.samples {
            let labels = if sample.labels.is_empty() {
                String::new()
            } else {
                let inner: Vec<String> =
                    sample.labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
                format!("{{{}}}", inner.join(","))
            };
            let _ = writeln!(out, "{}{}{labels} {}", f.name, sample.suffix, num(sample.value));
        }
    }
    out
}

/// A sample value: finite numbers as Rust prints them, the rest as Prometheus spells them.
fn num(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(num(f64::INFINITY), "+Inf");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(num(3.0), "3");
    }
}
