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
//!
//! An index of at most `exact_search_threshold` vectors has no graph: its vectors stay in the
//! pending tail, where every search scans them exactly (what a search of so few points does
//! anyway), so a small user costs no graph memory, no insertion work and no dump on disk (the
//! store's rows are its only copy). The first vector past the threshold sends them all to the
//! graph, in the background like any write.
//!
//! A large dump (at least [`BACKGROUND_LOAD_MIN_POINTS`]) loads on a thread of its own
//! (reading and checking ~170 MB at 100k MiniLM points, unsealing it first in an encrypted
//! store). The user's vectors are read from the store into the pending tail instead, so the
//! first call is answered at once (exactly); the loaded graph then replaces them in one step.

mod config;
mod distance;
mod graph;
pub mod hnsw;
mod indexer;
mod keyword;
mod sparse;
mod staging;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use serde::{Deserialize, Serialize};

pub use config::HnswConfig;
pub use distance::dot;
pub(crate) use graph::{check_files as check_dump_files, manifest_files as dump_manifest_files};
pub(crate) use graph::{manifests as dump_manifests, DumpTarget, LoadFailure};
pub(crate) use indexer::Indexer;
pub(crate) use keyword::KeywordCache;

use crate::crypto::MasterKey;
use crate::error::Result;
use crate::memory::MemoryId;
use crate::store::{UserKey, VectorId, VectorRow};
use graph::Graph;
use sparse::SparseVectors;

/// Vectors moved from the pending tail into the graph per step of the indexer.
pub(crate) const DRAIN_CHUNK: usize = 512;

/// Dumps of at least this many points load in the background. Below it the caller waits
/// for the graph (at most a few hundred milliseconds) and gets a complete index: no thread,
/// no second copy of the vectors, stats final at once.
pub(crate) const BACKGROUND_LOAD_MIN_POINTS: usize = 10_000;

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
    /// Committed vectors waiting for the graph (searched exactly meanwhile). While a large
    /// dump loads in the background, this counts the vectors it holds, until it is in. An
    /// index without a graph (at most `exact_search_threshold` vectors) waits for nothing: 0.
    pub pending: usize,
    pub tombstones: usize,
    pub origin: IndexOrigin,
    /// True when it changed since its last dump.
    pub dirty: bool,
    /// True when its vectors are sparse (the hashing embedder's) and searched exactly
    /// through per-dimension postings (`hnsw.sparse_search`); false: the graph is walked.
    pub sparse: bool,
    /// Estimated memory it holds, in bytes (what `max_index_memory_mb` counts).
    #[serde(default)]
    pub approx_bytes: u64,
}

/// What an index holds, counted: the input of a memory estimate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Footprint {
    pub graph_points: usize,
    pub pending: usize,
    /// Vectors of an index without a graph (see the module docs): never graph points.
    pub flat: usize,
    pub live: usize,
    pub sparse_vectors: usize,
    pub sparse_nonzeros: usize,
}

impl Footprint {
    /// Estimated bytes for vectors of `dim` coordinates and graph links `m` per layer. A graph
    /// point holds its vector twice (f32, and f16 for the walk), its layer-0 link slot (`2m`
    /// links and a count, 4 bytes each), its id and level, an upper-layer list header and, on
    /// average, `1/(m-1)` upper layers of `m + 1` words, and a visited stamp per concurrent
    /// search (~56 bytes besides the vectors and the layer-0 links; 2,474 bytes a point
    /// measured on 47,709 MiniLM vectors at m 16).
    /// Pending vectors count as the graph points they are about to become (the background
    /// indexer moves them in within moments), plus their own copy in the tail: the estimate
    /// does not depend on how far the indexer has got.
    pub fn bytes(&self, dim: usize, m: usize) -> u64 {
        let vector = 4 * dim as u64;
        let points = (self.graph_points + self.pending) as u64;
        let graph = points * (vector + 2 * dim as u64 + (2 * m as u64 + 1) * 4 + 56);
        let pending = (self.pending + self.flat) as u64 * (vector + 64);
        let live = self.live as u64 * 32;
        // A nonzero sits in its dimension's postings and in its vector's entries (8 bytes
        // each); a vector adds its slot, start and flag.
        let sparse = self.sparse_nonzeros as u64 * 16 + self.sparse_vectors as u64 * 32;
        graph + pending + live + sparse
    }
}

