//! [`Memorable`]: the one handle applications hold. Cheap to clone (an `Arc` inside),
//! `Send + Sync`, every method takes `&self`.
//!
//! Writes are serialized through the store's writer connection; the user's index is updated
//! under that same lock, so index order equals commit order. Reads (recall, get) run on
//! pooled read connections in parallel with writes. `close()` dumps indexes, checkpoints the
//! WAL and releases the directory lock; calls after it fail with [`Error::Closed`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::classify::ClassifierSlot;
use crate::config::Config;
use crate::emotion::engine::EmotionEngine;
use crate::emotion::EmotionStats;
use crate::error::{Error, Result};
use crate::index::{
    DumpTarget, IndexCache, IndexStats, Indexer, UserIndex, BACKGROUND_LOAD_MIN_POINTS, DRAIN_CHUNK,
};
use crate::memory::*;
use crate::metrics::Metrics;
use crate::models::select::{self, SelectionReport};
use crate::models::{Embedder, EmotionClassifier};
use crate::ops::Ops;
use crate::retrieval::{Recall, Recalled, TimeWindow};
use crate::store::{self, schema, PreparedMemory, Store, UpdatedFields, UserKey, VectorRow};

/// Meta key recording the embedder whose vectors the store holds.
pub(crate) const META_MODEL_ID: &str = "embedder_model_id";
/// Meta keys of a re-embedding in progress (target model id, memories done so far).
pub(crate) const META_REEMBED_TARGET: &str = "reembed_target_model_id";
const META_REEMBED_DONE: &str = "reembed_done";
/// Directory of index dumps inside a store directory.
pub(crate) const INDEX_DIR: &str = "index";
/// Most memories [`Memorable::recent`] returns (use `recent_matching` to page further).
pub const RECENT_LIMIT: usize = 1_000;
/// Texts per embedding call in `remember_batch` (each call runs on one rayon thread).
const EMBED_CHUNK: usize = 64;

/// The MemoRable engine handle. See the crate docs for a quick start.
#[derive(Clone)]
pub struct Memorable {
    pub(crate) shared: Arc<RwLock<Option<Arc<Engine>>>>,
    /// Shared by every clone and kept across a reembed's engine switch.
    pub(crate) metrics: Arc<Metrics>,
    /// Alert callbacks, health probes and the background operations thread.
    pub(crate) ops: Arc<Ops>,
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
    embedder: Option<Arc<dyn Embedder>>,
    classifier: Option<Arc<dyn EmotionClassifier>>,
}

impl Builder {
    /// Start configuring an in-memory store (`Memorable::builder(dir)` for one on disk).
    pub fn in_memory() -> Builder {
        Builder { dir: None, config: Config::default(), embedder: None, classifier: None }
    }

    /// Replace the whole configuration.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }
    /// Use this embedder instead of the default.
    pub fn embedder(mut self, embedder: Arc<dyn Embedder>) -> Self {
        self.embedder = Some(embedder);
        self
    }
    /// Classify the text of every remembered memory with this emotion classifier (its
    /// reading goes into the memory's snapshot and its session's context). It is used only
    /// if it was trained on the store's embedder; otherwise classification is off and
    /// `stats()` says why.
    pub fn emotion_classifier(mut self, classifier: Arc<dyn EmotionClassifier>) -> Self {
        self.classifier = Some(classifier);
        self
    }
    /// Open the store (creating it if needed).
    pub fn open(self) -> Result<Memorable> {
        self.config.validate()?;
        let span = tracing::info_span!("open", in_memory = self.dir.is_none());
        let _enter = span.enter();
        let store = match &self.dir {
            Some(dir) => Store::open(dir, &self.config)?,
            None => Store::open_in_memory(&self.config)?,
        };
        let stored_model = store.read(|c| store::meta_get(c, META_MODEL_ID))?;
        // An application-supplied embedder wins; otherwise select one for this machine
        // (for an existing store under "auto": the model its vectors were made with).
        let (embedder, selection) = match self.embedder {
            Some(e) => {
                let report = SelectionReport::custom(e.as_ref());
                (e, report)
            }
            None => select::resolve_embedder(&self.config, stored_model.as_deref())?,
        };
        if let Some(stored) = stored_model {
            if stored != embedder.model_id() {
                return Err(Error::ModelMismatch { stored, current: embedder.model_id().to_owned() });
            }
        }
        let index_dir = self.dir.as_ref().map(|d| d.join(INDEX_DIR));
        let metrics = Arc::new(Metrics::new(self.config.metrics));
        if selection.fallback && selection.fallback_reason.is_some() {
            metrics.fallbacks_taken.inc();
        }
        let ops = Arc::new(Ops::new(&self.config));
        // One classifier for `classify` and for the emotional layer: the application's, else
        // the shipped one (loaded on first use) when the store embeds with its MiniLM.
        let slot = Arc::new(match self.classifier {
            Some(c) => ClassifierSlot::given(c),
            None => ClassifierSlot::default_for(
                embedder.model_id(),
                self.config.model_dir.clone(),
                selection.limits.threads,
            ),
        });
        let for_emotion = slot.get_given().or_else(|| slot.lazy_default());
        let emotion =
            Arc::new(EmotionEngine::new(self.config.emotion.clone(), for_emotion, embedder.model_id()));
        let engine = Engine::new(
            self.config,
            Arc::new(store),
            index_dir,
            embedder,
            selection,
            metrics.clone(),
            emotion,
            slot,
        );
        let mem = Memorable { shared: Arc::new(RwLock::new(Some(Arc::new(engine)))), metrics, ops };
        crate::ops::start(&mem);
        Ok(mem)
    }
}

