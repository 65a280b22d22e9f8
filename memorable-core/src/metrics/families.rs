//! One description of every metric a [`MetricsSnapshot`] exposes — name, help, kind, labelled
//! samples — shared by the Prometheus text rendering and the `metrics`-crate adapter, so the
//! two outputs cannot drift apart.

use super::{LatencySummary, MetricsSnapshot};

/// How a metric family behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only ever increases while the store is open.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// Latency quantiles plus `_sum` and `_count`.
    Summary,
}

/// One sample of a family: a name suffix (`""`, `"_sum"`, `"_count"`), labels and a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub suffix: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

/// A metric family: everything exported under one name.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub samples: Vec<Sample>,
}

fn plain(value: f64) -> Vec<Sample> {
    vec![Sample { suffix: "", labels: Vec::new(), value }]
}

fn family(name: &'static str, help: &'static str, kind: Kind, samples: Vec<Sample>) -> Family {
    Family { name, help, kind, samples }
}

fn summary(l: &LatencySummary) -> Vec<Sample> {
    let mut out = Vec::with_capacity(5);
    if l.count > 0 {
        for (q, ms) in [("0.5", l.p50_ms), ("0.95", l.p95_ms), ("0.99", l.p99_ms)] {
            out.push(Sample { suffix: "", labels: vec![("quantile", q.to_owned())], value: ms / 1000.0 });
        }
    }
    out.push(Sample { suffix: "_sum", labels: Vec::new(), value: l.sum_ms / 1000.0 });
    out.push(Sample { suffix: "_count", labels: Vec::new(), value: l.count as f64 });
    out
}

/// Every family of `s`, in a stable order.
pub fn families(s: &MetricsSnapshot) -> Vec<Family> {
    let c = &s.counters;
    let mut out = vec![family(
        "memorable_uptime_seconds",
        "Seconds since the store was opened.",
        Kind::Gauge,
        plain(s.uptime_seconds),
    )];
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
        out.push(family(name, help, Kind::Counter, plain(v as f64)));
    }
    out.push(family(
        "memorable_errors_total",
        "Failed calls by error code.",
        Kind::Counter,
        s.errors_by_code
            .iter()
            .map(|(code, n)| Sample { suffix: "", labels: vec![("code", code.clone())], value: *n as f64 })
            .collect(),
    ));
    for (name, help, l) in [
        (
            "memorable_remember_duration_seconds",
            "Latency of one remember / remember_batch call, since open.",
            &s.latency.remember,
        ),
        ("memorable_recall_duration_seconds", "Latency of one recall call, since open.", &s.latency.recall),
        ("memorable_embed_duration_seconds", "Latency of one embedder call, since open.", &s.latency.embed),
    ] {
        out.push(family(name, help, Kind::Summary, summary(l)));
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
        (
            "memorable_store_bytes",
            "Database and WAL on disk (PostgreSQL: the database's size).",
            g.store_bytes,
        ),
        ("memorable_resident_memory_bytes", "Resident memory of the process.", g.resident_memory_bytes),
        ("memorable_model_memory_bytes", "Estimated memory of the embedding model.", g.model_memory_bytes),
        ("memorable_disk_free_bytes", "Free space on the store's file system.", g.disk_free_bytes),
    ] {
        out.push(family(name, help, Kind::Gauge, plain(v as f64)));
    }
    let st = &s.store;
    let backend = || vec![("backend", st.backend.clone())];
    out.push(family(
        "memorable_store_info",
        "1, labelled with the store's backend (sqlite or postgres).",
        Kind::Gauge,
        vec![Sample { suffix: "", labels: backend(), value: 1.0 }],
    ));
    for (name, help, v) in [
        ("memorable_store_sync_polls_total", "Polls of the change log other instances write.", st.sync_polls),
        (
            "memorable_store_sync_changes_total",
            "Users whose memories another instance changed, per poll that found them.",
            st.sync_changes,
        ),
        ("memorable_store_sync_errors_total", "Change-log polls that failed.", st.sync_errors),
        (
            "memorable_store_reconnects_total",
            "Database connections re-opened after the server dropped them.",
            st.reconnects,
        ),
    ] {
        out.push(family(
            name,
            help,
            Kind::Counter,
            vec![Sample { suffix: "", labels: backend(), value: v as f64 }],
        ));
    }
    out.push(family(
        "memorable_store_sync_lag_seconds",
        "Seconds since the last successful change-log poll (0 on SQLite).",
        Kind::Gauge,
        vec![Sample { suffix: "", labels: backend(), value: st.sync_lag_seconds }],
    ));
    out.push(family(
        "memorable_user_memories",
        "Memories of one user (largest users).",
        Kind::Gauge,
        g.memories_per_user
            .iter()
            .map(|u| Sample { suffix: "", labels: vec![("user", u.user.clone())], value: u.memories as f64 })
            .collect(),
    ));
    out.push(family(
        "memorable_model_fallback",
        "1 when a fallback embedder serves because the chosen model could not.",
        Kind::Gauge,
        vec![Sample {
            suffix: "",
            labels: vec![("model", s.model_id.clone())],
            value: f64::from(u8::from(s.model_fallback)),
        }],
    ));
    out
}
