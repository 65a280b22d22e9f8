//! Core engine benchmarks (hashing embedder, on-disk stores):
//! - `remember_batch/1000`: throughput of batches of 1,000 memories;
//! - `recall/10k`, `recall/100k`: latency of a hybrid recall (limit 10) in one user, with the
//!   semantic candidates' recall@10 against exact search and the per-call p50 / p95 of 1,000
//!   timed recalls printed beside it (criterion reports means of batches, not percentiles):
//!   256 queries cycled (the rows they rank get cached), and 1,000 queries asked once each;
//!   then the same stores reopened with `hnsw.sparse_search` off, searched by the graph walk;
//! - `open_first_recall/100k`: open a 100k store with a valid index dump and run its first
//!   recall, i.e. the time until the store answers (the dump loads on a thread of its own
//!   meanwhile; the one-shot line also gives the time until its graph is in). A counting
//!   embedder proves nothing is re-embedded (one embedding: the query) and the index stats,
//!   once the load is done, prove nothing is re-indexed (origin `dump`, no pending vectors).
//!
//! Every one-shot line carries the 1-minute load average, since the machine may be shared,
//! and, beside each wall time, the CPU time the work took (Linux: clock_gettime's thread and
//! process CPU clocks), which other processes on the machine barely change: under load, it is
//! the figure to read (recall and open run entirely on the calling thread; a batch's CPU time
//! sums the calling thread and the rayon workers, not the background indexer).
//! Run: `cargo bench --bench core`. Figures and notes: docs/benchmarks.md.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "common/textgen.rs"]
mod textgen;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use memorable::{Config, Embedder, HashingEmbedder, Memorable, NewMemory, Recall, RecallMode};
use textgen::TextGen;

/// The targets are for the hashing embedder: pin it (a cached MiniLM would win "auto").
fn config() -> Config {
    let mut config = Config::default();
    config.embedder = "hashing".into();
    config
}

fn open(dir: &Path) -> Memorable {
    Memorable::builder(dir).config(config()).open().unwrap()
}

/// The 1-minute load average (from /proc/loadavg; "?" elsewhere).
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// CPU time in ns of the calling thread (`THREAD`) or of the whole process (`PROCESS`), from
/// clock_gettime: exact, unlike /proc's schedstat, which lags a running thread by up to a
/// scheduler tick (4 ms here). 0 where unsupported.
const PROCESS: i32 = 2; // CLOCK_PROCESS_CPUTIME_ID
const THREAD: i32 = 3; // CLOCK_THREAD_CPUTIME_ID

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn cpu_ns(clock: i32) -> u64 {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, tp: *mut Timespec) -> i32;
    }
    let mut t = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec (64-bit time_t and long on 64-bit Linux).
    if unsafe { clock_gettime(clock, &mut t) } != 0 {
        return 0;
    }
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn cpu_ns(_clock: i32) -> u64 {
    0
}

/// CPU time of the background indexer thread so far, in ns (from /proc: it is not running
/// when this is read at the end of a long measurement, so a tick's lag hardly matters).
fn indexer_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return 0 };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.starts_with("memorable-index"))
        })
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// The hashing embedder, counting the texts it embeds.
struct CountingEmbedder {
    inner: HashingEmbedder,
    texts: AtomicUsize,
}

