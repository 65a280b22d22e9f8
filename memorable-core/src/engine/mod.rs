//! The engine behind every [`crate::Memorable`] handle: the store, the per-user indexes and
//! the models, and the write path ([`write`]). Features above it (retrieval, attention,
//! maintenance, health, metrics, alerts, hume ingestion) are functions of `&Engine`; the
//! facade (`handle/`) holds an [`EngineSlot`] and calls them.
//!
//! Writes are serialized through the store's writer connection; the user's index is updated
//! under that same lock, so index order equals commit order. Reads (recall, get) run on
//! pooled read connections in parallel with writes.

mod client_keys;
mod open;
mod quota;
mod read;
mod reembed;
mod reload;
mod snapshot;
mod stats;
#[cfg(feature = "postgres")]
mod sync;
mod versions;
mod write;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

pub(crate) use open::{open, Parts};
pub(crate) use reembed::reembed;
pub use reembed::{ReembedProgress, ReembedReport};
pub(crate) use reload::reload_models;
pub(crate) use snapshot::metrics_snapshot;
pub use stats::{EmbedderInfo, Stats};
pub use versions::ModelInUse;
pub(crate) use versions::ModelLeases;

use crate::classify::ClassifierSlot;
use crate::config::Config;
use crate::emotion::engine::EmotionEngine;
use crate::error::{Error, Result};
use crate::index::{
    DumpTarget, IndexCache, Indexer, KeywordCache, UserIndex, BACKGROUND_LOAD_MIN_POINTS, DRAIN_CHUNK,
};
use crate::memory::validate_vector;
use crate::metrics::Metrics;
use crate::models::llm::GeneratorSlot;
use crate::models::select::SelectionReport;
use crate::models::Embedder;
use crate::store::{self, RecallCache, Store, UserKey, META_MODEL_ID};

/// The model-backed parts an engine is built with (kept across a reembed's switch).
pub(crate) struct EngineParts {
    pub emotion: Arc<EmotionEngine>,
    pub classifier: Arc<ClassifierSlot>,
    pub generator: Arc<GeneratorSlot>,
    /// The model versions in use, leased against `gc`.
    pub models: Arc<ModelLeases>,
}

/// The engine every clone of a handle shares: `None` once closed. A finished reembed swaps
/// in an engine on the new model; calls holding the old one fail cleanly.
pub(crate) type EngineSlot = RwLock<Option<Arc<Engine>>>;

pub(crate) struct Engine {
    pub(crate) config: Config,
    /// Shared so a finished [`crate::Memorable::reembed`] can hand the store to a new engine.
    pub(crate) store: Arc<Store>,
    pub(crate) indexes: Arc<IndexCache>,
    /// The emotional layer (classifier slot, context states).
    pub(crate) emotion: Arc<EmotionEngine>,
    pub(crate) indexer: Indexer,
    pub(crate) index_dir: Option<PathBuf>,
    pub(crate) embedder: Arc<dyn Embedder>,
    pub(crate) selection: SelectionReport,
    /// The emotion classifier behind [`crate::Memorable::classify`] (see `classify.rs`).
    pub(crate) classifier: Arc<ClassifierSlot>,
    /// The generator (consolidation, `generate`), loaded on first use.
    pub(crate) generator: Arc<GeneratorSlot>,
    /// The model versions in use (registry), leased against `gc` while the engine lives.
    pub(crate) models: Arc<ModelLeases>,
    /// Bumped whenever vectors are deleted, so an index load can tell whether its
    /// snapshot of live vectors went stale while it was loading.
    pub(crate) deletes: AtomicU64,
    /// Speakers and session timelines recall reads on every query.
    pub(crate) recall_cache: RecallCache,
    /// Each recent user's keyword (BM25) index, kept fresh by its own stamps.
    pub(crate) keywords: KeywordCache,
    pub(crate) shut: AtomicBool,
    pub(crate) metrics: Arc<Metrics>,
}

