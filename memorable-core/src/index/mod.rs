//! Per-user HNSW indexes: a rebuildable cache over the store's vectors.
//!
//! Each user has one [`UserIndex`], loaded on that user's first call (from its dump plus the
//! vectors written after the dump's watermark, or rebuilt from the store) and kept in an LRU
//! of at most `max_loaded_indexes`. Deleted or replaced vectors stay in the graph as
//! tombstones: a search only accepts vector ids present in the live map, and the index is
//! rebuilt once tombstones pass `tombstone_rebuild_ratio`.

mod distance;
mod graph;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

pub use distance::dot;
pub(crate) use graph::LoadFailure;

use crate::config::HnswConfig;
use crate::error::Result;
use crate::memory::MemoryId;
use crate::store::{UserKey, VectorId, VectorRow};
use graph::Graph;

/// Where a loaded index came from (reported by `stats()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexOrigin {
    /// Reloaded from its dump (plus vectors written after it).
    Dump,
    /// Built from the store's vectors.
    Rebuilt,
}

/// Health of one loaded index, as reported by `stats()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexStats {
    pub user: String,
    /// Points in the graph, tombstones included.
    pub points: usize,
    pub live: usize,
    pub tombstones: usize,
    pub origin: IndexOrigin,
    /// True when it changed since its last dump.
    pub dirty: bool,
}

struct State {
    graph: Graph,
    /// Live vector id → memory id. A graph point missing here is a tombstone.
    live: HashMap<VectorId, MemoryId>,
    watermark: VectorId,
}

/// The HNSW index of one user.
pub(crate) struct UserIndex {
    pub user_key: UserKey,
    pub user: String,
    origin: IndexOrigin,
    state: RwLock<State>,
    dirty: AtomicBool,
}

impl UserIndex {
    /// Load from the dump in `dir` when sound, else build from `all_rows`; then index `rows`
    /// written after the dump. `live` lists every live vector of the user.
    pub fn load(
        dir: Option<&Path>,
        user_key: UserKey,
        user: &str,
        model_id: &str,
        dim: usize,
        cfg: &HnswConfig,
        live: Vec<(VectorId, MemoryId)>,
        rows_after: impl FnOnce(VectorId) -> Result<Vec<VectorRow>>,
    ) -> Result<UserIndex> {
        let dumped = match dir.map(|d| graph::load(d, user_key, model_id, dim, cfg)) {
            Some(Ok(found)) => Some(found),
            Some(Err(LoadFailure::Missing)) | None => None,
            Some(Err(LoadFailure::Stale(why))) => {
                tracing::info!(user_key, %why, "index dump is stale; rebuilding from the store");
                None
            }
            Some(Err(LoadFailure::Corrupt(why))) => {
                tracing::warn!(user_key, %why, "index dump is damaged; rebuilding from the store");
                None
            }
        };
        let (graph, watermark, origin) = match dumped {
            Some((g, man)) => (g, man.watermark, IndexOrigin::Dump),
            None => (Graph::new(cfg, live.len()), 0, IndexOrigin::Rebuilt),
        };
        let index = UserIndex {
            user_key,
            user: user.to_owned(),
            origin,
            state: RwLock::new(State { graph, live: live.into_iter().collect(), watermark }),
            dirty: AtomicBool::new(origin == IndexOrigin::Rebuilt),
        };
        let rows = rows_after(watermark)?;
        index.insert(&rows);
        Ok(index)
    }

    /// The index of a user who has no vectors yet.
    pub fn empty(user_key: UserKey, user: &str, cfg: &HnswConfig) -> UserIndex {
        UserIndex {
            user_key,
            user: user.to_owned(),
            origin: IndexOrigin::Rebuilt,
            state: RwLock::new(State { graph: Graph::new(cfg, 0), live: HashMap::new(), watermark: 0 }),
            dirty: AtomicBool::new(true),
        }
    }

    /// Highest vector id indexed so far.
    pub fn watermark(&self) -> VectorId {
        self.state.read().watermark
    }

    /// Index rows (ascending vector ids); rows at or below the watermark are already in.
    pub fn insert(&self, rows: &[VectorRow]) {
        let mut st = self.state.write();
        let fresh: Vec<&VectorRow> = rows.iter().filter(|r| r.0 > st.watermark).collect();
        if fresh.is_empty() {
            return;
        }
        let pairs: Vec<(VectorId, &[f32])> = fresh.iter().map(|r| (r.0, r.2.as_slice())).collect();
        st.graph.insert(&pairs);
        for r in &fresh {
            st.live.insert(r.0, r.1);
            st.watermark = st.watermark.max(r.0);
        }
        self.dirty.store(true, Ordering::Release);
    }

