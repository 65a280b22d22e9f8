//! Emotion fusion benchmarks:
//! - `fusion/observe`: readings per second folded into 64 contexts by the in-memory fusion
//!   engine (validation, name resolution through the catalog aliases, decay, per-source
//!   update), time moving forward 1 ms per reading — the target is >= 1,000,000
//!   readings/s on one core;
//! - `fusion/state`: evaluating a context's fused state (full catalog vector, top-k,
//!   valence / arousal, per-source breakdown) for a context with four sources;
//! - `store/observe_batch_1000`: the same readings through a store (`observe_batch`, one
//!   SQLite transaction per 1,000 readings, history and source states written).
//!
//! Run: `cargo bench --bench emotion`. Figures and notes: docs/benchmarks.md.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use memorable::emotion::{catalog, EmotionConfig, Fusion, Reading, Semantics, Source, Vocabulary};
use memorable::{Builder, Config};
use time::OffsetDateTime;

const CONTEXTS: usize = 64;

/// A realistic mix, by arrival share: Hume v1 face results (sparse, 2-4 names), v1 audio
/// results (sparse, 3-6 names incl. one outside the catalog), EVI user messages (dense, all
/// 48 legacy names, capitalised) and text classifier readings (dense, the 28 GoEmotions
/// labels).
fn readings(n: usize, t0: OffsetDateTime) -> Vec<Reading> {
    let hume: Vec<&str> =
        catalog::expressions().iter().filter(|e| e.in_vocabulary(Vocabulary::Hume)).map(|e| e.name).collect();
    let go: Vec<&str> = catalog::expressions().iter().filter_map(|e| e.goemotions_label()).collect();
    let v1: Vec<String> = hume.iter().map(|n| n.to_lowercase()).collect();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let context = format!("session-{}", i % CONTEXTS);
            let at = t0 + Duration::from_millis(i as u64 * 10);
            let u = |r: u64| (r % 1000) as f32 / 1000.0;
            let r = match i % 10 {
                0..=3 => {
                    let k = 2 + (next() % 3) as usize;
                    let scores =
                        (0..k).map(|_| (v1[(next() % 48) as usize].clone(), u(next()))).collect::<Vec<_>>();
                    Reading::new(context, Source::Face)
                        .scores(dedup(scores))
                        .semantics(Semantics::Sparse { missing: 0.0, vocabulary: Some(Vocabulary::Hume) })
                }
                4..=6 => {
                    let k = 2 + (next() % 4) as usize;
                    let mut scores =
                        (0..k).map(|_| (v1[(next() % 48) as usize].clone(), u(next()))).collect::<Vec<_>>();
                    scores.push(("feeling uplifted".to_owned(), u(next())));
                    Reading::new(context, Source::Voice)
                        .scores(dedup(scores))
                        .semantics(Semantics::Sparse { missing: 0.0, vocabulary: None })
                }
                7..=8 => Reading::new(context, Source::Evi).scores(hume.iter().map(|n| (*n, u(next())))),
                _ => Reading::new(context, Source::Text).scores(go.iter().map(|n| (*n, u(next())))),
            };
            r.confidence(0.5 + u(next()) / 2.0).timestamp(at)
        })
        .collect()
}

/// Nanoseconds this thread has run on a CPU (Linux; `None` elsewhere).
fn thread_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat").ok()?.split_whitespace().next()?.parse().ok()
}

fn dedup(mut v: Vec<(String, f32)>) -> Vec<(String, f32)> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|(n, _)| seen.insert(n.clone()));
    v
}

/// Fold `n` readings from the ring into `fusion`, each stamped 1 ms after the previous one
/// (`clock` carries on across calls, so time only moves forward as in a live stream).
fn feed(
    fusion: &mut Fusion,
    ring: &mut [Reading],
    n: usize,
    t0: OffsetDateTime,
    clock: &mut u64,
    now: OffsetDateTime,
) {
    for i in 0..n {
        let r = &mut ring[i % RING];
        r.timestamp = Some(t0 + Duration::from_millis(*clock));
        *clock += 1;
        fusion.observe(r, now).unwrap();
    }
}

