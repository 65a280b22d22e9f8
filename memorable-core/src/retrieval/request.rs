//! What a recall asks for ([`Recall`], its [`RankWeights`] and [`Mood`]) and what it returns
//! ([`Recalled`] with a [`ScoreBreakdown`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::window::TimeWindow;
use crate::config::WindowConfig;
use crate::error::{Error, Result};
use crate::memory::{EmotionSnapshot, Memory};
use crate::store::Filters;
use crate::time::to_ms;

/// Largest `limit` a recall accepts.
pub const MAX_LIMIT: usize = 1_000;
/// Largest `offset` a request may give.
pub const MAX_OFFSET: usize = 100_000;

/// Which candidate sources a recall uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecallMode {
    /// Semantic (HNSW) and keyword (BM25) candidates, fused (the default).
    #[default]
    Hybrid,
    /// Semantic candidates only, ranked by cosine similarity.
    Semantic,
    /// Keyword candidates only, ranked by BM25.
    Keyword,
}

crate::named::named_enum!(RecallMode, "mode", crate::error::Error::InvalidInput, {
    Hybrid => "hybrid",
    Semantic => "semantic",
    Keyword => "keyword",
});

/// How the semantic and keyword scores of a candidate are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fusion {
    /// Each source's scores are z-scored over the candidate set and summed with the
    /// weights `semantic` and `keyword` (the default: it keeps how far ahead a candidate is,
    /// which ranks alone lose; measured better on LoCoMo, see docs/benchmarks.md).
    #[default]
    Zscore,
    /// Reciprocal rank fusion, `Σ weight · (k + 1) / (k + rank)` with `k` = `Config::rrf_k`
    /// (scaled so a first rank is worth its weight).
    Rrf,
}

/// How much each ranking signal counts. A weight of 0 turns its signal off; the defaults
/// ([`RankWeights::default`]) need no tuning. Relevance (the fused semantic and keyword
/// scores) is on a z-score scale, so a weight of 0.5 lets a fully present signal lift a
/// memory by half a standard deviation of relevance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RankWeights {
    /// Weight of the semantic (cosine) score in fusion (default 1.0).
    pub semantic: f32,
    /// Weight of the keyword (BM25) score in fusion (default 0.4).
    pub keyword: f32,
    /// Conversational context: weight of the relevance of a memory's neighbours in its
    /// session (the turns around it, by time), added to its own when positive (default 0.8:
    /// below 1, so a turn that only borrows relevance stays below the turn it borrows from).
    pub context: f32,
    /// How many memories on each side count as neighbours (default 2; 0 turns context off).
    pub context_turns: usize,
    /// Recency, `0.5 ^ (age / half_life)` of `occurred_at` before the anchor (default 0.1).
    pub recency: f32,
    /// Half-life of recency, in hours (default 720 = 30 days).
    pub recency_half_life_hours: f32,
    /// Salience: the memory's importance in [0, 1] (default 0.1).
    pub importance: f32,
    /// Salience: arousal of the memory's emotional snapshot, mapped to [0, 1] (default 0.1).
    pub arousal: f32,
    /// Salience: how often the memory was recalled before, `ln(1 + n) / ln(101)` capped at
    /// 1 (default 0.05).
    pub access: f32,
    /// Mood congruence with the request's mood, in [0, 1] (default 0.3; no effect without
    /// a mood).
    pub mood: f32,
    /// Who-matching: the memory's speaker is the person the query is about (1), another
    /// person it names (0.5), or its text mentions a person the query names (0.3)
    /// (default 2.5).
    pub who: f32,
    /// Date grounding: the query names a date (e.g. "on 8 May 2023", "in June 2023") and
    /// the memory occurred in it (default 4.0: a question that names a day is about that
    /// day, more than about any of its words); a quarter of it when the query asks when
    /// ("When did ...") and the memory's text says when ("last week", "yesterday").
    /// Positive also makes the memories of a named day or month candidates of their own.
    pub date: f32,
}

