//! The native BERT forward (models::bert) with the real all-MiniLM-L6-v2 weights: parity
//! with sentence-transformers and with the candle backend, bit-identical results across
//! batching, threads and instruction sets, the layer-range API, weight sharing, and that
//! selection runs it on the CPU.
//!
//! Needs the real weights (`scripts/fetch-model.sh`); fails, never skips, without them.

use std::path::PathBuf;

use crate::common::{assert_matches_reference, cache_root, cos, reference, Reference};

use memorable_core::models::bert::{Batch, BertEmbedder, Isa};
use memorable_core::models::select::{self, CacheState, Catalog, Profile, Request, Role};
use memorable_core::models::{BertOptions, CandleBertEmbedder};
use memorable_core::{Embedder, Error};

fn model_dir() -> PathBuf {
    cache_root().join("minilm")
}

fn load(threads: usize, batch_size: usize) -> BertEmbedder {
    BertEmbedder::load(model_dir(), BertOptions { threads, batch_size, ..BertOptions::default() }).unwrap()
}

fn native() -> &'static BertEmbedder {
    static E: std::sync::OnceLock<BertEmbedder> = std::sync::OnceLock::new();
    E.get_or_init(|| load(2, 8))
}

fn texts(r: &Reference) -> Vec<&str> {
    r.items.iter().map(|i| i.text.as_str()).collect()
}

#[test]
fn parity_with_sentence_transformers() {
    let r = reference();
    let e = native();
    assert_eq!(e.model_id(), r.model);
    assert_eq!(e.max_seq_length(), r.max_seq_length);
    assert_eq!(e.dim(), 384);
    let texts = texts(&r);
    let counts = e.token_counts(&texts).unwrap();
    let vectors = e.embed(&texts).unwrap();
    assert_matches_reference(&r, &counts, &vectors);
}

#[test]
fn agrees_with_the_candle_backend() {
    let r = reference();
    let texts = texts(&r);
    let candle = CandleBertEmbedder::load(
        model_dir(),
        BertOptions { threads: 2, batch_size: 8, ..BertOptions::default() },
    )
    .unwrap();
    let a = native().embed(&texts).unwrap();
    let b = candle.embed(&texts).unwrap();
    for ((x, y), t) in a.iter().zip(&b).zip(&texts) {
        let c = cos(x, y);
        assert!(c >= 0.99999, "native vs candle cosine {c} for {t:?}");
    }
    assert_eq!(native().tokenize(&texts).unwrap(), candle.tokenize(&texts).unwrap());
}

#[test]
fn bit_identical_across_batching_threads_and_instruction_sets() {
    let r = reference();
    let texts = texts(&r);
    let batch = native().embed(&texts).unwrap();
    // One at a time (the single-sequence path splits products across threads instead).
    for (t, b) in texts.iter().zip(&batch) {
        assert_eq!(&native().embed(&[t]).unwrap()[0], b, "batch vs single for {t:?}");
    }
    // Another batch size, one thread, and every instruction set this CPU has.
    let one = load(1, 3).embed(&texts).unwrap();
    assert_eq!(one, batch, "1 thread, batches of 3");
    let reversed: Vec<&str> = texts.iter().rev().copied().collect();
    let mut back = load(3, 5).embed(&reversed).unwrap();
    back.reverse();
    assert_eq!(back, batch, "3 threads, reversed order");
    for isa in Isa::available() {
        let opts = BertOptions { threads: 2, batch_size: 4, ..BertOptions::default() };
        let e = BertEmbedder::load_with_isa(model_dir(), opts, isa).unwrap();
        // The portable kernels are slow on x86-64 (no FMA instruction in the baseline, so
        // `mul_add` is a library call): check them on the shorter texts only.
        let n = if isa == Isa::Portable && cfg!(target_arch = "x86_64") { 6 } else { texts.len() };
        assert_eq!(e.embed(&texts[..n]).unwrap(), batch[..n], "{isa:?}");
    }
}

#[test]
fn edge_cases_and_errors() {
    let e = native();
    assert!(e.embed(&[]).unwrap().is_empty());
    assert!(matches!(e.embed(&[""]), Err(Error::EmptyText)));
    assert!(matches!(e.embed(&["fine", "  "]), Err(Error::EmptyText)));
    let mut batch = Batch::default();
    let enc = e.encoder();
    assert!(enc.embed_tokens(&[&[101, 102], &[]], &mut batch).is_err(), "empty token sequence");
    assert!(enc.embed_tokens(&[&[101, 999_999, 102]], &mut batch).is_err(), "id outside the vocabulary");
    assert!(enc.embed_tokens(&[&vec![101; 513]], &mut batch).is_err(), "more tokens than positions");
    // The embedder still works after an error (its scratch buffers went back to the pool).
    assert_eq!(e.embed(&["a"]).unwrap().len(), 1);
    let err = BertEmbedder::load(
        model_dir(),
        BertOptions { device: memorable_core::models::DeviceKind::Cuda, ..BertOptions::default() },
    )
    .unwrap_err();
    assert_eq!(err.code(), memorable_core::ErrorCode::Model);
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(
        BertEmbedder::load(empty.path(), BertOptions::default()).unwrap_err().code(),
        memorable_core::ErrorCode::Model
    );
}