/// Readings in the ring the fusion benchmark cycles through: a working set (about 300 KB)
/// that stays in cache the way a reading parsed just before it is fused does (with a ring
/// of 100,000 readings the name strings come from DRAM and the rate halves).
const RING: usize = 512;
const PER_ITER: usize = 100_000;

fn bench(c: &mut Criterion) {
    // Far enough back that a long run's advancing clock never reaches the present.
    let t0 = OffsetDateTime::now_utc() - time::Duration::days(60);
    let now = OffsetDateTime::now_utc();
    let mut ring = readings(RING, t0);
    let names: usize = ring.iter().map(|r| r.scores.len()).sum();
    println!(
        "ring of {} readings ({:.1} scores each on average)",
        ring.len(),
        names as f64 / ring.len() as f64
    );
    let mut clock = 0u64;

    // One-shot figure that holds on a shared machine: readings per second of this thread's
    // CPU time (Linux schedstat), beside the wall-clock rate criterion reports below.
    if let Some(cpu0) = thread_cpu_ns() {
        let mut fusion = Fusion::new(EmotionConfig::default()).unwrap();
        let wall = std::time::Instant::now();
        feed(&mut fusion, &mut ring, 5 * PER_ITER, t0, &mut clock, now);
        let wall = wall.elapsed().as_secs_f64();
        let cpu = (thread_cpu_ns().unwrap() - cpu0) as f64 / 1e9;
        let n = 5.0 * PER_ITER as f64;
        println!(
            "fusion/observe one-shot: {:.0} readings/s of CPU time, {:.0} readings/s wall",
            n / cpu,
            n / wall
        );
    }

    let mut g = c.benchmark_group("fusion");
    g.throughput(Throughput::Elements(PER_ITER as u64));
    g.sample_size(20);
    let mut fusion = Fusion::new(EmotionConfig::default()).unwrap();
    g.bench_function("observe", |b| b.iter(|| feed(&mut fusion, &mut ring, PER_ITER, t0, &mut clock, now)));
    g.throughput(Throughput::Elements(1));
    g.sample_size(100);
    let mut fed = Fusion::new(EmotionConfig::default()).unwrap();
    feed(&mut fed, &mut ring, PER_ITER, t0, &mut clock, now);
    // Read the state as of the stream's clock (a live context), not weeks after it.
    let at = t0 + Duration::from_millis(clock);
    let sources = fed.state("session-7", at).unwrap().sources.len();
    println!("fusion/state: a context with {sources} sources");
    if let Some(cpu0) = thread_cpu_ns() {
        for _ in 0..10_000 {
            std::hint::black_box(fed.state("session-7", at).unwrap());
        }
        let cpu = (thread_cpu_ns().unwrap() - cpu0) as f64 / 1e9;
        println!("fusion/state one-shot: {:.1} µs of CPU time per state", cpu / 10_000.0 * 1e6);
    }
    g.bench_function("state", |b| b.iter(|| fed.state("session-7", at).unwrap()));
    g.finish();

    let mut g = c.benchmark_group("store");
    let batch = readings(1000, t0);
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(10));
    let mut config = Config::default();
    config.embedder = "hashing".into();
    let dir = tempfile::tempdir().unwrap();
    let mem = Builder::in_memory().config(config.clone()).open().unwrap();
    let disk = memorable::Memorable::builder(dir.path()).config(config).open().unwrap();
    // Cloning and stamping the batch (time moving forward) is setup, not measured.
    let mut clock = 0u64;
    let mut stamped = || {
        let mut v = batch.clone();
        for r in &mut v {
            r.timestamp = Some(t0 + Duration::from_millis(clock));
            clock += 1;
        }
        v
    };
    g.bench_function("observe_batch_1000/in_memory", |b| {
        b.iter_batched(&mut stamped, |v| mem.observe_batch(v).unwrap(), BatchSize::LargeInput)
    });
    g.bench_function("observe_batch_1000/on_disk", |b| {
        b.iter_batched(&mut stamped, |v| disk.observe_batch(v).unwrap(), BatchSize::LargeInput)
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
