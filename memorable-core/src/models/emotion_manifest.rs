//! The JSON manifest beside a trained emotion classifier (`manifest.json` next to
//! `adapter.safetensors`): what the weights are (labels, thresholds, adapter shape), what
//! they sit on (the embedder's model id and the SHA-256 of its weights), how good they are
//! (metrics) and how they were made (training config, data checksums, time).
//!
//! A classifier is only loaded when its adapter file matches the manifest's checksum and the
//! encoder weights match the embedder the manifest names.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::bert_lora::Proj;
use super::emotion_metrics::F1Scores;
use crate::error::{Error, Result};

/// `format` of every emotion manifest.
pub const FORMAT: &str = "memorable-emotion-classifier";
/// Manifest layout version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
/// File names inside a classifier directory.
pub const MANIFEST_FILE: &str = "manifest.json";
pub const ADAPTER_FILE: &str = "adapter.safetensors";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmotionManifest {
    pub format: String,
    pub format_version: u32,
    /// Short name, e.g. `goemotions-minilm`.
    pub name: String,
    /// Stable id reported by [`super::EmotionClassifier::model_id`].
    pub model_id: String,
    /// Label names, in the order of every probability vector.
    pub labels: Vec<String>,
    /// One decision threshold per label.
    pub thresholds: Vec<f32>,
    pub embedder: EmbedderRef,
    pub adapter: AdapterSpec,
    pub metrics: Metrics,
    pub training: TrainingRecord,
    pub data: DataRecord,
}

/// The encoder the classifier was trained on; it is loaded on nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedderRef {
    pub model_id: String,
    /// SHA-256 of the encoder's `model.safetensors`.
    pub weights_sha256: String,
}

/// Shape of the adapter and head stored in the adapter file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdapterSpec {
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    /// Encoder layers that carry LoRA adapters (the top ones; lower layers are shared with
    /// the plain embedding pass). Empty for a head on the frozen sentence embedding.
    pub layers: Vec<usize>,
    pub projections: Vec<Proj>,
    pub rank: usize,
    pub alpha: f64,
    /// Hidden units of the head's MLP layer (0 = a linear head).
    pub head_hidden: usize,
    /// How token states become the head's input: `mean` (over the attention mask).
    pub pooling: String,
}

impl AdapterSpec {
    /// The LoRA scale `alpha / rank`.
    pub fn scale(&self) -> f64 {
        if self.rank == 0 {
            0.0
        } else {
            self.alpha / self.rank as f64
        }
    }
}

/// Quality of the shipped classifier, as the inference path computes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Where the thresholds were tuned: `dev` or `train-holdout`.
    pub thresholds_tuned_on: String,
    /// On the tuning set, with the shipped thresholds.
    pub tuning: F1Scores,
    /// On GoEmotions dev (5,426 texts) with the shipped thresholds. Clean (never seen in
    /// training or tuning) when `thresholds_tuned_on` is `train-holdout`.
    pub dev: F1Scores,
    /// On dev with thresholds tuned on dev itself: optimistic, for comparison with figures
    /// reported that way (e.g. the frozen-probe table of the issue).
    pub dev_self_tuned: F1Scores,
    /// Dev macro-F1 with one global threshold tuned on the tuning set.
    pub dev_global_threshold: f32,
    pub dev_global_macro_f1: f64,
    /// Texts in the dev set scored.
    pub dev_texts: usize,
}

/// How the weights were trained (enough to run it again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// The exact command line.
    pub command: String,
    pub seed: u64,
    pub epochs: usize,
    /// Epoch (fractional with mid-epoch evaluation) whose weights were kept.
    pub best_epoch: f64,
    pub batch_size: usize,
    pub lr: f64,
    pub head_lr: f64,
    pub weight_decay: f64,
    pub warmup: f64,
    pub dropout: f32,
    pub pos_weight_power: f64,
    pub threads: usize,
    /// Wall-clock seconds: caching frozen layers, training, and in total.
    pub cache_seconds: f64,
    pub train_seconds: f64,
    pub total_seconds: f64,
    pub memorable_version: String,
}

/// Checksums and sizes of the data the classifier was trained and tuned on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRecord {
    pub train_sha256: String,
    pub dev_sha256: String,
    pub labels_sha256: String,
    /// Train rows used for gradient steps.
    pub train_rows: usize,
    /// Train rows held out for early stopping and threshold tuning (0 when dev was used).
    pub holdout_rows: usize,
    pub dev_rows: usize,
}

impl EmotionManifest {
    /// Parse and check a manifest's own consistency.
    pub fn parse(json: &str) -> Result<EmotionManifest> {
        let m: EmotionManifest = serde_json::from_str(json)
            .map_err(|e| Error::ClassifierUnavailable(format!("emotion manifest does not parse: {e}")))?;
        m.validate()?;
        Ok(m)
    }

    pub fn read(dir: &Path) -> Result<EmotionManifest> {
        let path = dir.join(MANIFEST_FILE);
        let json = std::fs::read_to_string(&path)
            .map_err(|e| Error::ClassifierUnavailable(format!("cannot read {}: {e}", path.display())))?;
        EmotionManifest::parse(&json)
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self)? + "\n";
        std::fs::write(dir.join(MANIFEST_FILE), json)?;
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        let bad = |why: String| Err(Error::ClassifierUnavailable(format!("emotion manifest: {why}")));
        if self.format != FORMAT {
            return bad(format!("format is {:?}, expected {FORMAT:?}", self.format));
        }
        if self.format_version > FORMAT_VERSION {
            return bad(format!(
                "format version {} is newer than this build reads ({FORMAT_VERSION})",
                self.format_version
            ));
        }
        if self.labels.is_empty() || self.labels.len() != self.thresholds.len() {
            return bad(format!("{} labels but {} thresholds", self.labels.len(), self.thresholds.len()));
        }
        if self.thresholds.iter().any(|t| !(0.0..=1.0).contains(t)) {
            return bad("a threshold is outside [0, 1]".into());
        }
        if !self.adapter.layers.is_empty() && (self.adapter.rank == 0 || self.adapter.projections.is_empty())
        {
            return bad("adapted layers need a rank and projections".into());
        }
        Ok(())
    }
}

/// The classifier shipped with this build (`models/emotion/goemotions-minilm/`, compiled in
/// so every binding has it): its manifest.
pub const BUILTIN_MANIFEST: &str = include_str!("../../../models/emotion/goemotions-minilm/manifest.json");

/// The shipped classifier's manifest.
pub fn builtin_manifest() -> EmotionManifest {
    EmotionManifest::parse(BUILTIN_MANIFEST)
        .expect("the shipped emotion manifest is valid (checked by tests)")
}
