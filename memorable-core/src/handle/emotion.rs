//! The emotional layer: observe readings, read a context's fused state and history, list
//! and close contexts, classify texts.

use time::OffsetDateTime;

use super::Memorable;
use crate::classify::Classified;
use crate::emotion::catalog::{self, Expression};
use crate::emotion::{ContextInfo, EmotionalState, HistoryRange, Reading};
use crate::error::{Error, Result};
use crate::plot::{self, TimelineOptions};
use crate::time::{now_ms, to_ms};

/// Most states one timeline reads (far above any `emotion.history_limit` in use).
const TIMELINE_STATES: usize = 1_000_000;

impl Memorable {
    /// Fold one reading into its context (created on its first reading) and return the
    /// context's fused state right after it. Durable when it returns; bad input (scores
    /// outside [0, 1], NaN, a negative confidence, no scores, a timestamp too far in the
    /// future, an unknown source) is an `INVALID_INPUT` error that changes nothing.
    pub fn observe(&self, reading: Reading) -> Result<EmotionalState> {
        let engine = self.engine()?;
        let state = engine.emotion.observe(&engine.store, std::slice::from_ref(&reading), true)?;
        state.ok_or_else(|| Error::Internal("observe produced no state".into()))
    }

    /// Fold many readings (any contexts, any order of time) in one transaction: all or
    /// nothing, and an error names the first bad reading. Returns how many were observed.
    pub fn observe_batch(&self, readings: Vec<Reading>) -> Result<usize> {
        let engine = self.engine()?;
        engine.emotion.observe(&engine.store, &readings, false)?;
        Ok(readings.len())
    }

    /// The fused emotional state of a context now (`NOT_FOUND` for a context that never had
    /// a reading).
    pub fn emotional_state(&self, context: &str) -> Result<EmotionalState> {
        let engine = self.engine()?;
        engine.emotion.state(&engine.store, context, now_ms())
    }

    /// The fused emotional state of a context as of `at` (decay and confidence are computed
    /// for that instant; readings are never replayed, so a time before the newest reading
    /// still includes it).
    pub fn emotional_state_at(&self, context: &str, at: OffsetDateTime) -> Result<EmotionalState> {
        let engine = self.engine()?;
        engine.emotion.state(&engine.store, context, to_ms(at))
    }

    /// Past fused states of a context (one per reading, the newest `emotion.history_limit`
    /// kept), filtered by `range`, oldest first.
    pub fn emotional_history(&self, context: &str, range: &HistoryRange) -> Result<Vec<EmotionalState>> {
        let engine = self.engine()?;
        engine.emotion.history(&engine.store, context, range)
    }

    /// A context's history drawn as a standalone SVG: the top expressions as lines over time
    /// (catalog colours), the source of each reading, valence and arousal, date axes in UTC,
    /// a legend. The same data and options give the same bytes. `NOT_FOUND` for a context
    /// that never had a reading; bad options are `INVALID_INPUT`.
    pub fn emotion_timeline_svg(&self, context: &str, options: &TimelineOptions) -> Result<String> {
        options.validate()?;
        let engine = self.engine()?;
        // Every kept state in the range: the history is bounded by `emotion.history_limit`.
        let range = HistoryRange { since: options.since, until: options.until, limit: TIMELINE_STATES };
        let states = engine.emotion.history(&engine.store, context, &range)?;
        Ok(plot::render_timeline(context, &states, options))
    }

    /// Every context with readings, open or closed, by id.
    pub fn contexts(&self) -> Result<Vec<ContextInfo>> {
        let engine = self.engine()?;
        engine.emotion.contexts(&engine.store)
    }

    /// Close a context (e.g. when its conversation ends). Its state and history are kept and
    /// survive reopening the store; a new reading reopens it. `NOT_FOUND` if unknown.
    pub fn close_context(&self, context: &str) -> Result<()> {
        let engine = self.engine()?;
        engine.emotion.close(&engine.store, context)
    }

    /// The expression catalog (also available without a store as
    /// [`crate::emotion::catalog::expressions`]).
    pub fn emotion_catalog(&self) -> &'static [Expression] {
        catalog::expressions()
    }

    /// Emotion readings of `texts` (probability per label, and the labels over their
    /// thresholds) from the engine's emotion classifier. Blank texts are `EmptyText`, texts
    /// over the configured limit `TextTooLong`; without a usable classifier the call fails
    /// with `ClassifierUnavailable` (35) saying why.
    pub fn classify(&self, texts: &[&str]) -> Result<Vec<Classified>> {
        self.metrics.track(self.engine().and_then(|e| e.classifier.classify(texts, e.config.max_text_chars)))
    }
}
