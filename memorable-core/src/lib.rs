//! # MemoRable
//!
//! An embeddable long-term memory engine for AI agents: one [`Memorable`] handle, opened
//! in-process on a directory, stores what a user said (with who / what / when / where
//! context) durably in SQLite and finds it again by meaning (per-user HNSW) and keywords
//! (FTS5 BM25), fused by reciprocal rank.
//!
//! ```
//! use memorable_core::{Memorable, NewMemory, Recall};
//!
//! let dir = tempfile::tempdir()?;
//! let mem = Memorable::open(dir.path())?;
//! let id = mem.remember(NewMemory::new("alice", "I adopted a puppy named Biscuit").speaker("alice"))?;
//! mem.remember(NewMemory::new("alice", "The quarterly report is due on Friday"))?;
//!
//! let hits = mem.recall(&Recall::new("alice", "what is my puppy called?").limit(1))?;
//! assert_eq!(hits[0].memory.id, id);
//! mem.close()?;
//! # Ok::<(), memorable_core::Error>(())
//! ```
//!
//! Thread safety: [`Memorable`] is `Send + Sync` and cheap to clone; share it freely.
//! Durability: a call that returned `Ok` is committed to the store's write-ahead log and
//! survives a crash of the process (see [`Durability`] for power loss).

pub mod alerts;
pub mod attention;
mod classify;
pub mod config;
pub mod emotion;
mod engine;
pub mod error;
mod handle;
pub mod health;
pub mod hume;
pub mod index;
pub mod maintenance;
pub mod memory;
pub mod metrics;
pub mod models;
mod ops;
pub mod retrieval;
mod scratch;
mod store;
mod text;
mod time;
#[cfg(feature = "candle")]
pub mod training;

pub use alerts::{AlertEvent, AlertMetric, AlertRule, AlertState, AlertsConfig};
pub use attention::{AttentionConfig, ContextFrame, FrameWhen, Mention};
pub use classify::{classify_with, Classified, ClassifierStatus};
pub use config::{Config, Durability, HnswConfig};
pub use emotion::{EmotionConfig, EmotionalState, HistoryRange, Reading, Semantics, Source};
pub use engine::{EmbedderInfo, ReembedProgress, ReembedReport, Stats};
pub use error::{Error, ErrorCategory, ErrorCode, Result};
pub use handle::{Builder, Memorable, RECENT_LIMIT};
pub use health::{HealthCheck, HealthConfig, HealthReport, HealthStatus};
pub use index::{IndexOrigin, IndexStats};
pub use maintenance::{
    restore, verify, BackupConfig, BackupReport, BackupSchedule, ExportedMemory, ImportReport, RestoreReport,
    RestoreUserReport, Retention, VerifyReport,
};
pub use memory::{
    Context, EmotionSnapshot, Memory, MemoryId, MemoryUpdate, MemoryVersion, Metadata, NewMemory,
};
pub use metrics::MetricsSnapshot;
#[cfg(feature = "candle")]
pub use models::{BertEmbedder, CandleBertEmbedder};
pub use models::{Embedder, EmotionClassifier, HashingEmbedder, Profile, SelectionReport};
pub use retrieval::{
    Fusion, Mood, RankWeights, Recall, RecallMode, Recalled, ScoreBreakdown, TimeWindow, WindowConfig,
};

/// Version of this crate (also the version of every binding).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Schema version of the stores this build writes.
pub const SCHEMA_VERSION: u32 = store::schema::SCHEMA_VERSION;