impl Embedder for CountingEmbedder {
    fn embed(&self, texts: &[&str]) -> memorable::Result<Vec<Vec<f32>>> {
        self.texts.fetch_add(texts.len(), Ordering::Relaxed);
        self.inner.embed(texts)
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn is_fallback(&self) -> bool {
        true
    }
}

/// (p50, p95) of per-call times, in microseconds.
fn percentiles(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6;
    (at(0.5), at(0.95))
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
    queries_from(7, n)
}

/// `n` queries of 3-5 words from the generator seeded with `seed`.
fn queries_from(seed: u64, n: usize) -> Vec<String> {
    let mut gen = TextGen(seed);
    (0..n).map(|_| gen.text(3, 5)).collect()
}

/// Share of the exact top-10 (brute-force cosine) that the index's semantic candidates find
/// (sparse postings, exact by construction, unless `hnsw.sparse_search` is off: then the graph).
fn semantic_recall_at_10(mem: &Memorable, n: usize) -> f64 {
    let emb = HashingEmbedder::new(384);
    let mut gen = TextGen(42);
    let corpus: Vec<Vec<f32>> = (0..n).map(|_| emb.embed_one(&gen.text(8, 15))).collect();
    let qs = queries(200);
    let mut found = 0usize;
    for q in &qs {
        let qv = emb.embed_one(q);
        let mut exact: Vec<(usize, f32)> =
            corpus.iter().enumerate().map(|(i, v)| (i + 1, memorable::dot(&qv, v))).collect();
        exact.sort_by(|a, b| b.1.total_cmp(&a.1));
        // Ties at the 10th score make several answers exact; accept any of them.
        let cutoff = exact[9].1;
        // (No access counting: it would re-rank later queries' hits.)
        let asked = Recall::new("bench", q.as_str()).limit(10).mode(RecallMode::Semantic).track_access(false);
        let got = mem.recall(&asked).unwrap();
        found += got.iter().filter(|h| h.breakdown.semantic.unwrap_or(-1.0) >= cutoff - 1e-6).count().min(10);
    }
    found as f64 / (qs.len() * 10) as f64
}

/// Per-call wall and CPU (p50, p95) in microseconds of `calls` hybrid recalls (limit 10)
/// cycling through `qs`.
fn timed_recalls(mem: &Memorable, qs: &[String], calls: usize) -> ((f64, f64), (f64, f64)) {
    // The cost of reading the CPU clock itself, subtracted from every CPU figure.
    let clock = percentiles(
        (0..100).map(|_| Duration::from_nanos(cpu_ns(THREAD).abs_diff(cpu_ns(THREAD)))).collect(),
    )
    .0;
    let (mut walls, mut cpus) = (Vec::new(), Vec::new());
    for i in 0..calls {
        let (t, cpu) = (Instant::now(), cpu_ns(THREAD));
        mem.recall(&Recall::new("bench", qs[i % qs.len()].as_str()).limit(10)).unwrap();
        cpus.push(Duration::from_nanos(cpu_ns(THREAD) - cpu));
        walls.push(t.elapsed());
    }
    let (c50, c95) = percentiles(cpus);
    (percentiles(walls), (c50 - clock, c95 - clock))
}

/// Ask each of `qs` once (untimed), then report 1,000 timed recalls cycling through them.
fn report_cycled(mem: &Memorable, qs: &[String], what: &str) {
    for q in qs {
        mem.recall(&Recall::new("bench", q.as_str()).limit(10)).unwrap();
    }
    report(&format!("{what}, 1,000 timed calls over {} queries", qs.len()), timed_recalls(mem, qs, 1_000));
}

fn report(what: &str, ((p50, p95), (c50, c95)): ((f64, f64), (f64, f64))) {
    eprintln!(
        "{what}: wall p50 {p50:.0} us, p95 {p95:.0} us; CPU p50 {c50:.0} us, p95 {c95:.0} us (load {})",
        load()
    );
}

fn bench_remember_batch(c: &mut Criterion) {
    let mut group = c.benchmark_group("remember_batch");
    group.throughput(Throughput::Elements(1_000));
    group.sample_size(20);
    let dir = tempfile::tempdir().unwrap();
    let mem = open(dir.path());
    let mut gen = TextGen(1);
    // One-shot: 20 batches; wall time per batch, and the CPU time of all 20 (the process's,
    // minus the background indexer's: graph building is not part of a write).
    let mut walls = Vec::new();
    let (cpu, indexer) = (cpu_ns(PROCESS), indexer_cpu_ns());
    for _ in 0..20 {
        let batch: Vec<NewMemory> = (0..1_000).map(|_| NewMemory::new("bench", gen.text(8, 15))).collect();
        let t = Instant::now();
        mem.remember_batch(batch).unwrap();
        walls.push(t.elapsed());
    }
    let cpu = (cpu_ns(PROCESS) - cpu).saturating_sub(indexer_cpu_ns() - indexer) as f64 / 20.0;
    let wall = percentiles(walls).0;
    eprintln!(
        "remember_batch of 1,000, 20 batches: p50 wall {:.1} ms ({:.0} memories/s); CPU {:.1} ms a batch \
         without the indexer ({:.0} memories per CPU-second) (load {})",
        wall / 1e3,
        1e9 / wall,
        cpu / 1e6,
        1e12 / cpu,
        load()
    );
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
    let mut stores = Vec::new();
    for n in [10_000usize, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let mem = fill(dir.path(), n);
        let r10 = semantic_recall_at_10(&mem, n);
        eprintln!("recall@10 of the semantic candidates vs exact search at {n}: {r10:.4} (load {})", load());
        let qs = queries(256);
        report_cycled(&mem, &qs, &format!("recall at {n}"));
        // Each asked once: most candidates' rows are not cached yet and come from SQLite.
        let fresh = queries_from(8, 1_000);
        report(&format!("recall at {n}, 1,000 queries asked once"), timed_recalls(&mem, &fresh, 1_000));
        let mut i = 0;
        group.bench_with_input(BenchmarkId::from_parameter(format!("{}k", n / 1000)), &n, |b, _| {
            b.iter(|| {
                i = (i + 1) % qs.len();
                mem.recall(&Recall::new("bench", qs[i].as_str()).limit(10)).unwrap()
            })
        });
        mem.close().unwrap();
        stores.push((n, dir));
    }
    group.finish();
    // The same stores searched by the HNSW graph alone (what dense vectors get), for the
    // record: hashing vectors are the hard case for a graph walk.
    for (n, dir) in &stores {
        let mut config = config();
        config.hnsw.sparse_search = false;
        let mem = Memorable::builder(dir.path()).config(config).open().unwrap();
        mem.recall(&Recall::new("bench", "w1 w2 w3").limit(10)).unwrap();
        mem.checkpoint().unwrap(); // waits for the dump's graph
        let r10 = semantic_recall_at_10(&mem, *n);
        eprintln!("graph walk (hnsw.sparse_search off): recall@10 vs exact search at {n}: {r10:.4}");
        report_cycled(&mem, &queries(256), &format!("graph walk: recall at {n}"));
    }
}

fn bench_open(c: &mut Criterion) {
    let mut group = c.benchmark_group("open_first_recall");
    group.sample_size(10);
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 100_000).close().unwrap();
    // Open with a counting embedder: only the query may be embedded.
    let open_counted = || {
        let embedder = Arc::new(CountingEmbedder { inner: HashingEmbedder::new(384), texts: 0.into() });
        let mem = Memorable::builder(dir.path()).config(config()).embedder(embedder.clone()).open().unwrap();
        (mem, embedder)
    };
    // (Run after the timed part: checkpoint() waits for the background load.)
    let check = |mem: &Memorable, embedder: &CountingEmbedder| {
        mem.checkpoint().unwrap();
        assert_eq!(embedder.texts.load(Ordering::Relaxed), 1, "only the query is embedded");
        let index = &mem.stats().unwrap().loaded_indexes[0];
        assert_eq!(index.origin, memorable::IndexOrigin::Dump, "no rebuild");
        assert_eq!((index.points, index.live, index.pending), (100_000, 100_000, 0), "nothing re-indexed");
    };
    // One-shot split of the figure: open() alone, then the first recall (reads the user's
    // vectors, starts the dump's load), then the wait until the loaded graph is in.
    let (mut opens, mut firsts, mut cpus, mut graphs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..5 {
        let (t, cpu) = (Instant::now(), cpu_ns(THREAD));
        let (mem, embedder) = open_counted();
        opens.push(t.elapsed());
        let t1 = Instant::now();
        mem.recall(&Recall::new("bench", "w1 w2 w3").limit(10)).unwrap();
        firsts.push(t1.elapsed());
        cpus.push(Duration::from_nanos(cpu_ns(THREAD) - cpu));
        check(&mem, &embedder);
        graphs.push(t.elapsed());
    }
    eprintln!(
        "open of a 100k store, 5 runs: open() p50 {:.1} ms, first recall p50 {:.1} ms; CPU of both on \
         the calling thread p50 {:.1} ms; graph loaded p50 {:.0} ms after open (load {})",
        percentiles(opens).0 / 1e3,
        percentiles(firsts).0 / 1e3,
        percentiles(cpus).0 / 1e3,
        percentiles(graphs).0 / 1e3,
        load()
    );
    group.bench_function("100k", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let (mem, embedder) = open_counted();
                mem.recall(&Recall::new("bench", "w1 w2 w3").limit(10)).unwrap();
                total += t.elapsed();
                check(&mem, &embedder);
                drop(mem);
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench_remember_batch, bench_recall, bench_open);
criterion_main!(benches);
