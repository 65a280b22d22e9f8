//! Cost of the shipped text emotion classifier against the embedding it sits beside:
//! `Memorable::classify` (LoRA-adapted MiniLM through candle, then the head) and the store's
//! own embedding (`Embedder::embed`, the native MiniLM forward) over the same 512 GoEmotions
//! dev texts, 2 threads, batch of all texts at once and one text per call; printed first as
//! one-shot figures (texts/s and the classifier's cost as a multiple of the embedding), then
//! the criterion groups `classify/*` on a 64-text slice.
//!
//! Needs the model (`scripts/fetch-model.sh`) and `../shared/data/goemotions/dev.tsv`
//! beside the repository; it says so and exits when either is absent.
//! Run: `cargo bench --bench classify` (`-- nomatch` for the one-shot figures only).
//! Figures: docs/benchmarks.md.

use std::path::Path;
use std::time::Instant;

use std::sync::Arc;

use criterion::{criterion_group, Criterion, Throughput};
use memorable::models::select::resolve_embedder;
use memorable::{Builder, Config, Embedder, Memorable};

const TEXTS: usize = 512;

fn texts() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/goemotions/dev.tsv");
    let Ok(tsv) = std::fs::read_to_string(&path) else {
        eprintln!("classify bench: {} is absent; it needs the GoEmotions data. Exiting.", path.display());
        std::process::exit(0);
    };
    tsv.lines()
        .filter_map(|l| l.split('\t').next())
        .filter(|t| !t.trim().is_empty())
        .take(TEXTS)
        .map(str::to_owned)
        .collect()
}

/// A store on the cached MiniLM, and that embedder (shared, so both time the same model).
fn open() -> (Memorable, Arc<dyn Embedder>) {
    let mut config = Config::default();
    config.embedder = "minilm".into();
    let missing = || -> ! {
        eprintln!("classify bench: MiniLM is not in the model cache (scripts/fetch-model.sh). Exiting.");
        std::process::exit(0)
    };
    let Ok((embedder, _)) = resolve_embedder(&config.model_choice(), None) else { missing() };
    if embedder.is_fallback() {
        missing();
    }
    match Builder::in_memory().config(config).embedder(embedder.clone()).open() {
        Ok(m) if m.stats().map(|s| s.classifier.available).unwrap_or(false) => (m, embedder),
        _ => missing(),
    }
}

/// Seconds per pass of `f` (best of 3, after one warm-up).
fn time(mut f: impl FnMut()) -> f64 {
    f();
    (0..3)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn one_shot(mem: &Memorable, embedder: &dyn Embedder, texts: &[&str]) {
    let n = texts.len() as f64;
    let embed_all = time(|| drop(embedder.embed(texts).unwrap()));
    let classify_all = time(|| drop(mem.classify(texts).unwrap()));
    let slice = &texts[..64];
    let embed_one = time(|| slice.iter().for_each(|t| drop(embedder.embed(&[t]).unwrap())));
    let classify_one = time(|| slice.iter().for_each(|t| drop(mem.classify(&[t]).unwrap())));
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "classify bench: {} texts, 2 threads, load {}",
        texts.len(),
        load.split(' ').next().unwrap_or("?")
    );
    println!(
        "  all at once: embed {:.0} texts/s, classify {:.0} texts/s, classify = {:.2} x embed",
        n / embed_all,
        n / classify_all,
        classify_all / embed_all
    );
    println!(
        "  one per call: embed {:.0} texts/s, classify {:.0} texts/s, classify = {:.2} x embed",
        64.0 / embed_one,
        64.0 / classify_one,
        classify_one / embed_one
    );
}

fn bench(c: &mut Criterion) {
    let texts = texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (mem, embedder) = open();
    one_shot(&mem, embedder.as_ref(), &refs);
    let slice = &refs[..64];
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Elements(slice.len() as u64));
    g.sample_size(10);
    g.bench_function("embed_64", |b| b.iter(|| embedder.embed(slice).unwrap()));
    g.bench_function("classify_64", |b| b.iter(|| mem.classify(slice).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