struct State {
    /// Swapped whole when a background load finishes (under this lock, together with the
    /// pending tail it replaces, so a search sees either the old pair or the new one).
    graph: Arc<Graph>,
    origin: IndexOrigin,
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
    /// Every vector of the index (graph and pending) for exact search, while they are
    /// sparse (see [`sparse`]); `None` once they are not, or before the first vector.
    sparse: Option<SparseVectors>,
    /// No sparse store, for good: the vectors proved dense, or `hnsw.sparse_search` is off.
    sparse_off: bool,
}

impl State {
    /// Seed the sparse store from a graph loaded from its dump: its live points, in vector
    /// id order, as every later vector comes. (A copy of the vectors, briefly: dumps load in
    /// the foreground only below BACKGROUND_LOAD_MIN_POINTS points; dense ones stop being
    /// copied as soon as they are judged dense.)
    fn seed_sparse(&mut self) {
        if self.sparse_off {
            return;
        }
        let graph = self.graph.clone();
        let mut points: Vec<(VectorId, MemoryId, Vec<f32>)> = Vec::new();
        let mut nonzeros = 0;
        graph.for_each_point(|vid, v| {
            if self.sparse_off {
                return;
            }
            if let Some(&mid) = self.live.get(&vid) {
                nonzeros += v.iter().filter(|x| **x != 0.0).count();
                points.push((vid, mid, v.to_vec()));
                self.sparse_off = sparse::too_dense(nonzeros, points.len(), v.len());
            }
        });
        if self.sparse_off {
            tracing::debug!("vectors are dense: the index searches by graph only");
            return;
        }
        points.sort_unstable_by_key(|p| p.0);
        for (vid, mid, v) in points {
            self.add_sparse(vid, mid, &v);
        }
    }

    /// Keep `sparse` in step with the vectors accepted.
    fn add_sparse(&mut self, vid: VectorId, mid: MemoryId, v: &[f32]) {
        if self.sparse_off {
            return;
        }
        let store = self.sparse.get_or_insert_with(|| SparseVectors::new(v.len()));
        if !store.add(vid, mid, v) {
            tracing::debug!(vectors = store.len(), "vectors are dense: the index searches by graph only");
            self.sparse = None;
            self.sparse_off = true;
        }
    }
}

/// The HNSW index of one user.
pub(crate) struct UserIndex {
    pub user_key: UserKey,
    pub user: String,
    state: RwLock<State>,
    dirty: AtomicBool,
    /// Held while moving pending vectors into the graph, dumping it, or loading it in the
    /// background, so a dump never sees a half-inserted chunk and nothing is inserted into
    /// the placeholder a background load is about to replace.
    graph_writer: Mutex<()>,
    /// Up to this many live vectors and no graph yet, the index keeps them flat (module docs).
    flat_max: usize,
}

