//! The cost of encryption at rest, plain and encrypted stores side by side in one run
//! (hashing embedder, on-disk stores, one user):
//! - `remember_batch` of 1,000 memories, 20 batches: p50 wall time per batch;
//! - `recall` (hybrid, limit 10) at 20k memories: p50 / p95 of 1,000 timed calls, 1,000
//!   different queries (rows come from SQLite, i.e. through SQLCipher's page decryption);
//! - `open` of the 20k store: `open()` alone (an encrypted open derives its key once), the
//!   first recall, and the time until the user's graph is in (from the index dump: an
//!   encrypted store's is sealed, and unsealed into a RAM directory to load).
//!
//! Run: `cargo bench --bench encryption`. Figures: docs/benchmarks.md, "Encryption at rest".

use std::path::Path;
use std::time::{Duration, Instant};

use memorable::{Config, EncryptionKey, Memorable, NewMemory, Recall};

#[path = "common/textgen.rs"]
mod textgen;
use textgen::TextGen;

fn config(key: Option<&str>) -> Config {
    let mut config = Config::default();
    config.embedder = "hashing".into();
    config.encryption_key = key.map(|k| EncryptionKey::new(k).unwrap());
    config
}

fn open(dir: &Path, key: Option<&str>) -> Memorable {
    Memorable::builder(dir).config(config(key)).open().unwrap()
}

fn p(mut times: Vec<Duration>, q: f64) -> f64 {
    times.sort();
    times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3
}

fn batch(gen: &mut TextGen) -> Vec<NewMemory> {
    (0..1_000).map(|_| NewMemory::new("bench", gen.text(8, 15))).collect()
}

fn main() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("| | plain | encrypted | ratio |\n|---|---|---|---|");
    let tmp = tempfile::tempdir().unwrap();
    let mut rows: Vec<(String, [f64; 2])> = Vec::new();
    let keys = [None, Some("bench key: a long random passphrase")];
    let mut results = [[0.0f64; 7]; 2];
    for (k, key) in keys.iter().enumerate() {
        let dir = tmp.path().join(if key.is_some() { "enc" } else { "plain" });
        // Writes: 20 batches of 1,000 on a fresh store.
        let mem = open(&dir, *key);
        let mut gen = TextGen(7);
        let walls: Vec<Duration> = (0..20)
            .map(|_| {
                let b = batch(&mut gen);
                let t = Instant::now();
                mem.remember_batch(b).unwrap();
                t.elapsed()
            })
            .collect();
        results[k][0] = p(walls, 0.5);
        // Recall at 20k: 1,000 different queries, each once.
        mem.checkpoint().unwrap();
        let mut qgen = TextGen(99);
        let recalls: Vec<Duration> = (0..1_000)
            .map(|_| {
                let q: String = qgen.text(8, 15).split(' ').take(4).collect::<Vec<_>>().join(" ");
                let t = Instant::now();
                mem.recall(&Recall::new("bench", q).limit(10)).unwrap();
                t.elapsed()
            })
            .collect();
        results[k][1] = p(recalls.clone(), 0.5);
        results[k][2] = p(recalls, 0.95);
        mem.close().unwrap();
        drop(mem);
        // Open: five times.
        let (mut opens, mut firsts, mut graphs) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..5 {
            let t = Instant::now();
            let mem = open(&dir, *key);
            opens.push(t.elapsed());
            let t1 = Instant::now();
            mem.recall(&Recall::new("bench", "w1 w2 w3").limit(10)).unwrap();
            firsts.push(t1.elapsed());
            mem.checkpoint().unwrap(); // waits for the user's graph
            graphs.push(t.elapsed());
            mem.close().unwrap();
        }
        results[k][3] = p(opens, 0.5);
        results[k][4] = p(firsts, 0.5);
        results[k][5] = p(graphs, 0.5);
        results[k][6] =
            std::fs::metadata(dir.join("memorable.db")).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    }
    let names = [
        "remember_batch of 1,000, p50 (ms)",
        "recall at 20k, p50 (ms)",
        "recall at 20k, p95 (ms)",
        "open() of the 20k store, p50 (ms)",
        "first recall after open, p50 (ms)",
        "open until the graph is in, p50 (ms)",
        "database file (MB)",
    ];
    for (i, name) in names.iter().enumerate() {
        rows.push((name.to_string(), [results[0][i], results[1][i]]));
    }
    for (name, [a, b]) in rows {
        println!("| {name} | {a:.2} | {b:.2} | {:.2}× |", b / a);
    }
    println!("\n(1-minute load average at start: {})", load.split_whitespace().next().unwrap_or("?"));
}
