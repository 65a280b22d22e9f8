//! What a memory is: [`Memory`], its [`Context`] (who / what / when / where), and the inputs
//! that create ([`NewMemory`]) and change ([`MemoryUpdate`]) one.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// Identifier of a memory: unique in a store, monotonically increasing, never reused.
pub type MemoryId = u64;

/// JSON object attached to a memory by the application.
pub type Metadata = serde_json::Map<String, serde_json::Value>;

/// Default importance of a memory when the caller gives none.
pub const DEFAULT_IMPORTANCE: f32 = 0.5;

/// Default kind of a memory when the caller gives none.
pub const DEFAULT_KIND: &str = "message";

/// The who / what / when / where of a memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// Who said or did it.
    #[serde(default)]
    pub speaker: Option<String>,
    /// What it is about (free topic labels).
    #[serde(default)]
    pub topics: Vec<String>,
    /// When it happened (defaults to the time it was remembered).
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// Where it happened, as a place name.
    #[serde(default)]
    pub place: Option<String>,
    /// Latitude in degrees, when known.
    #[serde(default)]
    pub lat: Option<f64>,
    /// Longitude in degrees, when known.
    #[serde(default)]
    pub lon: Option<f64>,
}

/// How the user felt when a memory was made: the fused emotional state of its session at
/// storage time (with the text classifier's reading of the memory itself folded in), or a
/// snapshot the caller supplied. Scores are by catalog expression id (`"joy"`,
/// `"surprise_positive"`, ...), each in [0, 1]; only non-zero scores are kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmotionSnapshot {
    /// Expression id → intensity in [0, 1].
    pub scores: std::collections::BTreeMap<String, f32>,
    /// The strongest expression, if any.
    pub dominant: Option<String>,
    /// Pleasantness in [-1, 1].
    pub valence: f32,
    /// Activation in [-1, 1] (calm -1 … excited +1).
    pub arousal: f32,
    /// How much to trust the snapshot, in [0, 1].
    pub confidence: f32,
}

/// A stored memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub id: MemoryId,
    pub user: String,
    pub text: String,
    pub kind: String,
    pub session: Option<String>,
    pub context: Context,
    pub tags: Vec<String>,
    pub metadata: Metadata,
    pub importance: f32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// 1 for a new memory, +1 on every [`crate::Memorable::update`].
    pub version: u32,
    /// The emotional snapshot taken when the memory was stored, if any.
    #[serde(default)]
    pub emotion: Option<EmotionSnapshot>,
    /// The memories this one was derived from (a consolidation's summary or fact); empty for
    /// what was remembered as said.
    #[serde(default)]
    pub derived_from: Vec<MemoryId>,
}

/// Input of [`crate::Memorable::remember`]: built with [`NewMemory::new`] and chained setters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewMemory {
    pub user: String,
    pub text: String,
    pub kind: Option<String>,
    pub session: Option<String>,
    pub speaker: Option<String>,
    pub topics: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub occurred_at: Option<OffsetDateTime>,
    pub place: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub tags: Vec<String>,
    pub metadata: Option<serde_json::Value>,
    pub importance: Option<f32>,
    /// A precomputed embedding of `text` (normalized on write); `None` lets the store's
    /// embedder make it. Its length must equal the embedder's dimension.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
    /// An emotional snapshot to store with the memory (validated: every number finite and
    /// in range).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emotion: Option<EmotionSnapshot>,
    /// Memories of the same user this one is derived from. Forgetting every one of them
    /// forgets this one too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub derived_from: Vec<MemoryId>,
    /// The caller's key for this write (1-200 characters), unique per user: a `remember`
    /// retried with the same key returns the id the first one stored and writes nothing,
    /// whichever process or instance the retry reaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
}

impl NewMemory {
    pub fn new(user: impl Into<String>, text: impl Into<String>) -> Self {
        NewMemory { user: user.into(), text: text.into(), ..Default::default() }
    }
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
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
    pub fn topics<I, S>(mut self, topics: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.topics = topics.into_iter().map(Into::into).collect();
        self
    }
    pub fn occurred_at(mut self, at: OffsetDateTime) -> Self {
        self.occurred_at = Some(at);
        self
    }
    pub fn place(mut self, place: impl Into<String>) -> Self {
        self.place = Some(place.into());
        self
    }
    pub fn coordinates(mut self, lat: f64, lon: f64) -> Self {
        self.lat = Some(lat);
        self.lon = Some(lon);
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
    /// Attach a JSON object; anything but an object is rejected by `remember`.
    pub fn metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = Some(metadata);
        self
    }
    /// Importance in [0, 1]; default [`DEFAULT_IMPORTANCE`].
    pub fn importance(mut self, importance: f32) -> Self {
        self.importance = Some(importance);
        self
    }
    /// Mark this memory as derived from `sources` (the same user's memories).
    pub fn derived_from(mut self, sources: impl IntoIterator<Item = MemoryId>) -> Self {
        self.derived_from = sources.into_iter().collect();
        self
    }
    /// Make the write idempotent: another `remember` of the same user with the same key
    /// returns this memory's id instead of storing a copy.
    pub fn client_key(mut self, key: impl Into<String>) -> Self {
        self.client_key = Some(key.into());
        self
    }
    /// Use this embedding instead of embedding the text.
    pub fn embedding(mut self, embedding: Vec<f32>) -> Self {
        self.embedding = Some(embedding);
        self
    }
    /// Store this emotional snapshot with the memory.
    pub fn emotion(mut self, emotion: EmotionSnapshot) -> Self {
        self.emotion = Some(emotion);
        self
    }
}