impl Engine {
    // Every part is built by `open` (or handed over by `reembed`) before the engine exists.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: Config,
        store: Arc<Store>,
        index_dir: Option<PathBuf>,
        embedder: Arc<dyn Embedder>,
        selection: SelectionReport,
        metrics: Arc<Metrics>,
        parts: EngineParts,
    ) -> Engine {
        let indexes = Arc::new(IndexCache::new(config.max_loaded_indexes));
        Engine {
            emotion: parts.emotion,
            classifier: parts.classifier,
            generator: parts.generator,
            models: parts.models,
            indexer: Indexer::start(indexes.clone()),
            indexes,
            index_dir,
            config,
            store,
            embedder,
            selection,
            deletes: AtomicU64::new(0),
            recall_cache: Default::default(),
            keywords: Default::default(),
            shut: AtomicBool::new(false),
            metrics,
        }
    }

    /// An engine on the same store, configuration, index folder and metrics as this one, with
    /// other models (after a reembed or `reload_models`).
    pub(crate) fn successor(
        &self,
        embedder: Arc<dyn Embedder>,
        selection: SelectionReport,
        parts: EngineParts,
    ) -> Engine {
        Engine::new(
            self.config.clone(),
            self.store.clone(),
            self.index_dir.clone(),
            embedder,
            selection,
            self.metrics.clone(),
            parts,
        )
    }

    pub(crate) fn model_id(&self) -> &str {
        self.embedder.model_id()
    }

    pub(crate) fn stored_model_id(&self) -> Result<String> {
        Ok(self.store.read(|c| store::meta_get(c, META_MODEL_ID))?.unwrap_or_default())
    }

    /// Stop this engine without persisting its indexes (their model is no longer the store's).
    pub(crate) fn retire(&self) {
        if !self.shut.swap(true, Ordering::AcqRel) {
            self.indexer.stop();
            self.indexes.clear();
        }
    }

    /// Embed texts, checking every vector the embedder returns.
    pub(crate) fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let start = self.metrics.start();
        let vectors = self.embedder.embed(texts)?;
        self.metrics.finish(&self.metrics.embed_latency, start);
        if vectors.len() != texts.len() {
            return Err(Error::Model(format!(
                "embedder returned {} vectors for {} texts",
                vectors.len(),
                texts.len()
            )));
        }
        vectors.into_iter().map(|v| validate_vector(v, self.embedder.dim())).collect()
    }

    /// The loaded index of a user, loading it (dump + newer vectors, or a rebuild) if needed.
    pub(crate) fn index(&self, user_key: UserKey, user: &str) -> Result<Arc<UserIndex>> {
        if let Some(i) = self.indexes.get(user_key) {
            return Ok(i);
        }
        let _load = self.indexes.load_lock.lock();
        if let Some(i) = self.indexes.get(user_key) {
            return Ok(i);
        }
        self.load_index(user_key, user, false)
    }

    /// Load (or with `rebuild`, build afresh) a user's index and publish it in the cache.
    /// The caller holds `load_lock`.
    pub(crate) fn load_index(&self, user_key: UserKey, user: &str, rebuild: bool) -> Result<Arc<UserIndex>> {
        let _span = tracing::debug_span!("load_index", user_key, rebuild).entered();
        let model = self.model_id();
        let deletes_before = self.deletes.load(Ordering::Acquire);
        let live = self.store.read(|c| store::live_vector_ids(c, user_key, model))?;
        let target = self.dump_target();
        let dump = if rebuild { None } else { target.as_ref() };
        let rows_after = |after| self.store.read(|c| store::vectors_after(c, user_key, model, after));
        let cfg = &self.config.hnsw;
        let flat_max = self.config.exact_search_threshold;
        let index = UserIndex::load(
            dump,
            user_key,
            user,
            cfg,
            live,
            rows_after,
            BACKGROUND_LOAD_MIN_POINTS,
            flat_max,
        )?;
        let evicted = {
            // Under the writer lock no write can slip between catching up and publishing.
            let writer = self.store.locked();
            index.insert(store::vectors_after(&writer, user_key, model, index.watermark())?);
            if self.deletes.load(Ordering::Acquire) != deletes_before {
                index.reset_live(store::live_vector_ids(&writer, user_key, model)?);
            }
            let mut evicted = self.indexes.insert(index.clone());
            evicted.extend(self.evict_over_budget(user_key));
            evicted
        };
        self.indexer.notify();
        self.retire_indexes(evicted);
        Ok(index)
    }

    /// Dump evicted indexes and let them go. Their memory goes back to the OS: glibc keeps
    /// freed heap for reuse, so without a trim the process would stay at its high-water mark
    /// after an eviction, whatever the budget (docs/benchmarks.md, issue 32 part 5).
    pub(crate) fn retire_indexes(&self, evicted: Vec<Arc<UserIndex>>) {
        if evicted.is_empty() {
            return;
        }
        for old in evicted {
            self.dump(&old);
        }
        crate::index::release_freed_memory();
    }

    /// The loaded indexes to drop (least recently used first, never `keep`) so the rest fit
    /// `Config::max_index_memory_mb`; nothing without a budget. The caller dumps them.
    pub(crate) fn evict_over_budget(&self, keep: UserKey) -> Vec<Arc<UserIndex>> {
        match self.config.max_index_memory_mb {
            Some(mb) => self.indexes.evict_to_fit(keep, mb.saturating_mul(1 << 20), |i| self.index_bytes(i)),
            None => Vec::new(),
        }
    }

    /// Estimated memory of a loaded index (see `Config::max_index_memory_mb`).
    pub(crate) fn index_bytes(&self, index: &UserIndex) -> u64 {
        index.footprint().bytes(self.embedder.dim(), self.config.hnsw.m)
    }

    pub(crate) fn dump_target(&self) -> Option<DumpTarget<'_>> {
        Some(DumpTarget {
            dir: self.index_dir.as_deref()?,
            model_id: self.model_id(),
            dim: self.embedder.dim(),
            cfg: &self.config.hnsw,
            seal: self.store.master_key(),
        })
    }

    pub(crate) fn dump(&self, index: &UserIndex) {
        if let Some(target) = self.dump_target() {
            if let Err(e) = index.dump_if_dirty(&target) {
                tracing::warn!(user_key = index.user_key, error = %e, "index dump failed; it will be rebuilt at next load");
            }
        }
    }

    /// Replace a user's index with one built from the store (drops its tombstones).
    pub(crate) fn rebuild(&self, user_key: UserKey, user: &str) {
        let _load = self.indexes.load_lock.lock();
        tracing::info!(user_key, "rebuilding index to drop tombstones");
        if let Err(e) = self.load_index(user_key, user, true) {
            // The old index stays in place and correct (tombstones are filtered).
            tracing::warn!(user_key, error = %e, "index rebuild failed");
        }
    }

    pub(crate) fn checkpoint(&self) -> Result<()> {
        let _load = self.indexes.load_lock.lock();
        for index in self.indexes.all() {
            // Finish the graph first, so the dump covers every vector written so far.
            while index.drain(DRAIN_CHUNK, true) > 0 {}
            if let Some(target) = self.dump_target() {
                index.dump_if_dirty(&target)?;
            }
        }
        self.store.checkpoint()
    }

    pub(crate) fn shutdown(&self) -> Result<()> {
        if self.shut.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.indexer.stop();
        let res = self.checkpoint();
        self.indexes.clear();
        res
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Dropping the last handle without close() still persists the indexes.
        if let Err(e) = self.shutdown() {
            tracing::warn!(error = %e, "persisting on drop failed; indexes will be rebuilt at next open");
        }
    }
}