    /// Replace the live map (after deletions raced with a load).
    pub fn reset_live(&self, live: Vec<(VectorId, MemoryId)>) {
        let mut st = self.state.write();
        st.live = live.into_iter().collect();
        self.dirty.store(true, Ordering::Release);
    }

    /// Turn vectors into tombstones; returns true when the index should now be rebuilt.
    pub fn remove(&self, vector_ids: &[VectorId], rebuild_ratio: f32) -> bool {
        let mut st = self.state.write();
        for v in vector_ids {
            st.live.remove(v);
        }
        self.dirty.store(true, Ordering::Release);
        let points = st.graph.hnsw.get_nb_point();
        let tombstones = points.saturating_sub(st.live.len());
        tombstones > 64 && tombstones as f32 > rebuild_ratio * points as f32
    }

    /// Nearest live memories to `query`: (memory id, cosine similarity), best first.
    /// With `allowed`, only those memories are eligible.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        allowed: Option<&HashSet<MemoryId>>,
    ) -> Vec<(MemoryId, f32)> {
        let st = self.state.read();
        let points = st.graph.hnsw.get_nb_point();
        let accept = |vid: &usize| match st.live.get(&(*vid as VectorId)) {
            Some(mid) => allowed.is_none_or(|a| a.contains(mid)),
            None => false,
        };
        let filtered = allowed.is_some() || points > st.live.len();
        let ef = ef.max(k);
        let hits = if filtered {
            st.graph.hnsw.search_filter(query, k, ef, Some(&accept))
        } else {
            st.graph.hnsw.search(query, k, ef)
        };
        hits.into_iter()
            .filter_map(|n| {
                let mid = *st.live.get(&(n.d_id as VectorId))?;
                Some((mid, 1.0 - n.distance))
            })
            .collect()
    }

    /// Dump to `dir` if changed since the last dump.
    pub fn dump_if_dirty(&self, dir: &Path, model_id: &str, dim: usize, cfg: &HnswConfig) -> Result<()> {
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        let st = self.state.read();
        if st.graph.hnsw.get_nb_point() == 0 {
            graph::remove(dir, self.user_key);
            return Ok(());
        }
        let res = graph::dump(dir, &st.graph, self.user_key, model_id, dim, cfg, st.watermark);
        if res.is_err() {
            self.dirty.store(true, Ordering::Release);
        }
        res
    }

    pub fn stats(&self) -> IndexStats {
        let st = self.state.read();
        let points = st.graph.hnsw.get_nb_point();
        IndexStats {
            user: self.user.clone(),
            points,
            live: st.live.len(),
            tombstones: points.saturating_sub(st.live.len()),
            origin: self.origin,
            dirty: self.dirty.load(Ordering::Acquire),
        }
    }
}

/// Remove every dump file of a user.
pub(crate) fn remove_dump(dir: &Path, user_key: UserKey) {
    graph::remove(dir, user_key)
}

/// The loaded indexes, least recently used evicted past the cap.
pub(crate) struct IndexCache {
    entries: Mutex<HashMap<UserKey, (Arc<UserIndex>, u64)>>,
    clock: AtomicU64,
    cap: usize,
    /// Serializes loads, rebuilds and dumps, so two never race on a user's dump files.
    pub load_lock: Mutex<()>,
}

impl IndexCache {
    pub fn new(cap: usize) -> Self {
        IndexCache {
            entries: Mutex::new(HashMap::new()),
            clock: AtomicU64::new(0),
            cap,
            load_lock: Mutex::new(()),
        }
    }

    pub fn get(&self, user_key: UserKey) -> Option<Arc<UserIndex>> {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.lock();
        let entry = entries.get_mut(&user_key)?;
        entry.1 = tick;
        Some(entry.0.clone())
    }

    /// Add (or replace) an index; returns the indexes evicted to stay under the cap.
    pub fn insert(&self, index: Arc<UserIndex>) -> Vec<Arc<UserIndex>> {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.lock();
        entries.insert(index.user_key, (index, tick));
        let mut evicted = Vec::new();
        while entries.len() > self.cap {
            let oldest = *entries.iter().min_by_key(|(_, (_, t))| *t).map(|(k, _)| k).unwrap();
            evicted.extend(entries.remove(&oldest).map(|(i, _)| i));
        }
        evicted
    }

    pub fn remove(&self, user_key: UserKey) -> Option<Arc<UserIndex>> {
        self.entries.lock().remove(&user_key).map(|(i, _)| i)
    }

    pub fn all(&self) -> Vec<Arc<UserIndex>> {
        self.entries.lock().values().map(|(i, _)| i.clone()).collect()
    }

    pub fn clear(&self) -> Vec<Arc<UserIndex>> {
        self.entries.lock().drain().map(|(_, (i, _))| i).collect()
    }
}
