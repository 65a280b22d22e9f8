//! The local generator (SmolLM2-135M-Instruct Q4_1, 2 threads) against llama.cpp on the same
//! GGUF, thread count and work, in the same run:
//! - load time (file to first token ready), prompt processing tokens/s (a 256-token prompt,
//!   one batch) and decode tokens/s (128 tokens one at a time, logits each; sampling not
//!   included), medians of 3, and peak RSS;
//! - the machine's memory-bandwidth bound per decoded token: every weight is read once a token,
//!   so decode cannot beat (measured read bandwidth, 2 threads) / (bytes of weights);
//! - llama.cpp through llama-cpp-python (`benches/peers/llama_cpp_generate.py`, run with
//!   `$MEMORABLE_LLAMA_PYTHON`, default `python3`), and the ratios.
//!
//! Needs the model (`scripts/fetch-model.sh smollm2`); llama-cpp-python is optional (the peer
//! is reported missing). Run: `cargo bench --bench generate`. Figures: docs/benchmarks.md.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use memorable::models::cache::{self, Manifest};
use memorable::models::llm::gguf::GgufGenerator;

const THREADS: usize = 2;
const PROMPT: usize = 256;
const DECODE: usize = 128;
const REPS: usize = 3;

fn model_path() -> Option<PathBuf> {
    let dir = cache::cache_dir(None)?;
    let entry = Manifest::builtin().get("smollm2")?.clone();
    cache::verify(&dir.join("smollm2"), &entry).ok()?;
    Some(dir.join("smollm2").join(&entry.files[0].path))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Read bandwidth with `THREADS` threads over a buffer far larger than the caches (GB/s, best
/// of 5).
fn read_bandwidth() -> f64 {
    let words = 64 << 20; // 512 MiB of u64
    let buf: Vec<u64> = (0..words as u64).collect();
    let mut best = 0f64;
    for _ in 0..5 {
        let started = Instant::now();
        let sums: u64 = std::thread::scope(|s| {
            let handles: Vec<_> = buf
                .chunks(words / THREADS)
                .map(|part| s.spawn(move || part.iter().fold(0u64, |a, v| a.wrapping_add(*v))))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).fold(0, u64::wrapping_add)
        });
        std::hint::black_box(sums);
        best = best.max((words * 8) as f64 / started.elapsed().as_secs_f64() / 1e9);
    }
    best
}

fn main() {
    let Some(path) = model_path() else {
        eprintln!("benches/generate: SmolLM2 is not in the model cache; run scripts/fetch-model.sh smollm2");
        return;
    };
    let started = Instant::now();
    let g = GgufGenerator::load(&path, "smollm2", THREADS).expect("load SmolLM2");
    let load_s = started.elapsed().as_secs_f64();
    let prompt: Vec<u32> = (0..PROMPT).map(|i| ((i * 7919) % 40000 + 1000) as u32).collect();
    let (mut pp, mut dec) = (Vec::new(), Vec::new());
    for _ in 0..REPS {
        let mut s = g.session(PROMPT + DECODE);
        let t = Instant::now();
        g.feed(&mut s, &prompt).unwrap();
        pp.push(PROMPT as f64 / t.elapsed().as_secs_f64());
        let t = Instant::now();
        for i in 0..DECODE {
            g.feed(&mut s, &[((i * 104729) % 40000 + 1000) as u32]).unwrap();
        }
        dec.push(DECODE as f64 / t.elapsed().as_secs_f64());
    }
    let (pp, dec, rss) = (median(pp), median(dec), peak_rss_mb());
    let bw = read_bandwidth();
    let weights = g.weight_bytes() as f64;
    println!("SmolLM2-135M-Instruct Q4_1, {THREADS} threads, prompt {PROMPT} tokens, decode {DECODE} tokens, medians of {REPS}");
    println!(
        "memorable: load {load_s:.2} s, prompt {pp:.0} tok/s, decode {dec:.1} tok/s, peak RSS {rss:.0} MB"
    );
    println!(
        "memory bandwidth (read, {THREADS} threads): {bw:.1} GB/s; weights read per token {:.1} MB -> decode bound {:.0} tok/s (memorable at {:.0} % of it)",
        weights / 1e6,
        bw * 1e9 / weights,
        100.0 * dec / (bw * 1e9 / weights)
    );
    let python = std::env::var("MEMORABLE_LLAMA_PYTHON").unwrap_or_else(|_| "python3".into());
    let peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers/llama_cpp_generate.py");
    let out = Command::new(&python)
        .arg(&peer)
        .arg(&path)
        .args([THREADS, PROMPT, DECODE, REPS].map(|n| n.to_string()))
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("peer JSON");
            let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
            println!(
                "llama.cpp (llama-cpp-python): load {:.2} s, prompt {:.0} tok/s, decode {:.1} tok/s, peak RSS {:.0} MB (a Python process)",
                f("load_s"),
                f("prompt_tok_s"),
                f("decode_tok_s"),
                f("peak_rss_mb")
            );
            println!(
                "ratio memorable / llama.cpp: prompt {:.2}x (target 0.5x), decode {:.2}x (target 0.8x)",
                pp / f("prompt_tok_s"),
                dec / f("decode_tok_s")
            );
        }
        Ok(o) => println!("llama.cpp peer failed ({python}): {}", String::from_utf8_lossy(&o.stderr).trim()),
        Err(e) => println!("llama.cpp peer not run ({python}: {e}); set MEMORABLE_LLAMA_PYTHON to a Python with llama-cpp-python"),
    }
}
