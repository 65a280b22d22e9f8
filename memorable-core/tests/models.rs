//! The candle MiniLM embedder against an independent reference (sentence-transformers on the
//! same weights), batching, model selection and fallback over real and damaged caches, and
//! end-to-end recall by meaning.
//!
//! These tests need the real weights: run `scripts/fetch-model.sh` first. A test that cannot
//! find them fails (it never skips), so CI cannot pass without exercising the model.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::{assert_matches_reference, cache_root, cos, reference};

use memorable_core::models::cache::Manifest;
use memorable_core::models::select::{
    self, CacheState, CacheStatus, Catalog, DeviceKind, Environment, Outcome, Profile, Request, Role,
};
use memorable_core::models::{BertOptions, CandleBertEmbedder};
use memorable_core::{Config, Embedder, Error, Memorable, NewMemory, Recall};

fn minilm() -> &'static CandleBertEmbedder {
    static E: std::sync::OnceLock<CandleBertEmbedder> = std::sync::OnceLock::new();
    E.get_or_init(|| {
        CandleBertEmbedder::load(
            cache_root().join("minilm"),
            BertOptions { threads: 2, batch_size: 8, ..BertOptions::default() },
        )
        .unwrap()
    })
}

#[test]
fn parity_with_sentence_transformers() {
    let r = reference();
    let e = minilm();
    assert_eq!(e.model_id(), r.model);
    assert_eq!(e.max_seq_length(), r.max_seq_length);
    assert_eq!(e.dim(), 384);
    let texts: Vec<&str> = r.items.iter().map(|i| i.text.as_str()).collect();
    let counts = e.token_counts(&texts).unwrap();
    let vectors = e.embed(&texts).unwrap();
    assert_matches_reference(&r, &counts, &vectors);
}

#[test]
fn batch_equals_one_at_a_time_and_edge_cases() {
    let r = reference();
    let e = minilm();
    let texts: Vec<&str> = r.items.iter().map(|i| i.text.as_str()).collect();
    let batch = e.embed(&texts).unwrap();
    for (t, b) in texts.iter().zip(&batch) {
        let one = e.embed(&[t]).unwrap().pop().unwrap();
        assert!(cos(&one, b) > 0.99999, "batch vs single differ for {t:?}");
        assert!(one.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4));
    }
    assert!(e.embed(&[]).unwrap().is_empty());
    assert!(matches!(e.embed(&[""]), Err(Error::EmptyText)));
    assert!(matches!(e.embed(&["fine", "  "]), Err(Error::EmptyText)));
}

#[test]
fn embedder_is_send_sync_and_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<CandleBertEmbedder>();
    let e = minilm();
    let outs: Vec<Vec<f32>> = std::thread::scope(|s| {
        let hs: Vec<_> =
            (0..4).map(|_| s.spawn(|| e.embed(&["the same text"]).unwrap().pop().unwrap())).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(outs.windows(2).all(|w| w[0] == w[1]));
}

pub(crate) fn env(profile: Profile, available_mb: u64) -> Environment {
    Environment {
        profile,
        cuda: false,
        metal: false,
        total_memory_mb: 24_000,
        available_memory_mb: available_mb,
        cpus: 2,
        candle: true,
    }
}

fn auto() -> Request<'static> {
    Request { role: Role::Embedding, choice: "auto", stored_model_id: None }
}

/// A cache dir holding a copy of MiniLM, damaged by `damage`.
fn damaged_cache(damage: impl FnOnce(&Path)) -> tempfile::TempDir {
    let src = cache_root().join("minilm");
    let tmp = tempfile::tempdir().unwrap();
    let dst = tmp.path().join("minilm");
    for f in &Manifest::builtin().get("minilm").unwrap().files {
        let to = dst.join(&f.path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(&f.path), to).unwrap();
    }
    damage(&dst);
    tmp
}

