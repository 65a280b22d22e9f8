//! The text emotion classifier with the real MiniLM: the LoRA-capable forward reproduces
//! sentence-transformers when its adapters are zero, the shipped classifier loads (and only on
//! the encoder it was trained on), its joint pass returns the plain embeddings, and on the
//! GoEmotions dev set it scores the macro-F1 its manifest states.
//!
//! Like memorable-core/tests/models.rs these need the real weights (`scripts/fetch-model.sh`) and fail
//! without them. The dev-set check also reads `$MEMORABLE_SHARED_DATA/goemotions/dev.tsv`
//! (opt-in: scripts/test.sh sets the variable when `../shared/data` exists).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use memorable_core::models::bert_lora::{LayerLora, LoraBert, LoraPair, Mode, Proj, SplitMix};
use memorable_core::models::cache::{self, Manifest};
use memorable_core::models::emotion_adapter::{
    builtin_manifest, load_default, AdapterEmotionClassifier, BUILTIN_ADAPTER, BUILTIN_MANIFEST,
};
use memorable_core::models::emotion_manifest::EmotionManifest;
use memorable_core::models::emotion_metrics::evaluate;
use memorable_core::models::{
    BertEmbedder, BertOptions, CandleBertEmbedder, ClassifierOptions, EmotionClassifier, SharedPassClassifier,
};
use memorable_core::{Config, Embedder, Error, ErrorCode, Memorable};

const MINILM: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// The verified MiniLM folder, or a failure telling how to get it.
fn minilm_dir() -> PathBuf {
    let dir = cache::cache_dir(None).expect("no model cache directory: set MEMORABLE_HOME or HOME");
    let minilm = Manifest::builtin().get("minilm").unwrap().clone();
    if let Err(reason) = cache::verify(&dir.join("minilm"), &minilm) {
        panic!(
            "all-MiniLM-L6-v2 is not usable in the model cache {}: {reason}.\n\
             Run scripts/fetch-model.sh (or `memorable models fetch minilm`) before these tests.",
            dir.display()
        );
    }
    dir.join("minilm")
}

fn weights_sha() -> String {
    let minilm = Manifest::builtin().get("minilm").unwrap().clone();
    minilm.files.iter().find(|f| f.path == "model.safetensors").unwrap().sha256.clone()
}

fn options() -> ClassifierOptions {
    ClassifierOptions { threads: 2, batch_size: 64, ..ClassifierOptions::default() }
}

fn shipped() -> &'static Arc<dyn EmotionClassifier> {
    static C: std::sync::OnceLock<Arc<dyn EmotionClassifier>> = std::sync::OnceLock::new();
    C.get_or_init(|| {
        minilm_dir();
        load_default(MINILM, None, options()).expect("the shipped classifier loads on the cached MiniLM")
    })
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>()
        / (a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt())
}

#[derive(serde::Deserialize)]
struct Reference {
    items: Vec<RefItem>,
}

#[derive(serde::Deserialize)]
struct RefItem {
    text: String,
    embedding: Vec<f32>,
}

