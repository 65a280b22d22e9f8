//! Embedding benchmarks for all-MiniLM-L6-v2 on 2 threads, native forward (the default CPU
//! backend, models::bert) and candle (the reference):
//! - a one-shot pass over the first 5,000 GoEmotions training texts at batch 32 and batch 1
//!   (sentences/s) with the native forward, cold model load time and the process's peak RSS
//!   (measured before candle is loaded, so it is the native embedder's); the same at batch
//!   32 and 1 with candle on the first 1,000 texts, for comparison;
//! - the machine's ceiling measured in the same run: f32 GEMM GFLOP/s of a 640x384 by
//!   384x1536 product (MiniLM's FFN shape) with the native kernels and with candle's matmul
//!   (the `gemm` crate), and throughput as a share of the GEMM-bound limit
//!   (GFLOP/s / (21.2 MFLOP x mean tokens per sentence)) for the native GEMM, the faster;
//! - the query embedding of a recall: p50 latency of one short question, and of the question
//!   with its first-person form in one call (what retrieval embeds for a question naming a
//!   speaker);
//! - criterion groups `embed/native` and `embed/candle` (batch 32 and 1) on a 256-text slice.
//!
//! Needs the model (`scripts/fetch-model.sh`) and `../shared/data/goemotions/train.tsv`
//! relative to the repository; it says so and exits when either is absent.
//! Run: `cargo bench --bench embed` (`-- nomatch` for the one-shot figures only).
//! Figures: docs/benchmarks.md.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use memorable::models::bert::gemm::{linear, Epilogue, PackedMatrix};
use memorable::models::bert::{BertEmbedder, Isa};
use memorable::models::{BertOptions, CandleBertEmbedder};
use memorable::Embedder;

#[path = "common/minilm.rs"]
mod minilm;

const THREADS: usize = 2;
const TEXTS: usize = 5_000;
const CANDLE_TEXTS: usize = 1_000;
/// Forward FLOPs per token of MiniLM-L6 (6 layers x 2 x (4 x 384^2 + 2 x 384 x 1536)),
/// ignoring attention scores (small at these lengths).
const FLOP_PER_TOKEN: f64 = 21.2e6;

fn texts() -> Vec<String> {
    minilm::goemotions("embed", "train").into_iter().take(TEXTS).collect()
}

fn model_dir() -> PathBuf {
    minilm::model_dir("embed")
}

fn opts(batch_size: usize) -> BertOptions {
    BertOptions { threads: THREADS, batch_size, ..BertOptions::default() }
}

fn vm_hwm_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

const GEMM: (usize, usize, usize) = (640, 384, 1536);

/// Best time of `f` over 10 rounds of 10 calls, after 5 warm-up calls.
fn best_of(mut f: impl FnMut()) -> f64 {
    for _ in 0..5 {
        f();
    }
    let mut best = f64::MAX;
    for _ in 0..10 {
        let t = Instant::now();
        for _ in 0..10 {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / 10.0);
    }
    best
}

/// f32 GEMM GFLOP/s of (640x384)(384x1536) on a THREADS-thread pool: (native, candle).
fn gemm_gflops() -> (f64, f64) {
    let (m, k, n) = GEMM;
    let flop = 2.0 * (m * k * n) as f64;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(THREADS).build().unwrap();
    pool.install(|| {
        let a = Tensor::randn(0f32, 1.0, (m, k), &Device::Cpu).unwrap();
        let b = Tensor::randn(0f32, 1.0, (k, n), &Device::Cpu).unwrap();
        let candle = flop / best_of(|| drop(a.matmul(&b).unwrap())) / 1e9;

        let x = a.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let w = b.t().unwrap().contiguous().unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let packed = PackedMatrix::from_weight(&w, n, k, Isa::detect());
        let mut y = vec![0f32; m * n];
        // Rows split across the pool as the encoder does for a batch (one task per half).
        let half = m / THREADS * k;
        let native =
            flop / best_of(|| {
                use rayon::prelude::*;
                y.par_chunks_mut(m / THREADS * n)
                    .zip(x.par_chunks(half))
                    .for_each(|(y, x)| linear(x, m / THREADS, &packed, y, Epilogue::None, 1));
            }) / 1e9;
        (native, candle)
    })
}

/// A recall's query embedding: a LoCoMo-style question, and the first-person form retrieval
/// embeds beside it when the question names a speaker (the two go in one `embed` call).
const QUESTION: &str = "When did Caroline go to the LGBTQ support group?";
const QUESTION_FIRST_PERSON: &str = "When did I go to the LGBTQ support group?";
const QUERY_CALLS: usize = 300;

