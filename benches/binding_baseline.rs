//! The Rust side of the binding-overhead benchmark (issues 5-7): the same timings the
//! Python, Node and C timers take, through the core API directly, so a binding's figure can
//! be divided by this one measured on the same store, with the same queries, in the same
//! interleaved run. Driven by `memorable-py/bench/bench_binding.py`; usable alone:
//!
//! ```text
//! cargo bench --bench binding_baseline -- recall STORE QUERIES_FILE [REPEAT]
//! cargo bench --bench binding_baseline -- ingest STORE TEXTS_FILE
//! ```
//!
//! `recall`: open STORE (hashing embedder), one untimed pass over the queries (loads the
//! user's index, warms SQLite's cache), then REPEAT timed passes of `recall(limit 10)` for
//! user "bench", one call at a time. `ingest`: one timed `remember_batch` of every line of
//! TEXTS_FILE for user "bench" into a new store. Prints one JSON object (times in µs / s):
//! wall-clock percentiles per call, and the process's CPU time per call over the timed passes
//! (`cpu_us`), which other processes on a shared machine barely change.

use std::time::{Duration, Instant};

use memorable::{Config, Memorable, NewMemory, Recall};

fn open(dir: &str) -> Memorable {
    let mut config = Config::default();
    config.embedder = "hashing".into();
    Memorable::builder(dir).config(config).open().unwrap_or_else(|e| panic!("open {dir}: {e}"))
}

/// CPU time of the whole process in ns (clock_gettime's CLOCK_PROCESS_CPUTIME_ID, as the C
/// timer and Python's `time.process_time` read it); 0 where unsupported.
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn process_cpu_ns() -> u64 {
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
    if unsafe { clock_gettime(2, &mut t) } != 0 {
        return 0;
    }
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn process_cpu_ns() -> u64 {
    0
}

fn lines(path: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    text.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

fn recall(store: &str, queries: &str, repeat: usize) {
    let queries = lines(queries);
    let mem = open(store);
    let ask = |q: &str| mem.recall(&Recall::new("bench", q).limit(10)).unwrap();
    for q in &queries {
        ask(q);
    }
    let mut times: Vec<Duration> = Vec::with_capacity(queries.len() * repeat);
    let cpu = process_cpu_ns();
    for _ in 0..repeat {
        for q in &queries {
            let t = Instant::now();
            let hits = ask(q);
            times.push(t.elapsed());
            assert_eq!(hits.len(), 10);
        }
    }
    let cpu_us = process_cpu_ns().saturating_sub(cpu) as f64 / 1e3 / times.len() as f64;
    mem.close().unwrap();
    let total: Duration = times.iter().sum();
    times.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let at = |q: f64| us(times[((times.len() - 1) as f64 * q).round() as usize]);
    println!(
        "{{\"lang\": \"rust\", \"op\": \"recall\", \"n\": {}, \"p50_us\": {:.2}, \"p95_us\": {:.2}, \"mean_us\": {:.2}, \"cpu_us\": {cpu_us:.2}}}",
        times.len(),
        at(0.5),
        at(0.95),
        us(total) / times.len() as f64
    );
}

fn ingest(store: &str, texts: &str) {
    let items: Vec<NewMemory> = lines(texts).into_iter().map(|t| NewMemory::new("bench", t)).collect();
    let n = items.len();
    let mem = open(store);
    let (t, cpu) = (Instant::now(), process_cpu_ns());
    let ids = mem.remember_batch(items).unwrap();
    let (secs, cpu_s) = (t.elapsed().as_secs_f64(), process_cpu_ns().saturating_sub(cpu) as f64 / 1e9);
    assert_eq!(ids.len(), n);
    mem.close().unwrap();
    println!(
        "{{\"lang\": \"rust\", \"op\": \"remember_batch\", \"n\": {n}, \"total_s\": {secs:.6}, \"cpu_s\": {cpu_s:.6}}}"
    );
}

fn main() {
    // `cargo bench` appends `--bench`; criterion-style flags are not ours.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["recall", store, queries] => recall(store, queries, 1),
        ["recall", store, queries, repeat] => recall(store, queries, repeat.parse().expect("REPEAT")),
        ["ingest", store, texts] => ingest(store, texts),
        [] => eprintln!("binding_baseline: nothing to do (driven by memorable-py/bench/bench_binding.py)"),
        other => {
            eprintln!(
                "usage: binding_baseline recall STORE QUERIES [REPEAT] | ingest STORE TEXTS; got {other:?}"
            );
            std::process::exit(2);
        }
    }
}
