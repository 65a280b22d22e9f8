//! [`Config`]: every tunable of a store in one serde-serializable struct, validated once at
//! open, so each binding can pass one object (a Python dict, a JS object, a C struct).
//!
//! The sections of the features above the engine (alerts, attention, backups, health) live
//! here, one file each; the sections of the layers below it (the store's durability, the
//! index's HNSW parameters, the emotion and time-window sections) live with their layer and
//! are re-exported, so `config` sits above everything the engine is made of and below the
//! features that run on the engine.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

mod alerts;
mod attention;
mod backup;
mod classifiers;
mod health;
mod limits;
mod models;
mod windows;

pub use alerts::{AlertMetric, AlertRule, AlertsConfig};
pub use attention::AttentionConfig;
pub use backup::{BackupConfig, BackupSchedule, Retention};
pub use classifiers::ClassifiersConfig;
pub use health::HealthConfig;
pub use limits::LimitsConfig;
pub use models::ModelsConfig;
pub use windows::WindowConfig;

pub use crate::index::HnswConfig;
pub use crate::store::{Durability, StoreOptions};

pub use crate::crypto::EncryptionKey;
use crate::emotion::EmotionConfig;
use crate::error::{Error, Result};
use crate::models::llm::config::ModelServerConfig;
use crate::models::profile::GeneratorChoice;
use crate::models::profile::{ModelChoice, Profile, AUTO};

/// Configuration of a [`crate::Memorable`] store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// Longest text accepted, in Unicode scalar values (default 10,000).
    pub max_text_chars: usize,
    /// Dimension of the built-in hashing embedder (default 384).
    pub hashing_dim: usize,
    /// HNSW parameters.
    pub hnsw: HnswConfig,
    /// How many users' indexes stay loaded at once (least recently used are dumped and
    /// dropped past this).
    pub max_loaded_indexes: usize,
    /// Upper bound, in MiB, on the estimated memory of the loaded per-user indexes (vectors,
    /// graph points and links, pending tails, sparse postings; `stats().loaded_indexes[].
    /// approx_bytes`), on top of `max_loaded_indexes`: loading an index, or a write, evicts
    /// the least recently used others (dumped first) until the estimate fits; the index just
    /// loaded or written always stays. `None` (default): bounded by count only.
    pub max_index_memory_mb: Option<u64>,
    /// Rebuild a user's index once tombstones exceed this share of its points.
    pub tombstone_rebuild_ratio: f32,
    /// Semantic searches over at most this many vectors (a filtered set, or a user's whole
    /// index) are exact (brute force) rather than an HNSW walk; 0 always walks the graph.
    pub exact_search_threshold: usize,
    /// Number of read connections (concurrent recalls) for an on-disk or PostgreSQL store.
    pub read_connections: usize,
    /// PostgreSQL stores: how often (ms) an instance reads what other instances changed and
    /// brings its indexes and caches up to date; the bound on how stale its recall can be.
    pub sync_interval_ms: u64,
    /// Commit durability.
    pub durability: Durability,
    /// Reciprocal-rank-fusion constant `k` (score = Σ 1 / (k + rank)).
    pub rrf_k: f32,
    /// Candidate pool per source, as a multiple of the requested limit (at least
    /// `MIN_POOL`, 50).
    pub candidate_multiplier: usize,
    /// Lengths of the `short` / `medium` / `long` time windows.
    pub windows: WindowConfig,
    /// Entity lists of the context frame (people and places always recognized).
    pub attention: AttentionConfig,
    /// Embedding model: `"auto"` (the best cached model that fits the machine, or for an
    /// existing store the model its vectors were made with), `"hashing"`, or a catalog name
    /// such as `"minilm"` (an explicit name is used or refused, never replaced).
    pub embedder: String,
    /// Model cache directory (default: `$MEMORABLE_MODEL_DIR`, `$MEMORABLE_HOME/models`, or
    /// `~/.cache/memorable/models`).
    pub model_dir: Option<PathBuf>,
    /// Deployment profile for model selection and resource limits (default:
    /// `$MEMORABLE_PROFILE`, else local).
    pub profile: Option<Profile>,
    /// Put memory text, queries and user ids into log records (default false: logs carry
    /// only ids, counts and timings).
    pub log_content: bool,
    /// Record metrics (default true; recording is a few relaxed atomic adds per call).
    pub metrics: bool,
    /// Publish every metric to the `metrics` crate's global recorder on each operations tick
    /// (`alerts.interval_ms`), for Rust hosts that run their own exporter (default false).
    pub metrics_facade: bool,
    /// Thresholds of `health()`.
    pub health: HealthConfig,
    /// Alert rules and how often they are evaluated.
    pub alerts: AlertsConfig,
    /// Automatic (before a migration) and scheduled backups.
    pub backup: BackupConfig,
    /// The emotional layer: fusion half-life and weights, history bound, snapshots on
    /// remember.
    pub emotion: EmotionConfig,
    /// Generative model (consolidation, `generate`): `"auto"` (profile local: the cached
    /// SmolLM2; profile server: `model_server.generator`, falling back to SmolLM2, then
    /// none), `"none"`, `"smollm2"`, `"gguf:<file in the model cache>"`, `"ollama:<model>"`
    /// or `"openai:<model>"`. Loaded on first use; never on the write path.
    pub generator: String,
    /// Where model servers are (Ollama, OpenAI-compatible) and how hard to try them.
    pub model_server: ModelServerConfig,
    /// Model lifecycle: automatic updates, the update source, the cache size limit.
    pub models: ModelsConfig,
    /// Quotas (memories and bytes per user, store size) and input limits (batch, metadata).
    pub limits: LimitsConfig,
    /// Encrypt the store at rest with this key (default: `$MEMORABLE_KEY` when set, else
    /// none). A store created with a key needs it to open; see docs/security.md. Never
    /// serialized, and its `Debug` is redacted.
    #[serde(skip_serializing)]
    pub encryption_key: Option<EncryptionKey>,
    /// Custom classifiers: the one the emotional layer uses, per-user calibration, training
    /// jobs.
    pub classifiers: ClassifiersConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_text_chars: 10_000,
            hashing_dim: 384,
            hnsw: HnswConfig::default(),
            max_loaded_indexes: 64,
            max_index_memory_mb: None,
            tombstone_rebuild_ratio: 0.2,
            exact_search_threshold: 2_000,
            read_connections: 4,
            sync_interval_ms: 100,
            durability: Durability::Normal,
            rrf_k: 60.0,
            candidate_multiplier: 5,
            windows: WindowConfig::default(),
            attention: AttentionConfig::default(),
            embedder: AUTO.into(),
            model_dir: None,
            profile: None,
            log_content: false,
            metrics_facade: false,
            metrics: true,
            health: HealthConfig::default(),
            alerts: AlertsConfig::default(),
            backup: BackupConfig::default(),
            emotion: EmotionConfig::default(),
            generator: AUTO.into(),
            model_server: ModelServerConfig::default(),
            models: ModelsConfig::default(),
            limits: LimitsConfig::default(),
            encryption_key: None,
            classifiers: ClassifiersConfig::default(),
        }
    }
}

