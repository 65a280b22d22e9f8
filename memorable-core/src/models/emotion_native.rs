//! The adapter emotion classifier on the native forward, sharing the engine's embedder: one
//! pass over a text gives its stored embedding and its emotion scores.
//!
//! The shipped classifier adapts only the top layers of the MiniLM the store embeds with
//! (LoRA on layers 4 and 5 of 6), so the layers below are the same computation for both.
//! [`SharedPassClassifier`] runs them once on the embedder's own [`Encoder`], then finishes
//! the top layers twice from the same activations: with the plain weights (mean pooling,
//! normalized: the embedding) and with the adapters merged into the weights (mean pooling,
//! then the head: the scores). A remember then costs the embedding plus the adapted layers
//! and the head, instead of the embedding plus a whole second forward on candle.
//!
//! Exactness: the embeddings are bit-identical to [`BertEmbedder`]'s (the encoder runs a
//! layer range `0..k` then `k..n` exactly as `0..n`, and a sequence's result does not depend
//! on its batch). The merged weights are the candle classifier's (the same `scale · B A`
//! delta added to the same base), so the scores differ from the candle path only by the
//! order of f32 sums (within 1e-5; `tests/emotion_classifier.rs` checks it).

use std::sync::Arc;

use candle_core::{Device, Tensor};

use super::adapter_file::{check_adapter, read_adapter, EncoderShape, Head};
use super::bert::{Batch, BertEmbedder, BertWeights, Encoder, LayerWeights};
use super::bert_lora::Proj;
use super::emotion::{EmbeddedEmotions, EmotionClassifier};
use super::emotion_manifest::{EmotionManifest, ADAPTER_FILE};
use super::Embedder;
use crate::error::{Error, Result};

/// A linear layer `y = W x + b` kept dense (`[out][in]`): the head is a few thousand
/// multiply-adds per text, nothing to pack kernels for.
#[derive(Debug, Clone)]
struct Dense {
    w: Vec<f32>,
    b: Vec<f32>,
    inputs: usize,
}

impl Dense {
    fn from_candle(l: &candle_nn::Linear) -> Result<Dense> {
        let w = l.weight().to_vec2::<f32>().map_err(model_err)?;
        let inputs = w.first().map_or(0, Vec::len);
        let b = match l.bias() {
            Some(b) => b.to_vec1::<f32>().map_err(model_err)?,
            None => vec![0.0; w.len()],
        };
        Ok(Dense { w: w.concat(), b, inputs })
    }

    fn apply(&self, x: &[f32]) -> Vec<f32> {
        self.b.iter().zip(self.w.chunks_exact(self.inputs)).map(|(b, row)| b + dot(row, x)).collect()
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn model_err(e: candle_core::Error) -> Error {
    Error::Model(format!("emotion classifier adapter: {e}"))
}

/// The head on pooled states: an optional GELU layer, then one logit per label, then sigmoid.
#[derive(Debug, Clone)]
struct DenseHead {
    hidden: Option<Dense>,
    out: Dense,
}

impl DenseHead {
    fn from_candle(h: &Head) -> Result<DenseHead> {
        Ok(DenseHead {
            hidden: h.hidden.as_ref().map(Dense::from_candle).transpose()?,
            out: Dense::from_candle(&h.out)?,
        })
    }

    fn probabilities(&self, pooled: &[f32]) -> Vec<f32> {
        let logits = match &self.hidden {
            Some(h) => {
                let mut x = h.apply(pooled);
                super::bert::ops::gelu_slice(&mut x);
                self.out.apply(&x)
            }
            None => self.out.apply(pooled),
        };
        logits.into_iter().map(|z| 1.0 / (1.0 + (-z).exp())).collect()
    }
}

/// The adapter classifier of [`super::emotion_adapter`] run on an engine's native embedder.
pub struct SharedPassClassifier {
    embedder: Arc<BertEmbedder>,
    /// The embedder's weights with the adapters merged into layers `split..`; layers below
    /// are shared with it (no copy).
    adapted: BertWeights,
    split: usize,
    head: DenseHead,
    manifest: EmotionManifest,
}

impl std::fmt::Debug for SharedPassClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedPassClassifier")
            .field("model_id", &self.manifest.model_id)
            .field("embedder", &self.embedder)
            .field("split", &self.split)
            .finish()
    }
}