impl Default for RankWeights {
    fn default() -> Self {
        RankWeights {
            semantic: 1.0,
            keyword: 0.4,
            context: 0.8,
            context_turns: 2,
            recency: 0.1,
            recency_half_life_hours: 720.0,
            importance: 0.1,
            arousal: 0.1,
            access: 0.05,
            mood: 0.3,
            who: 2.5,
            date: 4.0,
        }
    }
}

impl RankWeights {
    /// Plain fusion of the two sources: every re-ranking signal off.
    pub fn fusion_only() -> Self {
        RankWeights {
            context: 0.0,
            context_turns: 0,
            recency: 0.0,
            importance: 0.0,
            arousal: 0.0,
            access: 0.0,
            mood: 0.0,
            who: 0.0,
            date: 0.0,
            ..RankWeights::default()
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let all = [
            ("semantic", self.semantic),
            ("keyword", self.keyword),
            ("context", self.context),
            ("recency", self.recency),
            ("importance", self.importance),
            ("arousal", self.arousal),
            ("access", self.access),
            ("mood", self.mood),
            ("who", self.who),
            ("date", self.date),
        ];
        for (name, w) in all {
            if !w.is_finite() || !(0.0..=100.0).contains(&w) {
                return Err(Error::InvalidInput(format!("weights.{name} must be in [0, 100], got {w}")));
            }
        }
        if !(self.recency_half_life_hours.is_finite() && self.recency_half_life_hours > 0.0) {
            return Err(Error::InvalidInput(format!(
                "weights.recency_half_life_hours must be positive, got {}",
                self.recency_half_life_hours
            )));
        }
        if self.context_turns > 50 {
            return Err(Error::InvalidInput(format!(
                "weights.context_turns must be at most 50, got {}",
                self.context_turns
            )));
        }
        Ok(())
    }
}

/// An emotional state to rank by (mood congruence): expression scores and/or valence and
/// arousal. Build one from a stored snapshot with `Mood::from(snapshot)`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Mood {
    /// Expression id → intensity in [0, 1] (same ids as [`EmotionSnapshot::scores`]).
    pub scores: BTreeMap<String, f32>,
    /// Pleasantness in [-1, 1].
    pub valence: Option<f32>,
    /// Activation in [-1, 1].
    pub arousal: Option<f32>,
}

impl From<&EmotionSnapshot> for Mood {
    fn from(s: &EmotionSnapshot) -> Self {
        Mood { scores: s.scores.clone(), valence: Some(s.valence), arousal: Some(s.arousal) }
    }
}

impl From<EmotionSnapshot> for Mood {
    fn from(s: EmotionSnapshot) -> Self {
        Mood::from(&s)
    }
}

impl Mood {
    /// True when the mood carries nothing to compare.
    pub fn is_empty(&self) -> bool {
        self.scores.is_empty() && self.valence.is_none() && self.arousal.is_none()
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidInput(format!("mood: {m}")));
        for (name, &v) in &self.scores {
            if name.trim().is_empty() {
                return bad("an expression name is blank".into());
            }
            if !v.is_finite() || !(0.0..=1.0).contains(&v) {
                return bad(format!("score of {name:?} must be in [0, 1], got {v}"));
            }
        }
        for (what, v) in [("valence", self.valence), ("arousal", self.arousal)] {
            if let Some(v) = v {
                if !v.is_finite() || !(-1.0..=1.0).contains(&v) {
                    return bad(format!("{what} must be in [-1, 1], got {v}"));
                }
            }
        }
        Ok(())
    }
}