/// Counts and health of a store, from [`Memorable::stats`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    pub memories: u64,
    pub users: u64,
    /// Previous versions kept in history.
    pub versions: u64,
    pub embedder: EmbedderInfo,
    pub schema_version: u32,
    /// Directory of the store (`None` in memory).
    pub path: Option<String>,
    /// Database + WAL size on disk in bytes.
    pub store_bytes: u64,
    /// Indexes loaded right now (others load on their user's first call).
    pub loaded_indexes: Vec<IndexStats>,
    /// How the embedding model was chosen, with every decision and its reason.
    pub selection: SelectionReport,
    /// A re-embedding in progress (see [`Memorable::reembed`]).
    pub reembed: Option<ReembedProgress>,
    /// The emotional layer: contexts, readings, unknown names, text classification.
    pub emotion: EmotionStats,
    /// Whether text emotion classification is available, and if not, why.
    pub classifier: crate::classify::ClassifierStatus,
}

/// The embedder in use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedderInfo {
    pub model_id: String,
    pub dim: usize,
    /// True when the hashing fallback is in use (no sentence-embedding model).
    pub fallback: bool,
    /// Why the fallback is in use (e.g. "minilm: missing: ...; run scripts/fetch-model.sh").
    #[serde(default)]
    pub fallback_reason: Option<String>,
}

/// Progress of [`Memorable::reembed`] (also kept in the store, so it can resume).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReembedProgress {
    /// Model id the store is migrating to.
    pub target_model_id: String,
    /// Memories whose vectors are made by the target model.
    pub done: u64,
    /// Memories in the store.
    pub total: u64,
}

