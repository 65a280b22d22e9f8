//! The write path: validate everything, embed outside every lock, commit in one
//! transaction, then bring the user's index up to date under the writer lock.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use super::{quota, Engine};
use crate::batching;
use crate::error::{Error, Result};
use crate::index::UserIndex;
use crate::memory::*;
use crate::store::{self, PreparedMemory, UpdatedFields, UserKey, VectorRow, META_MODEL_ID};

/// Texts per embedding call in `remember_batch` (each call runs on one rayon thread).
const EMBED_CHUNK: usize = 64;
/// Attempts of a `remember` with client keys that other processes keep racing.
const CLIENT_KEY_ATTEMPTS: usize = 3;

/// One row of floats per text (vectors, or emotion probabilities).
type Rows = Vec<Vec<f32>>;

impl Engine {
    /// Vectors of `texts` in length-sorted chunks; with `read_emotion`, also the emotional
    /// layer's scores of each from the same encoder pass, when its classifier runs on this
    /// engine's embedder (the shared pass: the lower layers once, then the plain and the
    /// adapted top layers). `None` scores: the emotional layer classifies on its own.
    fn embed_and_read(&self, texts: &[&str], read_emotion: bool) -> Result<(Rows, Option<Rows>)> {
        let shared = self
            .emotion
            .text_classifier()
            .filter(|c| read_emotion && !texts.is_empty() && c.shares_pass_with(self.embedder.as_ref()));
        let Some(classifier) = shared else {
            return Ok((batching::by_length(texts, EMBED_CHUNK, "the embedder", |c| self.embed(c))?, None));
        };
        let what = "the embedder and emotion classifier";
        let pairs = batching::by_length(texts, EMBED_CHUNK, what, |chunk| {
            let start = self.metrics.start();
            let out = classifier
                .embed_and_classify(chunk)?
                .ok_or_else(|| Error::Internal(format!("{what}: no shared pass after offering one")))?;
            self.metrics.finish(&self.metrics.embed_latency, start);
            if out.embeddings.len() != chunk.len() || out.scores.len() != chunk.len() {
                return Err(Error::Model(format!(
                    "{what} returned {} vectors and {} readings for {} texts",
                    out.embeddings.len(),
                    out.scores.len(),
                    chunk.len()
                )));
            }
            Ok(out.embeddings.into_iter().zip(out.scores).collect::<Vec<_>>())
        })?;
        let (vectors, scores): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
        let dim = self.embedder.dim();
        let vectors = vectors.into_iter().map(|v| validate_vector(v, dim)).collect::<Result<_>>()?;
        Ok((vectors, Some(scores)))
    }

    pub(crate) fn prepare(&self, m: NewMemory, now: i64) -> Result<(PreparedMemory, Option<Vec<f32>>)> {
        validate_user(&m.user)?;
        validate_text(&m.text, self.config.max_text_chars)?;
        validate_coordinates(m.lat, m.lon)?;
        let importance = validate_importance(m.importance.unwrap_or(DEFAULT_IMPORTANCE))?;
        let metadata = validate_metadata(m.metadata)?;
        self.check_metadata(&metadata)?;
        let embedding = m.embedding.map(|v| validate_vector(v, self.embedder.dim())).transpose()?;
        if let Some(e) = &m.emotion {
            validate_emotion(e)?;
        }
        validate_client_key(m.client_key.as_deref())?;
        let prepared = PreparedMemory {
            user: m.user,
            text: m.text,
            kind: m.kind.filter(|k| !k.trim().is_empty()).unwrap_or_else(|| DEFAULT_KIND.into()),
            session: m.session,
            speaker: m.speaker,
            topics: m.topics,
            occurred_at: m.occurred_at.map_or(now, crate::time::to_ms),
            place: m.place,
            lat: m.lat,
            lon: m.lon,
            tags: m.tags,
            metadata,
            importance,
            emotion: m.emotion,
            derived_from: m.derived_from,
            client_key: m.client_key,
            vector: Vec::new(),
        };
        Ok((prepared, embedding))
    }

    pub(crate) fn remember(&self, memories: Vec<NewMemory>, batch: bool) -> Result<Vec<MemoryId>> {
        if memories.iter().all(|m| m.client_key.is_none()) {
            return self.remember_once(memories, batch).map(Option::unwrap_or_default);
        }
        // With client keys a write can lose a race to another process storing the same key;
        // the next attempt finds that key and answers its id.
        for _ in 0..CLIENT_KEY_ATTEMPTS {
            if let Some(ids) = self.remember_once(memories.clone(), batch)? {
                return Ok(ids);
            }
        }
        Err(Error::Storage("client keys kept being stored by other writers meanwhile; retry".into()))
    }

