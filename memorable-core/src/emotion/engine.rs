//! [`EmotionEngine`]: the emotional layer inside an open store. It owns the text classifier
//! slot and a cache of context fusion states, and makes every change durable: a batch of
//! readings is validated first, folded into copies of the states it touches, written in one
//! SQLite transaction (source states, history, unknown-name counts), and only then published
//! to the cache. So bad input, or a failed commit, changes nothing.
//!
//! Locking: the cache mutex is taken before the store's writer lock, on every path.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::store::db::Db;
use parking_lot::{Mutex, MutexGuard};

use super::config::EmotionConfig;
use super::fusion::{at_item, ContextState, HistoryRecord};
use super::persist;
use super::reading::{self, user_context, validate_context, Reading, Resolved, Source};
use super::state::{ContextInfo, EmotionStats, EmotionalState, HistoryRange};
use crate::batching;
use crate::error::{Error, Result};
use crate::models::EmotionClassifier;
use crate::store::{PreparedMemory, Store};

/// Texts per classifier call when remembering a batch (each call runs on one rayon thread).
const CLASSIFY_CHUNK: usize = 64;

pub(crate) struct EmotionEngine {
    pub config: EmotionConfig,
    /// The classifier, when one is configured and usable with the store's embedder.
    classifier: Option<Arc<dyn EmotionClassifier>>,
    /// The configured classifier, usable or not (kept for a later embedder switch).
    configured: Option<Arc<dyn EmotionClassifier>>,
    off_reason: Option<String>,
    /// Shared with the engine that replaces this one after a re-embedding, so states in
    /// flight are never lost between two caches.
    cache: Arc<Mutex<Cache>>,
}

#[derive(Default)]
pub(crate) struct Cache {
    contexts: HashMap<String, (ContextState, u64)>,
    tick: u64,
}

impl Cache {
    fn get(&mut self, name: &str) -> Option<&ContextState> {
        self.tick += 1;
        let tick = self.tick;
        self.contexts.get_mut(name).map(|(c, t)| {
            *t = tick;
            &*c
        })
    }

    fn put(&mut self, ctx: ContextState, max: usize) {
        self.tick += 1;
        self.contexts.insert(ctx.name.clone(), (ctx, self.tick));
        if self.contexts.len() > max {
            // Drop the least recently used tenth (they reload from the store on demand).
            let mut ticks: Vec<u64> = self.contexts.values().map(|(_, t)| *t).collect();
            ticks.sort_unstable();
            let drop = (ticks.len() - max + ticks.len() / 10).clamp(1, ticks.len());
            let cut = ticks[drop - 1];
            self.contexts.retain(|_, (_, t)| *t > cut);
        }
    }
}

/// Readings folded into copies of the context states they touch, ready to write.
struct Work {
    contexts: Vec<ContextState>,
    by_name: HashMap<String, usize>,
    touched: Vec<HashSet<Source>>,
    history: Vec<Vec<(i64, i64, HistoryRecord)>>,
    unknown: BTreeMap<String, u64>,
}

impl Work {
    fn new() -> Work {
        Work {
            contexts: Vec::new(),
            by_name: HashMap::new(),
            touched: Vec::new(),
            history: Vec::new(),
            unknown: BTreeMap::new(),
        }
    }

    /// Index of a context's working copy, loading it from the cache or the store; with
    /// `create`, a context neither has is started.
    fn slot(
        &mut self,
        cache: &mut Cache,
        conn: &Db,
        name: &str,
        create: bool,
        now: i64,
    ) -> Result<Option<usize>> {
        if let Some(&i) = self.by_name.get(name) {
            return Ok(Some(i));
        }
        let ctx = match cache.get(name) {
            Some(c) => c.clone(),
            None => match persist::load_context(conn, name)? {
                Some(c) => c,
                None if create => ContextState::new(name, now),
                None => return Ok(None),
            },
        };
        self.contexts.push(ctx);
        self.touched.push(HashSet::new());
        self.history.push(Vec::new());
        self.by_name.insert(name.to_owned(), self.contexts.len() - 1);
        Ok(Some(self.contexts.len() - 1))
    }

    /// Fold a reading into context `i`; with `record`, append the resulting state to its
    /// history.
    fn apply(&mut self, i: usize, source: &Source, r: &Resolved, config: &EmotionConfig, record: bool) {
        let ctx = &mut self.contexts[i];
        ctx.apply(source, r, config);
        self.touched[i].insert(source.clone());
        for (name, _) in &r.extras {
            *self.unknown.entry(name.clone()).or_default() += 1;
        }
        if record {
            ctx.history_seq += 1;
            self.history[i].push((ctx.history_seq, ctx.updated_at, ctx.history_record(config, source)));
        }
    }

