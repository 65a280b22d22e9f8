//! Parsing Hume messages into readings, with no network: one entry point, [`parse`], for
//! every message family MemoRable meets (see `docs/hume.md` and the protocol notes):
//!
//! - **v1 Expression Measurement**: realtime `measurement.result` (audio or video), the
//!   other realtime messages (`session.*`, `utterance.*`, `error`), and the upload
//!   endpoints' JSON responses and error bodies;
//! - **legacy stream** (`v0/stream/models`) responses: `prosody`, `burst`, `face`,
//!   `facemesh` and `language` predictions, warnings (top level or nested under a model key)
//!   and `E0xxx` errors;
//! - **EVI** chat messages: a final, spoken `user_message` with prosody scores gives one
//!   reading; interim, typed-text and assistant messages give none.
//!
//! Names are kept exactly as Hume spells them here (`"Surprise (negative)"`,
//! `"surprise (negative)"`, `"feeling uplifted"`); resolving them onto the emotion catalog is
//! the fusion side's job. Unknown message types, fields and names pass through: Hume adds
//! names at any time and its SDKs skip unknown types. Only text that is not JSON, a message
//! that is not an object, or a known field with the wrong shape is an error.
//!
//! The hot path (a v1 audio result) is one serde pass over borrowed input into a typed
//! envelope; no intermediate `serde_json::Value`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Where a reading came from, in the fusion engine's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HumeSource {
    /// The user's voice: v1 audio, legacy prosody and vocal bursts.
    Voice,
    /// A face: v1 video/image, legacy face and facemesh.
    Face,
    /// EVI's prosody scores of the user's own voice.
    Evi,
    /// Legacy language model scores of a transcript or text.
    Text,
}

impl HumeSource {
    /// The source name used by the fusion engine (`"voice"`, `"face"`, `"evi"`, `"text"`).
    pub fn as_str(self) -> &'static str {
        match self {
            HumeSource::Voice => "voice",
            HumeSource::Face => "face",
            HumeSource::Evi => "evi",
            HumeSource::Text => "text",
        }
    }
}

/// Which Hume model produced a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HumeModel {
    /// v1 audio `expressions` (realtime or upload).
    V1Audio,
    /// v1 face `expressions` (realtime video or image upload).
    V1Face,
    /// Legacy speech prosody.
    LegacyProsody,
    /// Legacy vocal burst.
    LegacyBurst,
    /// Legacy face.
    LegacyFace,
    /// Legacy facemesh.
    LegacyFacemesh,
    /// Legacy language (53 names).
    LegacyLanguage,
    /// EVI `user_message` prosody.
    EviProsody,
}

/// What a reading's values mean, which decides how fusion treats a name that is missing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Semantics {
    /// Every dimension is present with an unthresholded intensity (legacy, EVI): a name's
    /// value is its measured intensity, and a missing name did not exist in that model.
    Dense,
    /// v1: only names whose probability passed a cutoff are listed. A missing name means
    /// "below the cutoff" (known to be low, not measured as 0). `cutoff` is the published
    /// cutoff when there is one (face expressions `> 0.1`); audio thresholds are per
    /// expression and unpublished.
    Sparse { cutoff: Option<f32> },
}

/// One named score, exactly as Hume sent it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub name: String,
    /// v1 `probability` or legacy / EVI `score` (legacy values can fall outside [0, 1]).
    pub value: f32,
}

/// A time window in milliseconds (v1: from the start of the session's accepted audio;
/// legacy: from the start of the stream context, converted from float seconds; EVI: an
/// offset into the chat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeWindow {
    pub start_ms: u64,
    pub end_ms: u64,
}

/// Which face a face reading belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceRef {
    /// Hume's face id: v1's integer (as text) or legacy `identify_faces` id; `None` when
    /// Hume gave none (`"unknown"` in legacy).
    pub face_id: Option<String>,
    /// Box `[x0, y0, x1, y1]` in stored pixels, origin top-left (legacy `{x,y,w,h}` is
    /// converted).
    pub bbox: Option<[f32; 4]>,
    /// Frame index: v1 `frame_id` (counts results), legacy `frame`.
    pub frame: Option<u64>,
}