fn reference() -> Reference {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/minilm-reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// LoRA pairs with random `A` and `B = 0` (how training starts) on the top `layers` layers.
fn zero_adapters(bert: &LoraBert, layers: usize) -> Vec<LayerLora> {
    let mut rng = SplitMix::new(11);
    (0..layers)
        .map(|_| {
            let mut l = LayerLora::default();
            for p in Proj::ALL {
                let (inp, out) = p.shape(bert.hidden, bert.intermediate);
                let a: Vec<f32> = (0..8 * inp).map(|_| rng.next_f32() - 0.5).collect();
                l.set(
                    p,
                    LoraPair {
                        a: Tensor::from_vec(a, (8, inp), &Device::Cpu).unwrap(),
                        b: Tensor::zeros((out, 8), DType::F32, &Device::Cpu).unwrap(),
                        scale: 2.0,
                    },
                );
            }
            l
        })
        .collect()
}

#[test]
fn zero_adapters_reproduce_sentence_transformers() {
    let dir = minilm_dir();
    let r = reference();
    let texts: Vec<&str> = r.items.iter().map(|i| i.text.as_str()).collect();
    let embedder =
        CandleBertEmbedder::load(&dir, BertOptions { threads: 2, ..BertOptions::default() }).unwrap();
    let tokens = embedder.tokenize(&texts).unwrap();
    let bert = LoraBert::load_dir(&dir).unwrap();
    let adapters = zero_adapters(&bert, 3);
    for mode in [Mode::Infer, Mode::Train] {
        // One text at a time and as one padded batch: padding must not leak in either.
        let batch: Vec<&[u32]> = tokens.iter().map(Vec::as_slice).collect();
        let batched = bert.sentence_embeddings(&batch, &adapters, mode).unwrap();
        for ((item, ids), together) in r.items.iter().zip(&tokens).zip(&batched) {
            let alone = bert.sentence_embeddings(&[ids.as_slice()], &adapters, mode).unwrap().remove(0);
            for v in [&alone, together] {
                let c = cos(v, &item.embedding);
                assert!(c >= 0.9999, "{mode:?}: cosine {c} for {:?}", item.text);
            }
        }
    }
}

#[test]
fn shipped_manifest_round_trips_and_describes_the_adapter() {
    let m = builtin_manifest();
    let again = EmotionManifest::parse(&serde_json::to_string_pretty(&m).unwrap()).unwrap();
    assert_eq!(again, m);
    assert_eq!(m.embedder.model_id, MINILM);
    assert_eq!(m.embedder.weights_sha256, weights_sha(), "trained on the MiniLM the cache manifest pins");
    assert_eq!(m.labels.len(), 28);
    assert_eq!(m.labels[27], "neutral");
    assert_eq!(m.adapter.bytes as usize, BUILTIN_ADAPTER.len());
    assert!(BUILTIN_ADAPTER.len() <= 5 * 1024 * 1024, "shipped adapter + head stay within 5 MB");
    assert!(m.training.command.starts_with("memorable train emotion"), "{}", m.training.command);
    // Inconsistent manifests are refused with a reason.
    let mut bad: serde_json::Value = serde_json::from_str(BUILTIN_MANIFEST).unwrap();
    bad["thresholds"] = serde_json::json!([0.5]);
    let err = EmotionManifest::parse(&bad.to_string()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ClassifierUnavailable);
    assert!(err.to_string().contains("thresholds"), "{err}");
    let mut newer: serde_json::Value = serde_json::from_str(BUILTIN_MANIFEST).unwrap();
    newer["format_version"] = serde_json::json!(99);
    assert!(EmotionManifest::parse(&newer.to_string()).unwrap_err().to_string().contains("newer"));
}

#[test]
fn refuses_an_encoder_it_was_not_trained_on() {
    let dir = minilm_dir();
    let m = builtin_manifest();
    // Another embedder: off, with the reason.
    let load_err = |id: &str, dir: Option<&Path>| match load_default(id, dir, options()) {
        Ok(_) => panic!("loaded on {id}"),
        Err(e) => e,
    };
    let err = load_err("hashing-v1-384", None);
    assert_eq!(err.code(), ErrorCode::ClassifierUnavailable);
    assert!(err.to_string().contains(MINILM) && err.to_string().contains("hashing-v1-384"), "{err}");
    // Same model id, other weights: a mismatch.
    let other = "0".repeat(64);
    let err = AdapterEmotionClassifier::from_parts(m.clone(), BUILTIN_ADAPTER, &dir, &other, options())
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ClassifierMismatch);
    assert!(matches!(err, Error::ClassifierMismatch { .. }), "{err}");
    // An altered adapter file: refused by its checksum.
    let mut tampered = BUILTIN_ADAPTER.to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let err =
        AdapterEmotionClassifier::from_parts(m, &tampered, &dir, &weights_sha(), options()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ClassifierUnavailable);
    assert!(err.to_string().contains("checksum"), "{err}");
    // A model cache without MiniLM: off, saying how to get it.
    let empty = tempfile::tempdir().unwrap();
    let err = load_err(MINILM, Some(empty.path()));
    assert_eq!(err.code(), ErrorCode::ClassifierUnavailable);
    assert!(err.to_string().contains("models fetch minilm"), "{err}");
}

#[test]
fn one_pass_gives_the_plain_embedding_and_the_same_scores() {
    let texts =
        ["Thank you so much, this made my day!", "I can't believe they cancelled it. So angry.", "ok"];
    let c = shipped();
    let joint = c.embed_and_classify(&texts).unwrap().expect("the adapter classifier shares its encoder");
    let embedder =
        CandleBertEmbedder::load(minilm_dir(), BertOptions { threads: 2, ..BertOptions::default() }).unwrap();
    let plain = embedder.embed(&texts).unwrap();
    for (a, b) in joint.embeddings.iter().zip(&plain) {
        assert!(cos(a, b) >= 0.9999, "joint-pass embedding differs from the embedder's: {}", cos(a, b));
    }
    let scores = c.classify(&texts).unwrap();
    for (a, b) in joint.scores.iter().zip(&scores) {
        assert_eq!(a.len(), 28);
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-5);
            assert!((0.0..=1.0).contains(x));
        }
    }
    // Batched equals one at a time.
    let alone = c.classify(&texts[1..2]).unwrap();
    for (x, y) in alone[0].iter().zip(&scores[1]) {
        assert!((x - y).abs() < 1e-5);
    }
}

