//! The engine's own HNSW (`memorable::ann::DenseHnsw`) on real MiniLM vectors (issue 32,
//! part 3): every distinct GoEmotions text (train + dev), embedded with all-MiniLM-L6-v2 (f32,
//! cached under target/ann/ after the first run); every 54th held out as a query (~1,000).
//! Build time (one thread, M 16, ef_construction 200), bytes a vector, dump and read-back
//! (open) time, and per `ef` the
//! recall@10 against an exact scan and queries/s on one thread. Writes the base vectors, the
//! queries and the exact top 10 to target/ann/ for `benches/peers/ann_peers.py` (hnswlib and
//! faiss on the same vectors; `benches/peers/ann_run.sh` runs both, alternating). Text mode
//! also builds with the per-user index's defaults (ef_construction 100).
//!
//! With `--million`: the 1M set of `jittered_million` instead (files under
//! target/ann/million/).
//!
//! Needs the model (`scripts/fetch-model.sh`) and ../shared/data/goemotions/; says so and exits
//! without. Run: `cargo bench --bench ann [-- --json]`. Figures: docs/benchmarks.md.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use memorable::ann::{DenseHnsw, HnswParams};
use memorable::models::bert::BertEmbedder;
use memorable::models::BertOptions;
use memorable::Embedder;

#[path = "common/minilm.rs"]
mod minilm;

const EFS: [usize; 11] = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384];
const K: usize = 10;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn texts() -> Vec<String> {
    let mut seen = HashSet::new();
    let mut all = minilm::goemotions("ann", "train");
    all.extend(minilm::goemotions("ann", "dev"));
    all.retain(|t| seen.insert(t.clone()));
    all
}

