//! [`SparseVectors`]: exact nearest-neighbour search over sparse vectors, dimension by
//! dimension.
//!
//! The hashing embedder writes a text of n words into at most ~2n of its 384 coordinates
//! (unigrams and bigrams), so a query touches a handful of dimensions. Scoring every
//! vector through the postings of those dimensions (one multiply-add per stored nonzero)
//! is exact and, at 100k memories, several times cheaper than an HNSW walk, whose recall
//! on such vectors is poor: they share no neighbourhood structure for the graph to follow.
//! Dense vectors (a BERT model's) make postings as long as the whole set; an index gives
//! its sparse store up as soon as its vectors are dense on average.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap as HashMap;

use crate::memory::MemoryId;
use crate::store::VectorId;

/// Largest mean share of nonzero coordinates a sparse store accepts. Beyond it the postings
/// of a query's dimensions cover most of the set and a graph walk is cheaper.
const MAX_DENSITY: f64 = 0.25;

/// Vectors accepted before the density is judged (a few long texts among the first ones
/// must not decide for the whole index).
const JUDGE_AFTER: usize = 32;

/// A query is scored through the postings when they hold at most this many entries per
/// stored vector: a walk at the usual ef scores a few thousand whole vectors, which costs
/// about as much as 4 postings per vector at 100k.
const SCAN_BUDGET_PER_VECTOR: usize = 4;

/// Whether `vectors` vectors of `dim` coordinates holding `nonzeros` nonzeros in all are
/// too dense for a sparse store (never judged before [`JUDGE_AFTER`] vectors).
pub(crate) fn too_dense(nonzeros: usize, vectors: usize, dim: usize) -> bool {
    vectors >= JUDGE_AFTER && nonzeros as f64 > MAX_DENSITY * (vectors * dim) as f64
}

/// Where a stored vector sits: `slots[s]` (ascending vector ids), its coordinates
/// `entries[starts[s]..starts[s + 1]]`, `dead[s]` once it is deleted or replaced.
pub(crate) struct SparseVectors {
    dim: usize,
    /// Per dimension, the slots with a nonzero coordinate there and its value.
    postings: Vec<Vec<(u32, f32)>>,
    slots: Vec<(VectorId, MemoryId)>,
    /// A flag per slot rather than a lookup in the index's live map: scoring a few hundred
    /// candidates would otherwise wait on one more cache miss each.
    dead: Vec<bool>,
    starts: Vec<u32>,
    entries: Vec<(u32, f32)>,
    /// The newest slot of each memory (an update gives a memory a new vector).
    by_memory: HashMap<MemoryId, u32>,
}

/// A candidate in the top-k heap: ordered by score, then by memory id (smaller wins ties),
/// so results do not depend on insertion order.
#[derive(PartialEq)]
struct Scored(f32, MemoryId);

impl Eq for Scored {}

impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scored {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(other.1.cmp(&self.1))
    }
}

impl SparseVectors {
    pub fn new(dim: usize) -> SparseVectors {
        SparseVectors {
            dim,
            postings: vec![Vec::new(); dim],
            slots: Vec::new(),
            dead: Vec::new(),
            starts: vec![0],
            entries: Vec::new(),
            by_memory: HashMap::default(),
        }
    }

    /// Add a vector (above every vector id held); false when the store should now be
    /// given up (a vector of another dimension or out of order, or vectors too dense on
    /// average).
    #[must_use]
    pub fn add(&mut self, vid: VectorId, mid: MemoryId, v: &[f32]) -> bool {
        if v.len() != self.dim || self.slots.last().is_some_and(|s| s.0 >= vid) {
            return false;
        }
        let slot = self.slots.len() as u32;
        for (d, &x) in v.iter().enumerate() {
            if x != 0.0 {
                self.postings[d].push((slot, x));
                self.entries.push((d as u32, x));
            }
        }
        self.slots.push((vid, mid));
        self.dead.push(false);
        self.starts.push(self.entries.len() as u32);
        self.by_memory.insert(mid, slot);
        !too_dense(self.entries.len(), self.slots.len(), self.dim)
    }