/// Median wall-clock milliseconds of one `embed(texts)` call, after 20 warm-up calls.
fn query_ms(e: &dyn Embedder, texts: &[&str]) -> f64 {
    for _ in 0..20 {
        e.embed(texts).unwrap();
    }
    let mut ms: Vec<f64> = (0..QUERY_CALLS)
        .map(|_| {
            let t = Instant::now();
            e.embed(texts).unwrap();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms[QUERY_CALLS / 2]
}

/// CPU seconds this process has used (user + system), from /proc/self/stat.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    (ticks(11) + ticks(12)) / 100.0 // USER_HZ is 100 on Linux
}

/// Sentences per wall-clock second and per CPU second (the latter barely moves when other
/// processes share the cores, so runs on a busy machine stay comparable).
fn per_second(e: &dyn Embedder, texts: &[&str], batch: usize) -> (f64, f64) {
    let (t, cpu) = (Instant::now(), cpu_seconds());
    for chunk in texts.chunks(batch) {
        e.embed(chunk).unwrap();
    }
    let n = texts.len() as f64;
    (n / t.elapsed().as_secs_f64(), n / (cpu_seconds() - cpu))
}

fn one_shot() {
    let texts = texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();

    let t = Instant::now();
    let native = BertEmbedder::load(model_dir(), opts(32)).expect("load MiniLM");
    let cold_load = t.elapsed();
    let tokens: usize = native.token_counts(&refs).unwrap().iter().sum();
    let mean_tokens = tokens as f64 / refs.len() as f64;
    native.embed(&refs[..64]).unwrap(); // warm-up
    let b32 = per_second(&native, &refs, refs.len()); // the embedder cuts batches of 32
    let b1 = per_second(&native, &refs, 1);
    let (q1, q2) = (query_ms(&native, &[QUESTION]), query_ms(&native, &[QUESTION, QUESTION_FIRST_PERSON]));
    let rss = vm_hwm_mb();
    drop(native);

    let candle = CandleBertEmbedder::load(model_dir(), opts(32)).expect("load MiniLM with candle");
    let sub = &refs[..CANDLE_TEXTS];
    candle.embed(&sub[..64]).unwrap();
    let c32 = per_second(&candle, sub, sub.len());
    let c1 = per_second(&candle, sub, 1);
    drop(candle);

    let (gflops, candle_gflops) = gemm_gflops();
    let limit = gflops * 1e9 / (FLOP_PER_TOKEN * mean_tokens);
    let share = |x: f64| 100.0 * x / limit;
    let line = |what: &str, (wall, cpu): (f64, f64)| {
        println!(
            "{what:<24}{wall:.1} sentences/s ({:.0}% of GEMM-bound limit); {cpu:.1} per CPU-second",
            share(wall)
        )
    };
    println!(
        "== embed one-shot: all-MiniLM-L6-v2, {THREADS} threads, {} GoEmotions texts (candle: first {CANDLE_TEXTS}) ==",
        refs.len()
    );
    println!("mean tokens per text (with [CLS]/[SEP]): {mean_tokens:.1}");
    println!("kernels: {} (runtime dispatch)", Isa::detect().name());
    println!("cold model load (native): {:.0} ms", cold_load.as_secs_f64() * 1e3);
    line("native batch 32:", b32);
    line("native batch 1:", b1);
    println!(
        "query embedding (p50 of {QUERY_CALLS} calls): one question {q1:.2} ms; with its first-person form {q2:.2} ms"
    );
    println!("peak RSS, native (VmHWM): {rss:.0} MB");
    line("candle batch 32:", c32);
    line("candle batch 1:", c1);
    println!("f32 GEMM 640x384x1536:  native {gflops:.1} GFLOP/s, candle {candle_gflops:.1} GFLOP/s");
    println!("GEMM-bound limit (native GEMM): {limit:.1} sentences/s");
    println!(
        "load average at the end: {}",
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    println!(
        "cpu: avx512f={} avx2={} fma={}",
        std::arch::is_x86_feature_detected!("avx512f"),
        std::arch::is_x86_feature_detected!("avx2"),
        std::arch::is_x86_feature_detected!("fma")
    );
}

fn criterion_groups(c: &mut Criterion) {
    let texts = texts();
    let refs: Vec<&str> = texts.iter().take(256).map(String::as_str).collect();
    let backends: [(&str, Box<dyn Embedder>); 2] = [
        ("native", Box::new(BertEmbedder::load(model_dir(), opts(32)).unwrap())),
        ("candle", Box::new(CandleBertEmbedder::load(model_dir(), opts(32)).unwrap())),
    ];
    for (name, e) in &backends {
        let mut g = c.benchmark_group(format!("embed/{name}"));
        g.sample_size(10)
            .measurement_time(Duration::from_secs(10))
            .throughput(Throughput::Elements(refs.len() as u64));
        for batch in [32usize, 1] {
            g.bench_with_input(BenchmarkId::new("batch", batch), &refs, |b, refs| {
                b.iter(|| {
                    for chunk in refs.chunks(batch) {
                        e.embed(chunk).unwrap();
                    }
                })
            });
        }
        g.finish();
    }
}

criterion_group!(benches, criterion_groups);

fn main() {
    one_shot();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
