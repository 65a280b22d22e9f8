//! Recall while a training job runs: p50 / p95 of `recall` (MiniLM, hybrid, limit 10, the
//! query embedded each call) on a 2,000-memory store, idle and then while a quick-preset job
//! (one thread, the default) computes features and trains in the background on 6,000
//! examples. The job is cancelled when the timed calls are done.
//!
//! Run: `cargo bench --bench training_recall` (needs the MiniLM in the model cache; trained
//! versions go to a private cache that links it). Figures: docs/benchmarks.md, "Custom
//! emotion classifiers".

use std::path::Path;
use std::time::{Duration, Instant};

use memorable::models::cache::{self, Manifest};
use memorable::{Config, JobState, Memorable, NewExample, NewMemory, Recall, TrainOptions};

#[path = "common/textgen.rs"]
mod textgen;
use textgen::TextGen;

const MEMORIES: usize = 2_000;
const EXAMPLES: usize = 6_000;
const CALLS: usize = 200;

fn private_cache(root: &Path) -> std::path::PathBuf {
    let real = cache::cache_dir(None).expect("a model cache");
    let minilm = Manifest::builtin().get("minilm").unwrap().clone();
    cache::verify(&real.join("minilm"), &minilm).expect("MiniLM in the model cache (scripts/fetch-model.sh)");
    let models = root.join("models");
    for f in &minilm.files {
        let to = models.join("minilm").join(&f.path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(real.join("minilm").join(&f.path), &to).unwrap();
    }
    models
}

fn timed(mem: &Memorable, gen: &mut TextGen) -> (f64, f64) {
    let mut ms: Vec<f64> = (0..CALLS)
        .map(|_| {
            let q = gen.text(3, 6);
            let t = Instant::now();
            mem.recall(&Recall::new("bench", q).limit(10)).unwrap();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (ms[ms.len() / 2], ms[ms.len() * 95 / 100])
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.embedder = "minilm".into();
    config.model_dir = Some(private_cache(tmp.path()));
    let mem = Memorable::builder(tmp.path().join("store")).config(config).open().unwrap();
    let mut gen = TextGen(0x5EED);
    for chunk in (0..MEMORIES).collect::<Vec<_>>().chunks(500) {
        let batch = chunk.iter().map(|_| NewMemory::new("bench", gen.text(8, 15))).collect();
        mem.remember_batch(batch).unwrap();
    }
    let labels = ["anger", "joy", "sadness", "fear"];
    let examples: Vec<NewExample> = (0..EXAMPLES)
        .map(|i| NewExample { text: gen.text(8, 20), labels: vec![labels[i % 4].to_owned()] })
        .collect();
    mem.add_examples("bench", &examples, "bench", None).unwrap();
    mem.recall(&Recall::new("bench", "warm up")).unwrap();

    let idle = timed(&mem, &mut gen);
    let job = mem.train("bench", &TrainOptions::default()).unwrap();
    // Let the worker load the models and start computing features.
    let started = Instant::now();
    while mem.job(job).unwrap().progress.get("done").and_then(|d| d.as_u64()).unwrap_or(0) == 0 {
        assert!(started.elapsed() < Duration::from_secs(120), "the job did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let busy = timed(&mem, &mut gen);
    let phase = mem.job(job).unwrap().progress["phase"].clone();
    let state = mem.cancel_job(job).unwrap().state;
    while !mem.job(job).unwrap().state.is_final() {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(matches!(state, JobState::Running | JobState::Cancelled));
    println!(
        "recall (MiniLM, {MEMORIES} memories, {CALLS} calls): idle p50 {:.2} ms p95 {:.2} ms",
        idle.0, idle.1
    );
    println!(
        "recall during a quick training job (1 thread, phase {phase}): p50 {:.2} ms p95 {:.2} ms ({:.2}x idle p50)",
        busy.0,
        busy.1,
        busy.0 / idle.0
    );
    mem.close().unwrap();
}
