//! Operations benchmarks (hashing embedder):
//! - `metrics_record`: the cost of recording one call (two clock reads, a histogram bucket,
//!   count, sum, the call counter), i.e. what metrics add to every remember / recall;
//! - `metrics_overhead/{remember,recall}/{on,off}`: remember (one memory, on disk) and recall
//!   (hybrid, limit 10, 10k memories) with metrics on and off (`Config.metrics`);
//! - one-shot figures printed first: backup, verify and restore of a 100k-memory store
//!   (100 users x 1,000), in MB/s and seconds.
//!
//! Run: `cargo bench --bench ops` (`-- nomatch` prints only the one-shot figures).
//! Figures and notes: docs/benchmarks.md.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use memorable::{Config, Memorable, NewMemory, Recall};

fn config(metrics: bool) -> Config {
    let mut c = Config::default();
    c.embedder = "hashing".into();
    c.metrics = metrics;
    c.alerts.enabled = false;
    c
}

fn text(i: u64) -> String {
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..10)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let u = (x % 10_000) as f64 / 10_000.0;
            format!("w{}", (u * u * 5_000.0) as u64)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn fill(mem: &Memorable, users: u64, per_user: u64) {
    for u in 0..users {
        for start in (0..per_user).step_by(1_000) {
            let batch = (start..(start + 1_000).min(per_user))
                .map(|i| NewMemory::new(format!("user{u}"), text(u * per_user + i)))
                .collect();
            mem.remember_batch(batch).unwrap();
        }
    }
}

fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

/// Backup / verify / restore of a 100k-memory store, printed once.
fn one_shot() {
    let dir = tempfile::tempdir().unwrap();
    let mem = Memorable::builder(dir.path().join("store")).config(config(true)).open().unwrap();
    let t = Instant::now();
    fill(&mem, 100, 1_000);
    eprintln!("ops one-shot: filled 100k memories in {:.1} s", t.elapsed().as_secs_f64());
    let file = dir.path().join("b.mrbak");
    let t = Instant::now();
    let report = mem.backup(&file).unwrap();
    let backup = t.elapsed();
    let t = Instant::now();
    let v = memorable::verify(&file).unwrap();
    let verify = t.elapsed();
    assert!(v.ok);
    let t = Instant::now();
    let r = memorable::restore(&file, dir.path().join("restored")).unwrap();
    let restore = t.elapsed();
    assert_eq!(r.memories, 100_000);
    let t = Instant::now();
    let sv = memorable::verify(dir.path().join("store")).unwrap();
    let verify_store = t.elapsed();
    assert!(sv.ok);
    let mb = report.bytes as f64 / 1e6;
    eprintln!(
        "ops one-shot: backup of 100k memories: {:.2} s, {mb:.1} MB, {:.1} MB/s ({} index files)",
        backup.as_secs_f64(),
        mb_per_s(report.bytes, backup),
        report.index_files
    );
    eprintln!(
        "ops one-shot: verify backup: {:.2} s, {:.1} MB/s",
        verify.as_secs_f64(),
        mb_per_s(report.bytes, verify)
    );
    eprintln!(
        "ops one-shot: restore: {:.2} s, {:.1} MB/s",
        restore.as_secs_f64(),
        mb_per_s(report.bytes, restore)
    );
    eprintln!("ops one-shot: verify store dir: {:.2} s", verify_store.as_secs_f64());
    mem.close().unwrap();
}

fn benches(c: &mut Criterion) {
    one_shot();

    // What recording costs, alone.
    let mem = memorable::Builder::in_memory().config(config(true)).open().unwrap();
    let m = mem.metrics_registry();
    c.bench_function("metrics_record", |b| {
        b.iter(|| {
            let start = m.start();
            m.track(Ok::<(), memorable::Error>(())).unwrap();
            m.finish(&m.recall_latency, start);
            m.recalls.inc();
        })
    });

    let mut g = c.benchmark_group("metrics_overhead");
    g.sample_size(30).measurement_time(Duration::from_secs(6));
    for on in [true, false] {
        let label = if on { "on" } else { "off" };
        let dir = tempfile::tempdir().unwrap();
        let mem = Memorable::builder(dir.path()).config(config(on)).open().unwrap();
        let mut i = 0u64;
        g.bench_function(format!("remember/{label}"), |b| {
            b.iter(|| {
                i += 1;
                mem.remember(NewMemory::new("bench", text(i))).unwrap()
            })
        });
        let recall_mem = memorable::Builder::in_memory().config(config(on)).open().unwrap();
        fill(&recall_mem, 1, 10_000);
        recall_mem.checkpoint().unwrap();
        let mut q = 0u64;
        g.bench_function(format!("recall/{label}"), |b| {
            b.iter(|| {
                q += 1;
                recall_mem.recall(&Recall::new("bench", text(1_000_000 + q % 500)).limit(10)).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(ops, benches);
criterion_main!(ops);
