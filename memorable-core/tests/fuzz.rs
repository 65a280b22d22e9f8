//! Fuzzing every parser and decoder with property tests at volume: arbitrary bytes, and
//! mutations (byte flips, truncations, splices, inserted bytes) of valid inputs. The only
//! property: no panic, no hang — every input gives a value or a coded error.
//!
//! `MEMORABLE_FUZZ_CASES` cases per target (default 200, what CI runs); the long runs and
//! their figures are in docs/reliability.md. A failing input is kept by proptest in
//! `fuzz.proptest-regressions` beside this file and replayed first on every later run
//! (commit it).

use memorable_core::{hume, Config, GenerateRequest, Memorable, NewMemory, Recall};
use proptest::prelude::*;
use proptest::test_runner::Config as RunConfig;

fn cases() -> u32 {
    std::env::var("MEMORABLE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200)
}

fn runner() -> RunConfig {
    RunConfig { cases: cases(), ..RunConfig::default() }
}

/// A mutation of `seed`: some bytes flipped, a cut, a splice of another part, bytes inserted.
fn mutated(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = seed.len().max(1);
    (
        prop::collection::vec((0..len, any::<u8>()), 0..8),
        prop::option::of(0..=len),
        prop::option::of((0..len, 0..len, 0..len)),
        prop::collection::vec((0..=len, any::<u8>()), 0..4),
    )
        .prop_map(move |(flips, cut, splice, inserts)| {
            let mut v = seed.clone();
            for (i, b) in flips {
                if i < v.len() {
                    v[i] ^= b | 1;
                }
            }
            if let Some((from, to, at)) = splice {
                let (a, b) = (from.min(to), from.max(to));
                if b <= v.len() && at <= v.len() {
                    let part = v[a..b].to_vec();
                    v.splice(at..at, part);
                }
            }
            for (at, b) in inserts {
                let at = at.min(v.len());
                v.insert(at, b);
            }
            if let Some(c) = cut {
                v.truncate(c);
            }
            v
        })
}

/// Arbitrary bytes or a mutation of one of `seeds`.
fn inputs(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let mutations = prop::sample::select(seeds).prop_flat_map(mutated);
    prop_oneof![1 => prop::collection::vec(any::<u8>(), 0..512), 4 => mutations]
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn hume_messages() {
    let fixture = include_str!("../../tests/fixtures/hume/recorded.jsonl");
    let seeds: Vec<Vec<u8>> = fixture.lines().map(|l| l.as_bytes().to_vec()).collect();
    proptest!(runner(), |(b in inputs(seeds))| {
        let _ = hume::parse::parse(&text(&b));
    });
}

#[test]
fn wav_reader() {
    let pcm: Vec<u8> = (0..800u32).flat_map(|i| ((i as i16).wrapping_mul(97)).to_le_bytes()).collect();
    let seeds = vec![hume::wav::pcm_to_wav(&pcm)];
    proptest!(runner(), |(b in inputs(seeds))| {
        let _ = hume::wav::wav_to_pcm16k(&b);
    });
}

#[test]
fn configuration_and_requests() {
    let config = serde_json::to_vec(&Config::default()).unwrap();
    let request = br#"{"prompt": "hi", "max_tokens": 4, "stop": ["\n"], "json": false}"#.to_vec();
    let chat = br#"{"messages": [{"role": "user", "content": "hi"}], "temperature": 0.5}"#.to_vec();
    proptest!(runner(), |(b in inputs(vec![config.clone(), request.clone(), chat.clone()]))| {
        let s = text(&b);
        let _ = Config::from_json(&s);
        let _ = GenerateRequest::from_json(&s);
    });
}

#[test]
fn model_manifests_and_registry() {
    let manifest = memorable_core::models::cache::MANIFEST_JSON.as_bytes().to_vec();
    let dir = tempfile::tempdir().unwrap();
    proptest!(runner(), |(b in inputs(vec![manifest.clone()]))| {
        let _ = serde_json::from_slice::<memorable_core::models::cache::Manifest>(&b);
        std::fs::write(dir.path().join("registry.json"), &b).unwrap();
        let _ = memorable_core::models::registry::Registry::read(dir.path());
        let _ = memorable_core::models_list(Some(dir.path()));
    });
}

fn hashing() -> Config {
    Config::from_json(r#"{"embedder": "hashing", "generator": "none"}"#).unwrap()
}

#[test]
fn jsonl_import() {
    let src = Memorable::builder(tempfile::tempdir().unwrap().path()).config(hashing()).open().unwrap();
    for i in 0..3 {
        src.remember(NewMemory::new("alice", format!("exported memory {i}")).tags(["t"])).unwrap();
    }
    let mut seed = Vec::new();
    src.export_user("alice", false, &mut seed).unwrap();
    let mem = Memorable::builder(tempfile::tempdir().unwrap().path()).config(hashing()).open().unwrap();
    proptest!(runner(), |(b in inputs(vec![seed.clone()]))| {
        let _ = mem.import_jsonl(&mut &b[..], 64, &mut |_| {});
    });
}

/// Sealed exports of an encrypted store (the `crypto::sealed` reader) and key markers:
/// damaged bytes are `CORRUPT` or `WRONG_KEY`, never a panic, and import nothing.
#[test]
fn sealed_exports_and_key_markers() {
    let mut config = hashing();
    config.encryption_key = Some(memorable_core::EncryptionKey::new("fuzz").unwrap());
    let dir = tempfile::tempdir().unwrap();
    let src = Memorable::builder(dir.path().join("src")).config(config.clone()).open().unwrap();
    for i in 0..3 {
        src.remember(NewMemory::new("alice", format!("sealed memory {i}"))).unwrap();
    }
    let sealed = dir.path().join("sealed.jsonl");
    src.export_user_to("alice", false, &sealed).unwrap();
    let marker = std::fs::read(dir.path().join("src").join(memorable_core::MARKER_FILE)).unwrap();
    let seed = std::fs::read(&sealed).unwrap();
    // Imported back into the store that sealed it: its key opens the file without another
    // key derivation, so each case costs microseconds.
    let mem = src;
    let count = std::sync::atomic::AtomicU32::new(0);
    proptest!(runner(), |(b in inputs(vec![seed.clone(), marker.clone()]))| {
        let before = mem.stats().unwrap().memories;
        if mem.import_jsonl(&mut &b[..], 64, &mut |_| {}).is_err() {
            prop_assert_eq!(mem.stats().unwrap().memories, before);
        }
        // The same bytes as a store's key marker: opening is an error or a working store.
        let n = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let store = dir.path().join(format!("m{n}"));
        std::fs::create_dir_all(&store).unwrap();
        std::fs::write(store.join(memorable_core::MARKER_FILE), &b).unwrap();
        if let Ok(m) = Memorable::builder(&store).config(config.clone()).open() {
            m.remember(NewMemory::new("alice", "still works")).unwrap();
        }
        let _ = std::fs::remove_dir_all(&store);
    });
}

#[test]
fn backup_files_and_verify() {
    let store = tempfile::tempdir().unwrap();
    let mem = Memorable::builder(store.path()).config(hashing()).open().unwrap();
    mem.remember(NewMemory::new("alice", "a memory in a backup")).unwrap();
    let out = tempfile::tempdir().unwrap();
    let backup = out.path().join("b.mrbak");
    mem.backup(&backup).unwrap();
    mem.close().unwrap();
    let seed = std::fs::read(&backup).unwrap();
    let count = std::sync::atomic::AtomicU32::new(0);
    proptest!(runner(), |(b in inputs(vec![seed.clone()]))| {
        let n = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let file = out.path().join(format!("fuzz-{n}.mrbak"));
        std::fs::write(&file, &b).unwrap();
        let _ = memorable_core::verify(&file);
        let target = out.path().join(format!("restored-{n}"));
        let _ = memorable_core::restore(&file, &target);
        let _ = std::fs::remove_file(&file);
        let _ = std::fs::remove_dir_all(&target);
    });
}

/// Damaged index dumps: any bytes in the dump files must mean a rebuild from the store,
/// never a panic or a wrong answer.
#[test]
fn index_dump_loader() {
    let store = tempfile::tempdir().unwrap();
    {
        let mut config = hashing();
        config.exact_search_threshold = 0; // a graph to dump, small as the user is
        let mem = Memorable::builder(store.path()).config(config).open().unwrap();
        let batch = (0..40).map(|i| NewMemory::new("alice", format!("dumped memory number {i}"))).collect();
        mem.remember_batch(batch).unwrap();
        mem.recall(&Recall::new("alice", "dumped")).unwrap();
        mem.close().unwrap();
    }
    let index = store.path().join("index");
    let files: Vec<_> = std::fs::read_dir(&index).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(!files.is_empty(), "a dump was written");
    let originals: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let pick = 0..files.len();
    let budget = (cases() / 10).max(10);
    proptest!(RunConfig { cases: budget, ..runner() }, |(which in pick, b in inputs(originals.clone()))| {
        for (f, o) in files.iter().zip(&originals) {
            std::fs::write(f, o).unwrap();
        }
        std::fs::write(&files[which], &b).unwrap();
        let mem = Memorable::builder(store.path()).config(hashing()).open().unwrap();
        let hits = mem.recall(&Recall::new("alice", "dumped memory number 7").limit(3)).unwrap();
        prop_assert!(hits.iter().any(|h| h.memory.text == "dumped memory number 7"));
        mem.close().unwrap();
    });
}

#[cfg(feature = "candle")]
#[test]
fn gguf_header() {
    // A GGUF header as the reader expects it: magic, version 3, no tensors, two metadata keys.
    let mut seed = Vec::new();
    seed.extend_from_slice(b"GGUF");
    seed.extend_from_slice(&3u32.to_le_bytes());
    seed.extend_from_slice(&0u64.to_le_bytes());
    seed.extend_from_slice(&2u64.to_le_bytes());
    let kv = |seed: &mut Vec<u8>, key: &str, value: &str| {
        seed.extend_from_slice(&(key.len() as u64).to_le_bytes());
        seed.extend_from_slice(key.as_bytes());
        seed.extend_from_slice(&8u32.to_le_bytes()); // string
        seed.extend_from_slice(&(value.len() as u64).to_le_bytes());
        seed.extend_from_slice(value.as_bytes());
    };
    kv(&mut seed, "general.architecture", "llama");
    kv(&mut seed, "general.name", "fuzz");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.gguf");
    proptest!(runner(), |(b in inputs(vec![seed.clone()]))| {
        std::fs::write(&path, &b).unwrap();
        let _ = memorable_core::models::llm::gguf::file::GgufFile::open(&path);
    });
}