    /// Whether a search for `query` reads few enough postings to beat a graph walk.
    pub fn scans_cheaply(&self, query: &[f32]) -> bool {
        if query.len() != self.dim {
            return false;
        }
        let cost: usize =
            query.iter().zip(&self.postings).filter(|(x, _)| **x != 0.0).map(|(_, p)| p.len()).sum();
        cost <= SCAN_BUDGET_PER_VECTOR * self.slots.len().max(1)
    }

    /// Mark vectors deleted (ids not held are ignored).
    pub fn kill(&mut self, vids: &[VectorId]) {
        for vid in vids {
            if let Ok(s) = self.slots.binary_search_by_key(vid, |s| s.0) {
                self.dead[s] = true;
            }
        }
    }

    /// Mark deleted every vector `live` refuses.
    pub fn retain(&mut self, live: impl Fn(VectorId) -> bool) {
        for (dead, (vid, _)) in self.dead.iter_mut().zip(&self.slots) {
            *dead |= !live(*vid);
        }
    }

    /// The `k` best (memory id, cosine) among the live vectors of the memories `accept`
    /// takes, best first, ties by memory id. Exact.
    pub fn search(&self, query: &[f32], k: usize, accept: impl Fn(MemoryId) -> bool) -> Vec<(MemoryId, f32)> {
        if k == 0 || self.slots.is_empty() {
            return Vec::new();
        }
        crate::scratch::with_scores(self.slots.len(), |scores| {
            for (&x, postings) in query.iter().zip(&self.postings) {
                if x != 0.0 {
                    for &(slot, y) in postings {
                        scores[slot as usize] += x * y;
                    }
                }
            }
            // A min-heap of the best k so far. Its root is the bar: most vectors fall below
            // it, and a block of scores all below it is passed over without touching
            // `slots` (a block compares as a whole, in vector registers). Texts that share
            // one word with the query tie by the thousand: a tie is settled by memory id
            // before `accept` (a hash lookup) is asked.
            let mut heap: BinaryHeap<Reverse<Scored>> = BinaryHeap::with_capacity(k + 1);
            let mut bar = (f32::NEG_INFINITY, MemoryId::MAX);
            const BLOCK: usize = 16;
            for (b, block) in scores.chunks(BLOCK).enumerate() {
                if block.iter().fold(f32::NEG_INFINITY, |m, &s| m.max(s)) < bar.0 {
                    continue;
                }
                for (i, &score) in block.iter().enumerate() {
                    if score < bar.0 {
                        continue;
                    }
                    let slot = b * BLOCK + i;
                    let mid = self.slots[slot].1;
                    if (score == bar.0 && mid > bar.1) || self.dead[slot] || !accept(mid) {
                        continue;
                    }
                    heap.push(Reverse(Scored(score, mid)));
                    if heap.len() > k {
                        heap.pop();
                    }
                    if heap.len() == k {
                        bar = heap.peek().map_or(bar, |w| (w.0 .0, w.0 .1));
                    }
                }
            }
            let mut best: Vec<(MemoryId, f32)> =
                heap.into_iter().map(|Reverse(Scored(s, m))| (m, s)).collect();
            best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            best
        })
    }

    /// For each of `mids`, the best dot product of `queries` with its live vector (`None`
    /// when it has none here).
    pub fn dots(&self, queries: &[Vec<f32>], mids: &[MemoryId]) -> Vec<Option<f32>> {
        // Two passes: the lookups of all the memories first, so that their cache misses
        // overlap instead of queueing behind each candidate's arithmetic.
        let slots: Vec<Option<usize>> = mids
            .iter()
            .map(|m| self.by_memory.get(m).map(|&s| s as usize).filter(|&s| !self.dead[s]))
            .collect();
        slots
            .into_iter()
            .map(|slot| {
                let slot = slot?;
                let entries = &self.entries[self.starts[slot] as usize..self.starts[slot + 1] as usize];
                queries
                    .iter()
                    .filter(|q| q.len() == self.dim)
                    .map(|q| entries.iter().map(|&(d, y)| q[d as usize] * y).sum::<f32>())
                    .reduce(f32::max)
            })
            .collect()
    }

    /// Stored nonzero coordinates (each kept in its dimension's postings and in its vector's
    /// entries).
    pub fn nonzeros(&self) -> usize {
        self.entries.len()
    }