/// A recall request: built with [`Recall::new`] and chained options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Recall {
    pub user: String,
    pub query: String,
    /// Number of results (1..=1000, default 10).
    pub limit: usize,
    /// Skip this many results first, for paging (0..=100000, default 0): the page after
    /// `limit` results is `offset = limit`.
    pub offset: usize,
    /// Only memories of this session.
    pub session: Option<String>,
    /// Only memories with this speaker.
    pub speaker: Option<String>,
    /// Only memories carrying every one of these tags.
    pub tags: Vec<String>,
    /// Only memories of one of these kinds.
    pub kinds: Vec<String>,
    /// Only memories that occurred at or after this instant (inclusive).
    #[serde(with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    /// Only memories that occurred before this instant (exclusive).
    #[serde(with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
    /// Only memories inside this window before `at` (both ends inclusive; see
    /// [`TimeWindow`]).
    pub window: Option<TimeWindow>,
    /// Anchor of `window` and of recency (default: now).
    #[serde(with = "time::serde::rfc3339::option")]
    pub at: Option<OffsetDateTime>,
    /// Candidate sources (default hybrid).
    pub mode: RecallMode,
    /// Score fusion (default z-score).
    pub fusion: Fusion,
    /// Weights of the ranking signals.
    pub weights: RankWeights,
    /// Rank memories whose emotional snapshot resembles this mood higher (weight
    /// `weights.mood`).
    pub mood: Option<Mood>,
    /// Use the user's current emotional state as the mood (when `mood` is not given). The
    /// emotion layer supplies it; until a state exists for the user this has no effect.
    pub current_mood: bool,
    /// Count this recall in the returned memories' access statistics (default true), which
    /// feed the `access` salience signal of later recalls.
    pub track_access: bool,
}

impl Default for Recall {
    fn default() -> Self {
        Recall {
            user: String::new(),
            query: String::new(),
            limit: 10,
            offset: 0,
            session: None,
            speaker: None,
            tags: Vec::new(),
            kinds: Vec::new(),
            since: None,
            until: None,
            window: None,
            at: None,
            mode: RecallMode::Hybrid,
            fusion: Fusion::Zscore,
            weights: RankWeights::default(),
            mood: None,
            current_mood: false,
            track_access: true,
        }
    }
}

