//! Per-user HNSW indexes: a rebuildable cache over the store's vectors.
//!
//! Each user has one [`UserIndex`], loaded on that user's first call (from its dump plus the
//! vectors written after the dump's watermark, or rebuilt from the store) and kept in an LRU
//! of at most `max_loaded_indexes`.
//!
//! Writes never wait for graph construction: a committed vector joins the index's *pending
//! tail* at once (searched exactly, by brute force) and a background indexer moves the tail
//! into the HNSW graph in chunks. Deleted or replaced vectors stay in the graph as
//! tombstones: a search only accepts vector ids present in the live map, and the index is
//! rebuilt once tombstones pass `tombstone_rebuild_ratio`.

mod distance;
mod graph;
mod indexer;

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::{Deserialize, Serialize};

pub use distance::dot;
pub(crate) use graph::{check_files as check_dump_files, manifest_files as dump_manifest_files};
pub(crate) use graph::{manifests as dump_manifests, LoadFailure};
pub(crate) use indexer::Indexer;

use crate::config::HnswConfig;
use crate::error::Result;
use crate::memory::MemoryId;
use crate::store::{UserKey, VectorId, VectorRow};
use graph::Graph;

/// Vectors moved from the pending tail into the graph per step of the indexer.
pub(crate) const DRAIN_CHUNK: usize = 512;

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
    /// Live vectors (in the graph or pending).
    pub live: usize,
    /// Committed vectors not yet in the graph (searched exactly meanwhile).
    pub pending: usize,
    pub tombstones: usize,
    pub origin: IndexOrigin,
    /// True when it changed since its last dump.
    pub dirty: bool,
}

/// What a dump needs in order to write a user's index.
pub(crate) struct DumpTarget<'a> {
    pub dir: &'a Path,
    pub model_id: &'a str,
    pub dim: usize,
    pub cfg: &'a HnswConfig,
}

struct State {
    /// Live vector id → memory id (graph and pending). A graph point missing here is a tombstone.
    live: HashMap<VectorId, MemoryId>,
    /// Committed vectors not yet in the graph, ascending vector ids.
    pending: VecDeque<VectorRow>,
    /// Highest vector id accepted (graph or pending).
    watermark: VectorId,
    /// Highest vector id in the graph: everything at or below it (of this user) is inside.
    graph_watermark: VectorId,
    /// Points in the graph as of the last completed drain. A drain inserts into the graph
    /// before it takes this lock to pop the chunk from `pending`; counting the graph's own
    /// points meanwhile would see the chunk twice (in the graph and pending) and report it
    /// as tombstones.
    graph_points: usize,
}

/// The HNSW index of one user.
pub(crate) struct UserIndex {
    pub user_key: UserKey,
    pub user: String,
    origin: IndexOrigin,
    /// hnsw_rs allows concurrent insertion and search through `&self`.
    graph: Graph,
    state: RwLock<State>,
    dirty: AtomicBool,
    /// Held while moving pending vectors into the graph or dumping it, so a dump never
    /// sees a half-inserted chunk.
    graph_writer: Mutex<()>,
}

