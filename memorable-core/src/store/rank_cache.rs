//! What recall reads of a user on every query but that changes only when memories are
//! written: the user's known speakers and the time order of their sessions, and the rows
//! ranking reads of each candidate. Each entry carries the store's write generation at the
//! time it was read ([`Store::generation`]; for rows [`Store::rows_generation`], which
//! writes that only add memories leave alone); any later write makes it stale, so a cached
//! answer is always one a fresh read would give.

use std::sync::Arc;

use parking_lot::Mutex;
use rustc_hash::FxHashMap as HashMap;

use crate::error::Result;
use crate::memory::MemoryId;
use crate::store::{self, RankRow, Store, UserKey};

/// Entries kept before the cache is cleared (a cheap bound, not an LRU: the working set of
/// a recall is one user's speakers and a few dozen of their sessions).
const MAX_ENTRIES: usize = 4_096;

/// A value read at a store generation.
type Stamped<T> = (u64, Arc<T>);
/// A user's session, by name.
type SessionKey = (UserKey, String);

/// Bytes of rank rows kept (text, word line, vector, emotional snapshot and a guess of the
/// overhead): with 384-d vectors about 8,000 rows without snapshots or 3,500 with a full
/// 62-expression snapshot each — every row of a conversation-sized store, or the candidate
/// sets of a handful of recalls at 100k memories.
const ROW_BUDGET: usize = 16 << 20;

#[derive(Default)]
pub(crate) struct RecallCache {
    speakers: Mutex<HashMap<UserKey, Stamped<Vec<String>>>>,
    timelines: Mutex<HashMap<SessionKey, Stamped<Vec<MemoryId>>>>,
    rows: Mutex<RowCache>,
}

/// Rank rows of one rows generation and one embedding model.
#[derive(Default)]
struct RowCache {
    generation: u64,
    /// The access log's generation the rows' access counts are at (always even).
    access_generation: u64,
    model_id: String,
    bytes: usize,
    /// Each row, and whether it was read with its vector.
    map: HashMap<MemoryId, (Arc<RankRow>, bool)>,
}

impl RowCache {
    /// Drop everything unless it was read at `generation` for `model_id`; then catch up
    /// with the access counts written out since.
    fn validate(&mut self, store: &Store, generation: u64, access: u64, model_id: &str) {
        if self.generation != generation || self.model_id != model_id {
            self.clear(access);
            self.generation = generation;
            model_id.clone_into(&mut self.model_id);
        }
        self.catch_up(store, access);
    }

    /// Add the access counts flushed since the rows were read: the rows stay cached
    /// across the flushes recall itself causes every thousand memories or so.
    fn catch_up(&mut self, store: &Store, access: u64) {
        // While a flush writes (odd), the cached counts are those before it: still usable.
        if self.access_generation == access || access % 2 == 1 {
            return;
        }
        let (at, written) = store.access.written();
        if at != access || self.access_generation + 2 != at {
            // Missed a flush (or another began since): start afresh.
            self.clear(access);
            return;
        }
        for (id, n) in written.iter() {
            if let Some((row, _)) = self.map.get_mut(id) {
                let mut counted = RankRow::clone(row);
                counted.access_count += n;
                *row = Arc::new(counted);
            }
        }
        self.access_generation = access;
    }

    fn clear(&mut self, access: u64) {
        self.map.clear();
        self.bytes = 0;
        // (An odd generation: rows read now are not kept, see `rank_rows`.)
        self.access_generation = access & !1;
    }
}

fn row_bytes(r: &RankRow) -> usize {
    let m = &r.memory;
    let emotion = m.emotion.as_ref().map_or(0, |e| e.scores.len() * 48 + 64);
    m.text.len() + r.words.len() + r.vector.as_ref().map_or(0, |v| v.len() * 4) + emotion + 400
}

