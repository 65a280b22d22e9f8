//! The engine's own HNSW graph over dense unit vectors (cosine as `1 - dot`), laid out flat:
//! vectors in one array, links as 4-byte node numbers in fixed-size slots (layer 0 holds
//! `2 * m` of them, upper layers `m`), a visited list stamped per search instead of cleared.
//!
//! It exists because the per-user index so far walks hnsw_rs, whose search takes a single
//! greedy step per upper layer instead of descending until no neighbour is closer, so the
//! layer-0 beam starts far from the query (recall@10 0.83 at ef 64 on a hard dense set where
//! hnswlib reaches 1.00), and which keeps each point as its own allocation with reference-
//! counted links (~4.6 KB of memory a MiniLM vector). This graph follows the paper (Malkov &
//! Yashunin, 2018) and hnswlib's choices: greedy descent to layer 1, a beam of `ef` at layer
//! 0, the neighbour-selection heuristic (a candidate is kept only when it is closer to the
//! new point than to every neighbour already kept), and levels drawn with `1 / ln m`.
//! Levels come from a seeded generator, so a build is reproducible.
//!
//! Not yet behind the per-user index (which still uses hnsw_rs, dumps included): measured
//! against hnswlib and faiss by `cargo bench --bench ann` and `benches/peers/ann_run.sh`.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use parking_lot::Mutex;

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
    /// Layer 0, one block a node: a link count, `2m` link slots, then the vector (f32 bits):
    /// a visit reads a node's vector and then its links, so they share cache lines and the
    /// hardware prefetcher's stream (hnswlib lays level 0 out the same way).
    level0: Vec<u32>,
    ids: Vec<u64>,
    levels: Vec<u8>,
    /// Layers 1..=level of each node: per layer a count then `m` slots.
    upper: Vec<Vec<u32>>,
    entry: Option<u32>,
    max_level: u8,
    rng: u64,
    dot: fn(&[f32], &[f32]) -> f32,
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
            ids: Vec::new(),
            levels: Vec::new(),
            upper: Vec::new(),
            entry: None,
            max_level: 0,
            rng: params.seed ^ 0x9e37_79b9_7f4a_7c15,
            dot: pick_dot(),
            visited: Mutex::new(Vec::new()),
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Bytes held for vectors, links and ids (capacity not counted).
    pub fn bytes(&self) -> usize {
        self.level0.len() * 4
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
        1 + self.m0() + self.dim
    }

    #[inline]
    fn vector(&self, i: u32) -> &[f32] {
        let start = i as usize * self.stride() + 1 + self.m0();
        let words = &self.level0[start..start + self.dim];
        // SAFETY: u32 and f32 have the same size and alignment; these words hold f32 bits.
        unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<f32>(), self.dim) }
    }

    #[inline]
    fn dist(&self, q: &[f32], i: u32) -> f32 {
        1.0 - (self.dot)(q, self.vector(i))
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

    fn draw_level(&mut self) -> u8 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let u = ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let ml = 1.0 / (self.params.m as f64).ln();
        ((-u.ln() * ml) as usize).min(15) as u8
    }

    /// Greedy walk on `layer` from `from`: move to the closest neighbour until none is closer.
    fn descend(&self, q: &[f32], mut from: u32, mut d: f32, layer: u8) -> (u32, f32) {
        loop {
            let mut moved = false;
            for &n in self.links(from, layer) {
                let dn = self.dist(q, n);
                if dn < d {
                    (from, d, moved) = (n, dn, true);
                }
            }
            if !moved {
                return (from, d);
            }
        }
    }

    /// Beam search of width `ef` on `layer` from `entries`; the nearest found, closest first.
    fn search_layer(
        &self,
        q: &[f32],
        entries: &[(f32, u32)],
        ef: usize,
        layer: u8,
        seen: &mut Visited,
    ) -> Vec<(f32, u32)> {
        seen.reset(self.len());
        let mut candidates: BinaryHeap<Reverse<(Dist, u32)>> = BinaryHeap::with_capacity(ef * 4);
        let mut found: BinaryHeap<(Dist, u32)> = BinaryHeap::with_capacity(ef + 1);
        for &(d, i) in entries {
            seen.insert(i);
            candidates.push(Reverse((Dist(d), i)));
            found.push((Dist(d), i));
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
                let dn = self.dist(q, n);
                let worst = found.peek().map_or(f32::INFINITY, |f| f.0 .0);
                if found.len() < ef || dn < worst {
                    candidates.push(Reverse((Dist(dn), n)));
                    found.push((Dist(dn), n));
                    if found.len() > ef {
                        found.pop();
                    }
                }
            }
        }
        let mut out: Vec<(f32, u32)> = found.into_iter().map(|(Dist(d), i)| (d, i)).collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        out
    }

    /// Keep at most `m` of `candidates` (closest first): one is kept when it is closer to the
    /// base point than to every neighbour kept before it (spreads links across directions).
    fn select(&self, candidates: &[(f32, u32)], m: usize) -> Vec<u32> {
        let mut kept: Vec<u32> = Vec::with_capacity(m);
        for &(d, c) in candidates {
            if kept.len() >= m {
                break;
            }
            let cv = self.vector(c);
            if kept.iter().all(|&k| 1.0 - (self.dot)(cv, self.vector(k)) > d) {
                kept.push(c);
            }
        }
        kept
    }

    fn take_visited(&self) -> Visited {
        self.visited.lock().pop().unwrap_or_else(|| Visited::new(self.len()))
    }

    /// Add a unit vector with the caller's `id`.
    pub fn insert(&mut self, id: u64, v: &[f32]) {
        assert_eq!(v.len(), self.dim, "vector of {} values in a {}-d graph", v.len(), self.dim);
        let i = self.ids.len() as u32;
        let level = self.draw_level();
        self.level0.extend(std::iter::repeat_n(0, self.m0() + 1));
        self.level0.extend(v.iter().map(|x| x.to_bits()));
        self.ids.push(id);
        self.levels.push(level);
        self.upper.push(vec![0; level as usize * (self.params.m + 1)]);
        let Some(entry) = self.entry else {
            self.entry = Some(i);
            self.max_level = level;
            return;
        };
        let q = self.vector(i).to_vec();
        let (mut ep, mut d) = (entry, self.dist(&q, entry));
        for layer in (level + 1..=self.max_level).rev() {
            (ep, d) = self.descend(&q, ep, d, layer);
        }
        let mut entries = vec![(d, ep)];
        let mut seen = self.take_visited();
        for layer in (0..=level.min(self.max_level)).rev() {
            let found = self.search_layer(&q, &entries, self.params.ef_construction, layer, &mut seen);
            let cap = if layer == 0 { self.m0() } else { self.params.m };
            let neighbours = self.select(&found, self.params.m);
            self.set_links(i, layer, &neighbours);
            for &n in &neighbours {
                let mut theirs: Vec<u32> = self.links(n, layer).to_vec();
                if theirs.len() < cap {
                    theirs.push(i);
                } else {
                    let nv = self.vector(n).to_vec();
                    let mut scored: Vec<(f32, u32)> =
                        theirs.iter().chain([&i]).map(|&x| (self.dist(&nv, x), x)).collect();
                    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
                    theirs = self.select(&scored, cap);
                }
                self.set_links(n, layer, &theirs);
            }
            entries = found;
        }
        self.visited.lock().push(seen);
        if level > self.max_level {
            self.max_level = level;
            self.entry = Some(i);
        }
    }

    /// The `k` nearest nodes to unit vector `q` by a walk with beam `ef` (at least `k`):
    /// (caller id, distance `1 - cos`), closest first.
    pub fn search(&self, q: &[f32], k: usize, ef: usize) -> Vec<(u64, f32)> {
        let Some(entry) = self.entry else { return Vec::new() };
        let (mut ep, mut d) = (entry, self.dist(q, entry));
        for layer in (1..=self.max_level).rev() {
            (ep, d) = self.descend(q, ep, d, layer);
        }
        let mut seen = self.take_visited();
        let found = self.search_layer(q, &[(d, ep)], ef.max(k), 0, &mut seen);
        self.visited.lock().push(seen);
        found.into_iter().take(k).map(|(d, i)| (self.ids[i as usize], d)).collect()
    }
}

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
mod tests {
    use super::*;