    /// Write everything in the caller's transaction.
    fn save(&mut self, conn: &Db, config: &EmotionConfig) -> Result<()> {
        for (i, ctx) in self.contexts.iter_mut().enumerate() {
            if self.touched[i].is_empty() {
                continue;
            }
            let touched: Vec<usize> = ctx
                .sources
                .iter()
                .enumerate()
                .filter(|(_, s)| self.touched[i].contains(&s.source))
                .map(|(j, _)| j)
                .collect();
            persist::save_context(conn, ctx, &touched, &self.history[i], config.history_limit)?;
        }
        persist::count_unknown(conn, &self.unknown)
    }

    /// Publish the committed states.
    fn install(self, cache: &mut Cache, config: &EmotionConfig) {
        for (ctx, touched) in self.contexts.into_iter().zip(self.touched) {
            if !touched.is_empty() {
                cache.put(ctx, config.max_cached_contexts);
            }
        }
    }
}

/// What remembering a batch needs from the emotional layer, computed before any lock is
/// taken: the classifier's reading of each memory's text.
pub(crate) struct RememberPlan {
    readings: Vec<Option<Resolved>>,
    needs_contexts: bool,
}

/// The cache lock held across a remember's transaction (only when sessions are involved).
pub(crate) struct RememberGuard<'a>(Option<MutexGuard<'a, Cache>>);

impl EmotionEngine {
    pub fn new(
        config: EmotionConfig,
        classifier: Option<Arc<dyn EmotionClassifier>>,
        embedder_model_id: &str,
    ) -> EmotionEngine {
        EmotionEngine::with_cache(config, classifier, embedder_model_id, Arc::default())
    }

    /// The same engine (config, context cache) with another classifier (after the model
    /// registry's active classifier changed).
    pub fn with_classifier(
        &self,
        classifier: Option<Arc<dyn EmotionClassifier>>,
        embedder_model_id: &str,
    ) -> EmotionEngine {
        EmotionEngine::with_cache(self.config.clone(), classifier, embedder_model_id, self.cache.clone())
    }

    fn with_cache(
        config: EmotionConfig,
        configured: Option<Arc<dyn EmotionClassifier>>,
        embedder_model_id: &str,
        cache: Arc<Mutex<Cache>>,
    ) -> EmotionEngine {
        let off_reason = match &configured {
            _ if !config.enabled => Some("emotion is disabled (emotion.enabled = false)".to_owned()),
            None => Some(
                "no emotion classifier: configure one (Builder::emotion_classifier), or embed with the MiniLM the shipped one runs on"
                    .to_owned(),
            ),
            Some(c) if c.embedder_model_id() != embedder_model_id => Some(format!(
                "the emotion classifier {:?} was trained on embedder {:?}, but this store uses {:?}",
                c.model_id(),
                c.embedder_model_id(),
                embedder_model_id
            )),
            Some(c) if c.labels().is_empty() || c.labels().len() != c.thresholds().len() => Some(format!(
                "the emotion classifier {:?} has {} labels and {} thresholds",
                c.model_id(),
                c.labels().len(),
                c.thresholds().len()
            )),
            Some(_) => None,
        };
        if let Some(reason) = &off_reason {
            if configured.is_some() {
                tracing::warn!(%reason, "emotion classification is off");
            }
        }
        let classifier = if off_reason.is_none() { configured.clone() } else { None };
        EmotionEngine { config, classifier, configured, off_reason, cache }
    }

    /// The same layer (sharing its cache) for a store whose embedder changed.
    pub fn rebind(&self, embedder_model_id: &str) -> EmotionEngine {
        EmotionEngine::with_cache(
            self.config.clone(),
            self.configured.clone(),
            embedder_model_id,
            self.cache.clone(),
        )
    }

    /// Validate, fold in and persist readings. Returns the state after the last reading when
    /// `want_last` (for `observe`).
    pub fn observe(
        &self,
        store: &Store,
        readings: &[Reading],
        want_last: bool,
    ) -> Result<Option<EmotionalState>> {
        let now = crate::time::now_ms();
        let max_future = self.config.max_future_ms();
        let resolved = readings
            .iter()
            .enumerate()
            .map(|(i, r)| reading::resolve(r, now, max_future).map_err(|e| at_item(e, i)))
            .collect::<Result<Vec<_>>>()?;
        if readings.is_empty() {
            return Ok(None);
        }
        // Only the newest `history_limit` states of a context survive: skip the others.
        let mut remaining: HashMap<&str, usize> = HashMap::new();
        for r in readings {
            *remaining.entry(r.context.as_str()).or_default() += 1;
        }
        let mut cache = self.cache.lock();
        // Emotional contexts only: no memory changes, so recall's caches stay valid.
        let mut writer = store.locked();
        let tx = writer.transaction()?;
        let mut work = Work::new();
        let mut last = None;
        for (r, res) in readings.iter().zip(&resolved) {
            let i = work.slot(&mut cache, &tx, &r.context, true, now)?.expect("created");
            let left = remaining.get_mut(r.context.as_str()).expect("counted");
            *left -= 1;
            work.apply(i, &r.source, res, &self.config, *left < self.config.history_limit);
            last = Some(i);
        }
        let last = match (want_last, last) {
            (true, Some(i)) => Some(work.contexts[i].evaluate(work.contexts[i].updated_at, &self.config)),
            _ => None,
        };
        work.save(&tx, &self.config)?;
        tx.commit()?;
        drop(writer);
        work.install(&mut cache, &self.config);
        Ok(last)
    }

