//! The int8 forward (`minilm-int8`, models::bert::qgemm) with the real all-MiniLM-L6-v2
//! weights: its vectors stay within the parity threshold of sentence-transformers' f32 ones on
//! the reference texts, are bit-identical across int8 kernels, batching and threads, carry
//! their own model id (a store never mixes them with f32 vectors), and are used only when
//! named.
//!
//! Needs the real weights (`scripts/fetch-model.sh`); fails, never skips, without them.

use memorable_core::models::bert::{BertEmbedder, Isa, QIsa};
use memorable_core::models::select::{self, CacheState, Catalog, Outcome, Profile, Request, Role};
use memorable_core::models::BertOptions;
use memorable_core::{Config, Embedder, ErrorCode, Memorable, NewMemory, Recall};
use serde_json::json;

use crate::common::{cache_root, cos, reference};

const INT8_ID: &str = "sentence-transformers/all-MiniLM-L6-v2+int8";

fn int8(threads: usize, batch_size: usize, qisa: QIsa) -> BertEmbedder {
    let opts = BertOptions { model_id: INT8_ID.into(), threads, batch_size, ..BertOptions::default() };
    BertEmbedder::load_int8_with(cache_root().join("minilm"), opts, Isa::detect(), qisa).unwrap()
}

#[test]
fn int8_vectors_stay_within_the_parity_threshold_of_f32() {
    let r = reference();
    let texts: Vec<&str> = r.items.iter().map(|i| i.text.as_str()).collect();
    let e = int8(2, 8, QIsa::detect());
    assert_eq!(e.int8(), Some(QIsa::detect()));
    let vectors = e.embed(&texts).unwrap();
    let cosines: Vec<f32> = vectors.iter().zip(&r.items).map(|(v, i)| cos(v, &i.embedding)).collect();
    let min = cosines.iter().cloned().fold(1.0, f32::min);
    let mean = cosines.iter().sum::<f32>() / cosines.len() as f32;
    eprintln!("int8 vs sentence-transformers: min cosine {min:.5}, mean {mean:.5}, {} texts", cosines.len());
    // The threshold; measured ~0.998 at the worst text (docs/benchmarks.md).
    assert!(min >= 0.995, "min cosine {min}");
    for v in &vectors {
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
    }
    // Quantization is real: not the f32 vectors.
    assert!(cosines.iter().any(|c| *c < 0.99999), "int8 vectors equal the f32 ones");
}

#[test]
fn int8_is_bit_identical_across_kernels_batching_and_threads() {
    let r = reference();
    let texts: Vec<&str> = r.items.iter().map(|i| i.text.as_str()).collect();
    let base = int8(2, 8, QIsa::detect()).embed(&texts).unwrap();
    for qisa in QIsa::available() {
        let (threads, batch) = if qisa == QIsa::detect() { (3, 5) } else { (1, 32) };
        let e = int8(threads, batch, qisa);
        assert_eq!(e.embed(&texts).unwrap(), base, "{qisa:?}, {threads} threads, batches of {batch}");
        // One text at a time (the single-sequence path splits each product's columns).
        for (t, b) in texts.iter().zip(&base).take(4) {
            assert_eq!(&e.embed(&[t]).unwrap()[0], b, "{qisa:?} single {t:?}");
        }
    }
}

#[test]
fn minilm_int8_is_opt_in_and_has_its_own_model_id() {
    let catalog = Catalog::builtin(384);
    let entry = catalog.get("minilm-int8").expect("minilm-int8 in the catalog");
    assert_eq!(entry.model_id, INT8_ID);
    let cache = CacheState::inspect(cache_root().as_path().into(), &catalog);
    let env = crate::models::env(Profile::Local, 8_000);
    let req = |choice| Request { role: Role::Embedding, choice, stored_model_id: None };
    let (_, report) = select::resolve_with(&catalog, &env, &cache, &req("auto")).unwrap();
    assert_eq!(report.chosen, "minilm");
    let skipped = report.decisions.iter().find(|d| d.model == "minilm-int8").unwrap();
    assert_eq!(skipped.outcome, Outcome::Skipped);
    assert!(skipped.reason.contains("opt-in"), "{}", skipped.reason);
    let (e, report) = select::resolve_with(&catalog, &env, &cache, &req("minilm-int8")).unwrap();
    assert_eq!((report.chosen.as_str(), e.model_id()), ("minilm-int8", INT8_ID));
    assert!(report.decisions[0].reason.contains("int8"), "{:?}", report.decisions);

    // A store made with it keeps it, refuses the f32 model, and reopens with auto.
    let dir = tempfile::tempdir().unwrap();
    let config = |embedder: &str| Config::from_json(&json!({ "embedder": embedder }).to_string()).unwrap();
    let open = |embedder: &str| Memorable::builder(dir.path()).config(config(embedder)).open();
    let mem = open("minilm-int8").unwrap();
    let id = mem.remember(NewMemory::new("alice", "Biscuit the puppy learned to sit")).unwrap();
    mem.remember(NewMemory::new("alice", "The quarterly report is due on Friday")).unwrap();
    let hits = mem.recall(&Recall::new("alice", "what did my dog learn?").limit(1)).unwrap();
    assert_eq!(hits[0].memory.id, id);
    // Remember read the text's emotion (the emotional layer is on with the int8 forward).
    let emotion = mem.get(id).unwrap().emotion.expect("an emotional snapshot");
    assert!(!emotion.scores.is_empty());
    assert_eq!(mem.stats().unwrap().embedder.model_id, INT8_ID);
    // The emotion classifier runs on the int8 activations (the shared pass).
    let read = mem.classify(&["Thank you so much, I really appreciate it!"]).unwrap();
    assert!(read[0].labels.iter().any(|l| l == "gratitude"), "{:?}", read[0].labels);
    assert!(mem.stats().unwrap().classifier.shared_pass);
    mem.close().unwrap();
    assert_eq!(open("minilm").unwrap_err().code(), ErrorCode::ModelMismatch);
    let mem = open("auto").unwrap();
    assert_eq!(mem.stats().unwrap().embedder.model_id, INT8_ID);
}