impl UserIndex {
    /// Load from the dump in `dir` when sound (else start an empty graph), then queue
    /// `rows_after(watermark)`. `live` lists every live vector of the user. A dump of at
    /// least `background_min` points loads on its own thread while `rows_after(0)` is
    /// searched exactly (see the module docs). Up to `flat_max` vectors, no graph is built.
    #[allow(clippy::too_many_arguments)]
    pub fn load(
        dump: Option<&DumpTarget<'_>>,
        user_key: UserKey,
        user: &str,
        cfg: &HnswConfig,
        live: Vec<(VectorId, MemoryId)>,
        rows_after: impl FnOnce(VectorId) -> Result<Vec<VectorRow>>,
        background_min: usize,
        flat_max: usize,
    ) -> Result<Arc<UserIndex>> {
        let manifest = dump.map(|d| graph::read_manifest(d.dir, user_key, d.model_id, d.dim, cfg));
        let manifest = manifest.and_then(|m| usable(m, user_key));
        let dumped = match (dump, manifest) {
            (Some(d), Some(man)) if man.points >= background_min => {
                let index = UserIndex::new(
                    user_key,
                    user,
                    Graph::new(cfg),
                    0,
                    IndexOrigin::Dump,
                    live,
                    cfg,
                    flat_max,
                );
                // Read first, load after: the caller waits for the read, not for the load.
                index.insert(rows_after(0)?);
                index.load_in_background(d.dir.to_path_buf(), man, d.seal.cloned());
                return Ok(index);
            }
            (Some(d), Some(man)) => {
                usable(graph::load(d.dir, &man, d.seal), user_key).map(|g| (g, man.watermark))
            }
            _ => None,
        };
        let index = match dumped {
            Some((g, watermark)) => {
                UserIndex::new(user_key, user, g, watermark, IndexOrigin::Dump, live, cfg, flat_max)
            }
            None => {
                UserIndex::new(user_key, user, Graph::new(cfg), 0, IndexOrigin::Rebuilt, live, cfg, flat_max)
            }
        };
        index.insert(rows_after(index.watermark())?);
        Ok(index)
    }

    #[allow(clippy::too_many_arguments)]
    fn new(
        user_key: UserKey,
        user: &str,
        graph: Graph,
        watermark: VectorId,
        origin: IndexOrigin,
        live: Vec<(VectorId, MemoryId)>,
        cfg: &HnswConfig,
        flat_max: usize,
    ) -> Arc<UserIndex> {
        let graph_points = graph.len();
        let mut state = State {
            graph: Arc::new(graph),
            origin,
            live: live.into_iter().collect(),
            pending: VecDeque::new(),
            watermark,
            graph_watermark: watermark,
            graph_points,
            sparse: None,
            sparse_off: !cfg.sparse_search,
        };
        state.seed_sparse();
        Arc::new(UserIndex {
            user_key,
            user: user.to_owned(),
            state: RwLock::new(state),
            dirty: AtomicBool::new(origin == IndexOrigin::Rebuilt),
            graph_writer: Mutex::new(()),
            flat_max,
        })
    }

    /// Start loading the dump `man` on a thread of its own; returns once that thread holds
    /// `graph_writer` (so no drain or dump can touch the placeholder graph meanwhile).
    fn load_in_background(self: &Arc<Self>, dir: PathBuf, man: graph::Manifest, seal: Option<MasterKey>) {
        let (held, wait) = std::sync::mpsc::channel();
        let index = self.clone();
        // The load logs to the caller's subscriber, inside the caller's span.
        let dispatch = tracing::dispatcher::get_default(|d| d.clone());
        let span = tracing::debug_span!("index_background_load", user_key = self.user_key);
        let spawned = std::thread::Builder::new().name("memorable-index-load".into()).spawn(move || {
            let _writer = index.graph_writer.lock();
            let _ = held.send(());
            tracing::dispatcher::with_default(&dispatch, || {
                span.in_scope(|| index.finish_load(&dir, &man, seal.as_ref()))
            });
        });
        match spawned {
            Ok(_) => {
                let _ = wait.recv();
            }
            Err(e) => {
                tracing::warn!(user_key = self.user_key, error = %e, "no thread for the index load; its vectors are indexed afresh");
                self.index_afresh();
            }
        }
    }

