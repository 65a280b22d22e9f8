//! Cost of the shipped text emotion classifier against the embedding it sits beside, over the
//! same 512 GoEmotions dev texts, 2 threads, at batch 512, 32 and 1: the store's embedding
//! alone (`Embedder::embed`, the native MiniLM forward), the classifier on its own candle
//! encoder (LoRA-adapted MiniLM, then the head), and the shared pass a store's write path runs
//! (`SharedPassClassifier::embed_and_classify`: the embedder's lower layers once, then its
//! plain and adapted top layers: the vector and the scores). Printed first as one-shot
//! figures (texts/s, and cost as a multiple of the embedding alone), then the criterion
//! groups `classify/*` on a 64-text slice.
//!
//! Needs the model (`scripts/fetch-model.sh`) and `../shared/data/goemotions/dev.tsv`
//! beside the repository; it says so and exits when either is absent.
//! Run: `cargo bench --bench classify` (`-- nomatch` for the one-shot figures only).
//! Figures: docs/benchmarks.md.

use std::path::Path;
use std::time::Instant;

use std::sync::Arc;

use criterion::{criterion_group, Criterion, Throughput};
use memorable::models::emotion_adapter::{builtin_manifest, load_default, BUILTIN_ADAPTER};
use memorable::models::select::resolve_embedder;
use memorable::models::ClassifierOptions;
use memorable::models::SharedPassClassifier;
use memorable::{Builder, Config, Embedder, EmotionClassifier, Memorable};

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

/// The shipped classifier on the store embedder's own encoder (the write path's shared pass).
fn shared_pass(embedder: &Arc<dyn Embedder>) -> SharedPassClassifier {
    let bert = embedder.clone().native_bert().expect("the cached MiniLM runs on the native forward here");
    SharedPassClassifier::new(builtin_manifest(), BUILTIN_ADAPTER, bert).expect("the shipped adapter loads")
}

fn one_shot(
    candle: &dyn EmotionClassifier,
    embedder: &dyn Embedder,
    shared: &SharedPassClassifier,
    texts: &[&str],
) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "classify bench: {} texts, 2 threads, load {}",
        texts.len(),
        load.split(' ').next().unwrap_or("?")
    );
    println!(
        "  batch | embed texts/s | classify (candle) x embed | classify (native) x embed | shared pass texts/s | shared pass x embed"
    );
    for batch in [texts.len(), 32, 1] {
        // Batch 1 over the first 64 texts (one call each), else the whole set in `batch`es.
        let part = if batch == 1 { &texts[..64] } else { texts };
        let n = part.len() as f64;
        let embed = time(|| part.chunks(batch).for_each(|c| drop(embedder.embed(c).unwrap())));
        let classify = time(|| part.chunks(batch).for_each(|c| drop(candle.classify(c).unwrap())));
        let native = time(|| part.chunks(batch).for_each(|c| drop(shared.classify(c).unwrap())));
        let joint = time(|| part.chunks(batch).for_each(|c| drop(shared.embed_and_classify(c).unwrap())));
        println!(
            "  {batch:>5} | {:>13.0} | {:>25.2} | {:>25.2} | {:>19.0} | {:>19.2}",
            n / embed,
            classify / embed,
            native / embed,
            n / joint,
            joint / embed
        );
    }
}

fn bench(c: &mut Criterion) {
    let texts = texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let (mem, embedder) = open();
    let shared = shared_pass(&embedder);
    let opts = ClassifierOptions { threads: 2, ..ClassifierOptions::default() };
    let candle = load_default(embedder.model_id(), None, opts).expect("the candle classifier loads");
    one_shot(candle.as_ref(), embedder.as_ref(), &shared, &refs);
    let slice = &refs[..64];
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Elements(slice.len() as u64));
    g.sample_size(10);
    g.bench_function("embed_64", |b| b.iter(|| embedder.embed(slice).unwrap()));
    g.bench_function("classify_candle_64", |b| b.iter(|| candle.classify(slice).unwrap()));
    g.bench_function("memorable_classify_64", |b| b.iter(|| mem.classify(slice).unwrap()));
    g.bench_function("shared_pass_64", |b| b.iter(|| shared.embed_and_classify(slice).unwrap()));
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
