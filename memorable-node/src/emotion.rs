//! The emotional layer in Node: `observe`, `observeBatch` (a Promise), `emotionalState`,
//! `emotionalHistory`, `emotionTimelineSvg`, `contexts`, `closeContext`, `emotionCatalog`, and
//! the JS shapes of readings and states. Conversions only; fusion and drawing live in the core.

use std::collections::{BTreeMap, HashMap};

use memorable_core as core;
use memorable_core::emotion::{self as emo, catalog};
use napi::bindgen_prelude::{AsyncTask, Either};
use napi_derive::napi;

use crate::error::sync_error;
use crate::handle::Memorable;
use crate::task::Job;
use crate::values::{f32_map, js_f32, Date};

type Code = &'static str;

/// How to read a reading's scores (see docs/emotion.md): `kind` "dense" (default: a name
/// missing from the reading was not measured) or "sparse" (thresholded probabilities: a
/// missing covered name was below the cutoff and counts as `missing`, default 0).
#[napi(object)]
pub struct Semantics {
    /// "dense" or "sparse".
    pub kind: String,
    /// Sparse only: the value a missing name stands for, in [0, 1] (default 0).
    pub missing: Option<f64>,
    /// Sparse only: the names the producer could report: "hume", "hume_language" or
    /// "goemotions" (default: the whole catalog).
    pub vocabulary: Option<String>,
}

/// One measurement of how someone felt.
#[napi(object)]
pub struct Reading {
    /// Context (conversation / session) id; created on its first reading.
    pub context: String,
    /// "text", "voice", "face", "evi" or "custom:<name>".
    pub source: String,
    /// Expression name → score in [0, 1]. Names from any vocabulary ("Joy",
    /// "surprise (positive)", "gratitude"); unknown names are kept as extras.
    pub scores: HashMap<String, f64>,
    /// In [0, 1] (default 1).
    pub confidence: Option<f64>,
    /// When it was measured (default: now).
    pub timestamp: Option<Date>,
    /// "dense" (default), "sparse", or the full form.
    #[napi(ts_type = "'dense' | 'sparse' | Semantics")]
    pub semantics: Option<Either<String, Semantics>>,
}

impl Reading {
    fn into_core(self) -> core::Result<emo::Reading> {
        let semantics = match self.semantics {
            None => emo::Semantics::Dense,
            Some(Either::A(kind)) => kind.parse()?,
            Some(Either::B(s)) => {
                emo::Semantics::from_parts(&s.kind, s.missing.map(|m| m as f32), s.vocabulary.as_deref())?
            }
        };
        let mut r = emo::Reading::new(self.context, self.source.parse()?)
            .scores(self.scores.into_iter().map(|(k, v)| (k, v as f32)))
            .semantics(semantics);
        if let Some(c) = self.confidence {
            r.confidence = c as f32;
        }
        r.timestamp = self.timestamp.map(|d| d.0);
        Ok(r)
    }
}

/// One expression and its score.
#[napi(object)]
pub struct ExpressionScore {
    pub id: String,
    pub score: f64,
}

/// One source's part in a fused state.
#[napi(object, use_nullable = true)]
pub struct SourceBreakdown {
    pub source: String,
    /// Configured fusion weight.
    pub weight: f64,
    /// The source's decayed evidence at evaluation time, in [0, 1].
    pub confidence: f64,
    /// weight × confidence over the sum of them.
    pub share: f64,
    pub readings: i64,
    pub updated_at: Date,
    /// The source's own estimate (non-zero catalog scores).
    pub scores: BTreeMap<String, f64>,
    pub extras: BTreeMap<String, f64>,
    pub dominant: Option<String>,
    pub valence: f64,
    pub arousal: f64,
}

/// The fused emotional state of a context at one instant.
#[napi(object, use_nullable = true)]
pub struct EmotionalState {
    pub context: String,
    /// The instant it is evaluated at.
    pub at: Date,
    /// Time of the newest reading.
    pub updated_at: Date,
    /// Every catalog id → fused score in [0, 1].
    pub scores: BTreeMap<String, f64>,
    /// Fused scores of names outside the catalog.
    pub extras: BTreeMap<String, f64>,
    pub dominant: Option<String>,
    /// Strongest expressions, best first.
    pub top: Vec<ExpressionScore>,
    pub valence: f64,
    pub arousal: f64,
    pub confidence: f64,
    /// Per-source breakdown (empty in `emotionalHistory` states).
    pub sources: Vec<SourceBreakdown>,
    pub readings: i64,
    /// In `emotionalHistory` states: the source of the reading that produced the state.
    pub source: Option<String>,
}