    /// Stored vectors, replaced and deleted ones included.
    pub fn len(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::dot;

    /// Unit vectors with `nnz` nonzero coordinates out of `dim`, pseudo-random.
    fn sparse_rows(n: usize, dim: usize, nnz: usize, seed: u64) -> Vec<Vec<f32>> {
        let mut x = seed;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        (0..n)
            .map(|_| {
                let mut v = vec![0f32; dim];
                for _ in 0..nnz {
                    let d = (next() % dim as u64) as usize;
                    v[d] += if next() % 2 == 0 { 1.0 } else { -1.0 };
                }
                let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt().max(1e-6);
                v.iter_mut().for_each(|a| *a /= norm);
                v
            })
            .collect()
    }

    #[test]
    fn search_is_exact_and_respects_acceptance() {
        let rows = sparse_rows(3_000, 128, 12, 7);
        let mut s = SparseVectors::new(128);
        for (i, v) in rows.iter().enumerate() {
            assert!(s.add(i as VectorId + 1, i as MemoryId + 100, v));
        }
        for q in sparse_rows(20, 128, 5, 99) {
            let mut exact: Vec<(MemoryId, f32)> =
                rows.iter().enumerate().map(|(i, v)| (i as MemoryId + 100, dot(&q, v))).collect();
            exact.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            let got = s.search(&q, 10, |_| true);
            assert_eq!(got.len(), 10);
            for (g, e) in got.iter().zip(&exact) {
                assert!((g.1 - e.1).abs() < 1e-5, "{got:?} vs {:?}", &exact[..10]);
            }
            // Rejected vectors (odd memory ids) never come back; the rest stay exact.
            let even = s.search(&q, 10, |m| m % 2 == 0);
            let exact_even: Vec<&(MemoryId, f32)> = exact.iter().filter(|e| e.0 % 2 == 0).take(10).collect();
            assert!(even.iter().all(|g| g.0 % 2 == 0));
            for (g, e) in even.iter().zip(exact_even) {
                assert!((g.1 - e.1).abs() < 1e-5);
            }
            let dots = s.dots(std::slice::from_ref(&q), &[100, 7]);
            assert!((dots[0].unwrap() - dot(&q, &rows[0])).abs() < 1e-5);
            assert_eq!(dots[1], None, "not held");
        }
    }

    #[test]
    fn dense_vectors_give_the_store_up_and_dense_queries_are_not_scanned() {
        let mut s = SparseVectors::new(64);
        let dense = sparse_rows(40, 64, 400, 3);
        let kept = dense.iter().enumerate().map(|(i, v)| s.add(i as VectorId, i as MemoryId, v)).last();
        assert_eq!(kept, Some(false), "dense vectors are refused once judged");
        let mut s = SparseVectors::new(64);
        for (i, v) in sparse_rows(100, 64, 12, 5).iter().enumerate() {
            assert!(s.add(i as VectorId, i as MemoryId, v));
        }
        assert!(s.scans_cheaply(&sparse_rows(1, 64, 2, 11)[0]));
        assert!(!s.scans_cheaply(&dense[0]), "a dense query reads every posting: walk instead");
        assert!(!s.add(1_000, 1_000, &[1.0; 8]), "another dimension");
    }

    #[test]
    fn deleted_and_replaced_vectors_are_neither_found_nor_scored() {
        let rows = sparse_rows(4, 32, 4, 13);
        let mut s = SparseVectors::new(32);
        assert!(s.add(1, 7, &rows[0]));
        assert!(s.add(2, 7, &rows[1]), "memory 7 updated: a new vector");
        assert!(s.add(3, 8, &rows[2]));
        assert!(!s.add(3, 9, &rows[3]), "vector ids only grow");
        let q = vec![rows[1].clone()];
        assert!((s.dots(&q, &[7])[0].unwrap() - 1.0).abs() < 1e-5, "the newest vector of 7");
        s.kill(&[1]);
        s.retain(|vid| vid != 2);
        assert_eq!(s.dots(&q, &[7]), vec![None]);
        let found: Vec<MemoryId> = s.search(&q[0], 10, |_| true).iter().map(|h| h.0).collect();
        assert_eq!(found, vec![8]);
    }
}