    /// A context's fused state at `at_ms`.
    pub fn state(&self, store: &Store, context: &str, at_ms: i64) -> Result<EmotionalState> {
        validate_context(context)?;
        let mut cache = self.cache.lock();
        if let Some(ctx) = cache.get(context) {
            return Ok(ctx.evaluate(at_ms, &self.config));
        }
        let ctx = store
            .read(|c| persist::load_context(c, context))?
            .ok_or_else(|| Error::ContextNotFound(context.to_owned()))?;
        let state = ctx.evaluate(at_ms, &self.config);
        cache.put(ctx, self.config.max_cached_contexts);
        Ok(state)
    }

    pub fn history(&self, store: &Store, context: &str, range: &HistoryRange) -> Result<Vec<EmotionalState>> {
        validate_context(context)?;
        if range.limit == 0 {
            return Err(Error::InvalidInput("history limit must be positive".into()));
        }
        if let (Some(a), Some(b)) = (range.since, range.until) {
            if a > b {
                return Err(Error::InvalidInput("history range starts after it ends".into()));
            }
        }
        let _cache = self.cache.lock();
        store
            .read(|c| persist::history(c, context, range, self.config.top_k))?
            .ok_or_else(|| Error::ContextNotFound(context.to_owned()))
    }

    pub fn contexts(&self, store: &Store) -> Result<Vec<ContextInfo>> {
        let _cache = self.cache.lock();
        store.read(persist::list_contexts)
    }

    /// Close a context: it leaves the cache and is listed as closed; its state and history
    /// stay, and a new reading reopens it.
    pub fn close(&self, store: &Store, context: &str) -> Result<()> {
        validate_context(context)?;
        let mut cache = self.cache.lock();
        let found = persist::close_context(&store.locked(), context, crate::time::now_ms())?;
        if !found {
            return Err(Error::ContextNotFound(context.to_owned()));
        }
        cache.contexts.remove(context);
        Ok(())
    }

    /// The context cache's lock, for a caller that then takes the store's writer lock (the
    /// order every path keeps) and calls [`EmotionEngine::forget_user_contexts`].
    pub fn lock_cache(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock()
    }

    /// Inside `forget_user`'s transaction: erase the user's own contexts
    /// (`user_context(user, ...)`: what `memorable serve` and `per_user_sessions` create) with
    /// their history, and drop them from the cache.
    pub fn forget_user_contexts(&self, cache: &mut Cache, conn: &Db, user: &str) -> Result<usize> {
        let names = persist::delete_contexts_with_prefix(conn, &user_context(user, ""))?;
        for name in &names {
            cache.contexts.remove(name);
        }
        Ok(names.len())
    }

    pub fn stats(&self, store: &Store) -> Result<EmotionStats> {
        let (contexts, open_contexts, readings, unknown_names) = {
            let _cache = self.cache.lock();
            store.read(persist::totals)?
        };
        Ok(EmotionStats {
            enabled: self.config.enabled,
            classification: self.classifier.is_some(),
            classifier: self.classifier.as_ref().map(|c| c.model_id().to_owned()),
            classification_off_reason: self.off_reason.clone(),
            contexts,
            open_contexts,
            readings,
            unknown_names,
        })
    }

    // ---- remember ---------------------------------------------------------------------

    /// The classifier that reads remembered texts (`None` when emotion is disabled or no
    /// classifier serves this store).
    pub fn text_classifier(&self) -> Option<&Arc<dyn EmotionClassifier>> {
        self.classifier.as_ref().filter(|_| self.config.enabled)
    }