impl From<emo::EmotionalState> for EmotionalState {
    fn from(s: emo::EmotionalState) -> Self {
        EmotionalState {
            context: s.context,
            at: Date(s.at),
            updated_at: Date(s.updated_at),
            scores: f32_map(s.scores),
            extras: f32_map(s.extras),
            dominant: s.dominant,
            top: s.top.into_iter().map(|e| ExpressionScore { id: e.id, score: js_f32(e.score) }).collect(),
            valence: js_f32(s.valence),
            arousal: js_f32(s.arousal),
            confidence: js_f32(s.confidence),
            sources: s
                .sources
                .into_iter()
                .map(|b| SourceBreakdown {
                    source: b.source.to_string(),
                    weight: js_f32(b.weight),
                    confidence: js_f32(b.confidence),
                    share: js_f32(b.share),
                    readings: b.readings as i64,
                    updated_at: Date(b.updated_at),
                    scores: f32_map(b.scores),
                    extras: f32_map(b.extras),
                    dominant: b.dominant,
                    valence: js_f32(b.valence),
                    arousal: js_f32(b.arousal),
                })
                .collect(),
            readings: s.readings as i64,
            source: s.source.map(|src| src.to_string()),
        }
    }
}

/// A context, as listed by `contexts()`.
#[napi(object, use_nullable = true)]
pub struct ContextInfo {
    pub context: String,
    pub created_at: Date,
    pub updated_at: Date,
    pub readings: i64,
    pub sources: Vec<String>,
    /// False once closed; a new reading reopens it.
    pub open: bool,
    pub closed_at: Option<Date>,
}

/// Which past states `emotionalHistory` returns: the newest `limit` (default 100) within
/// [since, until), oldest first.
#[napi(object)]
pub struct HistoryOptions {
    pub limit: Option<u32>,
    pub since: Option<Date>,
    pub until: Option<Date>,
}

/// What `emotionTimelineSvg` draws (every field optional; see docs/pictures.md).
#[napi(object)]
pub struct TimelineOptions {
    /// Only states at or after this instant (the time axis starts here).
    pub since: Option<Date>,
    /// Only states before this instant (the time axis ends here).
    pub until: Option<Date>,
    /// The expressions to draw, by id or any catalog spelling (default: the `top` ones).
    pub expressions: Option<Vec<String>>,
    /// With no `expressions`: the N expressions with the highest peak (1..=12, default 5).
    pub top: Option<u32>,
    /// 320..=4096 (default 960).
    pub width: Option<u32>,
    /// 240..=4096 (default 540).
    pub height: Option<u32>,
    #[napi(ts_type = "'light' | 'dark'")]
    pub theme: Option<String>,
    /// Default `Emotion timeline — <context>`.
    pub title: Option<String>,
}

impl TimelineOptions {
    fn into_core(self) -> core::Result<core::TimelineOptions> {
        let mut o = core::TimelineOptions {
            since: self.since.map(|d| d.0),
            until: self.until.map(|d| d.0),
            expressions: self.expressions.unwrap_or_default(),
            title: self.title,
            ..Default::default()
        };
        if let Some(top) = self.top {
            o.top = top as usize;
        }
        o.width = self.width.unwrap_or(o.width);
        o.height = self.height.unwrap_or(o.height);
        if let Some(theme) = self.theme {
            o.theme = theme.parse()?;
        }
        Ok(o)
    }
}

/// One expression of the catalog.
#[napi(object)]
pub struct Expression {
    pub id: String,
    pub name: String,
    /// "#rrggbb".
    pub color: String,
    pub valence: f64,
    pub arousal: f64,
    /// "hume", "hume_language", "goemotions".
    pub vocabularies: Vec<String>,
    /// Every spelling that resolves to it.
    pub aliases: Vec<String>,
}