    /// Unit vectors around `centres` clusters (a hard set: near neighbours are close together).
    fn clustered(n: usize, dim: usize, centres: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut s = seed;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f32 / (1u64 << 53) as f32 - 0.5
        };
        let c: Vec<Vec<f32>> = (0..centres).map(|_| (0..dim).map(|_| next()).collect()).collect();
        (0..n)
            .map(|i| {
                let mut v: Vec<f32> = c[i % centres].iter().map(|x| x + 0.9 * next()).collect();
                let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
                v.iter_mut().for_each(|x| *x /= norm);
                v
            })
            .collect()
    }

    #[test]
    fn recall_at_10_against_an_exact_scan() {
        // The set of `index::tests::dense_walk_recall_at_10_stays_high` in size and shape,
        // where hnsw_rs reaches 0.83 at ef 64.
        let (dim, n) = (64, 6_000);
        let all = clustered(n + 200, dim, 60, 7);
        let mut g = DenseHnsw::new(dim, HnswParams::default());
        for (i, v) in all[..n].iter().enumerate() {
            g.insert(i as u64, v);
        }
        assert_eq!(g.len(), n);
        let queries = &all[n..];
        let dot = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
        let recall = |ef: usize| {
            let mut hits = 0;
            for q in queries {
                let mut exact: Vec<(f32, u64)> =
                    all[..n].iter().enumerate().map(|(i, v)| (1.0 - dot(q, v), i as u64)).collect();
                exact.sort_by(|a, b| a.0.total_cmp(&b.0));
                let truth: Vec<u64> = exact[..10].iter().map(|e| e.1).collect();
                hits += g.search(q, 10, ef).iter().filter(|(id, _)| truth.contains(id)).count();
            }
            hits as f64 / (10 * queries.len()) as f64
        };
        let (r32, r64) = (recall(32), recall(64));
        assert!(r32 >= 0.95 && r64 >= 0.99, "recall@10 {r32:.3} at ef 32, {r64:.3} at ef 64");
        // Closest first, distances consistent with the vectors.
        let got = g.search(&queries[0], 10, 64);
        assert!(got.windows(2).all(|w| w[0].1 <= w[1].1));
        let d0 = 1.0 - dot(&queries[0], &all[got[0].0 as usize]);
        assert!((got[0].1 - d0).abs() < 1e-5);
    }

    #[test]
    fn small_and_empty_graphs() {
        let mut g = DenseHnsw::new(4, HnswParams::default());
        assert!(g.search(&[1.0, 0.0, 0.0, 0.0], 3, 10).is_empty());
        g.insert(42, &[1.0, 0.0, 0.0, 0.0]);
        g.insert(7, &[0.0, 1.0, 0.0, 0.0]);
        let got = g.search(&[0.9, 0.1, 0.0, 0.0], 5, 10);
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [42, 7]);
    }

    #[test]
    fn builds_are_reproducible() {
        let all = clustered(500, 16, 5, 3);
        let build = || {
            let mut g = DenseHnsw::new(16, HnswParams::default());
            for (i, v) in all.iter().enumerate() {
                g.insert(i as u64, v);
            }
            g
        };
        let (a, b) = (build(), build());
        assert_eq!(a.level0, b.level0);
        assert_eq!(a.search(&all[3], 5, 20), b.search(&all[3], 5, 20));
    }
}
