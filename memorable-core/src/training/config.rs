//! What a training run is asked to do and what it reports while it runs.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::models::bert_lora::Proj;

/// Which held-out rows choose the best evaluation and the thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TuneOn {
    /// A seeded slice of train (`holdout_fraction`); dev stays unseen and is reported clean.
    TrainHoldout,
    /// The dev split itself (its figures are then optimistic).
    Dev,
}

impl TuneOn {
    pub fn name(self) -> &'static str {
        match self {
            TuneOn::TrainHoldout => "train-holdout",
            TuneOn::Dev => "dev",
        }
    }
}

/// Everything a training run needs. `Default` holds the settings of the shipped classifier.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmotionTrainConfig {
    /// Folder with labels.txt, train.tsv and dev.tsv.
    pub data_dir: PathBuf,
    /// The encoder (a sentence-transformers folder, e.g. the cached MiniLM).
    pub encoder_dir: PathBuf,
    /// Model id of that encoder as the embedder reports it.
    pub encoder_model_id: String,
    /// Where manifest.json and adapter.safetensors are written.
    pub out_dir: PathBuf,
    /// Short name and id written into the manifest.
    pub name: String,
    pub model_id: String,
    /// Top encoder layers that get adapters (0 = head on the frozen embedding).
    pub adapt_layers: usize,
    pub rank: usize,
    pub alpha: f64,
    pub projections: Vec<Proj>,
    /// Hidden units of the head (0 = linear head).
    pub head_hidden: usize,
    pub epochs: usize,
    pub batch_size: usize,
    /// Learning rate of the adapters (peak of a linear warm-up / linear decay schedule).
    pub lr: f64,
    /// Learning rate of the head.
    pub head_lr: f64,
    pub weight_decay: f64,
    /// Share of the steps spent warming the learning rate up.
    pub warmup: f64,
    /// Dropout on the adapted layers' residual branches and the head's input.
    pub dropout: f32,
    /// Positive-class weight per label `(negatives / positives)^power` (0 = unweighted).
    pub pos_weight_power: f64,
    pub tune_on: TuneOn,
    pub holdout_fraction: f64,
    /// Evaluations on the tuning rows per epoch (early stopping granularity).
    pub evals_per_epoch: usize,
    /// Stop after this many evaluations without improvement.
    pub patience: usize,
    pub seed: u64,
    pub threads: usize,
    /// Train on at most this many rows (quick experiments); `None` = all.
    pub max_train_rows: Option<usize>,
    /// Keep the frozen layers' token states in this folder between runs.
    pub cache_dir: Option<PathBuf>,
    /// The command line, recorded in the manifest.
    pub command: String,
}

impl Default for EmotionTrainConfig {
    fn default() -> Self {
        EmotionTrainConfig {
            data_dir: PathBuf::from("../shared/data/goemotions"),
            encoder_dir: PathBuf::new(),
            encoder_model_id: "sentence-transformers/all-MiniLM-L6-v2".into(),
            out_dir: PathBuf::from("models/emotion/goemotions-minilm"),
            name: "goemotions-minilm".into(),
            model_id: "memorable/goemotions-minilm-lora".into(),
            adapt_layers: 3,
            rank: 8,
            alpha: 16.0,
            projections: Proj::ALL.to_vec(),
            head_hidden: 0,
            epochs: 4,
            batch_size: 32,
            lr: 1e-3,
            head_lr: 2e-3,
            weight_decay: 0.01,
            warmup: 0.06,
            dropout: 0.1,
            pos_weight_power: 0.0,
            tune_on: TuneOn::TrainHoldout,
            holdout_fraction: 0.1,
            evals_per_epoch: 2,
            patience: 3,
            seed: 42,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_train_rows: None,
            cache_dir: None,
            command: String::new(),
        }
    }
}

/// Progress of a run: `phase` is `cache`, `train` or `score`; `done` of `total` units
/// (texts or steps); `message` reports evaluations.
#[derive(Debug, Clone)]
pub struct TrainProgress {
    pub phase: &'static str,
    pub done: u64,
    pub total: u64,
    pub loss: Option<f64>,
    pub message: Option<String>,
}