#[napi]
impl Memorable {
    /// Fold one reading into its context (created on its first reading); returns the
    /// context's fused state right after it. Bad input throws (code `INVALID_INPUT`) and
    /// changes nothing.
    #[napi]
    pub fn observe(&self, reading: Reading) -> napi::Result<EmotionalState, Code> {
        let reading = reading.into_core().map_err(sync_error)?;
        self.inner.observe(reading).map(Into::into).map_err(sync_error)
    }

    /// Fold many readings in one transaction (all or nothing); resolves to how many.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn observe_batch(&self, readings: Vec<Reading>) -> AsyncTask<Job<u32>> {
        let inner = self.inner.clone();
        let readings: core::Result<Vec<emo::Reading>> =
            readings.into_iter().map(Reading::into_core).collect();
        AsyncTask::new(Job::new(move || inner.observe_batch(readings?).map(|n| n as u32)))
    }

    /// A context's fused emotional state now, or as of `at` (code `NOT_FOUND` for a context
    /// that never had a reading).
    #[napi]
    pub fn emotional_state(&self, context: String, at: Option<Date>) -> napi::Result<EmotionalState, Code> {
        let state = match at {
            Some(at) => self.inner.emotional_state_at(&context, at.0),
            None => self.inner.emotional_state(&context),
        };
        state.map(Into::into).map_err(sync_error)
    }

    /// Past fused states of a context, oldest first.
    #[napi]
    pub fn emotional_history(
        &self,
        context: String,
        options: Option<HistoryOptions>,
    ) -> napi::Result<Vec<EmotionalState>, Code> {
        let mut range = emo::HistoryRange::default();
        if let Some(o) = options {
            if let Some(limit) = o.limit {
                range.limit = limit as usize;
            }
            range.since = o.since.map(|d| d.0);
            range.until = o.until.map(|d| d.0);
        }
        let states = self.inner.emotional_history(&context, &range).map_err(sync_error)?;
        Ok(states.into_iter().map(Into::into).collect())
    }

    /// A context's history drawn as a standalone SVG (its text): the top expressions over
    /// time in catalog colours, the source of each reading, valence and arousal, a legend.
    /// The same data gives the same bytes.
    #[napi]
    pub fn emotion_timeline_svg(
        &self,
        context: String,
        options: Option<TimelineOptions>,
    ) -> napi::Result<String, Code> {
        let options =
            options.map(TimelineOptions::into_core).transpose().map_err(sync_error)?.unwrap_or_default();
        self.inner.emotion_timeline_svg(&context, &options).map_err(sync_error)
    }

    /// Every context with readings, open or closed.
    #[napi]
    pub fn contexts(&self) -> napi::Result<Vec<ContextInfo>, Code> {
        let list = self.inner.contexts().map_err(sync_error)?;
        Ok(list
            .into_iter()
            .map(|c| ContextInfo {
                context: c.context,
                created_at: Date(c.created_at),
                updated_at: Date(c.updated_at),
                readings: c.readings as i64,
                sources: c.sources.iter().map(ToString::to_string).collect(),
                open: c.open,
                closed_at: c.closed_at.map(Date),
            })
            .collect())
    }

    /// Close a context: its state and history are kept; a new reading reopens it.
    #[napi]
    pub fn close_context(&self, context: String) -> napi::Result<(), Code> {
        self.inner.close_context(&context).map_err(sync_error)
    }

    /// The expression catalog (62 expressions), in catalog order.
    #[napi]
    pub fn emotion_catalog() -> Vec<Expression> {
        catalog::expressions()
            .iter()
            .map(|e| Expression {
                id: e.id.to_owned(),
                name: e.name.to_owned(),
                color: e.color.to_owned(),
                valence: js_f32(e.valence),
                arousal: js_f32(e.arousal),
                vocabularies: e.vocabularies().iter().map(|v| v.as_str().to_owned()).collect(),
                aliases: e.aliases(),
            })
            .collect()
    }
}

/// The id of `user`'s own emotion context `context` (`"@5:alice/s1"`): the context a memory
/// with session `context` feeds under `emotion.per_user_sessions`, and every context of
/// `memorable serve`. Pass it to `emotionalState`, `emotionalHistory`, `observe`.
// Exported to JavaScript by #[napi]; the Rust unit tests do not call it.
#[cfg_attr(test, allow(dead_code))]
#[napi]
pub fn user_context(user: String, context: String) -> String {
    core::user_context(&user, &context)
}
