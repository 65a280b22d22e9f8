//! Wire shapes. One envelope holds the fields of every family (all optional), so a message
//! is read in one pass; `into_message` then dispatches on the markers the protocol notes
//! give: a `type`, else `measurements` (upload), else legacy model keys / `error` /
//! `warning`, else a bare gateway `message`.

use serde::Deserialize;

use super::types::*;
use crate::error::{Error, Result};

#[derive(Deserialize)]
pub(super) struct Envelope<'a> {
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
    pub(super) fn into_message(self) -> Result<HumeMessage> {
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
