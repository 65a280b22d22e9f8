//! What a training job of a custom classifier is asked to do.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// How much of the model a job trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// A new head on the shipped classifier's adapted encoder, frozen: its pooled states are
    /// computed once, then only the head trains (minutes for tens of thousands of texts).
    #[default]
    Quick,
    /// LoRA on the top layers, as the shipped classifier, warm-started from its adapters,
    /// plus a new head: slower, better.
    Full,
}

crate::named::named_enum!(Preset, "training preset", Error::InvalidInput, {
    Quick => "quick",
    Full => "full",
});

/// What happens to a model once its job evaluated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DeployPolicy {
    /// Deploy when its macro-F1 beats the deployed model's by `margin` (or nothing is
    /// deployed); otherwise keep it as a candidate.
    #[default]
    Auto,
    /// Always keep it as a candidate (deploy it by hand).
    Never,
    /// Deploy it whatever its scores.
    Always,
}

crate::named::named_enum!(DeployPolicy, "deploy policy", Error::InvalidInput, {
    Auto => "auto",
    Never => "never",
    Always => "always",
});

/// Options of a training job; `Default` is the quick preset, deployed when it wins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainOptions {
    pub preset: Preset,
    /// Passes over the fitted rows (`None`: 12 for quick, 2 for full).
    pub epochs: Option<usize>,
    /// Threads the job computes on (kept low so remember and recall stay responsive).
    pub threads: usize,
    pub seed: u64,
    /// Share of each label's examples held out for evaluation.
    pub eval_fraction: f64,
    /// Share of the remaining (train-side) examples that tunes thresholds and picks the best
    /// evaluation.
    pub holdout_fraction: f64,
    pub deploy: DeployPolicy,
    /// Macro-F1 the new model must gain over the deployed one to be deployed (`auto`).
    pub margin: f64,
    /// Train on users' examples and corrections too (default: the application's only, so
    /// a shared model learns nothing a `forget_user` could not erase).
    pub include_user_examples: bool,
    /// Steps between checkpoints.
    pub checkpoint_every: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            preset: Preset::Quick,
            epochs: None,
            threads: 1,
            seed: 42,
            eval_fraction: 0.2,
            holdout_fraction: 0.1,
            deploy: DeployPolicy::Auto,
            margin: 0.01,
            include_user_examples: false,
            checkpoint_every: 200,
        }
    }
}

impl TrainOptions {
    /// The options checked: fractions in range, positive counts.
    pub fn validate(&self) -> crate::error::Result<()> {
        let bad = |what: &str| Err(Error::InvalidInput(format!("training options: {what}")));
        if !(0.05..=0.5).contains(&self.eval_fraction) {
            return bad("eval_fraction must be within [0.05, 0.5]");
        }
        if !(0.05..=0.5).contains(&self.holdout_fraction) {
            return bad("holdout_fraction must be within [0.05, 0.5]");
        }
        if self.epochs == Some(0) || self.epochs.is_some_and(|e| e > 100) {
            return bad("epochs must be within [1, 100]");
        }
        if self.threads == 0 || self.threads > 256 {
            return bad("threads must be within [1, 256]");
        }
        if !(0.0..=1.0).contains(&self.margin) {
            return bad("margin must be within [0, 1]");
        }
        if self.checkpoint_every == 0 {
            return bad("checkpoint_every must be positive");
        }
        Ok(())
    }

    /// Epochs the preset runs when none are given.
    pub fn epochs_or_default(&self) -> usize {
        self.epochs.unwrap_or(match self.preset {
            Preset::Quick => 12,
            Preset::Full => 2,
        })
    }
}