fn native_embedder() -> Arc<BertEmbedder> {
    Arc::new(BertEmbedder::load(minilm_dir(), BertOptions { threads: 2, ..BertOptions::default() }).unwrap())
}

fn shared_pass(embedder: Arc<BertEmbedder>) -> SharedPassClassifier {
    SharedPassClassifier::new(builtin_manifest(), BUILTIN_ADAPTER, embedder).unwrap()
}

/// Largest absolute difference between two tables of scores of the same shape.
fn worst_difference(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len());
            x.iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0, f32::max)
}

#[test]
fn shared_pass_gives_the_embedders_vectors_bit_for_bit_and_the_candle_scores() {
    let embedder = native_embedder();
    let c = shared_pass(embedder.clone());
    assert!(c.runs_on(embedder.as_ref()));
    assert!(c.shares_pass_with(embedder.as_ref()));
    // Another instance of the same model is not this one: its pass is not shared.
    let other = native_embedder();
    assert!(!c.shares_pass_with(other.as_ref()));
    assert!(!shipped().shares_pass_with(embedder.as_ref()), "the candle classifier has its own encoder");

    let r = reference();
    let mut texts: Vec<&str> = r.items.iter().map(|i| i.text.as_str()).collect();
    texts.push("Thank you so much, this made my day!");
    texts.push("I can't believe they cancelled it. So angry.");
    texts.push("ok");
    let long = "an unusually long sentence that goes on and on ".repeat(40);
    texts.push(&long);
    let joint = c.embed_and_classify(&texts).unwrap().expect("the shared pass embeds");
    let plain = embedder.embed(&texts).unwrap();
    assert_eq!(joint.embeddings, plain, "shared-pass embeddings differ from the embedder's");
    // The same with one text per call (batch 1 runs split columns, not whole sequences).
    for (i, t) in texts.iter().enumerate() {
        let one = c.embed_and_classify(&[t]).unwrap().unwrap();
        assert_eq!(one.embeddings[0], plain[i], "text {i} alone");
        assert_eq!(one.scores[0], joint.scores[i], "text {i}: scores depend on the batch");
    }
    let candle = shipped().classify(&texts).unwrap();
    let worst = worst_difference(&joint.scores, &candle);
    assert!(worst <= 1e-5, "shared pass vs candle classifier: worst |diff| {worst:e}");
    assert_eq!(c.classify(&texts).unwrap(), joint.scores);
    assert_eq!(c.labels(), shipped().labels());
    assert_eq!(c.thresholds(), shipped().thresholds());
    assert!(c.classify(&[]).unwrap().is_empty());
    assert!(c.embed_and_classify(&[]).unwrap().unwrap().embeddings.is_empty());

    // A damaged adapter is refused.
    let mut bad = BUILTIN_ADAPTER.to_vec();
    bad[100] ^= 1;
    let err = SharedPassClassifier::new(builtin_manifest(), &bad, embedder).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ClassifierUnavailable, "{err}");
}

#[test]
fn remember_embeds_and_reads_emotion_in_one_pass() {
    // A store on the cached MiniLM runs its classifier on its own embedder (one pass per
    // text); a store given the candle classifier embeds and classifies separately. Both must
    // store the same vectors and the same emotional snapshots.
    minilm_dir();
    let shared = Memorable::open_in_memory().unwrap();
    let separate = memorable_core::Builder::in_memory().emotion_classifier(shipped().clone()).open().unwrap();
    let texts = [
        "Thank you so much for your help, I really appreciate it!",
        "This is so frustrating, nothing works.",
        "ok",
        "I'm scared about the exam tomorrow but excited for the trip after it.",
    ];
    let batch = || texts.iter().map(|t| memorable_core::NewMemory::new("ann", *t)).collect::<Vec<_>>();
    let a = shared.remember_batch(batch()).unwrap();
    let b = separate.remember_batch(batch()).unwrap();
    // One at a time too (the batch-1 path).
    let one = shared.remember(memorable_core::NewMemory::new("bob", texts[1])).unwrap();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let (x, y) = (shared.get(*x).unwrap(), separate.get(*y).unwrap());
        let (ex, ey) = (x.emotion.expect("a text reading"), y.emotion.expect("a text reading"));
        assert_eq!(ex.dominant, ey.dominant, "text {i}");
        assert_eq!(ex.scores.keys().collect::<Vec<_>>(), ey.scores.keys().collect::<Vec<_>>(), "text {i}");
        for (k, v) in &ex.scores {
            assert!((v - ey.scores[k]).abs() < 1e-4, "text {i} {k}: {v} vs {}", ey.scores[k]);
        }
        assert!((ex.valence - ey.valence).abs() < 1e-4 && (ex.arousal - ey.arousal).abs() < 1e-4);
        let q = memorable_core::Recall::new("ann", texts[i]).limit(1);
        let (hx, hy) = (&shared.recall(&q).unwrap()[0], &separate.recall(&q).unwrap()[0]);
        assert_eq!(hx.memory.text, texts[i]);
        assert_eq!(hx.breakdown.semantic, hy.breakdown.semantic, "text {i}: the stored vectors differ");
        assert!(hx.breakdown.semantic.unwrap() > 0.999);
    }
    let alone = shared.get(one).unwrap().emotion.expect("a text reading");
    let batched = shared.get(a[1]).unwrap().emotion.unwrap();
    assert_eq!(alone.dominant, batched.dominant);
    let (s, t) = (shared.stats().unwrap().classifier, separate.stats().unwrap().classifier);
    assert!(s.loaded && s.shared_pass, "{s:?}");
    assert!(t.loaded && !t.shared_pass, "{t:?}");
}

