//! What parsing yields: readings, notices and the message they came in, as Hume names them.

use serde::{Deserialize, Serialize};

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

/// Everything [`parse()`](super::parse()) found in one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HumeMessage {
    pub family: Family,
    /// The message's `type` field, when it has one.
    #[serde(rename = "type")]
    pub message_type: Option<String>,
    pub readings: Vec<HumeReading>,
    pub notices: Vec<Notice>,
}