    /// One attempt of [`Engine::remember`]; `None` when another process stored one of its
    /// client keys meanwhile (nothing was written).
    fn remember_once(&self, memories: Vec<NewMemory>, batch: bool) -> Result<Option<Vec<MemoryId>>> {
        let span = tracing::debug_span!("remember", n = memories.len(), user = tracing::field::Empty);
        if self.config.log_content {
            if let Some(m) = memories.first() {
                span.record("user", m.user.as_str());
            }
        }
        let _span = span.entered();
        if memories.is_empty() {
            return Ok(Some(Vec::new()));
        }
        self.check_batch(memories.len())?;
        let now = crate::time::now_ms();
        // Validate everything before writing anything: a bad item rejects the whole batch.
        let mut prepared = Vec::with_capacity(memories.len());
        for (i, m) in memories.into_iter().enumerate() {
            prepared.push(self.prepare(m, now).map_err(|e| if batch { e.in_item("item", i) } else { e })?);
        }
        // Writes with a client key already stored (or repeated in this batch) write nothing:
        // they answer the stored id. Checked again under the users' locks below.
        let (prepared, known) = self.known_client_keys(prepared)?;
        if prepared.is_empty() {
            return Ok(Some(known.answer(Vec::new())));
        }
        let missing: Vec<usize> =
            prepared.iter().enumerate().filter(|(_, p)| p.1.is_none()).map(|(i, _)| i).collect();
        let texts: Vec<&str> = missing.iter().map(|&i| prepared[i].0.text.as_str()).collect();
        // When every text needs a vector, the emotion scores may come from the same pass.
        let (vectors, scores) = self.embed_and_read(&texts, missing.len() == prepared.len())?;
        let mut vectors = vectors.into_iter();
        let mut prepared: Vec<PreparedMemory> = prepared
            .into_iter()
            .map(|(mut p, given)| {
                p.vector = given.or_else(|| vectors.next()).unwrap_or_default();
                p
            })
            .collect();

        // What each memory counts for against the byte quota (text and metadata).
        let counted: Vec<u64> = prepared.iter().map(quota::counted_bytes).collect();
        // With the vectors: the estimate the store-size limit is checked with.
        if self.config.limits.max_store_bytes.is_some() {
            let vectors: u64 = prepared.iter().map(|p| 4 * p.vector.len() as u64).sum();
            self.check_store_room(counted.iter().sum::<u64>() + vectors)?;
        }
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
        let plan = self.emotion.plan(&prepared, now, scores)?;
        let mut emotion_guard = self.emotion.lock_for(&plan);
        // Only adds memories: what recall caches of existing ones stays valid.
        let mut writer = self.store.appender();
        let tx = writer.transaction()?;
        store::lock_users(&tx, &users)?;
        // Another process stored one of these keys since the check above (it held the
        // user's lock): start over, and that check answers its id.
        if self.client_keys_taken(&tx, &prepared)? {
            return Ok(None);
        }
        let emotion_work = self.emotion.attach(&mut emotion_guard, &tx, plan, &mut prepared, now)?;
        match store::meta_get(&tx, META_MODEL_ID)? {
            None => store::meta_set(&tx, META_MODEL_ID, self.model_id())?,
            // Only after a finished reembed switched the store under a call in flight.
            Some(stored) if stored != self.model_id() => {
                return Err(Error::ModelMismatch { stored, current: self.model_id().to_owned() })
            }
            Some(_) => {}
        }
        // Per user: (key if known, memories, bytes) this batch adds, for quotas and usage.
        let mut adding: Vec<(&str, Option<UserKey>, u64, i64)> = Vec::new();
        for (p, &bytes) in prepared.iter().zip(&counted) {
            let bytes = bytes as i64;
            match adding.iter_mut().find(|a| a.0 == p.user) {
                Some(a) => {
                    a.2 += 1;
                    a.3 += bytes;
                }
                None => adding.push((&p.user, store::user_key(&tx, &p.user)?, 1, bytes)),
            }
        }
        let per_user: Vec<_> = adding.iter().map(|a| (a.1, a.2, a.3)).collect();
        self.check_users(&tx, &per_user)?;
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
            if last_user.is_none_or(|(name, _)| name != p.user) {
                // New users get their key here; usage is added by key after the inserts.
                if let Some(a) = adding.iter_mut().find(|a| a.0 == p.user) {
                    a.1 = Some(key);
                }
            }
            last_user = Some((&p.user, key));
            let (id, vid) = store::insert_memory(&tx, key, p, self.model_id(), now)?;
            ids.push(id);
            rows.push((key, (vid, id, Vec::new())));
        }
        for &(_, key, n, bytes) in &adding {
            if let Some(key) = key {
                store::add_usage(&tx, key, n, bytes.max(0) as u64)?;
            }
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
                        let index = UserIndex::empty(
                            key,
                            name,
                            &self.config.hnsw,
                            self.config.exact_search_threshold,
                        );
                        evicted.extend(self.indexes.insert(index.clone()));
                        index
                    }
                    None => continue,
                },
            };
            let user_rows: Vec<VectorRow> = chunk.iter().map(|(_, r)| r.clone()).collect();
            index.insert(user_rows);
        }
        // The indexes grew (or a new user's began): fit the memory budget again, keeping the
        // index written last.
        if let Some(last) = rows.last() {
            evicted.extend(self.evict_over_budget(last.0));
        }
        drop(writer);
        self.indexer.notify();
        if !evicted.is_empty() {
            let _load = self.indexes.load_lock.lock();
            self.retire_indexes(evicted);
        }
        Ok(Some(known.answer(ids)))
    }

    pub(crate) fn update(&self, id: MemoryId, u: MemoryUpdate) -> Result<Memory> {
        if let Some(t) = &u.text {
            validate_text(t, self.config.max_text_chars)?;
        }
        let importance = u.importance.map(validate_importance).transpose()?;
        let metadata = u.metadata.map(|m| validate_metadata(Some(m))).transpose()?;
        if let Some(m) = &metadata {
            self.check_metadata(m)?;
        }
        let vector = match &u.text {
            Some(t) => Some(self.embed(&[t.as_str()])?.pop().unwrap_or_default()),
            None => None,
        };
        let now = crate::time::now_ms();
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
        let before = store::memory_bytes(&old.text, quota::metadata_len(&old.metadata)) as i64;
        let after = store::memory_bytes(fields.text, quota::metadata_len(fields.metadata)) as i64;
        if after > before {
            self.check_store_room((after - before) as u64)?;
        }
        self.check_users(&tx, &[(Some(user_key), 0, after - before)])?;
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

    /// Forget a memory and what was derived only from it (summaries, facts); returns how
    /// many memories were removed.
    pub(crate) fn forget(&self, id: MemoryId) -> Result<u64> {
        let mut writer = self.store.writer();
        let tx = writer.transaction()?;
        let (memory, user_key) = store::get_memory(&tx, id)?.ok_or(Error::NotFound(id))?;
        let removed = store::delete_cascade(&tx, id)?;
        tx.commit()?;
        self.deletes.fetch_add(1, Ordering::AcqRel);
        let vids: Vec<_> = removed.iter().map(|(_, vid)| *vid).collect();
        let needs_rebuild = match self.indexes.get(user_key) {
            Some(index) if !vids.is_empty() => index.remove(&vids, self.config.tombstone_rebuild_ratio),
            _ => false,
        };
        drop(writer);
        self.store.erase_checkpoint()?;
        if let Some(dir) = self.index_dir.as_deref().filter(|_| !vids.is_empty()) {
            // The dump on disk still holds the vectors; loads, rebuilds and dumps hold this lock.
            let _load = self.indexes.load_lock.lock();
            crate::index::scrub_dump(dir, user_key, &vids)?;
        }
        if needs_rebuild {
            self.rebuild(user_key, &memory.user);
        }
        if removed.len() > 1 {
            tracing::debug!(
                derived = removed.len() - 1,
                "forgot memories derived only from the forgotten one"
            );
        }
        Ok(removed.len() as u64)
    }

    pub(crate) fn forget_user(&self, user: &str) -> Result<u64> {
        validate_user(user)?;
        let _load = self.indexes.load_lock.lock();
        // The emotion cache before the writer lock, as on every path.
        let mut emotion_cache = self.emotion.lock_cache();
        let mut writer = self.store.writer();
        let tx = writer.transaction()?;
        // The user's own emotion contexts go too, memories or not.
        let contexts = self.emotion.forget_user_contexts(&mut emotion_cache, &tx, user)?;
        let Some(user_key) = store::user_key(&tx, user)? else {
            tx.commit()?;
            drop(writer);
            if contexts > 0 {
                self.store.erase_checkpoint()?;
            }
            return Ok(0);
        };
        let n = store::delete_user(&tx, user_key)?;
        tx.commit()?;
        drop(emotion_cache);
        self.deletes.fetch_add(1, Ordering::AcqRel);
        self.indexes.remove(user_key);
        if let Some(dir) = &self.index_dir {
            crate::index::remove_dump(dir, user_key);
        }
        drop(writer);
        self.store.erase_checkpoint()?;
        Ok(n as u64)
    }
}
