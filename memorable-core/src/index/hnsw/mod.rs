//! The engine's own HNSW graph over dense unit vectors (cosine as `1 - dot`), laid out flat:
//! vectors in one array, links as 4-byte node numbers in fixed-size slots (layer 0 holds
//! `2 * m` of them, upper layers `m`), a visited list stamped per search instead of cleared.
//!
//! It replaced hnsw_rs behind the per-user index: hnsw_rs keeps each point as its own
//! allocation with reference-counted links (~4.6 KB of memory a MiniLM vector, against 1.7 KB
//! here), rebuilds all of them on reload (~2-3 s at 100k points, against a read and a copy),
//! and its search takes a single greedy step per upper layer instead of descending until no
//! neighbour is closer. This graph follows the paper (Malkov & Yashunin, 2018)
//! and hnswlib's choices: greedy descent to layer 1, a beam of `ef` at layer 0, the
//! neighbour-selection heuristic (a candidate is kept unless it is closer to a neighbour
//! already kept than to the new point), and levels drawn with `1 / ln m` from a seeded
//! generator, so a build is reproducible.
//!
//! An insertion is split in two so that searches go on while the graph grows: [`DenseHnsw::plan`]
//! (the searches, on a shared borrow: many at once) and [`DenseHnsw::apply`] (the links, on an
//! exclusive one, short). Points planned together are linked to each other at apply time by
//! exact distances, so a batch planned in parallel builds the same kind of graph as one
//! inserted point by point, and the same graph whatever the number of threads.
//!
//! Dumps ([`DenseHnsw::write_graph`], [`DenseHnsw::write_vectors`], [`DenseHnsw::read`]) are
//! two files: the graph (header, ids, levels, links) and the vectors, one tagged record a point
//! (`magic u32, id u64, byte length u64, the f32s`, after a `magic u32, dim u64` header: the
//! layout hnsw_rs used), which lets a forgotten vector be zeroed in place.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use parking_lot::Mutex;

mod dump;
pub use dump::VECTORS_MAGIC;

/// A distance with a total order (heaps).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Dist(f32);

impl Eq for Dist {}

impl PartialOrd for Dist {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Dist {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Per-search "seen" marks: a node is seen when its stamp equals the current one.
struct Visited {
    stamps: Vec<u32>,
    current: u32,
}

impl Visited {
    fn new(n: usize) -> Visited {
        Visited { stamps: vec![0; n], current: 0 }
    }
    fn reset(&mut self, n: usize) {
        if self.stamps.len() < n {
            self.stamps.resize(n, 0);
        }
        self.current = self.current.wrapping_add(1);
        if self.current == 0 {
            self.stamps.fill(0);
            self.current = 1;
        }
    }
    /// Mark `i`; true when it was not marked yet.
    #[inline]
    fn insert(&mut self, i: u32) -> bool {
        let s = &mut self.stamps[i as usize];
        let fresh = *s != self.current;
        *s = self.current;
        fresh
    }
}

/// Build parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HnswParams {
    /// Links per node on the upper layers (`2 * m` on layer 0).
    pub m: usize,
    /// Beam width while inserting.
    pub ef_construction: usize,
    /// Seed of the level generator.
    pub seed: u64,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams { m: 16, ef_construction: 200, seed: 0x5eed }
    }
}

/// An HNSW graph over unit vectors; nodes are numbered in insertion order and carry a caller
/// id.
pub struct DenseHnsw {
    dim: usize,
    params: HnswParams,
    /// Layer 0, one block a node: a link count, `2m` link slots, then the vector in f16 (two
    /// a word): a visit reads a node's vector and then its links, so they share cache lines
    /// and the hardware prefetcher's stream (hnswlib lays level 0 out the same way). The walk
    /// measures distances on these half-size vectors: a walk is bound by memory, not by
    /// arithmetic, and half the bytes a visit is what makes it faster than hnswlib's f32.
    level0: Vec<u32>,
    /// The f32 vectors, `dim` a node: what the walk's results are re-ranked by (so returned
    /// distances are exact), what links are chosen by, and what dumps hold.
    exact: Vec<f32>,
    ids: Vec<u64>,
    levels: Vec<u8>,
    /// Layers 1..=level of each node: per layer a count then `m` slots.
    upper: Vec<Vec<u32>>,
    entry: Option<u32>,
    max_level: u8,
    rng: u64,
    dot: fn(&[f32], &[f32]) -> f32,
    dot16: fn(&[f32], &[u16]) -> f32,
    visited: Mutex<Vec<Visited>>,
}