#[test]
fn concurrent_calls_agree() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<BertEmbedder>();
    let e = native();
    let texts = ["the same text", "and another, somewhat longer, text to embed here"];
    let want = e.embed(&texts).unwrap();
    std::thread::scope(|s| {
        let hs: Vec<_> = (0..4).map(|_| s.spawn(|| e.embed(&texts).unwrap())).collect();
        for h in hs {
            assert_eq!(h.join().unwrap(), want);
        }
    });
}

#[test]
fn layer_ranges_and_shared_weight_sets() {
    let e = native();
    let enc = e.encoder();
    let base = enc.weights();
    let n = base.num_layers();
    assert_eq!(n, 6);
    let r = reference();
    let texts = texts(&r);
    let ids = e.tokenize(&texts[..5]).unwrap();
    let refs: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();

    // Layer 4 with a real change merged into its query rows; layers 0-3 and 5 are shared.
    let h = base.config.hidden_size;
    let delta: Vec<f32> = (0..h * h).map(|i| ((i % 7) as f32 - 3.0) * 1e-3).collect();
    let mut l4 = base.layer(4).clone();
    l4.qkv = l4.qkv.add_to_rows(0, &delta).unwrap();
    let (w0, _) = base.layer(4).qkv.dense();
    let (w1, _) = l4.qkv.dense();
    assert_eq!(w1[5], w0[5] + delta[5]);
    assert_eq!(w1[h * h + 5], w0[h * h + 5], "key rows untouched");
    let adapted = base.with_layer(4, l4).unwrap();
    for i in 0..n {
        assert_eq!(adapted.shares_layer(base, i), i != 4, "layer {i}");
    }
    assert!(base.with_layer(9, base.layer(0).clone()).is_err());

    let (whole, split, tuned) = e.run(|| {
        let mut whole = Batch::default();
        enc.embed_tokens(&refs, &mut whole).unwrap();
        let mut split = whole.clone();
        enc.run_layers(&mut whole, 0..n);
        enc.run_layers(&mut split, 0..4);
        let mut tuned = split.clone();
        enc.run_layers(&mut split, 4..n);
        enc.run_layers_with(&adapted, &mut tuned, 4..n);
        (whole, split, tuned)
    });
    assert_eq!(whole.hidden[..], split.hidden[..], "0..4 then 4..6 equals 0..6");
    assert_eq!(whole.seqs, split.seqs);
    let plain = enc.mean_pool(&whole, true);
    assert_eq!(plain, e.embed(&texts[..5]).unwrap(), "the encoder API gives the embedder's vectors");
    let adapted_vecs = enc.mean_pool(&tuned, true);
    for (a, p) in adapted_vecs.iter().zip(&plain) {
        let c = cos(a, p);
        assert!(c < 0.999_999 && c > 0.5, "the adapted layer changes the result a little: {c}");
    }
}

#[test]
fn selection_runs_the_native_forward_on_cpu_and_keeps_candle_selectable() {
    let catalog = Catalog::builtin(384);
    let cache = CacheState::inspect(model_dir().parent(), &catalog);
    let env = crate::models::env(Profile::Local, 8_000);
    let req = |choice| Request { role: Role::Embedding, choice, stored_model_id: None };
    let (auto, report) = select::resolve_with(&catalog, &env, &cache, &req("auto")).unwrap();
    assert_eq!(report.chosen, "minilm");
    assert_eq!(report.limits.threads, 2);
    let chosen = report.decisions.iter().find(|d| d.model == "minilm").unwrap();
    assert!(chosen.reason.contains("native BERT forward"), "{}", chosen.reason);
    let (candle, report) = select::resolve_with(&catalog, &env, &cache, &req("minilm-candle")).unwrap();
    assert_eq!(report.chosen, "minilm-candle");
    assert!(report.decisions[0].reason.contains("candle"), "{:?}", report.decisions);
    // Same model id, so stores made by either open with the other.
    assert_eq!(auto.model_id(), candle.model_id());
    let t = ["switching backends keeps vectors comparable"];
    assert!(cos(&auto.embed(&t).unwrap()[0], &candle.embed(&t).unwrap()[0]) >= 0.99999);
    // A store made by MiniLM opens with auto and keeps candle as its fallback.
    let stored = Request { role: Role::Embedding, choice: "auto", stored_model_id: Some(auto.model_id()) };
    let plan = select::plan(&catalog, &env, &cache, &stored).unwrap();
    let names: Vec<&str> = plan.chain.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(names, ["minilm", "minilm-candle"]);
}