/// One measurement that fusion can use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HumeReading {
    pub source: HumeSource,
    pub model: HumeModel,
    /// Expression scores, names as given (in Hume's order).
    pub scores: Vec<Score>,
    /// Non-expression scores kept for the caller but not fused: v1 `voice_attributes` and
    /// face `descriptions`, legacy burst / face `descriptions` and face `facs`.
    pub descriptors: Vec<Score>,
    pub semantics: Semantics,
    /// How much to trust the reading: the face detector's confidence for faces, else 1.
    pub confidence: f32,
    pub window: Option<TimeWindow>,
    pub face: Option<FaceRef>,
    /// The words the reading is about (EVI `message.content`, legacy language `text`).
    pub text: Option<String>,
    /// v1 audio: the utterance the window belongs to.
    pub utterance_id: Option<u64>,
    /// v1 audio: the result's id within its session.
    pub measurement_id: Option<u64>,
    /// v1 audio: `"interval"` or `"speech_ended"`.
    pub trigger: Option<String>,
}

/// The family a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// v1 realtime message (by its `type`).
    V1Realtime,
    /// v1 upload response or HTTP error body.
    V1Upload,
    /// Legacy stream response.
    Legacy,
    /// EVI chat message.
    Evi,
    /// Nothing MemoRable recognises (passed through, no readings).
    Unknown,
}

/// How serious a [`Notice`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Nothing was detected (legacy `W0xxx`): an empty result, not a failure.
    Warning,
    /// Hume rejected a request or a message (legacy `E0xxx`, v1 / EVI `error`, HTTP errors).
    Error,
}

/// A warning or error that a message carried instead of (or besides) readings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub severity: Severity,
    /// Hume's code (`"W0103"`, `"E0203"`, `"rate_limited"`, ...), when it gave one.
    pub code: Option<String>,
    pub message: String,
    /// Legacy: the model key a nested warning sat under (`"face"`).
    pub model: Option<String>,
    /// v1 realtime errors: whether the session survives it (see the protocol notes).
    pub retryable: Option<bool>,
}

/// Everything [`parse`] found in one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HumeMessage {
    pub family: Family,
    /// The message's `type` field, when it has one.
    #[serde(rename = "type")]
    pub message_type: Option<String>,
    pub readings: Vec<HumeReading>,
    pub notices: Vec<Notice>,
}

/// Parse one Hume JSON message (any family) into readings and notices.
///
/// Errors only on text that is not JSON, JSON that is not an object, or a known field with
/// the wrong shape ([`Error::InvalidInput`], naming line and column); unknown types, fields
/// and names pass through.
pub fn parse(json: &str) -> Result<HumeMessage> {
    let env: Envelope<'_> = serde_json::from_str(json).map_err(|e| {
        let what = if e.is_syntax() || e.is_eof() { "is not valid JSON" } else { "has an unexpected shape" };
        Error::InvalidInput(format!("Hume message {what}: {e}"))
    })?;
    env.into_message()
}

// ---------------------------------------------------------------------------------------
// Wire shapes. One envelope holds the fields of every family (all optional), so a message
// is read in one pass; `into_message` then dispatches on the markers the protocol notes
// give: a `type`, else `measurements` (upload), else legacy model keys / `error` /
// `warning`, else a bare gateway `message`.

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<std::borrow::Cow<'a, str>>,
    // v1 realtime result (the same fields as one upload measurement; not `flatten`ed,
    // which would buffer the whole message).
    expressions: Option<Vec<V1Score>>,
    voice_attributes: Option<Vec<V1Score>>,
    faces: Option<Vec<V1Face>>,
    audio_start_ms: Option<u64>,
    audio_end_ms: Option<u64>,
    utterance_id: Option<u64>,
    measurement_id: Option<u64>,
    frame_id: Option<u64>,
    trigger: Option<String>,
    measurements: Option<Vec<V1Measurement>>,
    // Errors (v1 realtime and HTTP, EVI, legacy top level).
    code: Option<String>,
    message: Option<Lenient<ChatMessage>>,
    retryable: Option<bool>,
    slug: Option<String>,
    // Legacy. Other families reuse some of these keys with other shapes (EVI's
    // `"language":"en"`, v1's `face` config), so they are read leniently and only checked
    // once the message is known to be legacy.
    face: Option<Lenient<LegacyModel>>,
    prosody: Option<Lenient<LegacyModel>>,
    burst: Option<Lenient<LegacyModel>>,
    language: Option<Lenient<LegacyModel>>,
    facemesh: Option<Lenient<LegacyModel>>,
    error: Option<String>,
    warning: Option<String>,
    job_details: Option<serde::de::IgnoredAny>,
    // EVI.
    models: Option<EviModels>,
    time: Option<EviTime>,
    from_text: Option<bool>,
    interim: Option<bool>,
}