impl std::fmt::Debug for DenseHnsw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DenseHnsw").field("dim", &self.dim).field("len", &self.len()).finish()
    }
}

impl DenseHnsw {
    pub fn new(dim: usize, params: HnswParams) -> DenseHnsw {
        assert!(dim > 0 && params.m >= 2, "dimension and m");
        DenseHnsw {
            dim,
            params,
            level0: Vec::new(),
            exact: Vec::new(),
            ids: Vec::new(),
            levels: Vec::new(),
            upper: Vec::new(),
            entry: None,
            max_level: 0,
            rng: params.seed ^ 0x9e37_79b9_7f4a_7c15,
            dot: pick_dot(),
            dot16: pick_dot16(),
            visited: Mutex::new(Vec::new()),
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn params(&self) -> HnswParams {
        self.params
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Bytes held for vectors, links and ids (capacity not counted).
    pub fn bytes(&self) -> usize {
        self.level0.len() * 4
            + self.exact.len() * 4
            + self.ids.len() * 8
            + self.levels.len()
            + self.upper.iter().map(|u| u.len() * 4 + 24).sum::<usize>()
    }

    fn m0(&self) -> usize {
        2 * self.params.m
    }

    /// Words of one node's layer-0 block.
    #[inline]
    fn stride(&self) -> usize {
        1 + self.m0() + self.dim.div_ceil(2)
    }

    /// Node `i`'s vector in f32.
    #[inline]
    fn vector(&self, i: u32) -> &[f32] {
        &self.exact[i as usize * self.dim..][..self.dim]
    }

    /// Node `i`'s vector in f16 (bits), inside its layer-0 block.
    #[inline]
    fn half_vector(&self, i: u32) -> &[u16] {
        let start = i as usize * self.stride() + 1 + self.m0();
        let words = &self.level0[start..start + self.dim.div_ceil(2)];
        // SAFETY: the words are initialized, and u16 needs less alignment than u32; `dim`
        // halves fit in `dim.div_ceil(2)` words.
        unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u16>(), self.dim) }
    }

    /// The exact distance from `q` to node `i`.
    #[inline]
    fn dist(&self, q: &[f32], i: u32) -> f32 {
        1.0 - (self.dot)(q, self.vector(i))
    }

    /// The walk's distance from `q` to node `i` (its f16 vector: within ~1e-3 of exact).
    #[inline]
    fn walk_dist(&self, q: &[f32], i: u32) -> f32 {
        1.0 - (self.dot16)(q, self.half_vector(i))
    }

    /// Node `i`'s layer-0 block from the vector `v`, links empty.
    fn push_block(&mut self, v: &[f32]) {
        self.level0.extend(std::iter::repeat_n(0, self.m0() + 1));
        let half: Vec<u16> = v.iter().map(|x| half::f16::from_f32(*x).to_bits()).collect();
        self.level0
            .extend(half.chunks(2).map(|p| p[0] as u32 | (p.get(1).copied().unwrap_or(0) as u32) << 16));
        self.exact.extend_from_slice(v);
    }

    /// `found` (from a walk) with exact distances, closest first.
    fn rerank(&self, q: &[f32], found: Vec<(f32, u32)>) -> Vec<(f32, u32)> {
        let mut out: Vec<(f32, u32)> = found.into_iter().map(|(_, i)| (self.dist(q, i), i)).collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        out
    }

    /// The links of node `i` on `layer`.
    #[inline]
    fn links(&self, i: u32, layer: u8) -> &[u32] {
        if layer == 0 {
            let s = &self.level0[i as usize * self.stride()..][..self.m0() + 1];
            &s[1..1 + s[0] as usize]
        } else {
            let m = self.params.m;
            let s = &self.upper[i as usize][(layer as usize - 1) * (m + 1)..][..m + 1];
            &s[1..1 + s[0] as usize]
        }
    }

    fn set_links(&mut self, i: u32, layer: u8, to: &[u32]) {
        let slot = if layer == 0 {
            let (w, stride) = (self.m0() + 1, self.stride());
            &mut self.level0[i as usize * stride..][..w]
        } else {
            let w = self.params.m + 1;
            &mut self.upper[i as usize][(layer as usize - 1) * w..][..w]
        };
        slot[0] = to.len() as u32;
        slot[1..1 + to.len()].copy_from_slice(to);
    }

    /// Greedy walk on `layer` from `from`: move to the closest neighbour until none is closer.
    fn descend(&self, q: &[f32], mut from: u32, mut d: f32, layer: u8) -> (u32, f32) {
        loop {
            let mut moved = false;
            for &n in self.links(from, layer) {
                let dn = self.walk_dist(q, n);
                if dn < d {
                    (from, d, moved) = (n, dn, true);
                }
            }
            if !moved {
                return (from, d);
            }
        }
    }

    /// Beam search of width `ef` on `layer` from `entries`; the nearest found among the nodes
    /// `accept` takes, closest first. Rejected nodes are walked through but never returned
    /// (hnswlib's filtered search).
    fn search_layer(
        &self,
        q: &[f32],
        entries: &[(f32, u32)],
        ef: usize,
        layer: u8,
        seen: &mut Visited,
        accept: impl Fn(u32) -> bool,
    ) -> Vec<(f32, u32)> {
        seen.reset(self.len());
        let mut candidates: BinaryHeap<Reverse<(Dist, u32)>> = BinaryHeap::with_capacity(ef * 4);
        let mut found: BinaryHeap<(Dist, u32)> = BinaryHeap::with_capacity(ef + 1);
        for &(d, i) in entries {
            seen.insert(i);
            candidates.push(Reverse((Dist(d), i)));
            if accept(i) {
                found.push((Dist(d), i));
            }
        }
        while found.len() > ef {
            found.pop();
        }
        while let Some(Reverse((Dist(d), c))) = candidates.pop() {
            let worst = found.peek().map_or(f32::INFINITY, |f| f.0 .0);
            if d > worst && found.len() >= ef {
                break;
            }
            let links = self.links(c, layer);
            for (j, &n) in links.iter().enumerate() {
                // The next neighbour's vector while this one is measured (its first line; the
                // hardware prefetcher follows the rest of the row), as hnswlib does.
                #[cfg(target_arch = "x86_64")]
                if let Some(&next) = links.get(j + 1) {
                    // SAFETY: a prefetch never faults; the address is inside `level0`.
                    unsafe {
                        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                        let block = self.level0.as_ptr().add(next as usize * self.stride() + 1 + self.m0());
                        _mm_prefetch::<_MM_HINT_T0>(block.cast());
                    }
                }
                if !seen.insert(n) {
                    continue;
                }
                let dn = self.walk_dist(q, n);
                let worst = found.peek().map_or(f32::INFINITY, |f| f.0 .0);
                if found.len() < ef || dn < worst {
                    candidates.push(Reverse((Dist(dn), n)));
                    if accept(n) {
                        found.push((Dist(dn), n));
                        if found.len() > ef {
                            found.pop();
                        }
                    }
                }
            }
        }
        let mut out: Vec<(f32, u32)> = found.into_iter().map(|(Dist(d), i)| (d, i)).collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        out
    }

    /// Keep at most `m` of `candidates` (closest first): one is kept unless it is closer to a
    /// neighbour kept before it than to the base point (spreads links across directions). A
    /// tie keeps it, as hnswlib does: otherwise a point with an exact duplicate (the same text
    /// remembered twice) would link to the duplicate alone. Fewer than `m` candidates are all
    /// kept.
    fn select(&self, candidates: &[(f32, u32)], m: usize) -> Vec<u32> {
        if candidates.len() < m {
            return candidates.iter().map(|c| c.1).collect();
        }
        let mut kept: Vec<u32> = Vec::with_capacity(m);
        for &(d, c) in candidates {
            if kept.len() >= m {
                break;
            }
            let cv = self.vector(c);
            if kept.iter().all(|&k| 1.0 - (self.dot)(cv, self.vector(k)) >= d) {
                kept.push(c);
            }
        }
        kept
    }

    fn take_visited(&self) -> Visited {
        self.visited.lock().pop().unwrap_or_else(|| Visited::new(self.len()))
    }

    /// Draw the level of the next point to insert (from the graph's seeded generator).
    pub fn draw_level(&mut self) -> u8 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let u = ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let ml = 1.0 / (self.params.m as f64).ln();
        ((-u.ln() * ml) as usize).min(MAX_LEVEL as usize) as u8
    }

