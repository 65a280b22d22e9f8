//! The per-user HNSW dump: reloading it gives the same results as a rebuild, and a damaged or
//! missing dump is rebuilt from the store (with a logged warning when damaged), losing nothing.

use std::path::Path;

use crate::common::with_logs;
use std::sync::Arc;

use memorable_core::{Config, Embedder, IndexOrigin, Memorable, NewMemory, Recall, RecallMode};

/// Dense pseudo-random unit vectors from a hash of the text: no score ties, so exact
/// search has one right answer to compare dump and rebuild against.
struct DenseTestEmbedder;

impl Embedder for DenseTestEmbedder {
    fn embed(&self, texts: &[&str]) -> memorable_core::Result<Vec<Vec<f32>>> {
        Ok(texts
            .iter()
            .map(|t| {
                let mut x = t
                    .bytes()
                    .fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
                let v: Vec<f32> = (0..32)
                    .map(|_| {
                        x ^= x >> 29;
                        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
                        ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5
                    })
                    .collect();
                let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
                v.into_iter().map(|a| a / n).collect()
            })
            .collect())
    }
    fn dim(&self) -> usize {
        32
    }
    fn model_id(&self) -> &str {
        "dense-test-32"
    }
}

/// Search wide enough to be exact at these sizes, so both graphs must agree.
fn open(dir: &Path) -> Memorable {
    let mut config = Config::default();
    config.hnsw.ef_search = 1_000;
    // Walk the graph even at this size (a small index is otherwise scanned exactly).
    config.exact_search_threshold = 0;
    Memorable::builder(dir).config(config).embedder(Arc::new(DenseTestEmbedder)).open().unwrap()
}

const QUERIES: &[&str] = &["w7 w19 w200", "w123 w5", "w42 w43 w44 w45", "w280", "w1 w299 w150"];

/// A text of six pseudo-random words from a 300-word vocabulary (few exact score ties).
fn text(i: usize) -> String {
    let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..6)
        .map(|_| {
            x ^= x >> 29;
            x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            format!("w{}", (x >> 40) % 300)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn fill(dir: &Path, n: usize) {
    let mem = open(dir);
    let items: Vec<NewMemory> = (0..n).map(|i| NewMemory::new("u", text(i))).collect();
    mem.remember_batch(items).unwrap();
    mem.close().unwrap();
}

fn results(dir: &Path) -> (Vec<Vec<u64>>, IndexOrigin) {
    let mem = open(dir);
    let out = QUERIES
        .iter()
        .map(|q| mem.recall(&Recall::new("u", *q).limit(10)).unwrap().iter().map(|h| h.memory.id).collect())
        .collect();
    let origin = mem.stats().unwrap().loaded_indexes[0].origin;
    mem.close().unwrap();
    (out, origin)
}

fn dump_file(dir: &Path, suffix: &str) -> std::path::PathBuf {
    std::fs::read_dir(dir.join("index"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("no *{suffix} in the index dir"))
}

#[test]
fn dump_reload_matches_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 500);
    let (from_dump, origin) = results(dir.path());
    assert_eq!(origin, IndexOrigin::Dump);
    std::fs::remove_dir_all(dir.path().join("index")).unwrap();
    let (rebuilt, origin) = results(dir.path());
    assert_eq!(origin, IndexOrigin::Rebuilt);
    assert_eq!(from_dump, rebuilt);
}

#[test]
fn only_new_vectors_are_indexed_after_reload() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 300);
    let mem = open(dir.path());
    assert!(mem.stats().unwrap().loaded_indexes.is_empty(), "indexes load on a user's first call");
    let id = mem.remember(NewMemory::new("u", "a zebra crossed the savanna")).unwrap();
    let hits = mem.recall(&Recall::new("u", "a zebra crossed the savanna").limit(1)).unwrap();
    assert_eq!(hits[0].memory.id, id);
    // The 300 dumped points came back as they were; only the new vector needs indexing
    // (the background indexer may or may not have moved it from pending into the graph yet).
    let idx = &mem.stats().unwrap().loaded_indexes[0];
    assert_eq!(idx.origin, IndexOrigin::Dump);
    assert_eq!((idx.points + idx.pending, idx.live), (301, 301), "{idx:?}");
    assert!(idx.points >= 300, "{idx:?}");
    mem.checkpoint().unwrap();
    let idx = &mem.stats().unwrap().loaded_indexes[0];
    assert_eq!((idx.points, idx.pending, idx.live), (301, 0, 301));
}

#[test]
fn stale_dump_is_rebuilt_when_parameters_change() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 500);
    let (want, origin) = results(dir.path());
    assert_eq!(origin, IndexOrigin::Dump);
    // Another M: the dump no longer describes the graph this configuration builds.
    let mut config = Config::default();
    config.hnsw.ef_search = 1_000;
    config.hnsw.m = 8;
    config.exact_search_threshold = 0;
    let mem =
        Memorable::builder(dir.path()).config(config).embedder(Arc::new(DenseTestEmbedder)).open().unwrap();
    let got: Vec<Vec<u64>> = QUERIES
        .iter()
        .map(|q| mem.recall(&Recall::new("u", *q).limit(10)).unwrap().iter().map(|h| h.memory.id).collect())
        .collect();
    assert_eq!(mem.stats().unwrap().loaded_indexes[0].origin, IndexOrigin::Rebuilt);
    assert_eq!(got, want, "nothing lost");
}