impl RecallCache {
    /// The distinct speakers of a user's memories.
    pub fn speakers(&self, store: &Store, user_key: UserKey) -> Result<Arc<Vec<String>>> {
        let generation = store.generation();
        if let Some((g, v)) = self.speakers.lock().get(&user_key) {
            if *g == generation {
                return Ok(v.clone());
            }
        }
        let v = Arc::new(store.read(|c| store::speakers(c, user_key))?);
        let mut map = self.speakers.lock();
        if map.len() >= MAX_ENTRIES {
            map.clear();
        }
        map.insert(user_key, (generation, v.clone()));
        Ok(v)
    }

    /// The ids of each session's memories in time order (ties by id).
    pub fn timelines(
        &self,
        store: &Store,
        user_key: UserKey,
        sessions: &[String],
    ) -> Result<Vec<Arc<Vec<MemoryId>>>> {
        let generation = store.generation();
        let mut found: Vec<Option<Arc<Vec<MemoryId>>>> = {
            let map = self.timelines.lock();
            sessions
                .iter()
                .map(|s| {
                    map.get(&(user_key, s.clone())).filter(|(g, _)| *g == generation).map(|(_, v)| v.clone())
                })
                .collect()
        };
        let missing: Vec<String> =
            sessions.iter().zip(&found).filter(|(_, f)| f.is_none()).map(|(s, _)| s.clone()).collect();
        if !missing.is_empty() {
            let mut read = store.read(|c| store::session_timelines(c, user_key, &missing))?;
            let mut map = self.timelines.lock();
            if map.len() + missing.len() > MAX_ENTRIES {
                map.clear();
            }
            for (s, slot) in sessions.iter().zip(found.iter_mut()) {
                if slot.is_none() {
                    let v = Arc::new(read.remove(s).unwrap_or_default());
                    map.insert((user_key, s.clone()), (generation, v.clone()));
                    *slot = Some(v);
                }
            }
        }
        Ok(found.into_iter().map(|f| f.unwrap_or_default()).collect())
    }

    /// What ranking reads of each of `ids` (a user's memories; absent: forgotten or not
    /// the user's), with the vectors `model_id` made when `with_vectors` (a row cached
    /// without its vector is read again then).
    pub fn rank_rows(
        &self,
        store: &Store,
        user_key: UserKey,
        ids: &[MemoryId],
        model_id: &str,
        with_vectors: bool,
    ) -> Result<HashMap<MemoryId, Arc<RankRow>>> {
        // Read before the rows: rows read after a write that commits meanwhile are newer
        // than their stamp, and that write's bump makes them stale.
        let generation = store.rows_generation();
        let access = store.access.generation();
        let mut out = HashMap::with_capacity_and_hasher(ids.len(), Default::default());
        let mut missing = Vec::new();
        {
            let mut cache = self.rows.lock();
            cache.validate(store, generation, access, model_id);
            for id in ids {
                match cache.map.get(id) {
                    // Ids are global, but a row is only ever the one user's.
                    Some((row, vectors)) if row.user_key == user_key && (*vectors || !with_vectors) => {
                        out.insert(*id, row.clone());
                    }
                    Some((row, _)) if row.user_key != user_key => {}
                    _ => missing.push(*id),
                }
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let vectors_of = with_vectors.then_some(model_id);
        let read = store.read(|c| store::rank_rows(c, user_key, &missing, vectors_of))?;
        let mut cache = self.rows.lock();
        // Keep what was read only if no write and no access flush began meanwhile.
        let keep = cache.generation == generation
            && cache.model_id == model_id
            && cache.access_generation == access
            && store.access.generation() == access;
        for (id, row) in read {
            let row = Arc::new(row);
            if keep {
                cache.bytes += row_bytes(&row);
                if let Some((old, _)) = cache.map.insert(id, (row.clone(), with_vectors)) {
                    cache.bytes -= row_bytes(&old);
                }
            }
            out.insert(id, row);
        }
        if cache.bytes > ROW_BUDGET {
            // Not an LRU: drop an arbitrary (hash-ordered) part down to three quarters.
            let mut bytes = cache.bytes;
            cache.map.retain(|_, (r, _)| {
                if bytes > ROW_BUDGET / 4 * 3 {
                    bytes -= row_bytes(r);
                    false
                } else {
                    true
                }
            });
            cache.bytes = bytes;
        }
        Ok(out)
    }
}
