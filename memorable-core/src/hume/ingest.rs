//! Hume messages into a context's fused state, with no network: [`crate::Memorable::ingest_hume`]
//! (one message), [`crate::Memorable::ingest_hume_lines`] (JSONL, one message a line) and
//! [`crate::Memorable::ingest_hume_message`] (a message already parsed, e.g. by the realtime
//! client), for apps that receive Hume's messages (EVI in a browser, their own client,
//! MemoRable's client, recorded sessions).
//!
//! The conversion is the one `docs/hume.md` documents: voice / face / EVI / legacy language
//! map onto the emotion layer's sources of the same name; dense readings (legacy, EVI) stay
//! dense; v1's thresholded probabilities become sparse readings over Hume's vocabulary
//! (a missing name counts as 0); legacy scores outside [0, 1] are clamped. Names are passed
//! as Hume spells them: the emotion catalog resolves them and keeps the unknown ones.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::parse::{self, Family, HumeMessage, HumeReading, HumeSource, Notice};
use crate::emotion::catalog::Vocabulary;
use crate::emotion::validate_context;
use crate::emotion::{EmotionalState, Reading, Semantics, Source};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::time::now_ms;

/// What one [`crate::Memorable::ingest_hume`] (or `ingest_hume_lines`) call did. Serializable: the
/// bindings return it as JSON / a dict / an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IngestReport {
    /// The context the readings went to.
    pub context: String,
    /// Messages read (1 for `ingest_hume`; non-blank lines for `ingest_hume_lines`).
    pub messages: usize,
    /// Readings fused into the context (0 for messages that carry no measurement).
    pub readings: usize,
    /// The sources of the fused readings, each once, in the order first met.
    pub sources: Vec<Source>,
    /// The family of each message, in order (`v1_realtime`, `legacy`, `evi`, ...).
    pub families: Vec<Family>,
    /// Warnings and errors the messages carried instead of (or besides) readings (legacy
    /// `W0xxx` / `E0xxx`, v1 and EVI `error`, HTTP error bodies).
    pub notices: Vec<Notice>,
    /// What the conversion had to adjust, e.g. a legacy score outside [0, 1] clamped, or a
    /// dense reading without scores skipped.
    pub warnings: Vec<String>,
    /// The context's fused state right after the readings (`None` while the context has
    /// never had a reading).
    pub state: Option<EmotionalState>,
}

/// Parse one Hume JSON message (any family `hume::parse` accepts: v1 realtime or upload,
/// legacy stream, EVI chat) and fuse its readings into `context` in one transaction.
///
/// Messages without a measurement (session events, EVI interim / typed / assistant
/// messages, unknown types) fuse nothing and still succeed; their notices are reported.
/// Text that is not JSON, a message that is not an object, a known field with the wrong
/// shape or a bad context id is an `INVALID_INPUT` error that changes nothing.
pub(crate) fn ingest_json(engine: &Engine, context: &str, json: &str) -> Result<IngestReport> {
    let message = parse::parse(json)?;
    let mut batch = Batch::new(context)?;
    batch.add(message.family, message.readings, message.notices);
    fuse(engine, batch)
}

/// [`ingest_json`] for a message already parsed, e.g. the
/// `HumeEvent::Message` a realtime session delivers to its subscribers: the way a
/// session's results go into a context as they arrive.
pub(crate) fn ingest_message(engine: &Engine, context: &str, message: &HumeMessage) -> Result<IngestReport> {
    let mut batch = Batch::new(context)?;
    batch.add(message.family, message.readings.clone(), message.notices.clone());
    fuse(engine, batch)
}

/// [`ingest_json`] for recorded messages, one JSON message a line
/// (blank lines skipped). Every line is parsed before anything is fused, so a bad line is
/// an `INVALID_INPUT` error naming its line number and nothing is fused; otherwise all
/// readings go into `context` in one transaction.
pub(crate) fn ingest_lines(engine: &Engine, context: &str, jsonl: &str) -> Result<IngestReport> {
    let mut batch = Batch::new(context)?;
    for (i, line) in jsonl.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let message = parse::parse(line).map_err(|e| match e {
            Error::InvalidInput(m) => Error::InvalidInput(format!("line {}: {m}", i + 1)),
            other => other,
        })?;
        batch.add(message.family, message.readings, message.notices);
    }
    fuse(engine, batch)
}

fn fuse(engine: &Engine, batch: Batch) -> Result<IngestReport> {
    let Batch { readings, mut report, .. } = batch;
    report.readings = readings.len();
    if !readings.is_empty() {
        engine.emotion.observe(&engine.store, &readings, false)?;
    }
    report.state = match engine.emotion.state(&engine.store, &report.context, now_ms()) {
        Ok(state) => Some(state),
        // A context that never had a reading has no state yet: not an error here.
        Err(e) if e.code() == crate::ErrorCode::NotFound => None,
        Err(e) => return Err(e),
    };
    Ok(report)
}