#[test]
fn memorable_classify_reads_emotions_and_stats_explain_availability() {
    minilm_dir();
    let mem = Memorable::open_in_memory().unwrap();
    assert_eq!(mem.stats().unwrap().embedder.model_id, MINILM);
    let before = mem.stats().unwrap().classifier;
    assert!(before.available && !before.loaded, "{before:?}");
    let out = mem
        .classify(&["Thank you so much for your help, I really appreciate it!", "What time is it?"])
        .unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].scores.len(), 28);
    assert!(out[0].labels.contains(&"gratitude".to_owned()), "{:?}", out[0].labels);
    let after = mem.stats().unwrap().classifier;
    assert!(after.loaded && after.reason.is_none(), "{after:?}");
    assert_eq!(after.model_id.as_deref(), Some(builtin_manifest().model_id.as_str()));
    assert_eq!(mem.classify(&["  "]).unwrap_err().code(), ErrorCode::EmptyText);
    assert!(mem.classify(&[]).unwrap().is_empty());

    // The hashing embedder: classification is off, and stats() says why.
    let mut config = Config::default();
    config.embedder = "hashing".into();
    let dir = tempfile::tempdir().unwrap();
    let hashed = Memorable::builder(dir.path()).config(config).open().unwrap();
    let status = hashed.stats().unwrap().classifier;
    assert!(!status.available && status.reason.as_deref().unwrap_or("").contains(MINILM), "{status:?}");
    let err = hashed.classify(&["hello"]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ClassifierUnavailable);
}

#[test]
fn shipped_classifier_reaches_its_manifest_macro_f1_on_goemotions_dev() {
    let Some(shared) = std::env::var_os("MEMORABLE_SHARED_DATA") else {
        eprintln!(
            "MEMORABLE_SHARED_DATA is not set: GoEmotions dev check not run (opt-in, see scripts/test.sh)"
        );
        return;
    };
    let path = PathBuf::from(shared).join("goemotions/dev.tsv");
    let dev = memorable_core::training::goemotions::read_tsv(&path, 28).unwrap();
    assert_eq!(dev.len(), 5426);
    let c = shipped();
    let texts: Vec<&str> = dev.texts.iter().map(String::as_str).collect();
    let probs = c.classify(&texts).unwrap();
    // The shared pass on the native forward gives the candle path's scores on every dev text.
    let native = shared_pass(native_embedder()).classify(&texts).unwrap();
    let worst = worst_difference(&native, &probs);
    assert!(worst <= 1e-5, "native shared pass vs candle on GoEmotions dev: worst |diff| {worst:e}");
    eprintln!("GoEmotions dev: native shared pass vs candle, worst |diff| {worst:e}");
    let m = builtin_manifest();
    let s = evaluate(&probs, &dev.labels, c.thresholds());
    let want = &m.metrics.dev;
    assert!(
        (s.macro_f1 - want.macro_f1).abs() <= 0.005,
        "dev macro-F1 {} vs manifest {}",
        s.macro_f1,
        want.macro_f1
    );
    assert!(
        (s.micro_f1 - want.micro_f1).abs() <= 0.005,
        "dev micro-F1 {} vs manifest {}",
        s.micro_f1,
        want.micro_f1
    );
    eprintln!(
        "GoEmotions dev: macro-F1 {:.4}, micro-F1 {:.4} (manifest {:.4}, {:.4})",
        s.macro_f1, s.micro_f1, want.macro_f1, want.micro_f1
    );
}