    /// The searches of inserting unit vector `v` at `level`: per layer up to `level`, the
    /// `ef_construction` nearest points of the graph as it is now.
    pub fn plan(&self, v: &[f32], level: u8) -> Plan {
        assert_eq!(v.len(), self.dim, "vector of {} values in a {}-d graph", v.len(), self.dim);
        let mut found = vec![Vec::new(); level as usize + 1];
        let Some(entry) = self.entry else { return Plan { level, found } };
        let (mut ep, mut d) = (entry, self.walk_dist(v, entry));
        for layer in (level + 1..=self.max_level).rev() {
            (ep, d) = self.descend(v, ep, d, layer);
        }
        let mut entries = vec![(d, ep)];
        let mut seen = self.take_visited();
        for layer in (0..=level.min(self.max_level)).rev() {
            let f = self.search_layer(v, &entries, self.params.ef_construction, layer, &mut seen, |_| true);
            entries.clone_from(&f);
            found[layer as usize] = self.rerank(v, f);
        }
        self.visited.lock().push(seen);
        Plan { level, found }
    }

    /// Add unit vector `v` with the caller's `id`, linked by `plan` (made by [`Self::plan`] on
    /// this graph, before any of `peers` was applied) and to `peers`: the nodes applied since
    /// that plan was made, which its searches could not see. Returns the new node's number.
    pub fn apply(&mut self, id: u64, v: &[f32], plan: &Plan, peers: &[u32]) -> u32 {
        assert_eq!(v.len(), self.dim, "vector of {} values in a {}-d graph", v.len(), self.dim);
        let (i, level) = (self.ids.len() as u32, plan.level);
        self.push_block(v);
        self.ids.push(id);
        self.levels.push(level);
        self.upper.push(vec![0; level as usize * (self.params.m + 1)]);
        if self.entry.is_none() {
            (self.entry, self.max_level) = (Some(i), level);
            return i;
        }
        for layer in (0..=level).rev() {
            let mut candidates = plan.found[layer as usize].clone();
            for &p in peers.iter().filter(|&&p| self.levels[p as usize] >= layer) {
                candidates.push((self.dist(v, p), p));
            }
            if candidates.is_empty() {
                continue;
            }
            candidates.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let cap = if layer == 0 { self.m0() } else { self.params.m };
            let neighbours = self.select(&candidates, self.params.m);
            self.set_links(i, layer, &neighbours);
            for &n in &neighbours {
                let mut theirs: Vec<u32> = self.links(n, layer).to_vec();
                if theirs.len() < cap {
                    theirs.push(i);
                } else {
                    let nv = self.vector(n).to_vec();
                    let mut scored: Vec<(f32, u32)> =
                        theirs.iter().chain([&i]).map(|&x| (self.dist(&nv, x), x)).collect();
                    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    theirs = self.select(&scored, cap);
                }
                self.set_links(n, layer, &theirs);
            }
        }
        if level > self.max_level {
            (self.max_level, self.entry) = (level, Some(i));
        }
        i
    }