#[derive(Deserialize)]
struct V1Measurement {
    expressions: Option<Vec<V1Score>>,
    voice_attributes: Option<Vec<V1Score>>,
    faces: Option<Vec<V1Face>>,
    audio_start_ms: Option<u64>,
    audio_end_ms: Option<u64>,
    utterance_id: Option<u64>,
    measurement_id: Option<u64>,
    frame_id: Option<u64>,
    trigger: Option<String>,
}

#[derive(Deserialize)]
struct V1Score {
    name: String,
    probability: f32,
}

#[derive(Deserialize)]
struct V1Face {
    face_id: Option<u64>,
    bbox: Option<[f32; 4]>,
    confidence: Option<f32>,
    expressions: Option<Vec<V1Score>>,
    descriptions: Option<Vec<V1Score>>,
}

/// EVI's `message` object (`message` is text in errors).
#[derive(Deserialize)]
struct ChatMessage {
    content: Option<String>,
}

/// A field whose shape depends on the family: an object read as `T`, a string kept as is,
/// or anything else kept aside (by its JSON type) to report or ignore once the family is
/// known. Read in place (`#[serde(untagged)]` would buffer the value first).
enum Lenient<T> {
    Typed(T),
    Text(String),
    Other(&'static str),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<Lenient<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Lenient::Typed)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<Lenient<T>, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Lenient::Other("an array"))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Lenient<T>, E> {
                Ok(Lenient::Text(v.to_owned()))
            }
            fn visit_unit<E>(self) -> std::result::Result<Lenient<T>, E> {
                Ok(Lenient::Other("null"))
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<Lenient<T>, E> {
                Ok(Lenient::Other("a boolean"))
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<Lenient<T>, E> {
                Ok(Lenient::Other("a number"))
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<Lenient<T>, E> {
                Ok(Lenient::Other("a number"))
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<Lenient<T>, E> {
                Ok(Lenient::Other("a number"))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<T> Lenient<T> {
    /// The typed value, or an error naming the key.
    fn typed(self, key: &str) -> Result<T> {
        match self {
            Lenient::Typed(t) => Ok(t),
            Lenient::Text(_) => Err(Error::InvalidInput(format!(
                "Hume message has an unexpected shape: `{key}` is a string, expected an object"
            ))),
            Lenient::Other(what) => Err(Error::InvalidInput(format!(
                "Hume message has an unexpected shape: `{key}` is {what}, expected an object"
            ))),
        }
    }
}

#[derive(Deserialize)]
struct LegacyModel {
    predictions: Option<Vec<LegacyPrediction>>,
    warning: Option<String>,
    code: Option<String>,
}

#[derive(Deserialize)]
struct LegacyPrediction {
    time: Option<LegacyTime>,
    frame: Option<u64>,
    bbox: Option<LegacyBox>,
    prob: Option<f32>,
    face_id: Option<String>,
    text: Option<String>,
    emotions: Option<Vec<LegacyScore>>,
    descriptions: Option<Vec<LegacyScore>>,
    facs: Option<Vec<LegacyScore>>,
}

#[derive(Deserialize)]
struct LegacyTime {
    begin: f64,
    end: f64,
}

#[derive(Deserialize)]
struct LegacyBox {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
}

#[derive(Deserialize)]
struct LegacyScore {
    name: String,
    score: f32,
}

#[derive(Deserialize)]
struct EviModels {
    prosody: Option<EviProsody>,
}

#[derive(Deserialize)]
struct EviProsody {
    /// Kept in Hume's order (serde_json's `preserve_order` is off, so not a map).
    scores: EviScores,
}

struct EviScores(Vec<Score>);

impl<'de> Deserialize<'de> for EviScores {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = EviScores;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of expression name to score")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<EviScores, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(48));
                while let Some((name, value)) = map.next_entry::<String, f32>()? {
                    out.push(Score { name, value });
                }
                Ok(EviScores(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
struct EviTime {
    begin: f64,
    end: f64,
}

/// The v1 realtime `type`s that carry no measurement.
const V1_TYPES: &[&str] =
    &["session.created", "session.updated", "utterance.start", "utterance.end", "session.closed"];

/// EVI message types (besides `user_message` and `error`); none of them carries the user's
/// own scores (`assistant_*` are the assistant's voice).
const EVI_TYPES: &[&str] = &[
    "chat_metadata",
    "assistant_message",
    "assistant_prosody",
    "assistant_end",
    "audio_output",
    "user_interruption",
    "tool_call",
    "tool_response",
    "tool_error",
    "session_settings",
    "audio_input",
    "user_input",
    "assistant_input",
    "pause_assistant_message",
    "resume_assistant_message",
];

impl Envelope<'_> {
    fn into_message(self) -> Result<HumeMessage> {
        let message_type = self.kind.as_deref().map(str::to_owned);
        let mut out =
            HumeMessage { family: Family::Unknown, message_type, readings: vec![], notices: vec![] };
        match self.kind.as_deref() {
            Some("measurement.result") => {
                out.family = Family::V1Realtime;
                let m = V1Measurement {
                    expressions: self.expressions,
                    voice_attributes: self.voice_attributes,
                    faces: self.faces,
                    audio_start_ms: self.audio_start_ms,
                    audio_end_ms: self.audio_end_ms,
                    utterance_id: self.utterance_id,
                    measurement_id: self.measurement_id,
                    frame_id: self.frame_id,
                    trigger: self.trigger,
                };
                v1_measurement(m, &mut out.readings);
            }
            Some("user_message") => {
                out.family = Family::Evi;
                self.evi_user_message(&mut out.readings);
            }
            Some("error") => {
                // EVI errors carry a `slug`; v1 realtime and HTTP errors do not.
                out.family = if self.slug.is_some() { Family::Evi } else { Family::V1Realtime };
                out.notices.push(Notice {
                    severity: Severity::Error,
                    code: self.code,
                    message: message_text(self.message),
                    model: None,
                    retryable: self.retryable,
                });
            }
            Some(t) if V1_TYPES.contains(&t) => out.family = Family::V1Realtime,
            Some(t) if EVI_TYPES.contains(&t) => out.family = Family::Evi,
            Some(_) => {} // an unknown type: forward compatible, nothing to read
            None => self.untyped(&mut out)?,
        }
        Ok(out)
    }

    /// Upload responses, HTTP errors and legacy responses have no `type`.
    fn untyped(self, out: &mut HumeMessage) -> Result<()> {
        if let Some(ms) = self.measurements {
            out.family = Family::V1Upload;
            for m in ms {
                v1_measurement(m, &mut out.readings);
            }
            return Ok(());
        }
        let legacy = [
            ("prosody", self.prosody),
            ("burst", self.burst),
            ("face", self.face),
            ("facemesh", self.facemesh),
            ("language", self.language),
        ];
        let is_legacy = legacy.iter().any(|(_, m)| m.is_some())
            || self.error.is_some()
            || self.warning.is_some()
            || self.job_details.is_some();
        if is_legacy {
            out.family = Family::Legacy;
            if let Some(error) = self.error {
                out.notices.push(notice(Severity::Error, self.code.clone(), error, None));
            }
            if let Some(warning) = self.warning {
                out.notices.push(notice(Severity::Warning, self.code.clone(), warning, None));
            }
            for (key, model) in legacy {
                if let Some(model) = model {
                    legacy_model(key, model.typed(key)?, out);
                }
            }
        } else if let Some(Lenient::Text(message)) = self.message {
            // A gateway error (`{"message": ...}`, maybe with a `request_id`).
            out.family = Family::V1Upload;
            out.notices.push(notice(Severity::Error, self.code, message, None));
        }
        Ok(())
    }

    fn evi_user_message(self, readings: &mut Vec<HumeReading>) {
        // One reading per spoken, final utterance (protocol notes §3).
        if self.interim == Some(true) || self.from_text == Some(true) {
            return;
        }
        let Some(prosody) = self.models.and_then(|m| m.prosody) else { return };
        let text = match self.message {
            Some(Lenient::Typed(chat)) => chat.content,
            _ => None,
        };
        readings.push(HumeReading {
            source: HumeSource::Evi,
            model: HumeModel::EviProsody,
            scores: prosody.scores.0,
            descriptors: vec![],
            semantics: Semantics::Dense,
            confidence: 1.0,
            window: self.time.map(|t| window_ms(t.begin, t.end)),
            face: None,
            text,
            utterance_id: None,
            measurement_id: None,
            trigger: None,
        });
    }
}

fn notice(severity: Severity, code: Option<String>, message: String, model: Option<&str>) -> Notice {
    Notice { severity, code, message, model: model.map(str::to_owned), retryable: None }
}

fn message_text(m: Option<Lenient<ChatMessage>>) -> String {
    match m {
        Some(Lenient::Text(t)) => t,
        _ => String::new(),
    }
}

fn scores_v1(s: Vec<V1Score>) -> Vec<Score> {
    s.into_iter().map(|s| Score { name: s.name, value: s.probability }).collect()
}

fn scores_legacy(s: Option<Vec<LegacyScore>>) -> Vec<Score> {
    s.unwrap_or_default().into_iter().map(|s| Score { name: s.name, value: s.score }).collect()
}

/// Float seconds → a window in whole milliseconds.
fn window_s(begin: f64, end: f64) -> TimeWindow {
    window_ms(begin * 1000.0, end * 1000.0)
}

/// Milliseconds (EVI sends integers; accepted as floats) → a window; negative or non-finite
/// times clamp to 0 and the end is never before the start.
fn window_ms(begin: f64, end: f64) -> TimeWindow {
    let ms = |v: f64| if v.is_finite() && v > 0.0 { v.round() as u64 } else { 0 };
    let (start_ms, end_ms) = (ms(begin), ms(end));
    TimeWindow { start_ms, end_ms: end_ms.max(start_ms) }
}

/// One v1 measurement (realtime result or upload item): audio when it has a window, video
/// when it lists faces.
fn v1_measurement(m: V1Measurement, readings: &mut Vec<HumeReading>) {
    if let Some(faces) = m.faces {
        for f in faces {
            // Unmeasured faces (beyond the measured ones) have null expressions: nothing to fuse.
            let Some(expressions) = f.expressions else { continue };
            readings.push(HumeReading {
                source: HumeSource::Face,
                model: HumeModel::V1Face,
                scores: scores_v1(expressions),
                descriptors: f.descriptions.map(scores_v1).unwrap_or_default(),
                semantics: Semantics::Sparse { cutoff: Some(0.1) },
                confidence: f.confidence.unwrap_or(1.0),
                window: None,
                face: Some(FaceRef {
                    face_id: f.face_id.map(|i| i.to_string()),
                    bbox: f.bbox,
                    frame: m.frame_id,
                }),
                text: None,
                utterance_id: None,
                measurement_id: None,
                trigger: None,
            });
        }
        return;
    }
    if m.expressions.is_none() && m.voice_attributes.is_none() {
        return;
    }
    let window = match (m.audio_start_ms, m.audio_end_ms) {
        (Some(s), Some(e)) => Some(TimeWindow { start_ms: s, end_ms: e.max(s) }),
        _ => None,
    };
    readings.push(HumeReading {
        source: HumeSource::Voice,
        model: HumeModel::V1Audio,
        scores: m.expressions.map(scores_v1).unwrap_or_default(),
        descriptors: m.voice_attributes.map(scores_v1).unwrap_or_default(),
        // Per-expression audio thresholds are not published.
        semantics: Semantics::Sparse { cutoff: None },
        confidence: 1.0,
        window,
        face: None,
        text: None,
        utterance_id: m.utterance_id,
        measurement_id: m.measurement_id,
        trigger: m.trigger,
    });
}

fn legacy_model(key: &'static str, model: LegacyModel, out: &mut HumeMessage) {
    if let Some(warning) = model.warning {
        out.notices.push(notice(Severity::Warning, model.code, warning, Some(key)));
    }
    let (source, hmodel) = match key {
        "prosody" => (HumeSource::Voice, HumeModel::LegacyProsody),
        "burst" => (HumeSource::Voice, HumeModel::LegacyBurst),
        "face" => (HumeSource::Face, HumeModel::LegacyFace),
        "facemesh" => (HumeSource::Face, HumeModel::LegacyFacemesh),
        _ => (HumeSource::Text, HumeModel::LegacyLanguage),
    };
    for p in model.predictions.unwrap_or_default() {
        let Some(emotions) = p.emotions else { continue };
        let face = (hmodel == HumeModel::LegacyFace).then(|| FaceRef {
            face_id: p.face_id.filter(|id| id != "unknown"),
            bbox: p.bbox.map(|b| [b.x, b.y, b.x + b.w, b.y + b.h]),
            frame: p.frame,
        });
        let mut descriptors = scores_legacy(p.descriptions);
        descriptors.extend(scores_legacy(p.facs));
        out.readings.push(HumeReading {
            source,
            model: hmodel,
            scores: emotions.into_iter().map(|s| Score { name: s.name, value: s.score }).collect(),
            descriptors,
            semantics: Semantics::Dense,
            confidence: p.prob.unwrap_or(1.0),
            window: p.time.map(|t| window_s(t.begin, t.end)),
            face,
            text: p.text,
            utterance_id: None,
            measurement_id: None,
            trigger: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The recorded sample of every family (`tests/fixtures/hume/recorded.jsonl`, written
    /// from the protocol notes) with its case names.
    fn recorded() -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/hume");
        let lines = std::fs::read_to_string(dir.join("recorded.jsonl")).unwrap();
        let names = std::fs::read_to_string(dir.join("recorded.names.txt")).unwrap();
        let out: Vec<_> = names.lines().map(str::to_owned).zip(lines.lines().map(str::to_owned)).collect();
        assert_eq!(out.len(), lines.lines().count());
        out
    }

    fn case(name: &str) -> HumeMessage {
        let (_, json) = recorded().into_iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{name}"));
        parse(&json).unwrap()
    }

    fn score(r: &HumeReading, name: &str) -> Option<f32> {
        r.scores.iter().find(|s| s.name == name).map(|s| s.value)
    }

    #[test]
    fn every_recorded_message_parses() {
        for (name, json) in recorded() {
            parse(&json).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn v1_audio_result() {
        let m = case("v1 audio result");
        assert_eq!((m.family, m.message_type.as_deref()), (Family::V1Realtime, Some("measurement.result")));
        let [r] = &m.readings[..] else { panic!("{m:?}") };
        assert_eq!((r.source, r.model), (HumeSource::Voice, HumeModel::V1Audio));
        assert_eq!(r.semantics, Semantics::Sparse { cutoff: None });
        assert_eq!(r.window, Some(TimeWindow { start_ms: 98, end_ms: 3098 }));
        assert_eq!(r.scores.len(), 2);
        assert_eq!(score(r, "interest"), Some(0.6231));
        assert_eq!(score(r, "amusement"), Some(0.4187));
        assert_eq!(r.descriptors[0], Score { name: "clear".into(), value: 0.9612 });
        assert_eq!(
            (r.utterance_id, r.measurement_id, r.trigger.as_deref()),
            (Some(0), Some(0), Some("interval"))
        );
        assert!(m.notices.is_empty());
    }

    #[test]
    fn unknown_names_and_fields_pass_through() {
        let m = case("v1 audio result, forward compatible");
        let [r] = &m.readings[..] else { panic!("{m:?}") };
        assert_eq!(score(r, "feeling uplifted"), Some(0.7001));
        assert_eq!(score(r, "surprise (positive)"), Some(0.512));
        assert_eq!(r.trigger.as_deref(), Some("speech_ended"));

        // Empty arrays: a reading that says "nothing passed the cutoff".
        let m = case("v1 audio result, empty arrays");
        assert!(m.readings[0].scores.is_empty());

        let m = case("unknown type");
        assert_eq!((m.family, m.message_type.as_deref()), (Family::Unknown, Some("session.heartbeat")));
        assert!(m.readings.is_empty() && m.notices.is_empty());
    }

    #[test]
    fn v1_control_messages_yield_nothing() {
        for name in ["v1 session.created", "v1 utterance.start", "v1 utterance.end", "v1 session.closed"] {
            let m = case(name);
            assert_eq!(m.family, Family::V1Realtime, "{name}");
            assert!(m.readings.is_empty() && m.notices.is_empty(), "{name}");
        }
        let m = case("v1 rate_limited");
        assert_eq!(m.notices[0].code.as_deref(), Some("rate_limited"));
        assert_eq!((m.notices[0].severity, m.notices[0].retryable), (Severity::Error, Some(true)));
    }

    #[test]
    fn v1_video_result() {
        let m = case("v1 video result");
        // Two measured faces (one with nothing over the cutoff); the unmeasured face
        // (null expressions) gives no reading.
        assert_eq!(m.readings.len(), 2);
        let r = &m.readings[0];
        assert_eq!((r.source, r.model), (HumeSource::Face, HumeModel::V1Face));
        assert_eq!(r.semantics, Semantics::Sparse { cutoff: Some(0.1) });
        assert_eq!(r.confidence, 0.9981);
        let face = r.face.as_ref().unwrap();
        assert_eq!(
            (face.face_id.as_deref(), face.bbox, face.frame),
            (Some("0"), Some([412.0, 96.5, 655.0, 388.0]), Some(0))
        );
        assert_eq!(score(r, "amusement"), Some(0.7124));
        assert_eq!(r.descriptors.len(), 2);
        assert!(m.readings[1].scores.is_empty());
        assert!(case("v1 video result, no faces").readings.is_empty());
    }

    #[test]
    fn v1_upload_responses_and_errors() {
        let m = case("v1 audio upload");
        assert_eq!(m.family, Family::V1Upload);
        assert_eq!(m.readings.len(), 2);
        assert_eq!(m.readings[1].window, Some(TimeWindow { start_ms: 320, end_ms: 5120 }));
        assert_eq!(score(&m.readings[1], "tiredness"), Some(0.3));

        let m = case("v1 image upload");
        assert_eq!(m.readings.len(), 1);
        assert_eq!(m.readings[0].face.as_ref().unwrap().bbox, Some([1.0, 2.0, 101.0, 122.0]));

        let m = case("v1 http error");
        assert_eq!(m.notices[0].code.as_deref(), Some("audio_decode_failed"));
        let m = case("gateway 429");
        assert_eq!((m.family, m.notices[0].message.as_str()), (Family::V1Upload, "API rate limit exceeded"));
    }

    #[test]
    fn legacy_models() {
        let m = case("legacy prosody");
        assert_eq!(m.family, Family::Legacy);
        let r = &m.readings[0];
        assert_eq!(
            (r.source, r.model, r.semantics),
            (HumeSource::Voice, HumeModel::LegacyProsody, Semantics::Dense)
        );
        assert_eq!(r.scores.len(), 48);
        assert_eq!(r.window, Some(TimeWindow { start_ms: 0, end_ms: 2310 }));
        // Legacy scores are unthresholded and can leave [0, 1]; parse keeps them as sent.
        assert_eq!(score(r, "Calmness"), Some(1.07));

        let m = case("legacy burst");
        assert_eq!(m.readings[0].model, HumeModel::LegacyBurst);
        assert_eq!(m.readings[0].descriptors[0].name, "Laugh");
        assert_eq!(m.readings[0].window, Some(TimeWindow { start_ms: 500, end_ms: 1100 }));

        let m = case("legacy face");
        let r = &m.readings[0];
        assert_eq!((r.source, r.confidence, r.window), (HumeSource::Face, 0.9987, None));
        let face = r.face.as_ref().unwrap();
        // {x,y,w,h} → [x0,y0,x1,y1]; "unknown" → no id.
        assert_eq!(
            (face.face_id.clone(), face.bbox, face.frame),
            (None, Some([120.5, 88.0, 330.5, 328.0]), Some(0))
        );
        assert_eq!(score(r, "Sadness"), Some(0.61));

        let m = case("legacy language");
        let r = &m.readings[0];
        assert_eq!(
            (r.source, r.scores.len(), r.text.as_deref()),
            (HumeSource::Text, 53, Some("I'm so happy"))
        );
        assert_eq!(score(r, "Gratitude"), Some(0.44));

        let m = case("legacy facemesh");
        assert_eq!(
            (m.readings[0].source, m.readings[0].model),
            (HumeSource::Face, HumeModel::LegacyFacemesh)
        );
    }

    #[test]
    fn legacy_warnings_both_shapes_and_errors() {
        for (name, model) in [("legacy warning, top level", None), ("legacy warning, nested", Some("face"))] {
            let m = case(name);
            assert_eq!(m.family, Family::Legacy);
            assert!(m.readings.is_empty());
            let n = &m.notices[0];
            assert_eq!(
                (n.severity, n.code.as_deref(), n.model.as_deref()),
                (Severity::Warning, Some("W0103"), model)
            );
            assert_eq!(n.message, "No faces detected.");
        }
        for (name, code) in [("legacy error E0203", "E0203"), ("legacy error E0205", "E0205")] {
            let m = case(name);
            assert_eq!((m.family, m.notices[0].severity), (Family::Legacy, Severity::Error));
            assert_eq!(m.notices[0].code.as_deref(), Some(code));
        }
        let m = case("legacy job_details only");
        assert_eq!(m.family, Family::Legacy);
        assert!(m.readings.is_empty() && m.notices.is_empty());
    }

    #[test]
    fn evi_only_final_spoken_user_messages() {
        let m = case("evi user_message");
        assert_eq!(m.family, Family::Evi);
        let [r] = &m.readings[..] else { panic!("{m:?}") };
        assert_eq!(
            (r.source, r.model, r.semantics),
            (HumeSource::Evi, HumeModel::EviProsody, Semantics::Dense)
        );
        assert_eq!(r.scores.len(), 48);
        assert_eq!(score(r, "Joy"), Some(0.41));
        assert_eq!(r.window, Some(TimeWindow { start_ms: 13840, end_ms: 15920 }));
        assert_eq!(r.text.as_deref(), Some("I finally got the job!"));
        for name in [
            "evi user_message interim",
            "evi user_message typed",
            "evi assistant_message",
            "evi assistant_prosody",
            "evi chat_metadata",
        ] {
            let m = case(name);
            assert_eq!(m.family, Family::Evi, "{name}");
            assert!(m.readings.is_empty(), "{name}");
        }
        let m = case("evi error");
        assert_eq!((m.family, m.notices[0].code.as_deref()), (Family::Evi, Some("I0100")));
    }

    #[test]
    fn malformed_input_is_a_clear_error() {
        for bad in [
            "",
            "{",
            "not json",
            "[1,2]",
            "42",
            "{\"type\":\"measurement.result\",\"expressions\":[{\"name\":\"joy\"}]}",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidInput, "{bad}");
            assert!(e.to_string().contains("Hume message"), "{e}");
        }
        let e = parse("{\"type\":").unwrap_err().to_string();
        assert!(e.contains("not valid JSON") && e.contains("line 1"), "{e}");
        let e = parse("{\"expressions\": 3, \"type\": \"measurement.result\"}").unwrap_err().to_string();
        assert!(e.contains("unexpected shape"), "{e}");
        // A legacy model key with the wrong shape, once the message is legacy.
        let e = parse("{\"prosody\": {\"predictions\": 7}}").unwrap_err().to_string();
        assert!(e.contains("unexpected shape"), "{e}");
        let e = parse("{\"prosody\": \"x\"}").unwrap_err().to_string();
        assert!(e.contains("`prosody` is a string"), "{e}");
    }
}