fn corrupt_and_check(damage: impl FnOnce(&Path)) {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 500);
    let (want, _) = results(dir.path());
    damage(dir.path());
    let ((got, origin), logs) = with_logs(|| results(dir.path()));
    assert_eq!(origin, IndexOrigin::Rebuilt);
    assert!(logs.contains("damaged"), "expected a warning, got logs: {logs}");
    assert_eq!(got, want, "nothing lost");
    // The rebuilt index was dumped again and reloads cleanly.
    let ((again, origin), _) = with_logs(|| results(dir.path()));
    assert_eq!(origin, IndexOrigin::Dump);
    assert_eq!(again, want);
}

#[test]
fn flipped_byte_in_dump_is_rebuilt() {
    corrupt_and_check(|dir| {
        let path = dump_file(dir, ".hnsw.data");
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x40;
        std::fs::write(&path, bytes).unwrap();
    });
}

#[test]
fn truncated_dump_is_rebuilt() {
    corrupt_and_check(|dir| {
        let path = dump_file(dir, ".hnsw.graph");
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len / 3).unwrap();
    });
}

#[test]
fn garbage_manifest_is_rebuilt() {
    corrupt_and_check(|dir| std::fs::write(dump_file(dir, ".json"), b"{ not json").unwrap());
}

#[test]
fn tombstones_trigger_rebuild_and_stay_hidden() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path(), 400);
    let mem = open(dir.path());
    let victims: Vec<u64> =
        mem.recent_matching(&Recall::new("u", "").limit(150)).unwrap().iter().map(|m| m.id).collect();
    mem.recall(&Recall::new("u", "warm up").limit(1)).unwrap();
    for (i, id) in victims.iter().enumerate() {
        mem.forget(*id).unwrap();
        if i == 10 {
            let s = &mem.stats().unwrap().loaded_indexes[0];
            assert_eq!(s.tombstones, 11);
        }
    }
    let s = &mem.stats().unwrap().loaded_indexes[0];
    assert!(s.tombstones < 150, "a rebuild dropped tombstones: {s:?}");
    assert_eq!(s.live, 250);
    for q in QUERIES {
        for h in mem.recall(&Recall::new("u", *q).limit(20)).unwrap() {
            assert!(!victims.contains(&h.memory.id));
        }
    }
}

/// Recall `QUERIES` (semantic candidates only: what the index returns; no access counts, so
/// asking twice cannot change the ranking).
fn semantic_results(mem: &Memorable) -> Vec<Vec<u64>> {
    QUERIES
        .iter()
        .map(|q| {
            let r = Recall::new("u", *q).limit(10).mode(RecallMode::Semantic).track_access(false);
            mem.recall(&r).unwrap().iter().map(|h| h.memory.id).collect()
        })
        .collect()
}

/// A store big enough for its dump to load on a thread of its own (10k points; a sparse graph
/// built with a small ef_construction keeps the test quick). Its walk keeps every candidate
/// (ef above the point count), so every search is exact whether it runs before, during or
/// after the load: the hits must be the same in every state.
fn open_large(dir: &Path) -> Memorable {
    let mut config = Config::default();
    config.exact_search_threshold = 0;
    config.hnsw.ef_search = 20_000;
    config.hnsw.m = 8;
    config.hnsw.ef_construction = 32;
    Memorable::builder(dir).config(config).embedder(Arc::new(DenseTestEmbedder)).open().unwrap()
}

/// A large dump loads on a thread of its own: the first recall is answered at once, from
/// the store's vectors (exactly), and the loaded graph takes over without re-indexing. A
/// damaged one is found out on that thread: recall has answered meanwhile, the warning
/// reaches the caller's subscriber, and the vectors are indexed afresh. (One test: the
/// 10k-point store is the slow part.)
#[test]
fn a_large_dump_loads_in_the_background_and_a_damaged_one_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let mem = open_large(dir.path());
    mem.remember_batch((0..10_000).map(|i| NewMemory::new("u", text(i))).collect()).unwrap();
    mem.close().unwrap();
    let manifest = std::fs::read(dump_file(dir.path(), ".json")).unwrap();

    let mem = open_large(dir.path());
    let first = semantic_results(&mem);
    let idx = &mem.stats().unwrap().loaded_indexes[0];
    assert_eq!(
        (idx.origin, idx.points + idx.pending, idx.live),
        (IndexOrigin::Dump, 10_000, 10_000),
        "{idx:?}"
    );
    // checkpoint() waits for the load (and would dump only if something changed).
    mem.checkpoint().unwrap();
    let idx = &mem.stats().unwrap().loaded_indexes[0];
    assert_eq!(
        (idx.origin, idx.points, idx.pending, idx.dirty),
        (IndexOrigin::Dump, 10_000, 0, false),
        "{idx:?}"
    );
    assert_eq!(first, semantic_results(&mem));
    mem.close().unwrap();
    assert_eq!(std::fs::read(dump_file(dir.path(), ".json")).unwrap(), manifest, "not dumped again");

    let path = dump_file(dir.path(), ".hnsw.graph");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x10;
    std::fs::write(&path, bytes).unwrap();
    let ((damaged, idx), logs) = with_logs(|| {
        let mem = open_large(dir.path());
        let hits = semantic_results(&mem);
        mem.checkpoint().unwrap();
        let idx = mem.stats().unwrap().loaded_indexes[0].clone();
        mem.close().unwrap();
        (hits, idx)
    });
    assert!(logs.contains("damaged"), "expected a warning, got logs: {logs}");
    assert_eq!(
        (idx.origin, idx.points, idx.pending, idx.live),
        (IndexOrigin::Rebuilt, 10_000, 0, 10_000),
        "{idx:?}"
    );
    assert_eq!(damaged, first);
}
