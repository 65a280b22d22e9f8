//! # MemoRable
//!
//! An embeddable long-term memory engine for AI agents: one [`Memorable`] handle, opened
//! in-process on a directory, stores what a user said (with who / what / when / where
//! context) durably in SQLite and finds it again by meaning (per-user HNSW) and keywords
//! (BM25), fused and re-ranked by recency, salience, mood, who and when; every hit carries
//! its score breakdown.
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

//! ## Crate features
//!
//! - `candle` (default): the BERT embedders for sentence-transformers model directories
//!   (all-MiniLM-L6-v2): the native CPU forward and candle's (GPUs, and the reference), the
//!   shipped emotion classifier and training. Without it only the hashing embedder exists.
//! - `hume` (default): the Hume realtime (WebSocket) and upload (HTTP) client;
//!   [`hume::parse()`] and [`Memorable::ingest_hume`] are always built.
//! - `cuda`, `metal`: GPU backends for candle, picked at run time by model selection.
//!
//! ## Layout
//!
//! The modules are private; everything public is re-exported below, so moving a file never
//! breaks a caller. Namespaces stay public where a group of names belongs together:
//! [`emotion`] (readings, fusion, the [`emotion::catalog`]), [`hume`], [`models`]
//! (embedders, classifiers, the model cache and selection), [`metrics`] (the registry and
//! the Prometheus rendering) and `training`. `docs/architecture.md` draws the layers.

mod alerts;
mod attention;
mod batching;
#[cfg(feature = "candle")]
mod classifiers;
mod classify;
mod config;
mod consolidate;
mod crash;
mod crypto;
#[cfg(feature = "candle")]
mod deployed;
pub mod emotion;
mod engine;
mod error;
mod handle;
mod health;
pub mod hume;
mod index;
mod jobs;
mod maintenance;
mod memory;
pub mod metrics;
pub mod models;
mod named;
mod ops;
mod packed_scores;
mod plot;
mod retrieval;
mod scratch;
mod store;
mod text;
mod time;
#[cfg(feature = "candle")]
pub mod training;

/// The engine's own HNSW graph over dense vectors (not yet behind the per-user index; see
/// `benches/ann.rs`).
pub mod ann {
    pub use crate::index::hnsw::{DenseHnsw, HnswParams};
}
pub use alerts::{AlertCallback, AlertEvent, AlertMetric, AlertRule, AlertState, AlertsConfig};
pub use attention::{AttentionConfig, ContextFrame, FrameWhen, Mention, FRAME_MEMORIES, FRAME_TOP};
#[cfg(feature = "candle")]
pub use classifiers::{
    Calibration, ClassifierInfo, Example, ExampleImport, ExampleStats, NewExample, TrainingProgress,
    GOEMOTIONS,
};
pub use classify::{classify_with, Classified, ClassifierStatus};
pub use config::{ClassifiersConfig, Config, Durability, HnswConfig, LimitsConfig, ModelsConfig};
pub use consolidate::{
    ConsolidateRequest, ConsolidatedMemory, ConsolidationPath, ConsolidationProgress, ConsolidationReport,
    FACT_KIND, SUMMARY_KIND,
};
pub use crypto::{EncryptionKey, KEY_ENV, MARKER_FILE};
pub use emotion::{user_context, EmotionConfig, EmotionalState, HistoryRange, Reading, Semantics, Source};
pub use engine::{EmbedderInfo, ModelInUse, ReembedProgress, ReembedReport, Stats};
pub use error::{Error, ErrorCategory, ErrorCode, Result};
pub use handle::{Builder, Memorable, JOBS_LIMIT, RECENT_LIMIT};
pub use health::{HealthCheck, HealthConfig, HealthProbe, HealthReport, HealthStatus};
pub use index::{dot, IndexOrigin, IndexStats};
pub use jobs::{JobId, JobInfo, JobState};
pub use maintenance::{
    prune_backups, restore, restore_with_key, restore_with_progress, verify, verify_with_key,
    verify_with_progress, BackupConfig, BackupEntry, BackupManifest, BackupReport, BackupSchedule,
    ExportedMemory, ImportReport, RestoreReport, RestoreUserReport, Retention, VerifyReport, AUTO_BACKUP_DIR,
    BACKUP_EXTENSION,
};
pub use memory::{
    Context, EmotionSnapshot, Memory, MemoryId, MemoryUpdate, MemoryVersion, Metadata, NewMemory,
    DEFAULT_IMPORTANCE, DEFAULT_KIND,
};
pub use metrics::{MetricsSnapshot, StoreMetrics, UserMemories};
pub use models::llm::{
    ChatMessage, ChatRole, FinishReason, GenerateRequest, Generation, Generator, GeneratorChoice,
    ModelServerConfig, Prompt,
};
pub use models::registry::{
    models_deploy, models_gc, models_list, models_rollback, models_update, GcReport, ModelVersion,
    VersionState,
};
#[cfg(feature = "candle")]
pub use models::{BertEmbedder, CandleBertEmbedder};
pub use models::{Embedder, EmotionClassifier, HashingEmbedder, ModelChoice, Profile, SelectionReport};
pub use plot::{Theme, TimelineOptions, TIMELINE_MAX_EXPRESSIONS};
pub use retrieval::{
    Fusion, Mood, RankWeights, Recall, RecallMode, Recalled, ScoreBreakdown, TimeWindow, WindowConfig,
    MAX_LIMIT, MAX_OFFSET, MIN_POOL,
};
pub use store::pg_url::{is_postgres_url, redact as redact_store_url};
pub use store::rekey;
#[cfg(feature = "candle")]
pub use training::{DeployPolicy, EvalReport, Preset, TrainOptions};

/// Test hooks. Not part of the API: they exist so tests can prove that a failed migration
/// rolls back.
#[doc(hidden)]
pub mod testing {
    pub use crate::store::schema::testing::fail_next_migration_to;
}

/// Version of this crate (also the version of every binding).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Schema version of the stores this build writes.
pub const SCHEMA_VERSION: u32 = store::schema::SCHEMA_VERSION;
