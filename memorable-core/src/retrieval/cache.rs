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
    /// Each recent user's keyword index (kept fresh by its own stamps).
    pub keywords: super::keyword::KeywordCache,
}

/// Rank rows of one rows generation and one embedding model.
#[derive(Default)]
struct RowCache {
    generation: u64,
    model_id: String,
    bytes: usize,
    map: HashMap<MemoryId, Arc<RankRow>>,
}

impl RowCache {
    /// Drop everything unless it was read at `generation` for `model_id`.
    fn validate(&mut self, generation: u64, model_id: &str) {
        if self.generation != generation || self.model_id != model_id {
            self.map.clear();
            self.bytes = 0;
            self.generation = generation;
            model_id.clone_into(&mut self.model_id);
        }
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
    /// the user's), with the vectors `model_id` made.
    pub fn rank_rows(
        &self,
        store: &Store,
        user_key: UserKey,
        ids: &[MemoryId],
        model_id: &str,
    ) -> Result<HashMap<MemoryId, Arc<RankRow>>> {
        // Read before the rows: rows read after a write that commits meanwhile are newer
        // than their stamp, and that write's bump makes them stale.
        let generation = store.rows_generation();
        let mut out = HashMap::with_capacity_and_hasher(ids.len(), Default::default());
        let mut missing = Vec::new();
        {
            let mut cache = self.rows.lock();
            cache.validate(generation, model_id);
            for id in ids {
                match cache.map.get(id) {
                    // Ids are global, but a row is only ever the one user's.
                    Some(row) if row.user_key == user_key => {
                        out.insert(*id, row.clone());
                    }
                    Some(_) => {}
                    None => missing.push(*id),
                }
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let read = store.read(|c| store::rank_rows(c, user_key, &missing, model_id))?;
        let mut cache = self.rows.lock();
        let keep = cache.generation == generation && cache.model_id == model_id;
        for (id, row) in read {
            let row = Arc::new(row);
            if keep {
                cache.bytes += row_bytes(&row);
                cache.map.insert(id, row.clone());
            }
            out.insert(id, row);
        }
        if cache.bytes > ROW_BUDGET {
            // Not an LRU: drop an arbitrary (hash-ordered) part down to three quarters.
            let mut bytes = cache.bytes;
            cache.map.retain(|_, r| {
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
