//! The trained text emotion classifier: LoRA adapters on the top layers of the MiniLM
//! encoder plus a small head, multi-label sigmoid outputs, one threshold per label.
//!
//! Layers below the adapted ones are shared with the plain encoder, so
//! [`AdapterEmotionClassifier::embed_and_classify`] gets a memory's plain MiniLM embedding
//! and its emotion scores from one pass over those layers; only the adapted top layers run
//! twice (once plain, once with the adapters folded into their weights).
//!
//! A classifier is a directory holding `manifest.json` ([`EmotionManifest`]) and
//! `adapter.safetensors`. It is refused unless the adapter file matches the manifest's
//! SHA-256 and the encoder weights match the SHA-256 of the encoder it was trained on.

use std::path::Path;
use std::sync::Arc;

pub(crate) use super::adapter_file::sha256_hex;
use super::adapter_file::{check_adapter, read_adapter, EncoderShape};
pub use super::adapter_file::{
    lora_a_name, lora_b_name, Head, HEAD_HIDDEN_BIAS, HEAD_HIDDEN_WEIGHT, HEAD_OUT_BIAS, HEAD_OUT_WEIGHT,
};
use super::bert_lora::{Layer, LoraBert, Mode};
use super::candle_bert::{length_order, make_device, mean_pool, pad_batch, tokenize, SentenceBertDir};
use super::emotion::{EmbeddedEmotions, EmotionClassifier};
pub use super::emotion_manifest::{builtin_manifest, BUILTIN_MANIFEST};
use super::emotion_manifest::{EmotionManifest, ADAPTER_FILE};
use super::hashing::normalize;
use super::DeviceKind;
use crate::error::{Error, Result};
use crate::models::cache;

/// One row of floats per text.
type Rows = Vec<Vec<f32>>;

/// How a classifier runs.
#[derive(Debug, Clone)]
pub struct ClassifierOptions {
    /// Threads of the classifier's rayon pool.
    pub threads: usize,
    /// Texts per forward pass.
    pub batch_size: usize,
    pub device: DeviceKind,
}

impl Default for ClassifierOptions {
    fn default() -> Self {
        ClassifierOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            batch_size: 32,
            device: DeviceKind::Cpu,
        }
    }
}

/// LoRA adapters on the top layers of a BERT sentence encoder, plus a classification head.
pub struct AdapterEmotionClassifier {
    bert: LoraBert,
    tokenizer: super::st_dir::StTokenizer,
    /// Layers `[0, split)` are shared with the plain encoder.
    split: usize,
    /// Layers `[split, L)` with the adapters merged into their weights.
    adapted: Vec<Layer>,
    head: Head,
    manifest: EmotionManifest,
    pool: rayon::ThreadPool,
    batch_size: usize,
}

impl std::fmt::Debug for AdapterEmotionClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdapterEmotionClassifier")
            .field("model_id", &self.manifest.model_id)
            .field("embedder", &self.manifest.embedder.model_id)
            .field("adapted_layers", &self.manifest.adapter.layers)
            .finish()
    }
}

fn unavailable(what: impl std::fmt::Display) -> Error {
    Error::ClassifierUnavailable(what.to_string())
}

impl AdapterEmotionClassifier {
    /// Load the classifier in `dir` on top of the encoder in `encoder_dir` (a
    /// sentence-transformers folder). The encoder's weights are hashed and must be the ones
    /// the classifier was trained on.
    pub fn load_dir(dir: &Path, encoder_dir: &Path, opts: ClassifierOptions) -> Result<Self> {
        let manifest = EmotionManifest::read(dir)?;
        let path = dir.join(&manifest.adapter.file);
        let adapter =
            std::fs::read(&path).map_err(|e| unavailable(format!("cannot read {}: {e}", path.display())))?;
        let weights = encoder_dir.join("model.safetensors");
        let encoder_sha = cache::sha256_file(&weights)
            .map_err(|e| unavailable(format!("cannot read {}: {e}", weights.display())))?;
        Self::from_parts(manifest, &adapter, encoder_dir, &encoder_sha, opts)
    }

