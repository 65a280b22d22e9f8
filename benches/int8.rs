//! The int8 forward (`minilm-int8`) against the f32 forward, in one run on this machine
//! (issue 32, part 2): sentences/s at batch 32 and batch 1 on the first 2,000 GoEmotions
//! training texts, 2 threads, the two embedders alternating (f32, int8, f32, int8, ...; best
//! of 3 each, so a busy moment hurts both alike); the query embedding's p50; the int8 and f32
//! products of MiniLM's FFN shape (640x384 by 384x1536) in GOP/s; and how close the int8
//! vectors are to the f32 ones on those texts (min and mean cosine). On a CPU with AVX-512,
//! also batch 32 with both forwards restricted to their AVX2 kernels (an AVX2-only host's).
//!
//! Needs the model (`scripts/fetch-model.sh`) and `../shared/data/goemotions/train.tsv`; it
//! says so and exits when either is absent. Not a test: no timed assertions.
//! Run: `cargo bench --bench int8`. Figures: docs/benchmarks.md. With `--json`: one round of
//! the batch 32 and batch 1 figures as a JSON line (for benches/peers/embed_peers.py).

use std::path::PathBuf;
use std::time::Instant;

use memorable::models::bert::gemm::{linear, Epilogue, PackedMatrix};
use memorable::models::bert::qgemm::{qlinear, QMatrix};
use memorable::models::bert::{BertEmbedder, Isa, QIsa};
use memorable::models::BertOptions;
use memorable::Embedder;

#[path = "common/minilm.rs"]
mod minilm;

const THREADS: usize = 2;
const TEXTS: usize = 2_000;
const ROUNDS: usize = 3;

fn texts() -> Vec<String> {
    minilm::goemotions("int8", "train").into_iter().take(TEXTS).collect()
}

fn model_dir() -> PathBuf {
    minilm::model_dir("int8")
}

fn opts(model_id: &str) -> BertOptions {
    BertOptions { model_id: model_id.into(), threads: THREADS, batch_size: 32, ..BertOptions::default() }
}

/// Sentences per second of one pass over `texts` in calls of `batch` texts.
fn per_second(e: &dyn Embedder, texts: &[&str], batch: usize) -> f64 {
    let t = Instant::now();
    for chunk in texts.chunks(batch) {
        e.embed(chunk).unwrap();
    }
    texts.len() as f64 / t.elapsed().as_secs_f64()
}

fn query_ms(e: &dyn Embedder) -> f64 {
    let q = ["When did Caroline go to the LGBTQ support group?"];
    for _ in 0..20 {
        e.embed(&q).unwrap();
    }
    let mut ms: Vec<f64> = (0..300)
        .map(|_| {
            let t = Instant::now();
            e.embed(&q).unwrap();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms[150]
}

fn best_of(mut f: impl FnMut()) -> f64 {
    for _ in 0..5 {
        f();
    }
    (0..10)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..10 {
                f();
            }
            t.elapsed().as_secs_f64() / 10.0
        })
        .fold(f64::MAX, f64::min)
}