#[test]
fn selection_picks_minilm_and_is_deterministic() {
    let catalog = Catalog::builtin(384);
    let cache = CacheState::inspect(Some(&cache_root()), &catalog);
    assert_eq!(cache.models["minilm"], CacheStatus::Ready);
    let e = env(Profile::Server, 8_000);
    let a = select::plan(&catalog, &e, &cache, &auto()).unwrap();
    let b = select::plan(&catalog, &e, &cache, &auto()).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        a.chain,
        vec![
            ("minilm".into(), DeviceKind::Cpu),
            ("minilm-candle".into(), DeviceKind::Cpu),
            ("hashing".into(), DeviceKind::Cpu)
        ]
    );
    assert_eq!(a.limits.threads, 2);
    assert_eq!(a.limits.batch_size, 32);

    // No GPU, 512 MB free, server profile: MiniLM still fits, with small batches.
    let (emb, report) = select::resolve_with(&catalog, &env(Profile::Server, 512), &cache, &auto()).unwrap();
    assert_eq!(report.chosen, "minilm");
    assert_eq!(emb.model_id(), "sentence-transformers/all-MiniLM-L6-v2");
    assert_eq!(report.limits.batch_size, 8);
    assert!(!report.fallback);
    assert!(report.warm_up_ms > 0.0);

    // 200 MB free: MiniLM does not fit; the hashing fallback says why.
    let (emb, report) = select::resolve_with(&catalog, &env(Profile::Local, 200), &cache, &auto()).unwrap();
    assert!(emb.is_fallback());
    assert_eq!(report.decisions[0].outcome, Outcome::Skipped);
    assert!(report.fallback_reason.unwrap().contains("only 200 MB"));
    // The report serializes for the bindings.
    let json = serde_json::to_value(&report.decisions).unwrap();
    assert_eq!(json[0]["outcome"], "skipped");
}

#[test]
fn missing_or_corrupt_model_falls_back_with_reason() {
    let catalog = Catalog::builtin(384);
    let e = env(Profile::Local, 8_000);
    let cases: Vec<(&str, tempfile::TempDir)> = vec![
        ("missing", damaged_cache(|d| std::fs::remove_file(d.join("tokenizer.json")).unwrap())),
        (
            "SHA-256",
            damaged_cache(|d| {
                let p = d.join("model.safetensors");
                let mut bytes = std::fs::read(&p).unwrap();
                let mid = bytes.len() / 2;
                bytes[mid] ^= 0xff;
                std::fs::write(&p, bytes).unwrap();
            }),
        ),
        (
            "truncated",
            damaged_cache(|d| {
                let f = std::fs::OpenOptions::new().write(true).open(d.join("model.safetensors")).unwrap();
                f.set_len(1_000_000).unwrap();
            }),
        ),
        ("not in the model cache", tempfile::tempdir().unwrap()),
    ];
    for (why, dir) in cases {
        let cache = CacheState::inspect(Some(dir.path()), &catalog);
        let (emb, report) = select::resolve_with(&catalog, &e, &cache, &auto()).unwrap();
        assert!(emb.is_fallback(), "{why}");
        assert_eq!(report.chosen, "hashing");
        let reason = report.fallback_reason.unwrap();
        assert!(reason.contains(why) && reason.contains("fetch-model.sh"), "{why}: {reason}");
    }
}

#[test]
fn a_model_that_fails_to_load_falls_back() {
    // The checksums pass but the loader fails (here: a truncated safetensors the inspection
    // was told is fine), so the failure is caught at load time and the chain moves on.
    let dir = damaged_cache(|d| {
        let f = std::fs::OpenOptions::new().write(true).open(d.join("model.safetensors")).unwrap();
        f.set_len(4_000).unwrap();
    });
    let catalog = Catalog::builtin(384);
    let mut cache = CacheState::inspect(Some(dir.path()), &catalog);
    cache.models.insert("minilm".into(), CacheStatus::Ready);
    let (emb, report) = select::resolve_with(&catalog, &env(Profile::Local, 8_000), &cache, &auto()).unwrap();
    assert!(emb.is_fallback());
    assert_eq!(report.decisions[0].outcome, Outcome::Failed);
    assert!(report.decisions[0].reason.contains("failed to load"), "{:?}", report.decisions);
    // Loading the broken folder directly is an error, not a panic.
    let err = CandleBertEmbedder::load(dir.path().join("minilm"), BertOptions::default()).unwrap_err();
    assert_eq!(err.code(), memorable_core::ErrorCode::Model);
}

fn config(embedder: &str, model_dir: Option<PathBuf>) -> Config {
    let mut c = Config::default();
    c.embedder = embedder.into();
    c.model_dir = model_dir;
    c
}

#[test]
fn recall_by_meaning_with_minilm() {
    let dir = tempfile::tempdir().unwrap();
    let mem = Memorable::builder(dir.path()).config(config("minilm", Some(cache_root()))).open().unwrap();
    let stats = mem.stats().unwrap();
    assert_eq!(stats.embedder.model_id, "sentence-transformers/all-MiniLM-L6-v2");
    assert!(!stats.embedder.fallback);
    let target = mem
        .remember_batch(vec![
            NewMemory::new("alice", "The quarterly budget review moved to Thursday"),
            NewMemory::new("alice", "I adopted a beagle puppy named Biscuit"),
            NewMemory::new("alice", "My sister Lena lives in Lisbon"),
            NewMemory::new("alice", "Bob recommended the dumplings at the night market"),
        ])
        .unwrap()[1];
    let hits = mem.recall(&Recall::new("alice", "what pet did I get?").limit(3)).unwrap();
    assert_eq!(hits[0].memory.id, target, "{hits:?}");
    mem.close().unwrap();
}

