//! What recall reads of a user on every query but that changes only when memories are
//! written: the user's known speakers and the time order of their sessions. Each entry
//! carries the store's write generation ([`Store::generation`]) at the time it was read;
//! any later write makes it stale, so a cached answer is always one a fresh read would give.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::error::Result;
use crate::memory::MemoryId;
use crate::store::{self, Store, UserKey};

/// Entries kept before the cache is cleared (a cheap bound, not an LRU: the working set of
/// a recall is one user's speakers and a few dozen of their sessions).
const MAX_ENTRIES: usize = 4_096;

/// A value read at a store generation.
type Stamped<T> = (u64, Arc<T>);
/// A user's session, by name.
type SessionKey = (UserKey, String);

#[derive(Default)]
pub(crate) struct RecallCache {
    speakers: Mutex<HashMap<UserKey, Stamped<Vec<String>>>>,
    timelines: Mutex<HashMap<SessionKey, Stamped<Vec<MemoryId>>>>,
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
}