impl Config {
    /// What the store reads of this configuration.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions { read_connections: self.read_connections, durability: self.durability }
    }

    /// The store's key: `encryption_key`, else `$MEMORABLE_KEY` when set.
    pub fn resolved_key(&self) -> Option<EncryptionKey> {
        self.encryption_key.clone().or_else(EncryptionKey::from_env)
    }

    /// What model selection reads of this configuration.
    pub fn model_choice(&self) -> ModelChoice {
        ModelChoice {
            embedder: self.embedder.clone(),
            profile: self.profile,
            hashing_dim: self.hashing_dim,
            model_dir: self.model_dir.clone(),
            server: self.model_server.clone(),
        }
    }

    /// What generator selection reads of this configuration.
    pub fn generator_choice(&self) -> GeneratorChoice {
        GeneratorChoice {
            generator: self.generator.clone(),
            profile: self.profile,
            model_dir: self.model_dir.clone(),
            server: self.model_server.clone(),
        }
    }

    /// Check every field; called once by `open`.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::InvalidConfig(msg));
        if self.max_text_chars == 0 {
            return bad("max_text_chars must be positive".into());
        }
        if !(8..=65_536).contains(&self.hashing_dim) {
            return bad(format!("hashing_dim must be in 8..=65536, got {}", self.hashing_dim));
        }
        if !(2..=255).contains(&self.hnsw.m) {
            return bad(format!("hnsw.m must be in 2..=255, got {}", self.hnsw.m));
        }
        if self.hnsw.ef_construction < self.hnsw.m {
            return bad("hnsw.ef_construction must be at least hnsw.m".into());
        }
        if self.hnsw.ef_search == 0 {
            return bad("hnsw.ef_search must be positive".into());
        }
        if self.max_loaded_indexes == 0 {
            return bad("max_loaded_indexes must be positive".into());
        }
        if self.max_index_memory_mb == Some(0) {
            return bad("max_index_memory_mb must be positive (or null: no byte budget)".into());
        }
        if !(self.tombstone_rebuild_ratio > 0.0 && self.tombstone_rebuild_ratio <= 1.0) {
            return bad("tombstone_rebuild_ratio must be in (0, 1]".into());
        }
        if self.read_connections == 0 || self.read_connections > 64 {
            return bad("read_connections must be in 1..=64".into());
        }
        if !(10..=60_000).contains(&self.sync_interval_ms) {
            return bad("sync_interval_ms must be in 10..=60000".into());
        }
        if !(self.rrf_k.is_finite() && self.rrf_k >= 0.0) {
            return bad("rrf_k must be a non-negative number".into());
        }
        if self.candidate_multiplier == 0 {
            return bad("candidate_multiplier must be positive".into());
        }
        self.windows.validate()?;
        if self.embedder.trim().is_empty() {
            return bad("embedder must be \"auto\" or a model name".into());
        }
        self.health.validate()?;
        self.classifiers.validate()?;
        self.alerts.validate()?;
        self.backup.validate()?;
        self.emotion.validate()?;
        self.model_server.validate()?;
        self.models.validate()?;
        self.limits.validate()?;
        Ok(())
    }

    /// Parse a config from JSON (unknown keys are an error, missing keys take defaults).
    pub fn from_json(json: &str) -> Result<Self> {
        let cfg: Config = serde_json::from_str(json).map_err(|e| Error::InvalidConfig(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_json_overrides() {
        Config::default().validate().unwrap();
        let cfg = Config::from_json(r#"{"max_text_chars": 20, "hnsw": {"ef_search": 10}}"#).unwrap();
        assert_eq!(cfg.max_text_chars, 20);
        assert_eq!(cfg.hnsw.ef_search, 10);
        assert_eq!(cfg.hnsw.m, 16);
        assert!(Config::from_json(r#"{"nope": 1}"#).is_err());
        assert!(Config::from_json(r#"{"hnsw": {"m": 1}}"#).is_err());
        let cfg =
            Config::from_json(r#"{"embedder": "hashing", "profile": "server", "model_dir": "/m"}"#).unwrap();
        assert_eq!(cfg.embedder, "hashing");
        assert_eq!(cfg.profile, Some(Profile::Server));
        assert_eq!(Config::default().embedder, "auto");
    }
}