fn write_f32(path: &Path, rows: &[Vec<f32>]) {
    let bytes: Vec<u8> = rows.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

fn read_f32(path: &Path, dim: usize) -> Option<Vec<Vec<f32>>> {
    let bytes = std::fs::read(path).ok()?;
    let all: Vec<f32> = bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Some(all.chunks_exact(dim).map(<[f32]>::to_vec).collect())
}

/// All vectors (cached): embedding ~54k texts takes a minute and a half on 2 cores.
fn vectors() -> Vec<Vec<f32>> {
    let dir = repo().join("target/ann");
    std::fs::create_dir_all(&dir).unwrap();
    let cached = dir.join("goemotions-minilm.f32");
    let texts = texts();
    if let Some(v) = read_f32(&cached, 384).filter(|v| v.len() == texts.len()) {
        return v;
    }
    let model = minilm::model_dir("ann");
    let e = BertEmbedder::load(model, BertOptions { threads: 2, ..BertOptions::default() }).unwrap();
    eprintln!("embedding {} texts (once; cached in {})", texts.len(), cached.display());
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let v = e.embed(&refs).unwrap();
    write_f32(&cached, &v);
    v
}

/// The 1M set: each of the ~48.6k MiniLM vectors and 20 noisy copies of it (Gaussian noise,
/// sigma 0.03 a component: cosine ~0.85 to the original, so each text has a cluster of near
/// paraphrase-like neighbours), normalized, the first 1,000,000; the queries are 1,000 further
/// noisy copies of every 48th original. Seeded: the same set on every run.
fn jittered_million(all: &[Vec<f32>]) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut gauss = move || {
        // Box-Muller on xorshift64*.
        let mut uniform = || {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            ((s.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (u, v) = (uniform(), uniform());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    };
    let mut jitter = |v: &[f32]| -> Vec<f32> {
        let mut out: Vec<f32> = v.iter().map(|x| x + 0.03 * gauss()).collect();
        let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
        out.iter_mut().for_each(|x| *x /= norm);
        out
    };
    let mut base = Vec::with_capacity(1_000_000);
    'fill: for copy in 0..21 {
        for v in all {
            if base.len() == 1_000_000 {
                break 'fill;
            }
            base.push(if copy == 0 { v.clone() } else { jitter(v) });
        }
    }
    let queries = all.iter().step_by(48).take(1_000).map(|v| jitter(v)).collect();
    (base, queries)
}

/// The exact top K of each query by a scan.
fn scan(base: &[Vec<f32>], queries: &[Vec<f32>]) -> Vec<Vec<u32>> {
    queries
        .iter()
        .map(|q| {
            let mut d: Vec<(f32, u32)> =
                base.iter().enumerate().map(|(i, v)| (-dot(q, v), i as u32)).collect();
            d.select_nth_unstable_by(K, |x, y| x.0.total_cmp(&y.0));
            let mut top = d[..K].to_vec();
            top.sort_by(|x, y| x.0.total_cmp(&y.0));
            top.into_iter().map(|t| t.1).collect()
        })
        .collect()
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let json = std::env::args().any(|a| a == "--json");
    let million = std::env::args().any(|a| a == "--million");
    let all = vectors();
    let (mut base, mut queries) = (Vec::new(), Vec::new());
    if million {
        (base, queries) = jittered_million(&all);
    } else {
        for (i, v) in all.into_iter().enumerate() {
            if i % 54 == 53 {
                queries.push(v)
            } else {
                base.push(v)
            }
        }
    }
    // Exact top 10 by a scan (the ground truth, also for the peers).
    let truth: Vec<Vec<u32>> = std::thread::scope(|s| {
        let (a, b) = queries.split_at(queries.len() / 2);
        let base = &base;
        let first = s.spawn(move || scan(base, a));
        let second = scan(base, b);
        let mut out = first.join().unwrap();
        out.extend(second);
        out
    });
    let dir = repo().join(if million { "target/ann/million" } else { "target/ann" });
    std::fs::create_dir_all(&dir).unwrap();
    write_f32(&dir.join("base.f32"), &base);
    write_f32(&dir.join("queries.f32"), &queries);
    let tbytes: Vec<u8> = truth.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(dir.join("truth.u32"), tbytes).unwrap();

    let params = HnswParams::default();
    let (g, build) = build_graph(&base, params);
    let rows = sweep(&g, &queries, &truth, &EFS);
    let (dump_s, open_s, dump_bytes) = dump_and_open(&g);
    if json {
        let r: Vec<_> =
            rows.iter().map(|(ef, r, q)| serde_json::json!({"ef": ef, "recall": r, "qps": q})).collect();
        println!(
            "{}",
            serde_json::json!({"system": "memorable", "build_s": build, "bytes_per_vector": g.bytes() as f64 / base.len() as f64, "dump_s": dump_s, "open_s": open_s, "sweep": r})
        );
        return;
    }
    let set =
        if million { "MiniLM vectors (GoEmotions, jittered to 1M)" } else { "MiniLM vectors (GoEmotions)" };
    println!("== DenseHnsw on {} {set}, {} queries, 1 thread ==", base.len(), queries.len());
    println!(
        "M {}, ef_construction {}: build {build:.1} s (one thread), {:.0} bytes a vector",
        params.m,
        params.ef_construction,
        g.bytes() as f64 / base.len() as f64
    );
    println!(
        "dump {dump_s:.2} s ({:.0} bytes a vector on disk), read back (what an index's open does) {open_s:.2} s",
        dump_bytes as f64 / base.len() as f64
    );
    for (ef, r, q) in rows {
        println!("ef {ef:>4}: recall@10 {r:.4}, {q:>8.0} queries/s");
    }
    // The per-user index's own parameters (HnswConfig's defaults: ef_construction 100).
    let engine = HnswParams { ef_construction: 100, ..params };
    let (g, build) = build_graph(&base, engine);
    println!("engine defaults (M {}, ef_construction 100): build {build:.1} s (one thread)", engine.m);
    for (ef, r, q) in sweep(&g, &queries, &truth, &[32, 64, 128, 256]) {
        println!("ef {ef:>4}: recall@10 {r:.4}, {q:>8.0} queries/s");
    }
}

fn build_graph(base: &[Vec<f32>], params: HnswParams) -> (DenseHnsw, f64) {
    let t = Instant::now();
    let mut g = DenseHnsw::new(384, params);
    for (i, v) in base.iter().enumerate() {
        g.insert(i as u64, v);
    }
    (g, t.elapsed().as_secs_f64())
}

/// Per ef: (ef, recall@10 of the first round, best queries/s of three rounds).
fn sweep(g: &DenseHnsw, queries: &[Vec<f32>], truth: &[Vec<u32>], efs: &[usize]) -> Vec<(usize, f64, f64)> {
    let mut rows = Vec::new();
    for &ef in efs {
        let mut best = f64::MAX;
        let mut hits = 0;
        for round in 0..3 {
            let t = Instant::now();
            let mut h = 0;
            for (q, tr) in queries.iter().zip(truth) {
                h += g.search(q, K, ef).iter().filter(|(id, _)| tr.contains(&(*id as u32))).count();
            }
            best = best.min(t.elapsed().as_secs_f64());
            if round == 0 {
                hits = h;
            }
        }
        let recall = hits as f64 / (K * queries.len()) as f64;
        rows.push((ef, recall, queries.len() as f64 / best));
    }
    rows
}

/// Seconds to write the graph's dump (to memory) and to read it back, and the dump's bytes.
fn dump_and_open(g: &DenseHnsw) -> (f64, f64, usize) {
    let t = Instant::now();
    let (mut graph, mut vectors) = (Vec::new(), Vec::new());
    g.write_graph(&mut graph).unwrap();
    g.write_vectors(&mut vectors, None).unwrap();
    let dump = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let back = DenseHnsw::read(&graph, &vectors).unwrap();
    let open = t.elapsed().as_secs_f64();
    assert_eq!(back.len(), g.len());
    (dump, open, graph.len() + vectors.len())
}