#[test]
fn existing_store_keeps_its_model_and_reembed_migrates() {
    let models = cache_root();
    let dir = tempfile::tempdir().unwrap();
    // A store made with the hashing fallback (as if the model had not been fetched yet).
    let mem = Memorable::builder(dir.path()).config(config("hashing", Some(models.clone()))).open().unwrap();
    let mut items: Vec<NewMemory> =
        (0..150).map(|i| NewMemory::new("bob", format!("filler note number {i}"))).collect();
    items.push(NewMemory::new("bob", "I adopted a beagle puppy named Biscuit"));
    let ids = mem.remember_batch(items).unwrap();
    let target = *ids.last().unwrap();
    mem.close().unwrap();

    // "auto" with MiniLM cached still opens it with the hashing model, and says how to migrate.
    let mem = Memorable::builder(dir.path()).config(config("auto", Some(models.clone()))).open().unwrap();
    let report = mem.selection_report().unwrap();
    assert_eq!(report.chosen, "hashing");
    assert!(report.notes.iter().any(|n| n.contains("reembed")), "{report:?}");
    mem.close().unwrap();
    // An explicit different model is a mismatch.
    let err =
        Memorable::builder(dir.path()).config(config("minilm", Some(models.clone()))).open().unwrap_err();
    assert!(matches!(err, Error::ModelMismatch { .. }), "{err}");

    // Migrate, pausing after the first batch, then resume.
    let mem = Memorable::builder(dir.path()).config(config("auto", Some(models.clone()))).open().unwrap();
    let mut seen = Vec::new();
    let first = mem
        .reembed("minilm", &mut |p| {
            seen.push(p.clone());
            false
        })
        .unwrap();
    assert!(!first.completed);
    assert!(first.reembedded > 0 && first.reembedded < 151);
    let progress = mem.stats().unwrap().reembed.unwrap();
    assert_eq!(progress.done, first.reembedded);
    assert_eq!(progress.total, 151);
    mem.close().unwrap();

    let mem = Memorable::builder(dir.path()).config(config("auto", Some(models.clone()))).open().unwrap();
    assert_eq!(mem.stats().unwrap().reembed.unwrap().done, first.reembedded, "progress survives reopen");
    let rest = mem.reembed("minilm", &mut |_| true).unwrap();
    assert!(rest.completed);
    assert_eq!(first.reembedded + rest.reembedded, 151);
    assert_eq!(rest.model_id, "sentence-transformers/all-MiniLM-L6-v2");
    let stats = mem.stats().unwrap();
    assert!(!stats.embedder.fallback);
    assert!(stats.reembed.is_none());
    let hits = mem.recall(&Recall::new("bob", "what pet did I get?").limit(1)).unwrap();
    assert_eq!(hits[0].memory.id, target);
    mem.remember(NewMemory::new("bob", "a new memory after the migration")).unwrap();
    mem.close().unwrap();

    // Reopened with "auto", the store now uses MiniLM.
    let mem = Memorable::builder(dir.path()).config(config("auto", Some(models))).open().unwrap();
    assert_eq!(mem.selection_report().unwrap().chosen, "minilm");
    let hits = mem.recall(&Recall::new("bob", "what pet did I get?").limit(1)).unwrap();
    assert_eq!(hits[0].memory.id, target);
}

#[test]
fn default_open_without_a_model_falls_back_and_says_so() {
    let empty = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mem =
        Memorable::builder(dir.path()).config(config("auto", Some(empty.path().into()))).open().unwrap();
    let stats = mem.stats().unwrap();
    assert!(stats.embedder.fallback);
    assert!(stats.embedder.fallback_reason.unwrap().contains("fetch-model.sh"));
    // Explicitly asking for MiniLM where it is missing is an error that says how to fix it.
    let dir2 = tempfile::tempdir().unwrap();
    let err = Memorable::builder(dir2.path())
        .config(config("minilm", Some(empty.path().into())))
        .open()
        .unwrap_err();
    assert!(err.to_string().contains("fetch-model.sh"), "{err}");
    let _ = Arc::new(());
}