impl UserIndex {
    /// Load from the dump in `dir` when sound (else start an empty graph), then queue
    /// `rows_after(watermark)`. `live` lists every live vector of the user.
    pub fn load(
        dump: Option<&DumpTarget<'_>>,
        user_key: UserKey,
        user: &str,
        cfg: &HnswConfig,
        live: Vec<(VectorId, MemoryId)>,
        rows_after: impl FnOnce(VectorId) -> Result<Vec<VectorRow>>,
    ) -> Result<UserIndex> {
        let dumped = match dump.map(|d| graph::load(d.dir, user_key, d.model_id, d.dim, cfg)) {
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
        let graph_points = graph.hnsw.get_nb_point();
        let index = UserIndex {
            user_key,
            user: user.to_owned(),
            origin,
            graph,
            state: RwLock::new(State {
                live: live.into_iter().collect(),
                pending: VecDeque::new(),
                watermark,
                graph_watermark: watermark,
                graph_points,
            }),
            dirty: AtomicBool::new(origin == IndexOrigin::Rebuilt),
            graph_writer: Mutex::new(()),
        };
        index.insert(rows_after(watermark)?);
        Ok(index)
    }

    /// The index of a user who has no vectors yet.
    pub fn empty(user_key: UserKey, user: &str, cfg: &HnswConfig) -> UserIndex {
        let no_rows = |_| Ok(Vec::new());
        // Cannot fail: no dump is read and no rows are fetched.
        UserIndex::load(None, user_key, user, cfg, Vec::new(), no_rows)
            .unwrap_or_else(|_| unreachable!("an empty index needs no I/O"))
    }

    /// Highest vector id accepted so far.
    pub fn watermark(&self) -> VectorId {
        self.state.read().watermark
    }

    /// Accept committed rows (ascending vector ids); rows at or below the watermark are
    /// already in. They are searchable at once and reach the graph in the background.
    pub fn insert(&self, rows: Vec<VectorRow>) {
        let mut st = self.state.write();
        for row in rows {
            if row.0 > st.watermark {
                st.watermark = row.0;
                st.live.insert(row.0, row.1);
                st.pending.push_back(row);
            }
        }
    }

    /// Replace the live map (after deletions raced with a load).
    pub fn reset_live(&self, live: Vec<(VectorId, MemoryId)>) {
        let mut st = self.state.write();
        st.live = live.into_iter().collect();
        let State { pending, live, .. } = &mut *st;
        pending.retain(|r| live.contains_key(&r.0));
        self.dirty.store(true, Ordering::Release);
    }

    pub fn has_pending(&self) -> bool {
        !self.state.read().pending.is_empty()
    }

    /// Move up to `max` pending vectors into the graph; returns how many moved. With
    /// `parallel` the chunk is spread over the rayon pool (foreground work); the background
    /// indexer inserts on its own thread so it never queues ahead of callers' rayon work.
    pub fn drain(&self, max: usize, parallel: bool) -> usize {
        let _writer = self.graph_writer.lock();
        let chunk: Vec<VectorRow> = self.state.read().pending.iter().take(max).cloned().collect();
        if chunk.is_empty() {
            return 0;
        }
        // The slow part runs without the state lock: searches go on meanwhile, and may see
        // a vector both in the graph and pending (merged by memory id).
        let pairs: Vec<(VectorId, &[f32])> = chunk.iter().map(|r| (r.0, r.2.as_slice())).collect();
        self.graph.insert(&pairs, parallel);
        let last = chunk.last().map_or(0, |r| r.0);
        let mut st = self.state.write();
        while st.pending.front().is_some_and(|r| r.0 <= last) {
            st.pending.pop_front();
        }
        st.graph_watermark = st.graph_watermark.max(last);
        // Exact: drains are serialized by `graph_writer`, the only inserter.
        st.graph_points = self.graph.hnsw.get_nb_point();
        self.dirty.store(true, Ordering::Release);
        chunk.len()
    }

    /// Turn vectors into tombstones; returns true when the index should now be rebuilt.
    pub fn remove(&self, vector_ids: &[VectorId], rebuild_ratio: f32) -> bool {
        let mut st = self.state.write();
        for v in vector_ids {
            st.live.remove(v);
        }
        st.pending.retain(|r| !vector_ids.contains(&r.0));
        self.dirty.store(true, Ordering::Release);
        let points = st.graph_points;
        let tombstones = points.saturating_sub(st.live.len() - st.pending.len());
        tombstones > 64 && tombstones as f32 > rebuild_ratio * points as f32
    }

    /// For each of `queries`, its `k` nearest live memories: (memory id, cosine
    /// similarity), best first. With `allowed`, only those memories are eligible. A graph
    /// of at most `exact_max` points is scanned point by point instead of walked (once for
    /// all queries): exact, and at that size no slower than a walk at the usual ef.
    pub fn search(
        &self,
        queries: &[Vec<f32>],
        k: usize,
        ef: usize,
        allowed: Option<&HashSet<MemoryId>>,
        exact_max: usize,
    ) -> Vec<Vec<(MemoryId, f32)>> {
        let st = self.state.read();
        let eligible = |mid: &MemoryId| allowed.is_none_or(|a| a.contains(mid));
        let mut hits: Vec<Vec<(MemoryId, f32)>> = vec![Vec::new(); queries.len()];
        let points = self.graph.hnsw.get_nb_point();
        if points > 0 && points <= exact_max {
            // (One layer at a time: hnsw_rs' all-layer iterator takes its read lock
            // twice, which deadlocks against a waiting inserter.)
            let index = self.graph.hnsw.get_point_indexation();
            for layer in 0..=usize::from(self.graph.hnsw.get_max_level_observed()) {
                for p in index.get_layer_iterator(layer) {
                    let Some(mid) = st.live.get(&(p.get_origin_id() as VectorId)).filter(|m| eligible(m))
                    else {
                        continue;
                    };
                    for (q, h) in queries.iter().zip(hits.iter_mut()) {
                        h.push((*mid, dot(q, p.get_v())));
                    }
                }
            }
        } else if points > 0 {
            for (q, h) in queries.iter().zip(hits.iter_mut()) {
                *h = self.walk(&st, q, k, ef, allowed);
            }
        }
        for (vid, mid, v) in &st.pending {
            if st.live.contains_key(vid) && eligible(mid) {
                for (q, h) in queries.iter().zip(hits.iter_mut()) {
                    h.push((*mid, dot(q, v)));
                }
            }
        }
        for h in &mut hits {
            h.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let mut seen = HashSet::with_capacity_and_hasher(h.len(), Default::default());
            h.retain(|(mid, _)| seen.insert(*mid));
            h.truncate(k);
        }
        hits
    }

    /// Nearest live graph points to `query` by a walk of the graph.
    fn walk(
        &self,
        st: &State,
        query: &[f32],
        k: usize,
        ef: usize,
        allowed: Option<&HashSet<MemoryId>>,
    ) -> Vec<(MemoryId, f32)> {
        let eligible = |mid: &MemoryId| allowed.is_none_or(|a| a.contains(mid));
        let in_graph = st.live.len().saturating_sub(st.pending.len());
        // (`st.graph_points`: a chunk being drained is not made of tombstones.)
        let tombstones = st.graph_points.saturating_sub(in_graph);
        // hnsw_rs' own filter keeps exploring the graph until it finds k accepted points,
        // which costs far more than asking for a few more neighbours and dropping the
        // rejected ones. Over-fetch by the expected rejection rate, and use the filter
        // only when the accepted share is small (or over-fetching came up short).
        let share = match allowed {
            Some(a) => a.len() as f64 / in_graph.max(1) as f64,
            None => in_graph as f64 / st.graph_points.max(1) as f64,
        };
        let accept = |vid: &usize| st.live.get(&(*vid as VectorId)).is_some_and(eligible);
        let resolve = |found: Vec<hnsw_rs::prelude::Neighbour>| -> Vec<(MemoryId, f32)> {
            found
                .into_iter()
                .filter(|n| accept(&n.d_id))
                .filter_map(|n| Some((*st.live.get(&(n.d_id as VectorId))?, 1.0 - n.distance)))
                .collect()
        };
        let mut found = Vec::new();
        if allowed.is_none() && tombstones == 0 {
            found = resolve(self.graph.hnsw.search(query, k, ef.max(k)));
        } else if share >= 0.1 {
            let wide = ((k as f64 / share) * 1.2).ceil() as usize + 8;
            found = resolve(self.graph.hnsw.search(query, wide, ef.max(wide)));
        }
        if found.len() < k.min(in_graph) {
            found = resolve(self.graph.hnsw.search_filter(query, k, ef.max(k), Some(&accept)));
        }
        found
    }

    /// Dump the graph part if changed since the last dump (pending vectors are above the
    /// dump's watermark, so a load picks them up from the store).
    pub fn dump_if_dirty(&self, target: &DumpTarget<'_>) -> Result<()> {
        let _writer = self.graph_writer.lock();
        if !self.dirty.swap(false, Ordering::AcqRel) {
            return Ok(());
        }
        if self.graph.hnsw.get_nb_point() == 0 {
            graph::remove(target.dir, self.user_key);
            return Ok(());
        }
        let watermark = self.state.read().graph_watermark;
        let res = graph::dump(target, &self.graph, self.user_key, watermark);
        if res.is_err() {
            self.dirty.store(true, Ordering::Release);
        }
        res
    }

    pub fn stats(&self) -> IndexStats {
        let st = self.state.read();
        let points = st.graph_points;
        IndexStats {
            user: self.user.clone(),
            points,
            live: st.live.len(),
            pending: st.pending.len(),
            tombstones: points.saturating_sub(st.live.len() - st.pending.len()),
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
            entries: Mutex::new(HashMap::default()),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: u64, dim: usize) -> Vec<VectorRow> {
        (1..=n)
            .map(|i| {
                let mut v: Vec<f32> =
                    (0..dim).map(|j| ((i as usize * 31 + j * 7) % 13) as f32 - 6.0).collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter_mut().for_each(|x| *x /= norm);
                (i, i + 1000, v)
            })
            .collect()
    }

    /// A drain inserts into the graph before it pops the chunk from the pending tail; stats
    /// read in between must still count every vector once (CI once caught `points: 301,
    /// pending: 1, tombstones: 1` for 301 live vectors and no deletion).
    #[test]
    fn stats_never_count_a_draining_chunk_twice() {
        let index = UserIndex::empty(1, "u", &HnswConfig::default());
        index.insert(rows(4_000, 16));
        std::thread::scope(|s| {
            let drainer = s.spawn(|| while index.drain(8, false) > 0 {});
            let mut seen = 0;
            while !drainer.is_finished() {
                let st = index.stats();
                assert_eq!((st.points + st.pending, st.live, st.tombstones), (4_000, 4_000, 0), "{st:?}");
                seen += 1;
            }
            assert!(seen > 0);
        });
        let st = index.stats();
        assert_eq!((st.points, st.pending, st.tombstones), (4_000, 0, 0));
    }
}