/// Readings converted so far and the report under construction.
struct Batch {
    readings: Vec<Reading>,
    report: IngestReport,
    /// One instant for every reading of the call: Hume's windows are offsets into a session,
    /// not wall-clock times, so the readings are timestamped when they arrive.
    now: OffsetDateTime,
}

impl Batch {
    fn new(context: &str) -> Result<Batch> {
        // Checked up front so a bad id is refused even when no message carries a reading.
        validate_context(context)?;
        Ok(Batch {
            readings: Vec::new(),
            report: IngestReport {
                context: context.to_owned(),
                messages: 0,
                readings: 0,
                sources: Vec::new(),
                families: Vec::new(),
                notices: Vec::new(),
                warnings: Vec::new(),
                state: None,
            },
            now: OffsetDateTime::now_utc(),
        })
    }

    fn add(&mut self, family: Family, readings: Vec<HumeReading>, notices: Vec<Notice>) {
        self.report.messages += 1;
        self.report.families.push(family);
        self.report.notices.extend(notices);
        for r in readings {
            if let Some(reading) = self.convert(r) {
                if !self.report.sources.contains(&reading.source) {
                    self.report.sources.push(reading.source.clone());
                }
                self.readings.push(reading);
            }
        }
    }

    /// One Hume reading as an emotion-layer reading, or `None` (with a warning) when it
    /// carries nothing fusion can use.
    fn convert(&mut self, r: HumeReading) -> Option<Reading> {
        let source = match r.source {
            HumeSource::Voice => Source::Voice,
            HumeSource::Face => Source::Face,
            HumeSource::Evi => Source::Evi,
            HumeSource::Text => Source::Text,
        };
        let semantics = match r.semantics {
            parse::Semantics::Dense => Semantics::Dense,
            // Missing v1 names were measured below their cutoff: 0, over Hume's 48 (the
            // vocabulary v1 face uses and v1 audio covers).
            parse::Semantics::Sparse { .. } => {
                Semantics::Sparse { missing: 0.0, vocabulary: Some(Vocabulary::Hume) }
            }
        };
        if r.scores.is_empty() && semantics == Semantics::Dense {
            // A dense reading with no scores says nothing (and the emotion layer refuses it).
            self.report.warnings.push(format!("a {} reading without scores was skipped", source));
            return None;
        }
        let mut clamped = 0usize;
        let scores: Vec<(String, f32)> = r
            .scores
            .into_iter()
            .map(|s| {
                // Legacy intensities can (rarely) fall outside [0, 1]; fusion takes [0, 1].
                let v = if s.value.is_finite() { s.value.clamp(0.0, 1.0) } else { 0.0 };
                if v != s.value {
                    clamped += 1;
                }
                (s.name, v)
            })
            .collect();
        if clamped > 0 {
            self.report.warnings.push(format!("{clamped} {source} score(s) outside [0, 1] clamped"));
        }
        let confidence = if r.confidence.is_finite() { r.confidence.clamp(0.0, 1.0) } else { 1.0 };
        Some(
            Reading::new(self.report.context.clone(), source)
                .scores(scores)
                .confidence(confidence)
                .timestamp(self.now)
                .semantics(semantics),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Memorable;

    const V1_AUDIO: &str = r#"{"type":"measurement.result","measurement_id":0,"utterance_id":0,"audio_start_ms":0,"audio_end_ms":3000,"trigger":"interval","expressions":[{"name":"interest","probability":0.62},{"name":"feeling uplifted","probability":0.4}]}"#;

    #[test]
    fn v1_audio_is_a_sparse_voice_reading() {
        let mem = Memorable::open_in_memory().unwrap();
        let report = mem.ingest_hume("c", V1_AUDIO).unwrap();
        assert_eq!((report.messages, report.readings), (1, 1));
        assert_eq!(report.sources, vec![Source::Voice]);
        let state = report.state.unwrap();
        assert_eq!(state.dominant.as_deref(), Some("interest"));
        assert!(state.extras.contains_key("feeling uplifted"), "{:?}", state.extras);
    }

    #[test]
    fn legacy_scores_are_clamped_and_messages_without_readings_fuse_nothing() {
        let mem = Memorable::open_in_memory().unwrap();
        let legacy = r#"{"burst":{"predictions":[{"time":{"begin":0.0,"end":1.0},"emotions":[{"name":"Amusement","score":1.2},{"name":"Joy","score":0.3}]}]}}"#;
        let report = mem.ingest_hume("c", legacy).unwrap();
        assert_eq!(report.readings, 1);
        assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
        let quiet = mem.ingest_hume("d", r#"{"type":"session.created","session_id":"s"}"#).unwrap();
        assert_eq!((quiet.readings, quiet.state), (0, None));
        let e = mem.ingest_hume(" ", V1_AUDIO).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidInput);
    }
}
