//! Metrics: what the engine did (counters), how long it took (latency histograms) and what
//! it holds (gauges), read as one [`MetricsSnapshot`] from [`crate::Memorable::metrics`] and
//! rendered for Prometheus by [`prometheus::render`].
//!
//! Recording is lock-free: relaxed atomic adds on the call path, nothing else. Gauges are
//! computed when a snapshot is taken, never on the hot path. Other layers record through the
//! handle's [`Metrics`] (e.g. `metrics.readings_fused.inc()` from the emotion layer).

pub mod facade;
pub mod families;
mod histogram;
pub(crate) mod process;
pub mod prometheus;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use histogram::{Histogram, HistogramSnapshot, LatencySummary};

use crate::error::{Error, ErrorCode};

/// A monotonically increasing count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    #[inline]
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Slots for errors by code number (codes are below 64).
const ERROR_SLOTS: usize = 64;

/// The recording side of the metrics of one store (shared by every clone of its handle).
pub struct Metrics {
    enabled: bool,
    started: Instant,
    /// Public API calls made (remember, recall, update, forget, ...), failed ones included.
    pub calls: Counter,
    pub memories_written: Counter,
    pub memories_updated: Counter,
    pub memories_forgotten: Counter,
    pub recalls: Counter,
    /// Times a fallback was taken (e.g. the hashing embedder because MiniLM failed to load).
    pub fallbacks_taken: Counter,
    /// Emotion readings fused into a context's state (recorded by the emotion layer).
    pub readings_fused: Counter,
    pub backups: Counter,
    /// Alert callbacks that panicked or threw (the engine carried on).
    pub alert_callback_failures: Counter,
    errors: [Counter; ERROR_SLOTS],
    pub remember_latency: Histogram,
    pub recall_latency: Histogram,
    pub embed_latency: Histogram,
}

impl Metrics {
    pub(crate) fn new(enabled: bool) -> Metrics {
        Metrics {
            enabled,
            started: Instant::now(),
            calls: Counter::default(),
            memories_written: Counter::default(),
            memories_updated: Counter::default(),
            memories_forgotten: Counter::default(),
            recalls: Counter::default(),
            fallbacks_taken: Counter::default(),
            readings_fused: Counter::default(),
            backups: Counter::default(),
            alert_callback_failures: Counter::default(),
            errors: std::array::from_fn(|_| Counter::default()),
            remember_latency: Histogram::default(),
            recall_latency: Histogram::default(),
            embed_latency: Histogram::default(),
        }
    }

    /// False when `Config.metrics` turned recording off.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Start timing (`None` when metrics are off, so a disabled store skips the clock).
    #[inline]
    pub fn start(&self) -> Option<Instant> {
        self.enabled.then(Instant::now)
    }

    /// Record the time since `start` into `h`.
    #[inline]
    pub fn finish(&self, h: &Histogram, start: Option<Instant>) {
        if let Some(t) = start {
            h.record(t.elapsed());
        }
    }

    /// Count one public call and, when it failed, its error code.
    #[inline]
    pub fn track<T>(&self, result: crate::Result<T>) -> crate::Result<T> {
        if self.enabled {
            self.calls.inc();
            if let Err(e) = &result {
                self.error(e);
            }
        }
        result
    }

    /// Count an error by its code.
    pub fn error(&self, e: &Error) {
        let slot = e.code() as usize;
        if slot < ERROR_SLOTS {
            self.errors[slot].inc();
        }
    }

    pub fn errors_of(&self, code: ErrorCode) -> u64 {
        self.errors.get(code as usize).map_or(0, Counter::get)
    }

    /// Counters and latency histograms (gauges are added by `Memorable::metrics`).
    pub fn recorded(&self) -> Recorded {
        let errors_by_code: BTreeMap<String, u64> = ErrorCode::ALL
            .iter()
            .map(|c| (c.name().to_owned(), self.errors_of(*c)))
            .filter(|(_, n)| *n > 0)
            .collect();
        Recorded {
            uptime: self.started.elapsed(),
            counters: Counters {
                calls: self.calls.get(),
                memories_written: self.memories_written.get(),
                memories_updated: self.memories_updated.get(),
                memories_forgotten: self.memories_forgotten.get(),
                recalls: self.recalls.get(),
                errors: errors_by_code.values().sum(),
                fallbacks_taken: self.fallbacks_taken.get(),
                readings_fused: self.readings_fused.get(),
                backups: self.backups.get(),
                alert_callback_failures: self.alert_callback_failures.get(),
            },
            errors_by_code,
            remember: self.remember_latency.snapshot(),
            recall: self.recall_latency.snapshot(),
            embed: self.embed_latency.snapshot(),
        }
    }
}

/// Raw recorded values (histograms unsummarized), for snapshots and alert windows.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub uptime: Duration,
    pub counters: Counters,
    pub errors_by_code: BTreeMap<String, u64>,
    pub remember: HistogramSnapshot,
    pub recall: HistogramSnapshot,
    pub embed: HistogramSnapshot,
}

/// Counts since the store was opened by this handle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// Public API calls, failed ones included.
    pub calls: u64,
    pub memories_written: u64,
    pub memories_updated: u64,
    pub memories_forgotten: u64,
    pub recalls: u64,
    /// Failed calls (the sum of `errors_by_code`).
    pub errors: u64,
    pub fallbacks_taken: u64,
    pub readings_fused: u64,
    pub backups: u64,
    pub alert_callback_failures: u64,
}

/// Latency of remember (per call), recall (per call) and embed (per embedder call).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latencies {
    pub remember: LatencySummary,
    pub recall: LatencySummary,
    pub embed: LatencySummary,
}

/// Memories of one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserMemories {
    pub user: String,
    pub memories: u64,
}

/// What the store holds right now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Gauges {
    pub memories: u64,
    pub users: u64,
    /// Memories per user, largest first (at most [`MAX_USERS_LISTED`] users).
    pub memories_per_user: Vec<UserMemories>,
    pub loaded_indexes: u64,
    /// Points in the loaded HNSW graphs (tombstones included).
    pub index_points: u64,
    pub index_live: u64,
    /// Committed vectors not yet in a graph (searched exactly meanwhile).
    pub index_pending: u64,
    pub index_tombstones: u64,
    /// Index dumps on disk, in bytes.
    pub index_dump_bytes: u64,
    /// Database + WAL on disk, in bytes.
    pub store_bytes: u64,
    /// Resident memory of the process (0 where unknown).
    pub resident_memory_bytes: u64,
    /// Estimated memory of the embedding model (the catalog's figure).
    pub model_memory_bytes: u64,
    /// Free space on the store's file system (0 in memory or where unknown).
    pub disk_free_bytes: u64,
}

/// Users listed in [`Gauges::memories_per_user`].
pub const MAX_USERS_LISTED: usize = 1000;

/// The store's backend and its sync figures (defined by the store, which keeps them).
pub use crate::store::StoreMetrics;

/// Everything [`crate::Memorable::metrics`] reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    pub uptime_seconds: f64,
    pub counters: Counters,
    /// Failed calls by stable code name (`"EMPTY_TEXT"`: 3); codes never seen are absent.
    pub errors_by_code: BTreeMap<String, u64>,
    pub latency: Latencies,
    pub gauges: Gauges,
    /// Embedding model in use.
    pub model_id: String,
    /// True when a fallback embedder serves because the chosen model could not load (not
    /// when the hashing embedder was asked for).
    pub model_fallback: bool,
    /// The store's backend and its sync with other instances.
    #[serde(default)]
    pub store: StoreMetrics,
}