    /// Add a unit vector with the caller's `id`.
    pub fn insert(&mut self, id: u64, v: &[f32]) {
        let level = self.draw_level();
        let plan = self.plan(v, level);
        self.apply(id, v, &plan, &[]);
    }

    /// The `k` nearest nodes to unit vector `q` by a walk with beam `ef` (at least `k`):
    /// (caller id, distance `1 - cos`), closest first.
    pub fn search(&self, q: &[f32], k: usize, ef: usize) -> Vec<(u64, f32)> {
        // (No filter at all, not an always-true one on ids: reading a visited node's id is
        // one more cache miss a node.)
        self.walk(q, k, ef, |_| true)
    }

    /// [`Self::search`] among the points whose id `accept` takes; the others are walked
    /// through, never returned.
    pub fn search_filter(
        &self,
        q: &[f32],
        k: usize,
        ef: usize,
        accept: impl Fn(u64) -> bool,
    ) -> Vec<(u64, f32)> {
        self.walk(q, k, ef, |i| accept(self.ids[i as usize]))
    }

    fn walk(&self, q: &[f32], k: usize, ef: usize, accept: impl Fn(u32) -> bool) -> Vec<(u64, f32)> {
        let Some(entry) = self.entry else { return Vec::new() };
        let (mut ep, mut d) = (entry, self.walk_dist(q, entry));
        for layer in (1..=self.max_level).rev() {
            (ep, d) = self.descend(q, ep, d, layer);
        }
        let mut seen = self.take_visited();
        let found = self.search_layer(q, &[(d, ep)], ef.max(k), 0, &mut seen, accept);
        self.visited.lock().push(seen);
        self.rerank(q, found).into_iter().take(k).map(|(d, i)| (self.ids[i as usize], d)).collect()
    }

    /// Call `f` with each point's id and vector, in insertion order.
    pub fn for_each(&self, mut f: impl FnMut(u64, &[f32])) {
        for (i, &id) in self.ids.iter().enumerate() {
            f(id, self.vector(i as u32));
        }
    }
}

