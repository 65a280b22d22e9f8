//! Prometheus text exposition (format 0.0.4) of a [`MetricsSnapshot`]: what
//! `memorable metrics --prometheus` prints and what a host serves on its `/metrics` route
//! (`Memorable::metrics_prometheus()`).
//!
//! Counters end in `_total`, latencies are summaries in seconds (p50 / p95 / p99 since
//! open, plus `_sum` and `_count`), sizes are gauges in bytes.

use std::fmt::Write;

use super::{LatencySummary, MetricsSnapshot};

/// Render `s` in the Prometheus text format.
pub fn render(s: &MetricsSnapshot) -> String {
    let mut out = String::with_capacity(4096);
    let c = &s.counters;
    gauge(&mut out, "memorable_uptime_seconds", "Seconds since the store was opened.", s.uptime_seconds);
    for (name, help, v) in [
        ("memorable_calls_total", "Public API calls, failed ones included.", c.calls),
        ("memorable_memories_written_total", "Memories stored.", c.memories_written),
        ("memorable_memories_updated_total", "Memories changed.", c.memories_updated),
        ("memorable_memories_forgotten_total", "Memories erased.", c.memories_forgotten),
        ("memorable_recalls_total", "Recall calls.", c.recalls),
        (
            "memorable_fallbacks_taken_total",
            "Fallbacks taken (e.g. the hashing embedder).",
            c.fallbacks_taken,
        ),
        ("memorable_readings_fused_total", "Emotion readings fused.", c.readings_fused),
        ("memorable_backups_total", "Backups written.", c.backups),
        (
            "memorable_alert_callback_failures_total",
            "Alert callbacks that panicked or threw.",
            c.alert_callback_failures,
        ),
    ] {
        header(&mut out, name, help, "counter");
        let _ = writeln!(out, "{name} {v}");
    }
    header(&mut out, "memorable_errors_total", "Failed calls by error code.", "counter");
    for (code, n) in &s.errors_by_code {
        let _ = writeln!(out, "memorable_errors_total{{code=\"{}\"}} {n}", escape(code));
    }
    for (name, what, l) in [
        ("memorable_remember_duration_seconds", "remember / remember_batch call", &s.latency.remember),
        ("memorable_recall_duration_seconds", "recall call", &s.latency.recall),
        ("memorable_embed_duration_seconds", "embedder call", &s.latency.embed),
    ] {
        summary(&mut out, name, &format!("Latency of one {what}, since open."), l);
    }
    let g = &s.gauges;
    for (name, help, v) in [
        ("memorable_memories", "Memories in the store.", g.memories),
        ("memorable_users", "Users in the store.", g.users),
        ("memorable_loaded_indexes", "Per-user HNSW indexes loaded.", g.loaded_indexes),
        ("memorable_index_points", "Points in the loaded HNSW graphs, tombstones included.", g.index_points),
        ("memorable_index_live", "Live vectors in the loaded indexes.", g.index_live),
        ("memorable_index_pending", "Committed vectors not yet in a graph.", g.index_pending),
        ("memorable_index_tombstones", "Deleted vectors still in the graphs.", g.index_tombstones),
        ("memorable_index_dump_bytes", "Index dumps on disk.", g.index_dump_bytes),
        ("memorable_store_bytes", "Database and WAL on disk.", g.store_bytes),
        ("memorable_resident_memory_bytes", "Resident memory of the process.", g.resident_memory_bytes),
        ("memorable_model_memory_bytes", "Estimated memory of the embedding model.", g.model_memory_bytes),
        ("memorable_disk_free_bytes", "Free space on the store's file system.", g.disk_free_bytes),
    ] {
        gauge(&mut out, name, help, v as f64);
    }
    header(&mut out, "memorable_user_memories", "Memories of one user (largest users).", "gauge");
    for u in &g.memories_per_user {
        let _ = writeln!(out, "memorable_user_memories{{user=\"{}\"}} {}", escape(&u.user), u.memories);
    }
    header(
        &mut out,
        "memorable_model_fallback",
        "1 when a fallback embedder serves because the chosen model could not.",
        "gauge",
    );
    let _ = writeln!(
        out,
        "memorable_model_fallback{{model=\"{}\"}} {}",
        escape(&s.model_id),
        u8::from(s.model_fallback)
    );
    out
}

fn header(out: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn gauge(out: &mut String, name: &str, help: &str, v: f64) {
    header(out, name, help, "gauge");
    let _ = writeln!(out, "{name} {}", num(v));
}

fn summary(out: &mut String, name: &str, help: &str, l: &LatencySummary) {
    header(out, name, help, "summary");
    if l.count > 0 {
        for (q, ms) in [("0.5", l.p50_ms), ("0.95", l.p95_ms), ("0.99", l.p99_ms)] {
            let _ = writeln!(out, "{name}{{quantile=\"{q}\"}} {}", num(ms / 1000.0));
        }
    }
    let _ = writeln!(out, "{name}_sum {}\n{name}_count {}", num(l.sum_ms / 1000.0), l.count);
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
