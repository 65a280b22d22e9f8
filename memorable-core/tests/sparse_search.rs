//! The hashing embedder's vectors are sparse, and an index of them answers semantic recall
//! exactly (see `index::sparse`): at every size, before and after the graph is built, and
//! without the memories that were forgotten or replaced.

use memorable_core::{Config, HashingEmbedder, Memorable, MemoryUpdate, NewMemory, Recall, RecallMode};

/// Deterministic texts of 6-12 words from a skewed 2,000-word vocabulary (ties abound).
fn texts(n: usize, seed: u64, min: u64, max: u64) -> Vec<String> {
    let mut x = seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|_| {
            let words = min + next() % (max - min + 1);
            (0..words)
                .map(|_| {
                    let u = (next() % 10_000) as f64 / 10_000.0;
                    format!("w{}", (u * u * 2_000.0) as u64)
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// The 10th best exact cosine of `query` over `live` texts.
fn tenth_best(emb: &HashingEmbedder, query: &str, live: &[&String]) -> f32 {
    let q = emb.embed_one(query);
    let mut scores: Vec<f32> = live.iter().map(|t| memorable_core::dot(&q, &emb.embed_one(t))).collect();
    scores.sort_by(|a, b| b.total_cmp(a));
    scores[9]
}

/// Semantic recall of `query`: the scores of its 10 hits, best first.
fn semantic_scores(mem: &Memorable, query: &str) -> Vec<(u64, f32)> {
    let hits = mem
        .recall(&Recall::new("u", query).limit(10).mode(RecallMode::Semantic).track_access(false))
        .unwrap();
    hits.iter().map(|h| (h.memory.id, h.breakdown.semantic.unwrap())).collect()
}

/// What the rewritten memories say now.
const REWRITTEN: &str = "an entirely different sentence";

#[test]
fn semantic_recall_over_hashing_vectors_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.embedder = "hashing".into();
    let mem = Memorable::builder(dir.path()).config(config.clone()).open().unwrap();
    // Above `exact_search_threshold` (2,000): a graph would be walked, not scanned.
    let corpus = texts(3_000, 42, 6, 12);
    let ids = mem.remember_batch(corpus.iter().map(|t| NewMemory::new("u", t.as_str())).collect()).unwrap();
    let queries = texts(25, 7, 2, 4);
    let emb = HashingEmbedder::new(384);
    let check = |mem: &Memorable, live: &[&String], when: &str| {
        for q in &queries {
            let got = semantic_scores(mem, q);
            let bar = tenth_best(&emb, q, live);
            assert_eq!(got.len(), 10);
            // Ties at the 10th score make several answers exact: each hit must reach it.
            assert!(got.iter().all(|h| h.1 >= bar - 1e-5), "{when}: {q:?} got {got:?}, 10th exact {bar}");
        }
    };
    let all: Vec<&String> = corpus.iter().collect();
    check(&mem, &all, "as written");
    mem.checkpoint().unwrap(); // the graph is built and dumped
    check(&mem, &all, "after checkpoint");

    // Forget or rewrite the best hit of each query: they never come back as they were.
    let mut gone = std::collections::HashSet::new();
    for q in &queries {
        let best = semantic_scores(&mem, q)[0].0;
        if gone.insert(best) {
            if best.is_multiple_of(2) {
                mem.forget(best).unwrap();
            } else {
                mem.update(best, MemoryUpdate::default().text(REWRITTEN)).unwrap();
            }
        }
    }
    let live: Vec<&String> =
        corpus.iter().zip(&ids).filter(|(_, id)| !gone.contains(id)).map(|(t, _)| t).collect();
    check(&mem, &live, "after forgetting");
    for q in &queries {
        let now = memorable_core::dot(&emb.embed_one(q), &emb.embed_one(REWRITTEN));
        for (id, score) in semantic_scores(&mem, q) {
            assert!(!gone.contains(&id) || (score - now).abs() < 1e-5, "{id} scored by its old text");
        }
    }
    mem.close().unwrap();

    // Reopened from the dump: the same answers.
    let mem = Memorable::builder(dir.path()).config(config).open().unwrap();
    check(&mem, &live, "reopened");
    assert!(mem.stats().unwrap().loaded_indexes[0].sparse, "the dump's graph seeded the postings");
}
