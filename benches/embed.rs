//! Embedding benchmarks for the candle all-MiniLM-L6-v2 embedder, on 2 threads:
//! - a one-shot pass over the first 5,000 GoEmotions training texts at batch 32 and batch 1
//!   (sentences/s), cold model load time and the process's peak RSS;
//! - the machine's ceiling measured in the same run: f32 GEMM GFLOP/s of a 640x384 by
//!   384x1536 product with candle's matmul, and throughput as a share of the GEMM-bound limit
//!   (GFLOP/s / (21 MFLOP x mean tokens per sentence));
//! - criterion groups `embed/batch32` and `embed/batch1` on a 256-text slice.
//!
//! Needs the model (`scripts/fetch-model.sh`) and `../shared/data/goemotions/train.tsv`
//! relative to the repository; it says so and exits when either is absent.
//! Run: `cargo bench --bench embed`. Figures: docs/benchmarks.md.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use candle_core::{Device, Tensor};
use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use memorable::models::cache::{self, Manifest};
use memorable::models::{BertOptions, CandleBertEmbedder};
use memorable::Embedder;

const THREADS: usize = 2;
const TEXTS: usize = 5_000;
/// Forward FLOPs per token of MiniLM-L6 (6 layers x 2 x (4 x 384^2 + 2 x 384 x 1536)),
/// ignoring attention scores (small at these lengths).
const FLOP_PER_TOKEN: f64 = 21.2e6;

fn data_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/goemotions/train.tsv")
}

fn texts() -> Vec<String> {
    let path = data_path();
    let Ok(tsv) = std::fs::read_to_string(&path) else {
        eprintln!(
            "embed bench: {} is absent; this benchmark needs the GoEmotions data. Exiting.",
            path.display()
        );
        std::process::exit(0);
    };
    tsv.lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|t| !t.trim().is_empty())
        .take(TEXTS)
        .map(str::to_owned)
        .collect()
}

fn model_dir() -> PathBuf {
    let dir = cache::cache_dir(None).map(|d| d.join("minilm"));
    let minilm = Manifest::builtin().get("minilm").cloned().unwrap();
    match dir {
        Some(d) if cache::verify(&d, &minilm).is_ok() => d,
        _ => {
            eprintln!("embed bench: all-MiniLM-L6-v2 is not in the model cache; run scripts/fetch-model.sh. Exiting.");
            std::process::exit(0);
        }
    }
}

fn load(batch_size: usize) -> CandleBertEmbedder {
    CandleBertEmbedder::load(
        model_dir(),
        BertOptions { threads: THREADS, batch_size, ..BertOptions::default() },
    )
    .expect("load MiniLM")
}

fn vm_hwm_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// f32 GEMM GFLOP/s of (640x384)(384x1536) on a THREADS-thread pool, best of a few runs.
fn gemm_gflops() -> f64 {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(THREADS).build().unwrap();
    pool.install(|| {
        let a = Tensor::randn(0f32, 1.0, (640, 384), &Device::Cpu).unwrap();
        let b = Tensor::randn(0f32, 1.0, (384, 1536), &Device::Cpu).unwrap();
        let flop = 2.0 * 640.0 * 384.0 * 1536.0;
        for _ in 0..5 {
            a.matmul(&b).unwrap();
        }
        let mut best = f64::MAX;
        for _ in 0..10 {
            let t = Instant::now();
            for _ in 0..10 {
                a.matmul(&b).unwrap();
            }
            best = best.min(t.elapsed().as_secs_f64() / 10.0);
        }
        flop / best / 1e9
    })
}

fn one_shot() {
    let texts = texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();

    let t = Instant::now();
    let e32 = load(32);
    let cold_load = t.elapsed();
    let tokens: usize = e32.token_counts(&refs).unwrap().iter().sum();
    let mean_tokens = tokens as f64 / refs.len() as f64;
    e32.embed(&refs[..64]).unwrap(); // warm-up

    let t = Instant::now();
    e32.embed(&refs).unwrap();
    let b32 = refs.len() as f64 / t.elapsed().as_secs_f64();

    let e1 = load(1);
    e1.embed(&refs[..16]).unwrap();
    let t = Instant::now();
    for chunk in refs.chunks(1) {
        e1.embed(chunk).unwrap();
    }
    let b1 = refs.len() as f64 / t.elapsed().as_secs_f64();
    let rss = vm_hwm_mb();

    let gflops = gemm_gflops();
    let limit = gflops * 1e9 / (FLOP_PER_TOKEN * mean_tokens);
    println!(
        "== embed one-shot: all-MiniLM-L6-v2, candle CPU, {THREADS} threads, {} GoEmotions texts ==",
        refs.len()
    );
    println!("mean tokens per text (with [CLS]/[SEP]): {mean_tokens:.1}");
    println!("cold model load:        {:.0} ms", cold_load.as_secs_f64() * 1e3);
    println!(
        "batch 32:               {b32:.1} sentences/s ({:.0}% of GEMM-bound limit)",
        100.0 * b32 / limit
    );
    println!("batch 1:                {b1:.1} sentences/s ({:.0}% of GEMM-bound limit)", 100.0 * b1 / limit);
    println!("f32 GEMM 640x384x1536:  {gflops:.1} GFLOP/s -> GEMM-bound limit {limit:.1} sentences/s");
    println!("peak RSS (VmHWM):       {rss:.0} MB");
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
    let mut g = c.benchmark_group("embed");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(refs.len() as u64));
    for batch in [32usize, 1] {
        let e = load(batch);
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

criterion_group!(benches, criterion_groups);

fn main() {
    one_shot();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