    /// Load the dump and swap it in for the pending vectors it holds. The caller holds
    /// `graph_writer`. On failure the placeholder stays: the pending tail (every vector of
    /// the user) is indexed from scratch, as after any damaged dump.
    fn finish_load(&self, dir: &Path, man: &graph::Manifest, seal: Option<&MasterKey>) {
        let Some(graph) = usable(graph::load(dir, man, seal), self.user_key) else {
            self.index_afresh();
            return;
        };
        let replaced: Vec<VectorRow> = {
            let mut st = self.state.write();
            st.graph_points = graph.len();
            st.graph = Arc::new(graph);
            st.graph_watermark = man.watermark;
            // (Already at or past it, unless the dump holds vectors the store no longer has.)
            st.watermark = st.watermark.max(man.watermark);
            let inside = st.pending.partition_point(|r| r.0 <= man.watermark);
            st.pending.drain(..inside).collect()
        };
        // (Freed outside the lock: 100k vectors take a while.)
        drop(replaced);
    }

    /// Give up on the dump: the placeholder graph stays, the pending tail (every vector of
    /// the user) is indexed into it, and the result is dumped anew.
    fn index_afresh(&self) {
        self.state.write().origin = IndexOrigin::Rebuilt;
        self.dirty.store(true, Ordering::Release);
    }

    /// The index of a user who has no vectors yet (flat up to `flat_max` vectors).
    pub fn empty(user_key: UserKey, user: &str, cfg: &HnswConfig, flat_max: usize) -> Arc<UserIndex> {
        UserIndex::new(user_key, user, Graph::new(cfg), 0, IndexOrigin::Rebuilt, Vec::new(), cfg, flat_max)
    }