    /// Classify the memories' texts (outside every lock), unless `scores` already holds the
    /// [`Self::text_classifier`]'s probabilities for each (from the embedding's pass).
    /// Nothing to do when emotion is disabled.
    pub fn plan(
        &self,
        memories: &[PreparedMemory],
        now: i64,
        scores: Option<Vec<Vec<f32>>>,
    ) -> Result<RememberPlan> {
        if !self.config.enabled {
            return Ok(RememberPlan { readings: Vec::new(), needs_contexts: false });
        }
        let needs_contexts =
            memories.iter().any(|m| session_context(m, self.config.per_user_sessions).is_some());
        let Some(classifier) = &self.classifier else {
            return Ok(RememberPlan { readings: vec![None; memories.len()], needs_contexts });
        };
        let texts: Vec<&str> = memories.iter().map(|m| m.text.as_str()).collect();
        let probs = match scores {
            Some(scores) if scores.len() == texts.len() => Ok(scores),
            _ => batching::by_length(&texts, CLASSIFY_CHUNK, "the emotion classifier", |c| {
                classifier.classify(c)
            }),
        };
        let probs = match probs {
            // The shipped classifier loads on first use; when it cannot (its encoder missing
            // or failing its checksums), memories are remembered without a text reading and
            // `stats().classifier` says why.
            Err(Error::ClassifierUnavailable(reason)) => {
                tracing::debug!(%reason, "remembering without a text emotion reading");
                return Ok(RememberPlan { readings: vec![None; memories.len()], needs_contexts });
            }
            other => other?,
        };
        let labels = classifier.labels();
        let max_future = self.config.max_future_ms();
        let readings = memories
            .iter()
            .zip(probs)
            .map(|(m, p)| {
                if p.len() != labels.len() {
                    return Err(Error::Model(format!(
                        "emotion classifier returned {} probabilities for {} labels",
                        p.len(),
                        labels.len()
                    )));
                }
                let mut r = Reading::new(
                    session_context(m, self.config.per_user_sessions).as_deref().unwrap_or("(memory)"),
                    Source::Text,
                )
                .scores(labels.iter().map(String::as_str).zip(p));
                // A memory from the future (allowed) is read as of now.
                r.timestamp = Some(crate::time::from_ms(m.occurred_at.min(now)));
                reading::resolve(&r, now, max_future)
                    .map(Some)
                    .map_err(|e| Error::Model(format!("emotion classifier output: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RememberPlan { readings, needs_contexts })
    }

    /// Take the cache lock for a remember that touches sessions (before the writer lock).
    pub fn lock_for(&self, plan: &RememberPlan) -> RememberGuard<'_> {
        RememberGuard(plan.needs_contexts.then(|| self.cache.lock()))
    }

    /// Inside the remember's transaction: give every memory without a caller-supplied
    /// snapshot the fused state of its session (after feeding the session the text reading)
    /// or, without a session, the text reading alone; persist the sessions' new states.
    /// Returns the states to publish once the transaction committed.
    pub fn attach(
        &self,
        guard: &mut RememberGuard<'_>,
        conn: &Db,
        plan: RememberPlan,
        memories: &mut [PreparedMemory],
        now: i64,
    ) -> Result<Option<RememberWork>> {
        if plan.readings.is_empty() {
            return Ok(None);
        }
        let mut work = Work::new();
        for (m, reading) in memories.iter_mut().zip(plan.readings) {
            let at = m.occurred_at.min(now);
            let state = match (session_context(m, self.config.per_user_sessions), guard.0.as_deref_mut()) {
                (Some(session), Some(cache)) => {
                    let Some(i) = work.slot(cache, conn, &session, reading.is_some(), now)? else {
                        continue; // a session with no emotional state and nothing to add
                    };
                    if let Some(r) = &reading {
                        work.apply(i, &Source::Text, r, &self.config, true);
                    }
                    work.contexts[i].evaluate(at, &self.config)
                }
                _ => match &reading {
                    Some(r) => {
                        let mut ctx = ContextState::new("(memory)", now);
                        ctx.apply(&Source::Text, r, &self.config);
                        for (name, _) in &r.extras {
                            *work.unknown.entry(name.clone()).or_default() += 1;
                        }
                        ctx.evaluate(at, &self.config)
                    }
                    None => continue,
                },
            };
            if m.emotion.is_none() {
                m.emotion = Some(state.snapshot());
            }
        }
        work.save(conn, &self.config)?;
        Ok(Some(RememberWork(work)))
    }

    /// After the remember committed: publish the sessions' states.
    pub fn install(&self, guard: &mut RememberGuard<'_>, work: Option<RememberWork>) {
        if let (Some(cache), Some(work)) = (guard.0.as_deref_mut(), work) {
            work.0.install(cache, &self.config);
        }
    }
}

/// Session states changed by a remember, published after its commit.
pub(crate) struct RememberWork(Work);

/// The context a memory's session feeds, if it has a usable one.
fn session_context(m: &PreparedMemory, per_user: bool) -> Option<Cow<'_, str>> {
    let session = m.session.as_deref()?;
    let id = if per_user { Cow::Owned(user_context(&m.user, session)) } else { Cow::Borrowed(session) };
    validate_context(&id).is_ok().then_some(id)
}
