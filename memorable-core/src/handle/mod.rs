//! [`Memorable`]: the one handle applications hold, and everything it can do. Cheap to clone
//! (an `Arc` inside), `Send + Sync`, every method takes `&self`.
//!
//! One file per area; each method is thin: it takes the engine from the slot, calls the
//! feature that does the work, and counts the call in the store's metrics. No feature module
//! imports this one.
//!
//! - this file: open / close, the builder, stats, checkpoint;
//! - [`memories`]: remember, get, update, history, forget, recent;
//! - [`retrieval`]: recall and the 4W context frame;
//! - [`emotion`]: readings, fused state and history, contexts, classify;
//! - [`models`]: selection reports, re-embedding, generation;
//! - [`consolidation`]: summaries and facts from raw turns, and background jobs;
//! - [`maintenance`]: backup, point-in-time restore of a user, export and import;
//! - [`observability`]: metrics, health and alerts;
//! - [`hume`]: Hume messages into a context;
//! - `classifiers`: custom classifiers, their examples, training jobs and deployment.
//!
//! `close()` dumps indexes, checkpoints the WAL and releases the directory lock; calls after
//! it fail with [`Error::Closed`].

#[cfg(feature = "candle")]
mod classifiers;
mod consolidation;
mod emotion;
mod hume;
mod maintenance;
mod memories;
mod models;
mod observability;
mod retrieval;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::config::Config;
use crate::engine::{self, Engine, EngineSlot, Stats};
use crate::error::{Error, Result};
use crate::maintenance::pre_migration_backup;
use crate::metrics::Metrics;
use crate::models::llm::Generator;
use crate::models::{Embedder, EmotionClassifier};
use crate::ops::Ops;

pub use consolidation::JOBS_LIMIT;
pub use memories::RECENT_LIMIT;

/// The MemoRable engine handle. See the crate docs for a quick start.
#[derive(Clone)]
pub struct Memorable {
    shared: Arc<EngineSlot>,
    /// Shared by every clone and kept across a reembed's engine switch.
    metrics: Arc<Metrics>,
    /// Alert callbacks, health probes and the background operations thread.
    ops: Arc<Ops>,
}

impl std::fmt::Debug for Memorable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let engine = self.shared.read().clone();
        let mut d = f.debug_struct("Memorable");
        match engine {
            Some(e) => {
                d.field("path", &e.store.path()).field("embedder", &e.model_id()).field("closed", &false)
            }
            None => d.field("closed", &true),
        };
        d.finish()
    }
}

/// Opens a [`Memorable`] with a non-default configuration or embedder.
pub struct Builder {
    dir: Option<PathBuf>,
    config: Config,
    parts: engine::Parts,
}

impl Builder {
    fn parts() -> engine::Parts {
        // An older store is backed up (into DIR/backups/) before it is migrated.
        engine::Parts { before_migration: Some(pre_migration_backup), ..Default::default() }
    }

    /// Start configuring an in-memory store (`Memorable::builder(dir)` for one on disk).
    pub fn in_memory() -> Builder {
        Builder { dir: None, config: Config::default(), parts: Builder::parts() }
    }

    /// Replace the whole configuration.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Use this embedder instead of the default.
    pub fn embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.parts.embedder = Some(embedder);
        self
    }

    /// Classify the text of every remembered memory with this emotion classifier (its
    /// reading goes into the memory's snapshot and its session's context). It is used only
    /// if it was trained on the store's embedder; otherwise classification is off and
    /// `stats()` says why.
    pub fn emotion_classifier(mut self, classifier: Arc<dyn EmotionClassifier>) -> Self {
        self.parts.classifier = Some(classifier);
        self
    }

    /// Generate with this model instead of the configured one (consolidation and
    /// `generate` use it).
    pub fn generator(mut self, generator: Arc<dyn Generator>) -> Self {
        self.parts.generator = Some(generator);
        self
    }

    /// Open the store (creating it if needed).
    pub fn open(self) -> Result<Memorable> {
        let ops = Arc::new(Ops::new(&self.config));
        #[cfg(feature = "postgres")]
        let sync_interval = std::time::Duration::from_millis(self.config.sync_interval_ms);
        let location = crate::store::Location::of(self.dir.as_deref())?;
        let engine = engine::open(&location, self.config, self.parts)?;
        let metrics = engine.metrics.clone();
        let engine = Arc::new(engine);
        // Training jobs queued, or interrupted by the end of the last process, resume.
        #[cfg(feature = "candle")]
        if engine.config.classifiers.run_jobs {
            crate::classifiers::train::start_worker_if_queued(&ops.training, &engine)?;
        }
        #[cfg(feature = "postgres")]
        let store_shared = engine.store.is_shared();
        let shared = Arc::new(RwLock::new(Some(engine)));
        crate::ops::start(&shared, &ops);
        #[cfg(feature = "postgres")]
        if store_shared {
            crate::ops::start_sync(&shared, &ops, sync_interval);
        }
        Ok(Memorable { shared, metrics, ops })
    }
}

impl Memorable {
    /// Open (or create) the store in directory `dir` with the default configuration.
    pub fn open(dir: impl AsRef<Path>) -> Result<Memorable> {
        Memorable::builder(dir).open()
    }

    /// A store that lives in memory and vanishes with the handle.
    pub fn open_in_memory() -> Result<Memorable> {
        Builder::in_memory().open()
    }

    /// Start configuring a store in `dir`.
    pub fn builder(dir: impl AsRef<Path>) -> Builder {
        Builder { dir: Some(dir.as_ref().to_path_buf()), config: Config::default(), parts: Builder::parts() }
    }

    fn engine(&self) -> Result<Arc<Engine>> {
        self.shared.read().clone().ok_or(Error::Closed)
    }

    /// Counts, embedder in use, and health of the loaded indexes.
    pub fn stats(&self) -> Result<Stats> {
        self.metrics.track(self.engine().and_then(|e| e.stats()))
    }

    /// Dump changed indexes and fold the WAL into the database.
    pub fn checkpoint(&self) -> Result<()> {
        self.metrics.track(self.engine().and_then(|e| e.checkpoint()))
    }

    /// Persist everything and release the store; later calls fail with `Closed`.
    /// Closing twice is fine.
    pub fn close(&self) -> Result<()> {
        self.ops.stop();
        let engine = self.shared.write().take();
        match engine {
            Some(e) => e.shutdown(),
            None => Ok(()),
        }
    }
}