/// Result of [`Memorable::reembed`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReembedReport {
    pub previous_model_id: String,
    pub model_id: String,
    /// Vectors re-embedded by this call.
    pub reembedded: u64,
    /// True when the store now uses the target model; false when the callback paused it.
    pub completed: bool,
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
        Builder {
            dir: Some(dir.as_ref().to_path_buf()),
            config: Config::default(),
            embedder: None,
            classifier: None,
        }
    }

    pub(crate) fn engine(&self) -> Result<Arc<Engine>> {
        self.shared.read().clone().ok_or(Error::Closed)
    }

    /// Store one memory; returns its id once it is durable.
    pub fn remember(&self, memory: NewMemory) -> Result<MemoryId> {
        let start = self.metrics.start();
        let ids = self.metrics.track(self.engine().and_then(|e| e.remember(vec![memory], false)))?;
        self.metrics.finish(&self.metrics.remember_latency, start);
        self.metrics.memories_written.add(ids.len() as u64);
        Ok(ids[0])
    }

    /// Store many memories in one transaction (all or nothing), embedding them in parallel.
    pub fn remember_batch(&self, memories: Vec<NewMemory>) -> Result<Vec<MemoryId>> {
        let start = self.metrics.start();
        let ids = self.metrics.track(self.engine().and_then(|e| e.remember(memories, true)))?;
        self.metrics.finish(&self.metrics.remember_latency, start);
        self.metrics.memories_written.add(ids.len() as u64);
        Ok(ids)
    }

    /// Find a user's memories by meaning and keywords, best first.
    pub fn recall(&self, request: &Recall) -> Result<Vec<Recalled>> {
        let start = self.metrics.start();
        let hits = self.metrics.track(self.engine().and_then(|e| e.recall(request)))?;
        self.metrics.finish(&self.metrics.recall_latency, start);
        self.metrics.recalls.inc();
        Ok(hits)
    }

    /// A user's memories that occurred in `window` before now (`None`: all of them), newest
    /// first (by `occurred_at`, ties newest id first), at most [`RECENT_LIMIT`]. A window
    /// includes both its ends (see [`crate::retrieval::window`]).
    ///
    /// ```
    /// # let mem = memorable_core::Memorable::open_in_memory()?;
    /// use memorable_core::TimeWindow;
    /// let last_20_minutes = mem.recent("alice", TimeWindow::Short)?;
    /// let everything = mem.recent("alice", None)?;
    /// # Ok::<(), memorable_core::Error>(())
    /// ```
    pub fn recent(&self, user: &str, window: impl Into<Option<TimeWindow>>) -> Result<Vec<Memory>> {
        self.metrics.track(self.engine().and_then(|e| e.recent(user, window.into(), RECENT_LIMIT)))
    }

    /// A user's memories after the request's filters (range, window, session, speaker, tags,
    /// kinds), newest first, at most `request.limit`; the query text is ignored.
    pub fn recent_matching(&self, request: &Recall) -> Result<Vec<Memory>> {
        self.metrics.track(self.engine().and_then(|e| e.recent_matching(request)))
    }

    /// The memory with this id.
    pub fn get(&self, id: MemoryId) -> Result<Memory> {
        self.metrics.track(self.engine().and_then(|engine| {
            engine.store.read(|c| store::get_memory(c, id))?.map(|(m, _)| m).ok_or(Error::NotFound(id))
        }))
    }

    /// Change a memory; a new text is re-embedded and the previous version kept in history.
    pub fn update(&self, id: MemoryId, update: MemoryUpdate) -> Result<Memory> {
        let updated = self.metrics.track(self.engine().and_then(|e| e.update(id, update)))?;
        self.metrics.memories_updated.inc();
        Ok(updated)
    }

    /// Every version of a memory, oldest first; the last one is current.
    pub fn history(&self, id: MemoryId) -> Result<Vec<MemoryVersion>> {
        self.metrics.track(self.history_inner(id))
    }

    fn history_inner(&self, id: MemoryId) -> Result<Vec<MemoryVersion>> {
        let engine = self.engine()?;
        engine.store.read(|c| {
            let (current, _) = store::get_memory(c, id)?.ok_or(Error::NotFound(id))?;
            let mut versions = store::previous_versions(c, id)?;
            versions.push(MemoryVersion {
                version: current.version,
                text: current.text,
                kind: current.kind,
                speaker: current.context.speaker,
                tags: current.tags,
                metadata: current.metadata,
                importance: current.importance,
                valid_from: current.updated_at,
                valid_to: None,
            });
            Ok(versions)
        })
    }

    /// Erase a memory: its row, vector, keywords and history. Unknown ids are `NotFound`.
    pub fn forget(&self, id: MemoryId) -> Result<()> {
        self.metrics.track(self.engine().and_then(|e| e.forget(id)))?;
        self.metrics.memories_forgotten.inc();
        Ok(())
    }

    /// Erase everything of a user (memories, vectors, history, index); returns how many
    /// memories were removed (0 for an unknown user).
    pub fn forget_user(&self, user: &str) -> Result<u64> {
        let n = self.metrics.track(self.engine().and_then(|e| e.forget_user(user)))?;
        self.metrics.memories_forgotten.add(n);
        Ok(n)
    }

    /// Counts, embedder in use, and health of the loaded indexes.
    pub fn stats(&self) -> Result<Stats> {
        self.metrics.track(self.engine().and_then(|e| e.stats()))
    }

    /// How the embedding model was chosen: environment, candidates, reasons, limits.
    pub fn selection_report(&self) -> Result<SelectionReport> {
        Ok(self.engine()?.selection.clone())
    }

    /// Migrate the store's vectors to the catalog model `model` (e.g. `"minilm"`), in batches.
    ///
    /// Resumable: each batch is one transaction that replaces old vectors with new ones and
    /// records progress in the store's meta, so an interrupted run (crash, or `progress`
    /// returning `false` to pause) continues where it stopped when called again. When every
    /// vector is migrated the store's model id changes, the handle switches to the new model
    /// and indexes are rebuilt from the store. Recall keeps working meanwhile, with indexes
    /// that may miss not-yet-loaded users' migrated memories until completion. Vectors given
    /// explicitly with `NewMemory::embedding` are replaced by the model's.
    pub fn reembed(
        &self,
        model: &str,
        progress: &mut dyn FnMut(&ReembedProgress) -> bool,
    ) -> Result<ReembedReport> {
        self.metrics.track(self.reembed_inner(model, progress))
    }

    fn reembed_inner(
        &self,
        model: &str,
        progress: &mut dyn FnMut(&ReembedProgress) -> bool,
    ) -> Result<ReembedReport> {
        let engine = self.engine()?;
        let mut config = engine.config.clone();
        config.embedder = model.to_owned();
        let (target, selection) = select::resolve_embedder(&config, None)?;
        let previous = engine.model_id().to_owned();
        let (reembedded, completed) = engine.reembed(target.as_ref(), progress)?;
        if completed {
            self.switch_embedder(&engine, target, selection)?;
        }
        Ok(ReembedReport {
            previous_model_id: previous,
            model_id: engine.stored_model_id()?,
            reembedded,
            completed,
        })
    }

    /// Finish a migration: flip the store's model id and swap in an engine using `target`.
    fn switch_embedder(
        &self,
        old: &Arc<Engine>,
        target: Arc<dyn Embedder>,
        selection: SelectionReport,
    ) -> Result<()> {
        let mut shared = self.shared.write();
        let current = shared.as_ref().ok_or(Error::Closed)?;
        if !Arc::ptr_eq(current, old) {
            return Err(Error::Internal("the store was reopened during reembed".into()));
        }
        {
            let mut writer = old.store.writer();
            let tx = writer.transaction()?;
            let left = reembed_sql::count_vectors_not_of(&tx, target.model_id())?;
            if left > 0 {
                return Err(Error::Internal(format!(
                    "{left} vectors were written during the final switch; run reembed again"
                )));
            }
            store::meta_set(&tx, META_MODEL_ID, target.model_id())?;
            reembed_sql::meta_delete(&tx, META_REEMBED_TARGET)?;
            reembed_sql::meta_delete(&tx, META_REEMBED_DONE)?;
            tx.commit()?;
            // Calls already holding the old engine now fail cleanly with ModelMismatch on write.
            old.retire();
        }
        let emotion = Arc::new(old.emotion.rebind(target.model_id()));
        let classifier = old.classifier.rebind(target.model_id());
        let engine = Engine::new(
            old.config.clone(),
            old.store.clone(),
            old.index_dir.clone(),
            target,
            selection,
            old.metrics.clone(),
            emotion,
            classifier,
        );
        if let Some(dir) = &engine.index_dir {
            // Dumps of the old model are stale; indexes rebuild from the store on first use.
            let _ = std::fs::remove_dir_all(dir);
        }
        *shared = Some(Arc::new(engine));
        tracing::info!(model = %old.model_id(), "reembed complete: store switched to the new model");
        Ok(())
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

pub(crate) struct Engine {
    pub(crate) config: Config,
    /// Shared so a finished [`Memorable::reembed`] can hand the store to a new engine.
    pub(crate) store: Arc<Store>,
    pub(crate) indexes: Arc<IndexCache>,
    /// The emotional layer (classifier slot, context states).
    pub(crate) emotion: Arc<EmotionEngine>,
    indexer: Indexer,
    pub(crate) index_dir: Option<PathBuf>,
    pub(crate) embedder: Arc<dyn Embedder>,
    pub(crate) selection: SelectionReport,
    /// The emotion classifier behind [`Memorable::classify`] (see `classify.rs`).
    pub(crate) classifier: Arc<ClassifierSlot>,
    /// Bumped whenever vectors are deleted, so an index load can tell whether its
    /// snapshot of live vectors went stale while it was loading.
    pub(crate) deletes: AtomicU64,
    /// Speakers and session timelines recall reads on every query.
    pub(crate) recall_cache: crate::retrieval::RecallCache,
    shut: AtomicBool,
    pub(crate) metrics: Arc<Metrics>,
}

impl Engine {
    // Every part is built by `open` (or handed over by `reembed`) before the engine exists.
    #[allow(clippy::too_many_arguments)]
    fn new(
        config: Config,
        store: Arc<Store>,
        index_dir: Option<PathBuf>,
        embedder: Arc<dyn Embedder>,
        selection: SelectionReport,
        metrics: Arc<Metrics>,
        emotion: Arc<EmotionEngine>,
        classifier: Arc<ClassifierSlot>,
    ) -> Engine {
        let indexes = Arc::new(IndexCache::new(config.max_loaded_indexes));
        Engine {
            emotion,
            classifier,
            indexer: Indexer::start(indexes.clone()),
            indexes,
            index_dir,
            config,
            store,
            embedder,
            selection,
            deletes: AtomicU64::new(0),
            recall_cache: Default::default(),
            shut: AtomicBool::new(false),
            metrics,
        }
    }

    pub(crate) fn model_id(&self) -> &str {
        self.embedder.model_id()
    }

    fn stored_model_id(&self) -> Result<String> {
        Ok(self.store.read(|c| store::meta_get(c, META_MODEL_ID))?.unwrap_or_default())
    }

    /// Stop this engine without persisting its indexes (their model is no longer the store's).
    fn retire(&self) {
        if !self.shut.swap(true, Ordering::AcqRel) {
            self.indexer.stop();
            self.indexes.clear();
        }
    }

    /// Re-embed, batch by batch, every memory whose vector is not made by `target`.
    /// Returns (vectors re-embedded, finished).
    fn reembed(
        &self,
        target: &dyn Embedder,
        progress: &mut dyn FnMut(&ReembedProgress) -> bool,
    ) -> Result<(u64, bool)> {
        let target_id = target.model_id().to_owned();
        let _span = tracing::info_span!("reembed", target = %target_id).entered();
        let batch = self.selection.limits.batch_size.max(16) * 4;
        {
            let writer = self.store.writer();
            if store::meta_get(&writer, META_REEMBED_TARGET)?.as_deref() != Some(target_id.as_str()) {
                store::meta_set(&writer, META_REEMBED_TARGET, &target_id)?;
            }
        }
        let mut reembedded = 0u64;
        loop {
            let rows = self.store.read(|c| reembed_sql::memories_not_embedded_by(c, &target_id, batch))?;
            if rows.is_empty() {
                return Ok((reembedded, true));
            }
            let texts: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
            let vectors = target.embed(&texts)?;
            if vectors.len() != texts.len() {
                return Err(Error::Model("embedder returned the wrong number of vectors".into()));
            }
            let vectors: Vec<Vec<f32>> =
                vectors.into_iter().map(|v| validate_vector(v, target.dim())).collect::<Result<_>>()?;
            let mut writer = self.store.writer();
            let tx = writer.transaction()?;
            for ((id, text, user_key), v) in rows.iter().zip(&vectors) {
                // Skip a memory changed or forgotten since it was read; the next pass gets it.
                if reembed_sql::replace_vector_if_text(&tx, *id, text, *user_key, &target_id, v)? {
                    reembedded += 1;
                }
            }
            let total = store::counts(&tx)?.memories;
            let done = total.saturating_sub(reembed_sql::count_vectors_not_of(&tx, &target_id)?);
            store::meta_set(&tx, META_REEMBED_DONE, &done.to_string())?;
            tx.commit()?;
            // Vectors were deleted: an index loading meanwhile must recheck what is live.
            self.deletes.fetch_add(1, Ordering::AcqRel);
            drop(writer);
            let p = ReembedProgress { target_model_id: target_id.clone(), done, total };
            tracing::debug!(done, total, "reembed batch committed");
            if !progress(&p) {
                return Ok((reembedded, false));
            }
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

    fn prepare(&self, m: NewMemory, now: i64) -> Result<(PreparedMemory, Option<Vec<f32>>)> {
        validate_user(&m.user)?;
        validate_text(&m.text, self.config.max_text_chars)?;
        validate_coordinates(m.lat, m.lon)?;
        let importance = validate_importance(m.importance.unwrap_or(DEFAULT_IMPORTANCE))?;
        let metadata = validate_metadata(m.metadata)?;
        let embedding = m.embedding.map(|v| validate_vector(v, self.embedder.dim())).transpose()?;
        if let Some(e) = &m.emotion {
            validate_emotion(e)?;
        }
        let prepared = PreparedMemory {
            user: m.user,
            text: m.text,
            kind: m.kind.filter(|k| !k.trim().is_empty()).unwrap_or_else(|| DEFAULT_KIND.into()),
            session: m.session,
            speaker: m.speaker,
            topics: m.topics,
            occurred_at: m.occurred_at.map_or(now, store::to_ms),
            place: m.place,
            lat: m.lat,
            lon: m.lon,
            tags: m.tags,
            metadata,
            importance,
            emotion: m.emotion,
            vector: Vec::new(),
        };
        Ok((prepared, embedding))
    }

    fn remember(&self, memories: Vec<NewMemory>, batch: bool) -> Result<Vec<MemoryId>> {
        let span = tracing::debug_span!("remember", n = memories.len(), user = tracing::field::Empty);
        if self.config.log_content {
            if let Some(m) = memories.first() {
                span.record("user", m.user.as_str());
            }
        }
        let _span = span.entered();
        if memories.is_empty() {
            return Ok(Vec::new());
        }
        let now = store::now_ms();
        // Validate everything before writing anything: a bad item rejects the whole batch.
        let mut prepared = Vec::with_capacity(memories.len());
        for (i, m) in memories.into_iter().enumerate() {
            prepared.push(self.prepare(m, now).map_err(|e| at_item(e, i, batch))?);
        }
        let missing: Vec<usize> =
            prepared.iter().enumerate().filter(|(_, p)| p.1.is_none()).map(|(i, _)| i).collect();
        let texts: Vec<&str> = missing.iter().map(|&i| prepared[i].0.text.as_str()).collect();
        let vectors: Vec<Vec<f32>> = if texts.len() > EMBED_CHUNK {
            let chunks: Vec<Vec<Vec<f32>>> =
                texts.par_chunks(EMBED_CHUNK).map(|c| self.embed(c)).collect::<Result<_>>()?;
            chunks.into_iter().flatten().collect()
        } else {
            self.embed(&texts)?
        };
        let mut vectors = vectors.into_iter();
        let mut prepared: Vec<PreparedMemory> = prepared
            .into_iter()
            .map(|(mut p, given)| {
                p.vector = given.or_else(|| vectors.next()).unwrap_or_default();
                p
            })
            .collect();

        // A user's first call loads their index, so it stays current and is dumped at close.
        let mut users: Vec<&str> = prepared.iter().map(|p| p.user.as_str()).collect();
        users.sort_unstable();
        users.dedup();
        for user in &users {
            if let Some(key) = self.store.read(|c| store::user_key(c, user))? {
                self.index(key, user)?;
            }
        }

        // The emotional snapshot: classify outside every lock, then (emotion lock before the
        // writer lock) fold the readings into the sessions inside this same transaction.
        let plan = self.emotion.plan(&prepared, now)?;
        let mut emotion_guard = self.emotion.lock_for(&plan);
        // Only adds memories: what recall caches of existing ones stays valid.
        let mut writer = self.store.appender();
        let tx = writer.transaction()?;
        let emotion_work = self.emotion.attach(&mut emotion_guard, &tx, plan, &mut prepared, now)?;
        match store::meta_get(&tx, META_MODEL_ID)? {
            None => store::meta_set(&tx, META_MODEL_ID, self.model_id())?,
            // Only after a finished reembed switched the store under a call in flight.
            Some(stored) if stored != self.model_id() => {
                return Err(Error::ModelMismatch { stored, current: self.model_id().to_owned() })
            }
            Some(_) => {}
        }
        let mut ids = Vec::with_capacity(prepared.len());
        // Rows per user, for the indexes once the commit succeeded.
        let mut rows: Vec<(UserKey, VectorRow)> = Vec::with_capacity(prepared.len());
        let mut new_users: HashSet<UserKey> = HashSet::new();
        let mut last_user: Option<(&str, UserKey)> = None;
        for p in &prepared {
            let key = match last_user {
                Some((name, key)) if name == p.user => key,
                _ => match store::user_key(&tx, &p.user)? {
                    Some(key) => key,
                    None => {
                        let key = store::ensure_user(&tx, &p.user, now)?;
                        new_users.insert(key);
                        key
                    }
                },
            };
            last_user = Some((&p.user, key));
            let (id, vid) = store::insert_memory(&tx, key, p, self.model_id(), now)?;
            ids.push(id);
            rows.push((key, (vid, id, Vec::new())));
        }
        tx.commit()?;
        self.emotion.install(&mut emotion_guard, emotion_work);
        drop(emotion_guard);
        // Committed: the memories are durable. Now bring the indexes up to date, still under
        // the writer lock so index order is commit order. (An index evicted meanwhile picks
        // these rows up from the store when it loads again.)
        let mut names: Vec<(UserKey, String)> = Vec::new();
        for ((key, row), p) in rows.iter_mut().zip(prepared) {
            row.2 = p.vector;
            if new_users.contains(key) && !names.iter().any(|(k, _)| k == key) {
                names.push((*key, p.user));
            }
        }
        rows.sort_by_key(|(k, r)| (*k, r.0));
        let mut evicted = Vec::new();
        for chunk in rows.chunk_by(|a, b| a.0 == b.0) {
            let key = chunk[0].0;
            let index = match self.indexes.get(key) {
                Some(index) => index,
                None => match names.iter().find(|(k, _)| *k == key) {
                    // A brand-new user: their index starts empty, nothing to load.
                    Some((_, name)) => {
                        let index = UserIndex::empty(key, name, &self.config.hnsw);
                        evicted.extend(self.indexes.insert(index.clone()));
                        index
                    }
                    None => continue,
                },
            };
            let user_rows: Vec<VectorRow> = chunk.iter().map(|(_, r)| r.clone()).collect();
            index.insert(user_rows);
        }
        drop(writer);
        self.indexer.notify();
        if !evicted.is_empty() {
            let _load = self.indexes.load_lock.lock();
            for old in evicted {
                self.dump(&old);
            }
        }
        Ok(ids)
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
    fn load_index(&self, user_key: UserKey, user: &str, rebuild: bool) -> Result<Arc<UserIndex>> {
        let _span = tracing::debug_span!("load_index", user_key, rebuild).entered();
        let model = self.model_id();
        let deletes_before = self.deletes.load(Ordering::Acquire);
        let live = self.store.read(|c| store::live_vector_ids(c, user_key, model))?;
        let target = self.dump_target();
        let dump = if rebuild { None } else { target.as_ref() };
        let rows_after = |after| self.store.read(|c| store::vectors_after(c, user_key, model, after));
        let cfg = &self.config.hnsw;
        let index = UserIndex::load(dump, user_key, user, cfg, live, rows_after, BACKGROUND_LOAD_MIN_POINTS)?;
        let evicted = {
            // Under the writer lock no write can slip between catching up and publishing.
            let writer = self.store.locked();
            index.insert(store::vectors_after(&writer, user_key, model, index.watermark())?);
            if self.deletes.load(Ordering::Acquire) != deletes_before {
                index.reset_live(store::live_vector_ids(&writer, user_key, model)?);
            }
            self.indexes.insert(index.clone())
        };
        self.indexer.notify();
        for old in evicted {
            self.dump(&old);
        }
        Ok(index)
    }

    pub(crate) fn dump_target(&self) -> Option<DumpTarget<'_>> {
        Some(DumpTarget {
            dir: self.index_dir.as_deref()?,
            model_id: self.model_id(),
            dim: self.embedder.dim(),
            cfg: &self.config.hnsw,
        })
    }

    fn dump(&self, index: &UserIndex) {
        if let Some(target) = self.dump_target() {
            if let Err(e) = index.dump_if_dirty(&target) {
                tracing::warn!(user_key = index.user_key, error = %e, "index dump failed; it will be rebuilt at next load");
            }
        }
    }

    fn update(&self, id: MemoryId, u: MemoryUpdate) -> Result<Memory> {
        if let Some(t) = &u.text {
            validate_text(t, self.config.max_text_chars)?;
        }
        let importance = u.importance.map(validate_importance).transpose()?;
        let metadata = u.metadata.map(|m| validate_metadata(Some(m))).transpose()?;
        let vector = match &u.text {
            Some(t) => Some(self.embed(&[t.as_str()])?.pop().unwrap_or_default()),
            None => None,
        };
        let now = store::now_ms();
        let mut writer = self.store.writer();
        let tx = writer.transaction()?;
        let (old, user_key) = store::get_memory(&tx, id)?.ok_or(Error::NotFound(id))?;
        let fields = UpdatedFields {
            text: u.text.as_deref().unwrap_or(&old.text),
            kind: u.kind.as_deref().unwrap_or(&old.kind),
            speaker: u.speaker.as_deref().or(old.context.speaker.as_deref()),
            topics: u.topics.as_deref().unwrap_or(&old.context.topics),
            place: u.place.as_deref().or(old.context.place.as_deref()),
            tags: u.tags.as_deref().unwrap_or(&old.tags),
            metadata: metadata.as_ref().unwrap_or(&old.metadata),
            importance: importance.unwrap_or(old.importance),
        };
        let replaced = store::update_memory(
            &tx,
            &old,
            &fields,
            vector.as_deref().map(|v| (v, self.model_id(), user_key)),
            now,
        )?;
        let (updated, _) = store::get_memory(&tx, id)?.ok_or(Error::NotFound(id))?;
        tx.commit()?;
        if let (Some((old_vid, new_vid)), Some(v)) = (replaced, vector) {
            self.deletes.fetch_add(1, Ordering::AcqRel);
            if let Some(index) = self.indexes.get(user_key) {
                index.insert(vec![(new_vid, id, v)]);
                self.indexer.notify();
                if index.remove(&[old_vid], self.config.tombstone_rebuild_ratio) {
                    drop(writer);
                    self.rebuild(user_key, &updated.user);
                }
            }
        }
        Ok(updated)
    }

    fn forget(&self, id: MemoryId) -> Result<()> {
        let mut writer = self.store.writer();
        let tx = writer.transaction()?;
        let (memory, user_key) = store::get_memory(&tx, id)?.ok_or(Error::NotFound(id))?;
        let vid = store::delete_memory(&tx, id)?;
        tx.commit()?;
        self.deletes.fetch_add(1, Ordering::AcqRel);
        let needs_rebuild = match (self.indexes.get(user_key), vid) {
            (Some(index), Some(vid)) => index.remove(&[vid], self.config.tombstone_rebuild_ratio),
            _ => false,
        };
        drop(writer);
        if needs_rebuild {
            self.rebuild(user_key, &memory.user);
        }
        Ok(())
    }

    /// Replace a user's index with one built from the store (drops its tombstones).
    fn rebuild(&self, user_key: UserKey, user: &str) {
        let _load = self.indexes.load_lock.lock();
        tracing::info!(user_key, "rebuilding index to drop tombstones");
        if let Err(e) = self.load_index(user_key, user, true) {
            // The old index stays in place and correct (tombstones are filtered).
            tracing::warn!(user_key, error = %e, "index rebuild failed");
        }
    }

    fn forget_user(&self, user: &str) -> Result<u64> {
        validate_user(user)?;
        let _load = self.indexes.load_lock.lock();
        let mut writer = self.store.writer();
        let tx = writer.transaction()?;
        let Some(user_key) = store::user_key(&tx, user)? else {
            return Ok(0);
        };
        let n = store::delete_user(&tx, user_key)?;
        tx.commit()?;
        self.deletes.fetch_add(1, Ordering::AcqRel);
        self.indexes.remove(user_key);
        if let Some(dir) = &self.index_dir {
            crate::index::remove_dump(dir, user_key);
        }
        Ok(n as u64)
    }

    fn stats(&self) -> Result<Stats> {
        let (counts, schema_version) = self.store.read(|c| Ok((store::counts(c)?, schema::version(c)?)))?;
        let mut loaded_indexes: Vec<IndexStats> = self.indexes.all().iter().map(|i| i.stats()).collect();
        loaded_indexes.sort_by(|a, b| a.user.cmp(&b.user));
        Ok(Stats {
            memories: counts.memories,
            users: counts.users,
            versions: counts.versions,
            embedder: EmbedderInfo {
                model_id: self.model_id().to_owned(),
                dim: self.embedder.dim(),
                fallback: self.embedder.is_fallback(),
                fallback_reason: self.selection.fallback_reason.clone(),
            },
            schema_version,
            path: self.store.path().map(|p| p.display().to_string()),
            store_bytes: self.store.disk_bytes(),
            loaded_indexes,
            selection: self.selection.clone(),
            reembed: self.store.read(|c| {
                let Some(target) = store::meta_get(c, META_REEMBED_TARGET)? else {
                    return Ok(None);
                };
                let done = store::meta_get(c, META_REEMBED_DONE)?.and_then(|d| d.parse().ok()).unwrap_or(0);
                Ok(Some(ReembedProgress { target_model_id: target, done, total: counts.memories }))
            })?,
            emotion: self.emotion.stats(&self.store)?,
            classifier: self.classifier.status(),
        })
    }

    fn checkpoint(&self) -> Result<()> {
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

    fn shutdown(&self) -> Result<()> {
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

/// Name the failing item of a batch in its error (same code, clearer message).
fn at_item(e: Error, i: usize, batch: bool) -> Error {
    if !batch {
        return e;
    }
    match e {
        Error::InvalidInput(m) => Error::InvalidInput(format!("item {i}: {m}")),
        Error::InvalidMetadata(m) => Error::InvalidMetadata(format!("item {i}: {m}")),
        Error::InvalidVector(m) => Error::InvalidVector(format!("item {i}: {m}")),
        other => {
            tracing::debug!(item = i, "batch item rejected");
            other
        }
    }
}

/// Store queries of [`Memorable::reembed`].
mod reembed_sql {
    use rusqlite::{params, Connection, OptionalExtension};

    use crate::error::Result;
    use crate::memory::MemoryId;
    use crate::store::{vector_to_blob, UserKey};

    pub(super) fn meta_delete(conn: &Connection, key: &str) -> Result<()> {
        conn.execute("DELETE FROM meta WHERE key = ?1", [key])?;
        Ok(())
    }

    /// Vectors not made by `model_id`.
    pub(super) fn count_vectors_not_of(conn: &Connection, model_id: &str) -> Result<u64> {
        let n: i64 =
            conn.query_row("SELECT count(*) FROM vectors WHERE model_id != ?1", [model_id], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Up to `limit` (memory id, text, user key) whose vector is not made by `model_id`.
    pub(super) fn memories_not_embedded_by(
        conn: &Connection,
        model_id: &str,
        limit: usize,
    ) -> Result<Vec<(MemoryId, String, UserKey)>> {
        let mut stmt = conn.prepare_cached(
            "SELECT m.id, m.text, m.user_key FROM vectors v JOIN memories m ON m.id = v.memory_id
             WHERE v.model_id != ?1 ORDER BY m.id LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![model_id, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)? as MemoryId, r.get::<_, String>(1)?, r.get::<_, UserKey>(2)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Replace the vector of memory `id` with `v` (a new vector id) if its text is still
    /// `text`; false when the memory changed or is gone.
    pub(super) fn replace_vector_if_text(
        conn: &Connection,
        id: MemoryId,
        text: &str,
        user_key: UserKey,
        model_id: &str,
        v: &[f32],
    ) -> Result<bool> {
        let current: Option<String> = conn
            .prepare_cached("SELECT text FROM memories WHERE id = ?1")?
            .query_row([id as i64], |r| r.get(0))
            .optional()?;
        if current.as_deref() != Some(text) {
            return Ok(false);
        }
        conn.prepare_cached("DELETE FROM vectors WHERE memory_id = ?1")?.execute([id as i64])?;
        conn.prepare_cached(
            "INSERT INTO vectors(memory_id, user_key, model_id, dim, data) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![id as i64, user_key, model_id, v.len() as i64, vector_to_blob(v)])?;
        Ok(true)
    }
}
