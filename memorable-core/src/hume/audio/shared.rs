//! What a session and its background task share: limits, options, commands, the summary,
//! and the state the caller's side reads once the session ended.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::error::{Error, Result};
use crate::hume::client::{EventCallback, HumeEvent};

/// One 100 ms frame of s16le / 16 kHz / mono.
pub const FRAME_BYTES: usize = 3_200;
/// Hume's largest audio frame: 10 s.
pub const MAX_FRAME_BYTES: usize = 320_000;
/// Hume's largest WebSocket message on the audio endpoint: 1 MiB.
pub const MAX_MESSAGE_BYTES: usize = 1_048_576;
/// Bytes per millisecond of audio.
pub(super) const BYTES_PER_MS: f64 = 32.0;
/// Largest frame the sender builds when catching up.
pub(super) const MAX_COALESCED: usize = 32_000;
/// Frame duration the pacer may run ahead of real time.
pub(super) const LEAD_MS: f64 = 100.0;
/// Wait before resending a `rate_limited` frame.
pub(super) const RESEND_DELAY_MS: f64 = 100.0;
/// Recorded audio queued ahead of the sender before `send_pcm` blocks.
pub(super) const QUEUE_LIMIT: usize = 64_000;
/// Live audio queued while disconnected before the oldest is dropped.
pub(super) const LIVE_QUEUE_LIMIT: usize = 160_000;
/// Upper bound of the time a frame waits for errors after its pong.
pub(super) const MAX_ACK_WAIT: Duration = Duration::from_millis(500);

/// Options of an audio session.
#[derive(Clone, Default)]
pub struct AudioOptions {
    pub(super) measurement_timer_ms: Option<u32>,
    pub(super) live: bool,
    pub(super) callbacks: Vec<EventCallback>,
}

impl std::fmt::Debug for AudioOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioOptions")
            .field("measurement_timer_ms", &self.measurement_timer_ms)
            .field("live", &self.live)
            .field("callbacks", &self.callbacks.len())
            .finish()
    }
}

impl AudioOptions {
    pub fn new() -> AudioOptions {
        AudioOptions::default()
    }
    /// Send `session.update` with this `measurement_timer_ms` (3000-10000) before any audio.
    pub fn measurement_timer_ms(mut self, ms: u32) -> Self {
        self.measurement_timer_ms = Some(ms);
        self
    }
    /// A live source (a microphone): audio offered while the connection is down is dropped,
    /// as Hume's SDK does. Otherwise (a recording, the default) it waits and is sent after
    /// the reconnect.
    pub fn live(mut self, live: bool) -> Self {
        self.live = live;
        self
    }
    /// Call `f` with every event, in order, on the client's runtime thread.
    pub fn on_event(mut self, f: impl Fn(&HumeEvent) + Send + Sync + 'static) -> Self {
        self.callbacks.push(Arc::new(f));
        self
    }
}

/// What a finished session did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionSummary {
    /// Every connection's `session_id`, in order.
    pub session_ids: Vec<String>,
    pub reconnects: u32,
    /// Audio: accepted audio (ms) and frames; video: frames measured.
    pub audio_ms: u64,
    pub frames: u64,
    /// Frames sent again after `rate_limited` (or a lost connection).
    pub resent: u64,
    /// Frames that were never measured (refused, or dropped by a live source).
    pub dropped: u64,
    /// `measurement.result` messages received.
    pub results: u64,
    /// Why the session ended (`client_request`, `idle_timeout`, ...).
    pub reason: String,
}

pub(super) fn timer_update(ms: u32) -> Result<Value> {
    if !(3000..=10_000).contains(&ms) {
        return Err(Error::InvalidInput(format!("measurement_timer_ms must be in 3000..=10000 (got {ms})")));
    }
    Ok(json!({"type": "session.update", "measurement_timer_ms": ms}))
}

/// A piece of queued audio: bytes the pacer may slice, or one frame sent exactly as given.
pub(super) enum Piece {
    Stream(Vec<u8>),
    Frame(Vec<u8>),
}

pub(super) enum Cmd {
    Audio(Piece),
    Update(Value, oneshot::Sender<Result<()>>),
    Close(oneshot::Sender<Result<SessionSummary>>),
}

/// How a session stands, for the caller's side.
#[derive(Default)]
pub(super) struct Shared {
    /// Set when the session has ended: what `close` returns from then on.
    pub(super) ended: Option<Result<SessionSummary>>,
}

impl Shared {
    /// The error calls get once the session has ended.
    pub(super) fn ended_error(&self) -> Option<Error> {
        self.ended.as_ref().map(|r| match r {
            Ok(s) => Error::HumeSessionClosed(s.reason.clone()),
            Err(e) => Error::HumeSessionClosed(e.to_string()),
        })
    }

    /// The final result, for a `close` after the end.
    pub(super) fn outcome(&self) -> Option<Result<SessionSummary>> {
        self.ended.as_ref().map(|r| match r {
            Ok(s) => Ok(s.clone()),
            Err(e) => Err(clone_error(e)),
        })
    }
}

/// Frame checks done before anything is sent.
pub fn check_frame(frame: &[u8]) -> Result<()> {
    if frame.len() > MAX_MESSAGE_BYTES {
        return Err(Error::HumeLimit(format!(
            "an audio message of {} bytes is over Hume's 1 MiB message limit",
            frame.len()
        )));
    }
    if frame.len() > MAX_FRAME_BYTES {
        return Err(Error::HumeLimit(format!(
            "an audio frame of {} bytes is over Hume's 10 s (320,000 bytes) frame limit",
            frame.len()
        )));
    }
    if frame.is_empty() || !frame.len().is_multiple_of(2) {
        return Err(Error::InvalidInput(format!(
            "an audio frame must be a non-empty, even number of bytes of s16le (got {})",
            frame.len()
        )));
    }
    Ok(())
}

/// `session.closed`'s `reason` (parse keeps only the type of control messages).
pub(crate) fn closed_reason(raw: &str) -> Option<String> {
    serde_json::from_str::<Value>(raw).ok()?.get("reason")?.as_str().map(str::to_owned)
}

/// Errors are not `Clone` (they may wrap I/O errors); sessions hand the same failure to
/// several waiters.
pub(crate) fn clone_error(e: &Error) -> Error {
    match e {
        Error::HumeAuth(m) => Error::HumeAuth(m.clone()),
        Error::HumeConnection(m) => Error::HumeConnection(m.clone()),
        Error::HumeRejected { code, message } => {
            Error::HumeRejected { code: code.clone(), message: message.clone() }
        }
        Error::HumeRateLimited(m) => Error::HumeRateLimited(m.clone()),
        Error::HumeLimit(m) => Error::HumeLimit(m.clone()),
        Error::HumeSessionClosed(m) => Error::HumeSessionClosed(m.clone()),
        Error::InvalidInput(m) => Error::InvalidInput(m.clone()),
        Error::InvalidConfig(m) => Error::InvalidConfig(m.clone()),
        other => Error::Internal(other.to_string()),
    }
}