impl Recall {
    pub fn new(user: impl Into<String>, query: impl Into<String>) -> Self {
        Recall { user: user.into(), query: query.into(), ..Default::default() }
    }
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
    pub fn offset(mut self, offset: usize) -> Self {
        self.offset = offset;
        self
    }
    pub fn session(mut self, session: impl Into<String>) -> Self {
        self.session = Some(session.into());
        self
    }
    pub fn speaker(mut self, speaker: impl Into<String>) -> Self {
        self.speaker = Some(speaker.into());
        self
    }
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }
    pub fn kinds<I, S>(mut self, kinds: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.kinds = kinds.into_iter().map(Into::into).collect();
        self
    }
    /// Half-open time range `[since, until)` on `occurred_at`.
    pub fn between(mut self, since: OffsetDateTime, until: OffsetDateTime) -> Self {
        self.since = Some(since);
        self.until = Some(until);
        self
    }
    pub fn since(mut self, since: OffsetDateTime) -> Self {
        self.since = Some(since);
        self
    }
    pub fn until(mut self, until: OffsetDateTime) -> Self {
        self.until = Some(until);
        self
    }
    /// Only memories inside `window` before the anchor (`at`, default now).
    pub fn window(mut self, window: TimeWindow) -> Self {
        self.window = Some(window);
        self
    }
    /// Anchor instant of the window and of recency.
    pub fn at(mut self, at: OffsetDateTime) -> Self {
        self.at = Some(at);
        self
    }
    pub fn mode(mut self, mode: RecallMode) -> Self {
        self.mode = mode;
        self
    }
    pub fn fusion(mut self, fusion: Fusion) -> Self {
        self.fusion = fusion;
        self
    }
    pub fn weights(mut self, weights: RankWeights) -> Self {
        self.weights = weights;
        self
    }
    pub fn mood(mut self, mood: impl Into<Mood>) -> Self {
        self.mood = Some(mood.into());
        self
    }
    pub fn current_mood(mut self, on: bool) -> Self {
        self.current_mood = on;
        self
    }
    pub fn track_access(mut self, on: bool) -> Self {
        self.track_access = on;
        self
    }

    /// Check the request's options (not the query text).
    pub(crate) fn validate_options(&self) -> Result<()> {
        if self.limit == 0 || self.limit > MAX_LIMIT {
            return Err(Error::InvalidInput(format!("limit must be in 1..={MAX_LIMIT}, got {}", self.limit)));
        }
        if self.offset > MAX_OFFSET {
            return Err(Error::InvalidInput(format!(
                "offset must be in 0..={MAX_OFFSET}, got {}",
                self.offset
            )));
        }
        if let (Some(a), Some(b)) = (self.since, self.until) {
            if a > b {
                return Err(Error::InvalidInput("time range starts after it ends".into()));
            }
        }
        if let Some(TimeWindow::Seconds(0)) = self.window {
            return Err(Error::InvalidInput("a time window must be at least one second long".into()));
        }
        self.weights.validate()?;
        if let Some(m) = &self.mood {
            m.validate()?;
        }
        Ok(())
    }

    /// The anchor instant: `at`, or now.
    pub(crate) fn anchor(&self) -> OffsetDateTime {
        self.at.unwrap_or_else(OffsetDateTime::now_utc)
    }

    /// Filters in store terms: the explicit range intersected with the window.
    pub(crate) fn filters(&self, windows: &WindowConfig) -> Result<Filters> {
        let mut since = self.since.map(to_ms);
        let mut until = self.until.map(to_ms);
        if let Some(w) = self.window {
            let (a, b) = w.bounds(self.anchor(), windows)?;
            since = Some(since.map_or(a, |s| s.max(a)));
            until = Some(until.map_or(b, |u| u.min(b)));
        }
        Ok(Filters {
            session: self.session.clone(),
            speaker: self.speaker.clone(),
            tags: self.tags.clone(),
            kinds: self.kinds.clone(),
            since,
            until,
        })
    }
}

crate::named::named_enum!(Fusion, "fusion", crate::error::Error::InvalidInput, {
    Zscore => "zscore",
    Rrf => "rrf",
});

/// How a hit's score came about: the score is the sum of `fused`, `context`, `recency`,
/// `importance`, `arousal`, `access`, `mood`, `who` and `date`. Each re-ranking term is already multiplied by its weight,
/// so a weight of 0 shows as 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ScoreBreakdown {
    /// Cosine similarity to the query, when the memory was scored semantically.
    pub semantic: Option<f32>,
    /// 1-based rank among semantic candidates (`None` for a memory that joined as a
    /// neighbour of one).
    pub semantic_rank: Option<u32>,
    /// BM25 score (higher is better), when the memory matched the query's keywords.
    pub keyword: Option<f32>,
    /// 1-based rank among keyword candidates.
    pub keyword_rank: Option<u32>,
    /// Relevance of the memory itself: fused semantic and keyword scores.
    pub fused: f32,
    /// Conversational context: weighted relevance of its session neighbours (never
    /// negative: neighbours lend relevance, they do not take it away).
    pub context: f32,
    /// Recency term.
    pub recency: f32,
    /// Importance term (salience).
    pub importance: f32,
    /// Emotional arousal term (salience).
    pub arousal: f32,
    /// Access-count term (salience).
    pub access: f32,
    /// Mood-congruence term.
    pub mood: f32,
    /// Who-matching term.
    pub who: f32,
    /// Date-grounding term.
    pub date: f32,
}

impl ScoreBreakdown {
    /// The final score: the sum of every term.
    pub fn total(&self) -> f32 {
        self.fused
            + self.context
            + self.recency
            + self.importance
            + self.arousal
            + self.access
            + self.mood
            + self.who
            + self.date
    }
}

/// One recall hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recalled {
    pub memory: Memory,
    pub score: f32,
    pub breakdown: ScoreBreakdown,
}
