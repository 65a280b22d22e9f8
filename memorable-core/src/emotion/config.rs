//! [`EmotionConfig`]: the `emotion` section of [`crate::Config`] (fusion half-life, source
//! weights, history bound, limits).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::reading::Source;
use crate::error::{Error, Result};

/// Weight of each source in fusion (multiplied by the source's decayed confidence).
/// A weight of 0 mutes a source: its readings are kept but do not move the fused state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SourceWeights {
    pub evi: f32,
    pub face: f32,
    pub voice: f32,
    pub text: f32,
    /// Every `custom:<name>` source without its own entry in `custom_sources`.
    pub custom: f32,
    /// Per custom source name (without the `custom:` prefix).
    pub custom_sources: BTreeMap<String, f32>,
}

impl Default for SourceWeights {
    fn default() -> Self {
        // The original plan's weights (EVI 0.5, video 0.3, voice 0.2), plus text and custom.
        SourceWeights {
            evi: 0.5,
            face: 0.3,
            voice: 0.2,
            text: 0.3,
            custom: 0.2,
            custom_sources: BTreeMap::new(),
        }
    }
}

impl SourceWeights {
    /// The weight of a source.
    pub fn of(&self, source: &Source) -> f32 {
        match source {
            Source::Evi => self.evi,
            Source::Face => self.face,
            Source::Voice => self.voice,
            Source::Text => self.text,
            Source::Custom(name) => self.custom_sources.get(name).copied().unwrap_or(self.custom),
        }
    }
}

/// Configuration of the emotional layer (`Config::emotion`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct EmotionConfig {
    /// Attach an emotional snapshot to every remembered memory (the fused state of its
    /// session and the text classifier's reading of it) and feed that reading into the
    /// session. Explicit `observe` calls work either way.
    pub enabled: bool,
    /// Half-life of a reading's influence, in seconds (default 300).
    pub half_life_secs: f64,
    /// Fusion weight per source.
    pub weights: SourceWeights,
    /// States kept per context in its history (default 100).
    pub history_limit: usize,
    /// Expressions listed in a state's `top` (default 5).
    pub top_k: usize,
    /// How far ahead of the clock a reading's timestamp may be, in seconds (default 300).
    pub max_future_secs: f64,
    /// Contexts whose fusion state stays in memory (the rest reload from the store).
    pub max_cached_contexts: usize,
    /// A memory's session feeds the context [`user_context`]`(user, session)`, the user's
    /// own, instead of the shared id `session` (default false). For servers whose users must
    /// not share emotion contexts: `memorable serve` turns it on and names the contexts of
    /// its routes the same way.
    ///
    /// [`user_context`]: crate::emotion::user_context
    pub per_user_sessions: bool,
}

impl Default for EmotionConfig {
    fn default() -> Self {
        EmotionConfig {
            enabled: true,
            half_life_secs: 300.0,
            weights: SourceWeights::default(),
            history_limit: 100,
            top_k: 5,
            max_future_secs: 300.0,
            max_cached_contexts: 4096,
            per_user_sessions: false,
        }
    }
}

impl EmotionConfig {
    /// Check every field (called by `Config::validate`).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidConfig(format!("emotion.{m}")));
        if !(self.half_life_secs.is_finite() && self.half_life_secs > 0.0) {
            return bad(format!("half_life_secs must be a positive number, got {}", self.half_life_secs));
        }
        let w = &self.weights;
        let named =
            [("evi", w.evi), ("face", w.face), ("voice", w.voice), ("text", w.text), ("custom", w.custom)];
        for (name, v) in named.into_iter().chain(w.custom_sources.iter().map(|(k, v)| (k.as_str(), *v))) {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("weights.{name} must be a non-negative number, got {v}"));
            }
        }
        for name in w.custom_sources.keys() {
            if format!("custom:{name}").parse::<Source>().is_err() {
                return bad(format!("weights.custom_sources: {name:?} is not a valid custom source name"));
            }
        }
        if !(1..=100_000).contains(&self.history_limit) {
            return bad(format!("history_limit must be in 1..=100000, got {}", self.history_limit));
        }
        if !(1..=super::catalog::LEN).contains(&self.top_k) {
            return bad(format!("top_k must be in 1..={}, got {}", super::catalog::LEN, self.top_k));
        }
        if !(self.max_future_secs.is_finite() && self.max_future_secs >= 0.0) {
            return bad(format!(
                "max_future_secs must be a non-negative number, got {}",
                self.max_future_secs
            ));
        }
        if self.max_cached_contexts == 0 {
            return bad("max_cached_contexts must be positive".into());
        }
        Ok(())
    }

    pub(crate) fn half_life_ms(&self) -> f64 {
        self.half_life_secs * 1000.0
    }

    pub(crate) fn max_future_ms(&self) -> i64 {
        (self.max_future_secs * 1000.0).min(i64::MAX as f64) as i64
    }
}