    /// Whether pending vectors go into the graph: once it has points (loaded from a dump, or
    /// built before), or when the live vectors outgrow `flat_max`.
    fn graph_bound(&self, st: &State) -> bool {
        st.graph_points > 0 || st.live.len() > self.flat_max
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
                st.add_sparse(row.0, row.1, &row.2);
                st.pending.push_back(row);
            }
        }
    }

    /// Replace the live map (after deletions raced with a load).
    pub fn reset_live(&self, live: Vec<(VectorId, MemoryId)>) {
        let mut st = self.state.write();
        st.live = live.into_iter().collect();
        let State { pending, live, sparse, .. } = &mut *st;
        pending.retain(|r| live.contains_key(&r.0));
        if let Some(sparse) = sparse {
            sparse.retain(|vid| live.contains_key(&vid));
        }
        self.dirty.store(true, Ordering::Release);
    }

    /// Whether vectors wait for the graph (never for an index without one: module docs).
    pub fn has_pending(&self) -> bool {
        let st = self.state.read();
        !st.pending.is_empty() && self.graph_bound(&st)
    }

    /// Move up to `max` pending vectors into the graph; returns how many moved. With
    /// `parallel` the chunk is spread over the rayon pool (foreground work); the background
    /// indexer inserts on its own thread so it never queues ahead of callers' rayon work.
    pub fn drain(&self, max: usize, parallel: bool) -> usize {
        let _writer = self.graph_writer.lock();
        let chunk: Vec<VectorRow> = {
            let st = self.state.read();
            if !self.graph_bound(&st) {
                return 0;
            }
            st.pending.iter().take(max).cloned().collect()
        };
        if chunk.is_empty() {
            return 0;
        }
        // The slow part runs without the state lock: searches go on meanwhile, and may see
        // a vector both in the graph and pending (merged by memory id).
        let graph = self.state.read().graph.clone();
        let pairs: Vec<(VectorId, &[f32])> = chunk.iter().map(|r| (r.0, r.2.as_slice())).collect();
        graph.insert(&pairs, parallel);
        let last = chunk.last().map_or(0, |r| r.0);
        let mut st = self.state.write();
        while st.pending.front().is_some_and(|r| r.0 <= last) {
            st.pending.pop_front();
        }
        st.graph_watermark = st.graph_watermark.max(last);
        // Exact: drains are serialized by `graph_writer`, the only inserter.
        st.graph_points = graph.len();
        self.dirty.store(true, Ordering::Release);
        chunk.len()
    }

    /// Turn vectors into tombstones; returns true when the index should now be rebuilt.
    pub fn remove(&self, vector_ids: &[VectorId], rebuild_ratio: f32) -> bool {
        let mut st = self.state.write();
        for v in vector_ids {
            st.live.remove(v);
        }
        if let Some(sparse) = &mut st.sparse {
            sparse.kill(vector_ids);
        }
        st.pending.retain(|r| !vector_ids.contains(&r.0));
        self.dirty.store(true, Ordering::Release);
        let points = st.graph_points;
        let tombstones = points.saturating_sub(st.live.len() - st.pending.len());
        tombstones > 64 && tombstones as f32 > rebuild_ratio * points as f32
    }

    /// For each of `queries`, its `k` nearest live memories: (memory id, cosine
    /// similarity), best first. With `allowed`, only those memories are eligible. Sparse
    /// vectors and queries are scored exactly through the sparse store; otherwise a graph
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
        if let Some(sparse) = st.sparse.as_ref().filter(|s| queries.iter().all(|q| s.scans_cheaply(q))) {
            return queries.iter().map(|q| sparse.search(q, k, |mid| eligible(&mid))).collect();
        }
        let mut hits: Vec<Vec<(MemoryId, f32)>> = vec![Vec::new(); queries.len()];
        let points = st.graph.len();
        if points > 0 && points <= exact_max {
            st.graph.for_each_point(|vid, v| {
                if let Some(mid) = st.live.get(&vid).filter(|m| eligible(m)) {
                    for (q, h) in queries.iter().zip(hits.iter_mut()) {
                        h.push((*mid, dot(q, v)));
                    }
                }
            });
        } else if points > 0 {
            for (q, h) in queries.iter().zip(hits.iter_mut()) {
                *h = Self::walk(&st, q, k, ef, allowed);
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

    /// Whether the index scores its memories itself ([`UserIndex::dots`]), so that recall
    /// need not read their vectors.
    pub fn is_sparse(&self) -> bool {
        self.state.read().sparse.is_some()
    }

    /// For each of `mids`, the best cosine of `queries` with its live vector, from the
    /// sparse store (`None` without one, or when it does not hold that memory).
    pub fn dots(&self, queries: &[Vec<f32>], mids: &[MemoryId]) -> Vec<Option<f32>> {
        match self.state.read().sparse.as_ref() {
            Some(sparse) => sparse.dots(queries, mids),
            None => vec![None; mids.len()],
        }
    }

    /// Nearest live graph points to `query` by a walk of the graph.
    fn walk(
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
        // A filtered walk keeps exploring the graph until it finds k accepted points, which
        // costs far more than asking for a few more neighbours and dropping the rejected ones. Over-fetch by the expected rejection rate, and use the filter
        // only when the accepted share is small (or over-fetching came up short).
        let share = match allowed {
            Some(a) => a.len() as f64 / in_graph.max(1) as f64,
            None => in_graph as f64 / st.graph_points.max(1) as f64,
        };
        let accept = |vid: VectorId| st.live.get(&vid).is_some_and(eligible);
        let resolve = |found: Vec<(VectorId, f32)>| -> Vec<(MemoryId, f32)> {
            found
                .into_iter()
                .filter_map(|(vid, d)| Some((*st.live.get(&vid).filter(|m| eligible(m))?, 1.0 - d)))
                .collect()
        };
        let mut found = Vec::new();
        if allowed.is_none() && tombstones == 0 {
            found = resolve(st.graph.search(query, k, ef.max(k), None));
        } else if share >= 0.1 {
            let wide = ((k as f64 / share) * 1.2).ceil() as usize + 8;
            found = resolve(st.graph.search(query, wide, ef.max(wide), None));
        }
        if found.len() < k.min(in_graph) {
            found = resolve(st.graph.search(query, k, ef.max(k), Some(&accept)));
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
        // The live ids as of the graph: `graph_writer` keeps inserts out meanwhile, so every
        // point of the graph not among them is a tombstone, whose vector the dump zeroes.
        let (graph, watermark, live) = {
            let st = self.state.read();
            let tombstones = st.graph_points.saturating_sub(st.live.len() - st.pending.len());
            let live = (tombstones > 0).then(|| st.live.keys().copied().collect::<HashSet<VectorId>>());
            (st.graph.clone(), st.graph_watermark, live)
        };
        if graph.len() == 0 {
            graph::remove(target.dir, self.user_key);
            return Ok(());
        }
        let gone = |v: VectorId| live.as_ref().is_some_and(|l| !l.contains(&v));
        let res = graph::dump(target, &graph, self.user_key, watermark, live.is_some().then_some(&gone));
        if res.is_err() {
            self.dirty.store(true, Ordering::Release);
        }
        res
    }

    /// Counts of what the index holds (see [`Footprint::bytes`]).
    pub fn footprint(&self) -> Footprint {
        let st = self.state.read();
        let bound = self.graph_bound(&st);
        Footprint {
            graph_points: st.graph.len(),
            pending: if bound { st.pending.len() } else { 0 },
            flat: if bound { 0 } else { st.pending.len() },
            live: st.live.len(),
            sparse_vectors: st.sparse.as_ref().map_or(0, SparseVectors::len),
            sparse_nonzeros: st.sparse.as_ref().map_or(0, SparseVectors::nonzeros),
        }
    }

    pub fn stats(&self) -> IndexStats {
        let st = self.state.read();
        let points = st.graph_points;
        IndexStats {
            user: self.user.clone(),
            points,
            live: st.live.len(),
            pending: if self.graph_bound(&st) { st.pending.len() } else { 0 },
            tombstones: points.saturating_sub(st.live.len() - st.pending.len()),
            origin: st.origin,
            dirty: self.dirty.load(Ordering::Acquire),
            sparse: st.sparse.is_some(),
            approx_bytes: 0,
        }
    }
}

/// `Some` when a dump (or its manifest) can be used; otherwise logs why not (a missing dump
/// is not worth a line).
fn usable<T>(res: std::result::Result<T, LoadFailure>, user_key: UserKey) -> Option<T> {
    match res {
        Ok(found) => Some(found),
        Err(LoadFailure::Missing) => None,
        Err(LoadFailure::Stale(why)) => {
            tracing::info!(user_key, %why, "index dump is stale; rebuilding from the store");
            None
        }
        Err(LoadFailure::Corrupt(why)) => {
            tracing::warn!(user_key, %why, "index dump is damaged; rebuilding from the store");
            None
        }
    }
}

/// Give the heap's free pages back to the OS (glibc's `malloc_trim`; elsewhere the allocator
/// decides). Called after indexes are dropped: their pending rows and upper-layer link lists
/// are many small allocations, which glibc would otherwise keep mapped for reuse.
pub(crate) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the kernel; it touches no live block.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Remove every dump file of a user.
pub(crate) fn remove_dump(dir: &Path, user_key: UserKey) {
    graph::remove(dir, user_key)
}

/// Zero forgotten vectors in a user's dump on disk (see [`graph::scrub`]).
pub(crate) fn scrub_dump(dir: &Path, user_key: UserKey, vids: &[VectorId]) -> Result<()> {
    graph::scrub(dir, user_key, vids)
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

    /// Evict the least recently used indexes other than `keep` while the `bytes` of all
    /// loaded ones exceed `budget`; returns them (for the caller to dump).
    pub fn evict_to_fit(
        &self,
        keep: UserKey,
        budget: u64,
        bytes: impl Fn(&UserIndex) -> u64,
    ) -> Vec<Arc<UserIndex>> {
        let mut entries = self.entries.lock();
        let mut sizes: HashMap<UserKey, u64> = entries.iter().map(|(k, (i, _))| (*k, bytes(i))).collect();
        let mut evicted = Vec::new();
        while sizes.values().sum::<u64>() > budget {
            let oldest =
                entries.iter().filter(|(k, _)| **k != keep).min_by_key(|(_, (_, t))| *t).map(|(k, _)| *k);
            let Some(oldest) = oldest else { break };
            sizes.remove(&oldest);
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
mod tests;