/// GOP/s of the FFN-shaped product on one thread: (f32, int8).
fn products() -> (f64, f64) {
    let (m, k, n) = (640, 384, 1536);
    let ops = 2.0 * (m * k * n) as f64;
    let x: Vec<f32> = (0..m * k).map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 997.0).collect();
    let w: Vec<f32> = (0..n * k).map(|i| ((i * 104_729 % 997) as f32 - 498.0) / 1009.0).collect();
    let mut y = vec![0f32; m * n];
    let f = PackedMatrix::from_weight(&w, n, k, Isa::detect());
    let q = QMatrix::from_weight(&w, n, k, QIsa::detect(), Isa::detect(), None);
    let f32_s = best_of(|| linear(&x, m, &f, &mut y, Epilogue::None, 1));
    let i8_s = best_of(|| qlinear(&x, m, &q, &mut y, Epilogue::None, 1));
    (ops / f32_s / 1e9, ops / i8_s / 1e9)
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list`: nothing registered with a harness
    }
    let texts = texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let f32e = BertEmbedder::load(model_dir(), opts("sentence-transformers/all-MiniLM-L6-v2")).unwrap();
    if std::env::args().any(|a| a == "--json") {
        // One round for benches/peers/embed_peers.py, which alternates it with its peers.
        let i8e = BertEmbedder::load_int8(model_dir(), opts("sentence-transformers/all-MiniLM-L6-v2+int8"))
            .unwrap();
        f32e.embed(&refs[..64]).unwrap();
        i8e.embed(&refs[..64]).unwrap();
        let figures = |e: &BertEmbedder| serde_json::json!({"batch32": per_second(e, &refs, 32), "batch1": per_second(e, &refs[..500], 1)});
        println!("{}", serde_json::json!({"f32": figures(&f32e), "int8": figures(&i8e)}));
        return;
    }
    let t = Instant::now();
    let i8e =
        BertEmbedder::load_int8(model_dir(), opts("sentence-transformers/all-MiniLM-L6-v2+int8")).unwrap();
    let int8_load = t.elapsed();
    let a = f32e.embed(&refs).unwrap();
    let b = i8e.embed(&refs).unwrap();
    let cosines: Vec<f32> = a.iter().zip(&b).map(|(x, y)| cos(x, y)).collect();
    let min = cosines.iter().cloned().fold(1.0, f32::min);
    let mean = cosines.iter().sum::<f32>() / cosines.len() as f32;

    let mut best = [[0f64; 2]; 2]; // [batch 32, batch 1][f32, int8]
    for _ in 0..ROUNDS {
        for (bi, batch) in [32usize, 1].into_iter().enumerate() {
            let n = if batch == 1 { 500 } else { refs.len() };
            best[bi][0] = best[bi][0].max(per_second(&f32e, &refs[..n], batch));
            best[bi][1] = best[bi][1].max(per_second(&i8e, &refs[..n], batch));
        }
    }
    let (q32, q8) = (query_ms(&f32e), query_ms(&i8e));
    let (g32, g8) = products();
    // The AVX2 kernels on this CPU (what an AVX2-only host runs), when it has better ones.
    let avx2 = (Isa::detect() > Isa::Avx2 && QIsa::detect() > QIsa::Avx2).then(|| {
        let f = BertEmbedder::load_with_isa(
            model_dir(),
            opts("sentence-transformers/all-MiniLM-L6-v2"),
            Isa::Avx2,
        )
        .unwrap();
        let q = BertEmbedder::load_int8_with(
            model_dir(),
            opts("sentence-transformers/all-MiniLM-L6-v2+int8"),
            Isa::Avx2,
            QIsa::Avx2,
        )
        .unwrap();
        let mut best = [0f64; 2];
        for _ in 0..ROUNDS {
            best[0] = best[0].max(per_second(&f, &refs, 32));
            best[1] = best[1].max(per_second(&q, &refs, 32));
        }
        best
    });

    println!("== int8 vs f32: all-MiniLM-L6-v2, {THREADS} threads, {} GoEmotions texts ==", refs.len());
    println!("kernels: f32 {}, int8 {}", Isa::detect().name(), QIsa::detect().name());
    println!("int8 load (f32 load + calibration + quantization): {:.0} ms", int8_load.as_secs_f64() * 1e3);
    for (bi, name) in ["batch 32", "batch 1 (first 500)"].into_iter().enumerate() {
        println!(
            "{name:<22} f32 {:>7.1} sentences/s   int8 {:>7.1}   int8 / f32 {:.2}x",
            best[bi][0],
            best[bi][1],
            best[bi][1] / best[bi][0]
        );
    }
    println!("query embedding p50:   f32 {q32:.2} ms   int8 {q8:.2} ms");
    if let Some([f, q]) = avx2 {
        println!(
            "batch 32, AVX2 kernels forced: f32 {f:.1} sentences/s   int8 {q:.1}   int8 / f32 {:.2}x",
            q / f
        );
    }
    println!(
        "FFN product 640x384x1536, 1 thread: f32 {g32:.1} GFLOP/s, int8 {g8:.1} GOP/s ({:.2}x)",
        g8 / g32
    );
    println!("cosine int8 vs f32 over the texts: min {min:.5}, mean {mean:.5}");
    println!(
        "load average at the end: {}",
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
}