impl SharedPassClassifier {
    /// The classifier of `manifest` and its adapter file's bytes on `embedder`, which must be
    /// the encoder the classifier was trained on: the caller vouches for its weights (e.g.
    /// [`super::cache::verify`] of the folder it was loaded from, against the manifest's
    /// SHA-256). The adapter's own checksum is checked here.
    pub fn new(manifest: EmotionManifest, adapter: &[u8], embedder: Arc<BertEmbedder>) -> Result<Self> {
        check_adapter(&manifest, adapter)?;
        let base = embedder.encoder().weights().clone();
        let cfg = &base.config;
        let shape = EncoderShape {
            layers: base.num_layers(),
            hidden: cfg.hidden_size,
            intermediate: cfg.intermediate_size,
        };
        let tensors = candle_core::safetensors::load_buffer(adapter, &Device::Cpu)
            .map_err(|e| Error::ClassifierUnavailable(format!("{ADAPTER_FILE} does not parse: {e}")))?;
        let (adapters, head) = read_adapter(&manifest, &tensors, shape)?;
        let split = shape.layers - adapters.len();
        let mut adapted = base.clone();
        for (i, lora) in adapters.iter().enumerate() {
            let l = split + i;
            let mut layer: LayerWeights = base.layer(l).clone();
            for p in Proj::ALL {
                let Some(pair) = lora.get(p) else { continue };
                let delta = flat(&pair.delta().map_err(model_err)?)?;
                let h = shape.hidden;
                match p {
                    Proj::Query => layer.qkv = layer.qkv.add_to_rows(0, &delta)?,
                    Proj::Key => layer.qkv = layer.qkv.add_to_rows(h, &delta)?,
                    Proj::Value => layer.qkv = layer.qkv.add_to_rows(2 * h, &delta)?,
                    Proj::AttnOut => layer.attn_out = layer.attn_out.add_to_rows(0, &delta)?,
                    Proj::FfnIn => layer.ffn_in = layer.ffn_in.add_to_rows(0, &delta)?,
                    Proj::FfnOut => layer.ffn_out = layer.ffn_out.add_to_rows(0, &delta)?,
                }
            }
            adapted = adapted.with_layer(l, layer)?;
        }
        Ok(SharedPassClassifier { embedder, adapted, split, head: DenseHead::from_candle(&head)?, manifest })
    }

    /// True when this classifier runs on `embedder` itself (the same instance), so its
    /// embeddings are that embedder's vectors bit for bit.
    pub fn runs_on(&self, embedder: &dyn Embedder) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(&self.embedder), embedder as *const dyn Embedder)
    }

    /// Scores of every text, and its plain embedding when `embed`: the embedder's own
    /// batches ([`BertEmbedder::for_each_batch`]), the lower layers run once per batch.
    fn pass(&self, texts: &[&str], embed: bool) -> Result<EmbeddedEmotions> {
        let enc: &Encoder = self.embedder.encoder();
        let layers = enc.weights().num_layers();
        let mut scores = vec![Vec::new(); texts.len()];
        let mut embeddings = vec![Vec::new(); if embed { texts.len() } else { 0 }];
        let mut tuned = Batch::default();
        self.embedder.for_each_batch(texts, |chunk, plain| {
            enc.run_layers(plain, 0..self.split);
            tuned.clone_from(plain);
            enc.run_layers_with(&self.adapted, &mut tuned, self.split..layers);
            for (&i, pooled) in chunk.iter().zip(enc.mean_pool(&tuned, false)) {
                scores[i] = self.head.probabilities(&pooled);
            }
            if embed {
                enc.run_layers(plain, self.split..layers);
                for (&i, v) in chunk.iter().zip(enc.mean_pool(plain, true)) {
                    embeddings[i] = v;
                }
            }
            Ok(())
        })?;
        Ok(EmbeddedEmotions { embeddings, scores })
    }
}

/// A 2-D f32 tensor's values, row-major.
fn flat(t: &Tensor) -> Result<Vec<f32>> {
    Ok(t.to_vec2::<f32>().map_err(model_err)?.concat())
}

impl EmotionClassifier for SharedPassClassifier {
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
        Ok(self.pass(texts, false)?.scores)
    }
    fn model_id(&self) -> &str {
        &self.manifest.model_id
    }
    fn embedder_model_id(&self) -> &str {
        // The store's own embedder: the classifier's encoder, or (`minilm-int8`) that
        // encoder quantized, whose activations it then reads.
        self.embedder.model_id()
    }
    fn embed_and_classify(&self, texts: &[&str]) -> Result<Option<EmbeddedEmotions>> {
        self.pass(texts, true).map(Some)
    }
    fn shares_pass_with(&self, embedder: &dyn Embedder) -> bool {
        self.runs_on(embedder)
    }
}
