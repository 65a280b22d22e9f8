//! What the emotional layer returns: [`EmotionalState`] (a context's fused state with its
//! per-source breakdown), [`ContextInfo`] (one line of `contexts()`), [`HistoryRange`] (which
//! past states `emotional_history` returns) and [`EmotionStats`] (the `emotion` part of
//! `stats()`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::catalog;
use super::reading::Source;
use crate::memory::EmotionSnapshot;

/// One expression and its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpressionScore {
    /// Catalog id.
    pub id: String,
    pub score: f32,
}

/// One source's part in a fused state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceBreakdown {
    pub source: Source,
    /// Configured fusion weight.
    pub weight: f32,
    /// The source's evidence at evaluation time: its readings' confidences, each halved every
    /// half-life since it was measured, summed, capped at 1.
    pub confidence: f32,
    /// Share of the fused state: weight × confidence over the sum of them (0 for a muted source).
    pub share: f32,
    /// Readings received from this source.
    pub readings: u64,
    /// Time of the newest reading.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The source's own estimate (decayed, confidence-weighted mean of its readings), catalog
    /// ids with a non-zero score.
    pub scores: BTreeMap<String, f32>,
    /// Its estimate of names outside the catalog.
    #[serde(default)]
    pub extras: BTreeMap<String, f32>,
    pub dominant: Option<String>,
    pub valence: f32,
    pub arousal: f32,
}

/// The fused emotional state of a context at one instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmotionalState {
    pub context: String,
    /// The instant the state is evaluated at (decay and confidence depend on it).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Time of the context's newest reading.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The full catalog vector: every catalog id → fused score in [0, 1].
    pub scores: BTreeMap<String, f32>,
    /// Fused scores of names outside the catalog (kept, never dropped).
    #[serde(default)]
    pub extras: BTreeMap<String, f32>,
    /// The strongest catalog expression (`None` when every score is 0).
    pub dominant: Option<String>,
    /// The strongest catalog expressions, best first (at most `emotion.top_k`, scores > 0).
    pub top: Vec<ExpressionScore>,
    /// Score-weighted mean valence of the catalog expressions, in [-1, 1].
    pub valence: f32,
    /// Score-weighted mean arousal, in [-1, 1].
    pub arousal: f32,
    /// Weight-averaged confidence of the sources, in [0, 1] (fades as readings age).
    pub confidence: f32,
    /// Per-source breakdown, in a stable order (text, voice, face, evi, then custom sources
    /// by name). Empty in the states of `emotional_history`, which keeps the fused state only.
    pub sources: Vec<SourceBreakdown>,
    /// Readings the context has received.
    pub readings: u64,
    /// In the states of `emotional_history`: the source of the reading that produced the
    /// state (text, voice, face, evi or custom). `None` elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

impl EmotionalState {
    /// The catalog vector in catalog order ([`catalog::expressions`]).
    pub fn vector(&self) -> Vec<f32> {
        catalog::expressions().iter().map(|e| self.scores.get(e.id).copied().unwrap_or(0.0)).collect()
    }

    /// The score of one catalog id (0 if not in the catalog).
    pub fn score(&self, id: &str) -> f32 {
        self.scores.get(id).copied().unwrap_or(0.0)
    }

    /// The compact form stored with a memory: non-zero catalog scores, dominant, valence,
    /// arousal, confidence.
    pub fn snapshot(&self) -> EmotionSnapshot {
        EmotionSnapshot {
            scores: self.scores.iter().filter(|(_, v)| **v > 0.0).map(|(k, v)| (k.clone(), *v)).collect(),
            dominant: self.dominant.clone(),
            valence: self.valence,
            arousal: self.arousal,
            confidence: self.confidence,
        }
    }
}

/// A context as listed by `contexts()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextInfo {
    pub context: String,
    /// When its first reading arrived (wall clock).
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Time of its newest reading.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub readings: u64,
    /// Sources that sent readings, in the breakdown's order.
    pub sources: Vec<Source>,
    /// False once closed (`close_context`); a new reading reopens it.
    pub open: bool,
    /// When it was closed, if it is.
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
}

/// Which past states `emotional_history` returns: those evaluated in `[since, until)`, the
/// newest `limit` of them (default 100), oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HistoryRange {
    #[serde(with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
    pub limit: usize,
}

impl Default for HistoryRange {
    fn default() -> Self {
        HistoryRange { since: None, until: None, limit: 100 }
    }
}

impl HistoryRange {
    /// The newest `limit` states.
    pub fn last(limit: usize) -> HistoryRange {
        HistoryRange { limit, ..Default::default() }
    }
    pub fn since(mut self, t: OffsetDateTime) -> Self {
        self.since = Some(t);
        self
    }
    pub fn until(mut self, t: OffsetDateTime) -> Self {
        self.until = Some(t);
        self
    }
}

/// The emotional layer's part of `stats()`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmotionStats {
    /// `emotion.enabled`: snapshots are attached on remember.
    pub enabled: bool,
    /// Whether remembered texts are classified (a classifier is configured and usable).
    pub classification: bool,
    /// Model id of the text classifier in use.
    pub classifier: Option<String>,
    /// Why text classification is off, when it is.
    pub classification_off_reason: Option<String>,
    /// Contexts in the store, and how many of them are open.
    pub contexts: u64,
    pub open_contexts: u64,
    /// Readings observed, all contexts together.
    pub readings: u64,
    /// Names outside the catalog seen in readings → how many readings carried them.
    pub unknown_names: BTreeMap<String, u64>,
}