/// What inserting one point found before the graph changed ([`DenseHnsw::plan`]).
#[derive(Debug, Clone)]
pub struct Plan {
    level: u8,
    /// Per layer `0..=level`: the nearest points found, closest first (empty above the graph's
    /// top layer at planning time).
    found: Vec<Vec<(f32, u32)>>,
}

impl Plan {
    pub fn level(&self) -> u8 {
        self.level
    }
}

/// Levels are capped (a level of 16 has odds of 16^-16 at m 16).
const MAX_LEVEL: u8 = 15;
/// The dot product for this CPU (AVX-512, AVX2+FMA or portable), chosen once per graph.
fn pick_dot() -> fn(&[f32], &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") {
            return |a, b| {
                // SAFETY: the CPU has AVX-512F (checked when the function was picked).
                unsafe { dot512(a, b) }
            };
        }
    }
    super::distance::dot
}

/// The f32 x f16 dot product for this CPU (AVX-512, AVX2+FMA+F16C or portable).
fn pick_dot16() -> fn(&[f32], &[u16]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") {
            return |a, b| {
                // SAFETY: the CPU has AVX-512F (checked when the function was picked).
                unsafe { dot16_512(a, b) }
            };
        }
        if has!("avx2") && has!("fma") && has!("f16c") {
            return |a, b| {
                // SAFETY: the CPU has AVX2, FMA and F16C (checked when the function was picked).
                unsafe { dot16_avx2(a, b) }
            };
        }
    }
    dot16_portable
}

fn dot16_portable(a: &[f32], b: &[u16]) -> f32 {
    a.iter().zip(b).map(|(x, h)| x * half::f16::from_bits(*h).to_f32()).sum()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma,f16c")]
unsafe fn dot16_512(a: &[f32], b: &[u16]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let fma = |i: usize, acc: __m512| {
        let h = _mm512_cvtph_ps(_mm256_loadu_si256(pb.add(i).cast()));
        _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), h, acc)
    };
    let z = _mm512_setzero_ps();
    let (mut s0, mut s1, mut s2, mut s3) = (z, z, z, z);
    let mut i = 0;
    while i + 64 <= n {
        (s0, s1, s2, s3) = (fma(i, s0), fma(i + 16, s1), fma(i + 32, s2), fma(i + 48, s3));
        i += 64;
    }
    s0 = _mm512_add_ps(s0, s2);
    s1 = _mm512_add_ps(s1, s3);
    while i + 16 <= n {
        s0 = fma(i, s0);
        i += 16;
    }
    let sum = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    sum + dot16_portable(&a[i..n], &b[i..n])
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot16_avx2(a: &[f32], b: &[u16]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let fma = |i: usize, acc: __m256| {
        let h = _mm256_cvtph_ps(_mm_loadu_si128(pb.add(i).cast()));
        _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(i)), h, acc)
    };
    let z = _mm256_setzero_ps();
    let (mut s0, mut s1, mut s2, mut s3) = (z, z, z, z);
    let mut i = 0;
    while i + 32 <= n {
        (s0, s1, s2, s3) = (fma(i, s0), fma(i + 8, s1), fma(i + 16, s2), fma(i + 24, s3));
        i += 32;
    }
    while i + 8 <= n {
        s0 = fma(i, s0);
        i += 8;
    }
    let s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    let h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps::<1>(s));
    let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    let h = _mm_add_ss(h, _mm_shuffle_ps::<1>(h, h));
    _mm_cvtss_f32(h) + dot16_portable(&a[i..n], &b[i..n])
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn dot512(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let fma =
        |i: usize, acc: __m512| _mm512_fmadd_ps(_mm512_loadu_ps(pa.add(i)), _mm512_loadu_ps(pb.add(i)), acc);
    // Four chains: a 384-d product is 24 FMAs, too few to hide their latency in two.
    let z = _mm512_setzero_ps();
    let (mut s0, mut s1, mut s2, mut s3) = (z, z, z, z);
    let mut i = 0;
    while i + 64 <= n {
        (s0, s1, s2, s3) = (fma(i, s0), fma(i + 16, s1), fma(i + 32, s2), fma(i + 48, s3));
        i += 64;
    }
    s0 = _mm512_add_ps(s0, s2);
    s1 = _mm512_add_ps(s1, s3);
    while i + 32 <= n {
        (s0, s1) = (fma(i, s0), fma(i + 16, s1));
        i += 32;
    }
    if i + 16 <= n {
        s0 = fma(i, s0);
        i += 16;
    }
    let mut sum = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    while i < n {
        sum += a[i] * b[i];
        i += 1;
    }
    sum
}

#[cfg(test)]
mod tests;