    /// Load from a parsed manifest and the adapter file's bytes, on the encoder in
    /// `encoder_dir` whose `model.safetensors` has SHA-256 `encoder_sha256` (the caller
    /// vouches for that, e.g. after [`cache::verify`]).
    pub fn from_parts(
        manifest: EmotionManifest,
        adapter: &[u8],
        encoder_dir: &Path,
        encoder_sha256: &str,
        opts: ClassifierOptions,
    ) -> Result<Self> {
        if encoder_sha256 != manifest.embedder.weights_sha256 {
            return Err(Error::ClassifierMismatch {
                trained_on: format!(
                    "{} (weights sha256 {})",
                    manifest.embedder.model_id, manifest.embedder.weights_sha256
                ),
                offered: format!("{} (weights sha256 {encoder_sha256})", encoder_dir.display()),
            });
        }
        check_adapter(&manifest, adapter)?;
        let device = make_device(opts.device)?;
        let SentenceBertDir { config, tokenizer, .. } = SentenceBertDir::open(encoder_dir)?;
        let bert = LoraBert::load(encoder_dir, &config, &device)?;
        let tensors = candle_core::safetensors::load_buffer(adapter, &device)
            .map_err(|e| unavailable(format!("{ADAPTER_FILE} does not parse: {e}")))?;
        let shape = EncoderShape {
            layers: bert.layers().len(),
            hidden: bert.hidden,
            intermediate: bert.intermediate,
        };
        let (adapters, head) = read_adapter(&manifest, &tensors, shape)?;
        let layers = bert.layers().len();
        let split = layers - adapters.len();
        let adapted = adapters
            .iter()
            .zip(&bert.layers()[split..])
            .map(|(lora, layer)| layer.merged(lora))
            .collect::<candle_core::Result<Vec<_>>>()
            .map_err(|e| Error::Model(format!("merging adapters: {e}")))?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads.max(1))
            .thread_name(|i| format!("memorable-emotion-{i}"))
            .build()
            .map_err(|e| Error::Internal(format!("classifier thread pool: {e}")))?;
        Ok(AdapterEmotionClassifier {
            bert,
            tokenizer,
            split,
            adapted,
            head,
            manifest,
            pool,
            batch_size: opts.batch_size.max(1),
        })
    }

    pub fn manifest(&self) -> &EmotionManifest {
        &self.manifest
    }

    /// One batch: probabilities, and the plain normalized embeddings when `embed`.
    fn forward(&self, batch: &[&[u32]], embed: bool) -> candle_core::Result<(Rows, Rows)> {
        let (ids, mask) = pad_batch(batch, self.bert.device())?;
        let bias = LoraBert::attention_bias(&mask)?;
        let layers = self.bert.layers().len();
        let shared = self.bert.run(self.bert.embed(&ids)?, &bias, 0..self.split, &[], Mode::Infer, None)?;
        let mut emotion = shared.clone();
        for layer in &self.adapted {
            emotion = layer.forward(&emotion, &bias, None, Mode::Infer, None)?;
        }
        let logits = self.head.forward(&mean_pool(&emotion, &mask)?, None)?;
        let probs = candle_nn::ops::sigmoid(&logits)?.to_vec2::<f32>()?;
        let embeddings = if embed {
            let plain = self.bert.run(shared, &bias, self.split..layers, &[], Mode::Infer, None)?;
            let mut v = mean_pool(&plain, &mask)?.to_vec2::<f32>()?;
            v.iter_mut().for_each(|v| normalize(v));
            v
        } else {
            Vec::new()
        };
        Ok((embeddings, probs))
    }

    /// The mean-pooled states after the adapted layers (what the head reads), one row per
    /// text: the features a new head is trained on (`quick` training preset).
    pub fn features(&self, texts: &[&str]) -> Result<Rows> {
        let tokens = tokenize(&self.tokenizer, texts)?;
        let order = length_order(&tokens);
        let mut out = vec![Vec::new(); texts.len()];
        self.pool.install(|| -> Result<()> {
            for chunk in order.chunks(self.batch_size) {
                let batch: Vec<&[u32]> = chunk.iter().map(|&i| tokens[i].as_slice()).collect();
                let pooled = self
                    .pooled(&batch)
                    .map_err(|e| Error::Model(format!("emotion classifier forward pass: {e}")))?;
                for (k, &i) in chunk.iter().enumerate() {
                    out[i] = pooled[k].clone();
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn pooled(&self, batch: &[&[u32]]) -> candle_core::Result<Rows> {
        let (ids, mask) = pad_batch(batch, self.bert.device())?;
        let bias = LoraBert::attention_bias(&mask)?;
        let mut h = self.bert.run(self.bert.embed(&ids)?, &bias, 0..self.split, &[], Mode::Infer, None)?;
        for layer in &self.adapted {
            h = layer.forward(&h, &bias, None, Mode::Infer, None)?;
        }
        mean_pool(&h, &mask)?.to_vec2::<f32>()
    }

    fn run(&self, texts: &[&str], embed: bool) -> Result<EmbeddedEmotions> {
        let tokens = tokenize(&self.tokenizer, texts)?;
        let order = length_order(&tokens);
        let mut scores = vec![Vec::new(); texts.len()];
        let mut embeddings = vec![Vec::new(); if embed { texts.len() } else { 0 }];
        self.pool.install(|| -> Result<()> {
            for chunk in order.chunks(self.batch_size) {
                let batch: Vec<&[u32]> = chunk.iter().map(|&i| tokens[i].as_slice()).collect();
                let (e, p) = self
                    .forward(&batch, embed)
                    .map_err(|e| Error::Model(format!("emotion classifier forward pass: {e}")))?;
                for (k, &i) in chunk.iter().enumerate() {
                    scores[i] = p[k].clone();
                    if embed {
                        embeddings[i] = e[k].clone();
                    }
                }
            }
            Ok(())
        })?;
        Ok(EmbeddedEmotions { embeddings, scores })
    }
}

impl EmotionClassifier for AdapterEmotionClassifier {
    fn labels(&self) -> &[String] {
        &self.manifest.labels
    }
    fn thresholds(&self) -> &[f32] {
        &self.manifest.thresholds
    }
    fn classify(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.run(texts, false)?.scores)
    }
    fn model_id(&self) -> &str {
        &self.manifest.model_id
    }
    fn embedder_model_id(&self) -> &str {
        &self.manifest.embedder.model_id
    }
    fn embed_and_classify(&self, texts: &[&str]) -> Result<Option<EmbeddedEmotions>> {
        if texts.is_empty() {
            return Ok(Some(EmbeddedEmotions { embeddings: Vec::new(), scores: Vec::new() }));
        }
        self.run(texts, true).map(Some)
    }
}

/// The shipped adapter + head weights.
pub const BUILTIN_ADAPTER: &[u8] =
    include_bytes!("../../../models/emotion/goemotions-minilm/adapter.safetensors");

/// The classifier an engine uses by default: the model registry's active installed version
/// of the shipped classifier's name (a retrained `goemotions`, with its folder), else the
/// shipped one.
pub fn default_manifest(model_dir: Option<&Path>) -> (EmotionManifest, Option<std::path::PathBuf>) {
    let installed = cache::cache_dir(model_dir).and_then(|dir| {
        let reg = super::registry::Registry::read(&dir).ok()?;
        // Only versions of the shipped classifier's own name: other classifiers (an
        // application's label sets) are served by name, never as the default.
        let v = reg.active(&builtin_manifest().name).filter(|v| !v.folder.is_empty())?;
        let folder = dir.join(&v.folder);
        EmotionManifest::read(&folder).ok().map(|m| (m, Some(folder)))
    });
    installed.unwrap_or_else(|| (builtin_manifest(), None))
}

/// The model catalog's name (what `Config::embedder` takes, e.g. `minilm`) of the encoder
/// the classifier of `manifest` was trained on.
pub fn embedder_name(manifest: &EmotionManifest) -> Result<String> {
    let id = &manifest.embedder.model_id;
    let catalog = cache::Manifest::builtin();
    let entry = catalog.models.iter().find(|m| &m.model_id == id);
    entry.map(|m| m.name.clone()).ok_or_else(|| unavailable(format!("{id} is not a fetchable model")))
}

/// Why the default classifier cannot serve an engine whose embedder is `embedder_model_id`,
/// judged without loading anything (`None`: it can, pending the checksum checks of
/// [`load_default`]).
pub fn default_unavailable_reason(embedder_model_id: &str) -> Option<String> {
    default_unavailable_reason_in(embedder_model_id, None)
}

/// [`default_unavailable_reason`] for the model cache `model_dir`.
pub fn default_unavailable_reason_in(embedder_model_id: &str, model_dir: Option<&Path>) -> Option<String> {
    let (manifest, _) = default_manifest(model_dir);
    // The int8 model is the same encoder quantized: the classifier runs on its activations
    // (the shared pass merges its LoRA layers into the dequantized weights).
    let int8 = format!("{}{}", manifest.embedder.model_id, super::select::INT8_SUFFIX);
    (embedder_model_id != manifest.embedder.model_id && embedder_model_id != int8).then(|| {
        format!(
            "the emotion classifier {} runs on {}, and this engine embeds with {embedder_model_id}",
            manifest.name, manifest.embedder.model_id
        )
    })
}

/// The default classifier (the registry's installed one, else the shipped GoEmotions one) for
/// an engine whose embedder is `embedder_model_id`, loaded on the MiniLM in the model cache
/// (`model_dir` overrides the cache location, as `Config::model_dir` does).
///
/// Refuses (code 35, `ClassifierUnavailable`, with the reason) when the embedder is another
/// model, the cached MiniLM is missing or fails its checksums, or the shipped adapter fails
/// its own; refuses with code 36 (`ClassifierMismatch`) when the cache's MiniLM weights are
/// not the ones the classifier was trained on. Verifying hashes the encoder weights once.
pub fn load_default(
    embedder_model_id: &str,
    model_dir: Option<&Path>,
    opts: ClassifierOptions,
) -> Result<Arc<dyn EmotionClassifier>> {
    load_default_on(embedder_model_id, model_dir, opts, None)
}

/// [`load_default`], on the store's native embedder `shared` when it runs the cached MiniLM
/// folder the classifier was trained on: the classifier then shares its encoder
/// ([`super::emotion_native::SharedPassClassifier`], one pass for a text's vector and its
/// scores); otherwise, or without one, on its own candle encoder.
pub fn load_default_on(
    embedder_model_id: &str,
    model_dir: Option<&Path>,
    opts: ClassifierOptions,
    shared: Option<Arc<super::bert::BertEmbedder>>,
) -> Result<Arc<dyn EmotionClassifier>> {
    if let Some(reason) = default_unavailable_reason_in(embedder_model_id, model_dir) {
        return Err(unavailable(reason));
    }
    let (manifest, installed) = default_manifest(model_dir);
    let name = embedder_name(&manifest)?;
    let cache_dir = cache::cache_dir(model_dir)
        .ok_or_else(|| unavailable("no model cache directory (set MEMORABLE_HOME)"))?;
    let (dir, entry) = super::registry::resolve(&cache_dir, &name)
        .ok_or_else(|| unavailable(format!("{name} is not in the model cache")))?;
    let weights_sha = entry
        .files
        .iter()
        .find(|f| f.path == "model.safetensors")
        .map(|f| f.sha256.clone())
        .ok_or_else(|| unavailable(format!("the model manifest lists no weights for {}", entry.name)))?;
    cache::verify(&dir, &entry).map_err(|reason| {
        unavailable(format!("{}: {reason}; run `memorable models fetch {}`", entry.name, entry.name))
    })?;
    if let Some(embedder) = shared.filter(|e| e.dir() == dir) {
        // The embedder runs the folder just verified; the classifier must have been trained
        // on those weights, as on the candle path.
        if manifest.embedder.weights_sha256 != weights_sha {
            return Err(Error::ClassifierMismatch {
                trained_on: format!(
                    "{} (weights sha256 {})",
                    manifest.embedder.model_id, manifest.embedder.weights_sha256
                ),
                offered: format!("{} (weights sha256 {weights_sha})", dir.display()),
            });
        }
        let adapter = match &installed {
            Some(folder) => {
                let path = folder.join(&manifest.adapter.file);
                std::fs::read(&path)
                    .map_err(|e| unavailable(format!("cannot read {}: {e}", path.display())))?
            }
            None => BUILTIN_ADAPTER.to_vec(),
        };
        return Ok(Arc::new(super::emotion_native::SharedPassClassifier::new(manifest, &adapter, embedder)?));
    }
    let classifier = match installed {
        Some(folder) => AdapterEmotionClassifier::load_dir(&folder, &dir, opts)?,
        None => AdapterEmotionClassifier::from_parts(manifest, BUILTIN_ADAPTER, &dir, &weights_sha, opts)?,
    };
    Ok(Arc::new(classifier))
}