/// Changes applied by [`crate::Memorable::update`]; `None` leaves a field as it is.
/// A changed text is re-embedded; the previous version is kept in the history.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryUpdate {
    pub text: Option<String>,
    pub kind: Option<String>,
    pub speaker: Option<String>,
    pub topics: Option<Vec<String>>,
    pub place: Option<String>,
    pub tags: Option<Vec<String>>,
    pub metadata: Option<serde_json::Value>,
    pub importance: Option<f32>,
}

impl MemoryUpdate {
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags = Some(tags.into_iter().map(Into::into).collect());
        self
    }
    pub fn metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = Some(metadata);
        self
    }
    pub fn importance(mut self, importance: f32) -> Self {
        self.importance = Some(importance);
        self
    }
}

/// One past or current version of a memory, as returned by [`crate::Memorable::history`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryVersion {
    pub version: u32,
    pub text: String,
    pub kind: String,
    pub speaker: Option<String>,
    pub tags: Vec<String>,
    pub metadata: Metadata,
    pub importance: f32,
    /// When this version was written.
    #[serde(with = "time::serde::rfc3339")]
    pub valid_from: OffsetDateTime,
    /// When it was replaced by the next version (`None` for the current one).
    #[serde(with = "time::serde::rfc3339::option")]
    pub valid_to: Option<OffsetDateTime>,
}

/// Checks shared by remember and update: text non-blank and under the limit.
pub(crate) fn validate_text(text: &str, limit: usize) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::EmptyText);
    }
    let chars = text.chars().count();
    if chars > limit {
        return Err(Error::TextTooLong { chars, limit });
    }
    Ok(())
}

pub(crate) fn validate_user(user: &str) -> Result<()> {
    if user.trim().is_empty() {
        return Err(Error::MissingUser);
    }
    Ok(())
}

/// Longest client key `remember` accepts, in characters.
pub const MAX_CLIENT_KEY_CHARS: usize = 200;

pub(crate) fn validate_client_key(key: Option<&str>) -> Result<()> {
    match key {
        Some(k) if k.is_empty() || k.chars().count() > MAX_CLIENT_KEY_CHARS => Err(Error::InvalidInput(
            format!("client_key must have 1 to {MAX_CLIENT_KEY_CHARS} characters, got {}", k.chars().count()),
        )),
        _ => Ok(()),
    }
}

pub(crate) fn validate_importance(importance: f32) -> Result<f32> {
    if !importance.is_finite() || !(0.0..=1.0).contains(&importance) {
        return Err(Error::InvalidInput(format!("importance must be in [0, 1], got {importance}")));
    }
    Ok(importance)
}

pub(crate) fn validate_metadata(metadata: Option<serde_json::Value>) -> Result<Metadata> {
    match metadata {
        None | Some(serde_json::Value::Null) => Ok(Metadata::new()),
        Some(serde_json::Value::Object(map)) => Ok(map),
        Some(other) => {
            Err(Error::InvalidMetadata(format!("metadata must be a JSON object, got {}", json_kind(&other))))
        }
    }
}

pub(crate) fn validate_coordinates(lat: Option<f64>, lon: Option<f64>) -> Result<()> {
    if let Some(lat) = lat {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(Error::InvalidInput(format!("latitude must be in [-90, 90], got {lat}")));
        }
    }
    if let Some(lon) = lon {
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(Error::InvalidInput(format!("longitude must be in [-180, 180], got {lon}")));
        }
    }
    Ok(())
}

pub(crate) fn validate_emotion(e: &EmotionSnapshot) -> Result<()> {
    let bad = |m: String| Err(Error::InvalidInput(format!("emotion snapshot: {m}")));
    for (name, &v) in &e.scores {
        if name.trim().is_empty() {
            return bad("an expression name is blank".into());
        }
        if !v.is_finite() || !(0.0..=1.0).contains(&v) {
            return bad(format!("score of {name:?} must be in [0, 1], got {v}"));
        }
    }
    for (what, v) in [("valence", e.valence), ("arousal", e.arousal)] {
        if !v.is_finite() || !(-1.0..=1.0).contains(&v) {
            return bad(format!("{what} must be in [-1, 1], got {v}"));
        }
    }
    if !e.confidence.is_finite() || !(0.0..=1.0).contains(&e.confidence) {
        return bad(format!("confidence must be in [0, 1], got {}", e.confidence));
    }
    Ok(())
}

/// Check a vector's length and values and scale it to unit length.
pub(crate) fn validate_vector(mut v: Vec<f32>, dim: usize) -> Result<Vec<f32>> {
    if v.len() != dim {
        return Err(Error::InvalidVector(format!("expected {dim} components, got {}", v.len())));
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::InvalidVector(format!("component {i} is {} (NaN or infinite)", v[i])));
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return Err(Error::InvalidVector("the vector has zero length".into()));
    }
    v.iter_mut().for_each(|x| *x /= norm);
    Ok(v)
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
