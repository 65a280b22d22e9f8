//! `ingestHume` in Node: a Hume message (JSON text, or the object an app already decoded)
//! fused into a context; the report's JS shape. Conversions only; parsing and fusion live in
//! the core.

use memorable_core::hume;
use napi_derive::napi;

use crate::emotion::EmotionalState;
use crate::error::sync_error;
use crate::handle::Memorable;

type Code = &'static str;

/// A warning or error a Hume message carried instead of (or besides) readings.
#[napi(object, use_nullable = true)]
pub struct HumeNotice {
    /// "warning" or "error".
    pub severity: String,
    /// Hume's code ("W0103", "E0203", "rate_limited", ...).
    pub code: Option<String>,
    pub message: String,
    /// Legacy: the model key a nested warning sat under.
    pub model: Option<String>,
    /// v1 realtime errors: whether the session survives it.
    pub retryable: Option<bool>,
}

/// What `ingestHume` did.
#[napi(object, use_nullable = true)]
pub struct HumeIngestReport {
    pub context: String,
    /// Messages read (1).
    pub messages: u32,
    /// Readings fused (0 for messages that carry no measurement).
    pub readings: u32,
    /// Sources of the fused readings ("voice", "face", "evi", "text").
    pub sources: Vec<String>,
    /// Message families ("v1_realtime", "v1_upload", "legacy", "evi", "unknown").
    pub families: Vec<String>,
    pub notices: Vec<HumeNotice>,
    /// What the conversion adjusted (e.g. legacy scores clamped to [0, 1]).
    pub warnings: Vec<String>,
    /// The context's fused state afterwards (null while it never had a reading).
    pub state: Option<EmotionalState>,
}

/// An enum's serde name (`"v1_realtime"`, `"warning"`).
fn name(v: impl serde::Serialize) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

impl From<hume::IngestReport> for HumeIngestReport {
    fn from(r: hume::IngestReport) -> Self {
        HumeIngestReport {
            context: r.context,
            messages: r.messages as u32,
            readings: r.readings as u32,
            sources: r.sources.iter().map(ToString::to_string).collect(),
            families: r.families.into_iter().map(name).collect(),
            notices: r
                .notices
                .into_iter()
                .map(|n| HumeNotice {
                    severity: name(n.severity),
                    code: n.code,
                    message: n.message,
                    model: n.model,
                    retryable: n.retryable,
                })
                .collect(),
            warnings: r.warnings,
            state: r.state.map(Into::into),
        }
    }
}

#[napi]
impl Memorable {
    /// Parse one Hume message (v1 realtime or upload, legacy stream, EVI chat; JSON text or
    /// an object) and fuse its readings into `context`. Bad JSON throws (code
    /// `INVALID_INPUT`) and changes nothing.
    #[napi(ts_args_type = "context: string, message: string | object")]
    pub fn ingest_hume(
        &self,
        context: String,
        message: serde_json::Value,
    ) -> napi::Result<HumeIngestReport, Code> {
        // A string is the message's JSON text; anything else is the decoded message.
        let json = match message {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        self.inner.ingest_hume(&context, &json).map(Into::into).map_err(sync_error)
    }

    /// A recorded session (JSON Lines: one Hume message a line, blank lines skipped) fused
    /// into `context` in one transaction; a bad line throws with its number (code
    /// `INVALID_INPUT`) and changes nothing.
    #[napi]
    pub fn ingest_hume_lines(&self, context: String, jsonl: String) -> napi::Result<HumeIngestReport, Code> {
        self.inner.ingest_hume_lines(&context, &jsonl).map(Into::into).map_err(sync_error)
    }
}
