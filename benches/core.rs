//! Core engine benchmarks (hashing embedder, on-disk stores):
//! - `remember_batch/1000`: throughput of batches of 1,000 memories;
//! - `recall/10k`, `recall/100k`: latency of a hybrid recall (limit 10) in one user, with the
//!   HNSW recall@10 against exact search printed beside it;
//! - `open_first_recall/100k`: open a 100k store with a valid index dump and run its first
//!   recall (which loads the dump), i.e. the time until the store answers.
//!
//! Run: `cargo bench --bench core`. Figures and notes: docs/benchmarks.md.

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use memorable::{Config, HashingEmbedder, Memorable, NewMemory, Recall, RecallMode};

/// The targets are for the hashing embedder: pin it (a cached MiniLM would win "auto").
fn open(dir: &Path) -> Memorable {
    let mut config = Config::default();
    config.embedder = "hashing".into();
    Memorable::builder(dir).config(config).open().unwrap()
}

/// Deterministic pseudo-text: 8-15 words from a skewed 5,000-word vocabulary.
struct TextGen(u64);

impl TextGen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn word(&mut self) -> String {
        // Squaring a uniform draw skews towards small ids: a few common words, a long tail.
        let u = (self.next() % 10_000) as f64 / 10_000.0;
        format!("w{}", (u * u * 5_000.0) as u64)
    }
    fn text(&mut self, min: u64, max: u64) -> String {
        let n = min + self.next() % (max - min + 1);
        (0..n).map(|_| self.word()).collect::<Vec<_>>().join(" ")
    }
}

fn fill(dir: &Path, n: usize) -> Memorable {
    let mem = open(dir);
    let mut gen = TextGen(42);
    for start in (0..n).step_by(1_000) {
        let batch =
            (start..(start + 1_000).min(n)).map(|_| NewMemory::new("bench", gen.text(8, 15))).collect();
        mem.remember_batch(batch).unwrap();
    }
    // Build the whole graph (and dump it), so recall measures HNSW, not the pending tail.
    mem.checkpoint().unwrap();
    mem
}

fn queries(n: usize) -> Vec<String> {
    let mut gen = TextGen(7);
    (0..n).map(|_| gen.text(3, 5)).collect()
}

/// Share of the exact top-10 (brute-force cosine) that the HNSW semantic candidates find.
fn hnsw_recall_at_10(mem: &Memorable, n: usize) -> f64 {
    let emb = HashingEmbedder::new(384);
    let mut gen = TextGen(42);
    let corpus: Vec<Vec<f32>> = (0..n).map(|_| emb.embed_one(&gen.text(8, 15))).collect();
    let qs = queries(200);
    let mut found = 0usize;
    for q in &qs {
        let qv = emb.embed_one(q);
        let mut exact: Vec<(usize, f32)> =
            corpus.iter().enumerate().map(|(i, v)| (i + 1, memorable::index::dot(&qv, v))).collect();
        exact.sort_by(|a, b| b.1.total_cmp(&a.1));
        // Ties at the 10th score make several answers exact; accept any of them.
        let cutoff = exact[9].1;
        let got = mem.recall(&Recall::new("bench", q.as_str()).limit(10).mode(RecallMode::Semantic)).unwrap();
        found += got.iter().filter(|h| h.breakdown.semantic.unwrap_or(-1.0) >= cutoff - 1e-6).count().min(10);
    }
    found as f64 / (qs.len() * 10) as f64
}

fn bench_remember_batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("remember_batch");
    group.throughput(Throughput::Elements(1_000));
    group.sample_size(20);
    let dir = tempfile::tempdir().unwrap();
    let mem = open(dir.path());
    let mut gen = TextGen(1);
    group.bench_function("1000", |b| {
        b.iter_batched(
            || (0..1_000).map(|_| NewMemory::new("bench", gen.text(8, 15))).collect::<Vec<_>>(),
            |batch| mem.remember_batch(batch).unwrap(),
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn bench_recall(c: &mut Criterion) {
    let mut group = c.benchmark_group("recall");
    for n in [10_000usize, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let mem = fill(dir.path(), n);
        let r10 = hnsw_recall_at_10(&mem, n);
        eprintln!("recall@10 of HNSW vs exact search at {n}: {r10:.4}");
        let qs = queries(256);
        let mut i = 0;
        group.bench_with_input(BenchmarkId::from_parameter(format!("{}k", n / 1000)), &n, |b, _| {
            b.iter(|| {
                i = (i + 1) % qs.len();
                mem.recall(&Recall::new("bench", qs[i].as_str()).limit(10)).unwrap()
            })
        });
        mem.close().unwrap();
    }
    group.finish();
}

fn bench_open(c: &mut Criterion) {
    let mut group = c.benchmark_group("open_first_recall");
    group.sample_size(10);
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 100_000).close().unwrap();
    group.bench_function("100k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let mem = open(dir.path());
                mem.recall(&Recall::new("bench", "w1 w2 w3").limit(10)).unwrap();
                total += t.elapsed();
                let stats = mem.stats().unwrap();
                assert_eq!(stats.loaded_indexes[0].origin, memorable::IndexOrigin::Dump, "no rebuild");
                drop(mem);
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench_remember_batch, bench_recall, bench_open);
criterion_main!(benches);
