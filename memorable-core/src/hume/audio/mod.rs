//! Realtime audio sessions (`/v1/expression/audio/realtime`, protocol notes §1.4 and §5):
//! s16le / 16 kHz / mono paced to real time in 100 ms frames, `rate_limited` frames resent,
//! size limits checked before sending, `session.update` only before the first frame,
//! reconnects per the SDK policy with the last update resent and times / ids offset onto one
//! timeline, keep-alive pings, and an orderly close that flushes pending results.
//!
//! **Attributing `rate_limited`.** Accepted audio frames get no reply, so an error cannot
//! name its frame. The sender keeps one frame in flight: after each frame it sends a ping
//! carrying the frame's sequence number, and treats the frame as accepted once that pong
//! is back (a server answers in order, so an error for the frame comes before it) and at
//! least two handshake round trips have passed (for servers that answer pings ahead of
//! errors). A `rate_limited` in that window is the frame's: it is resent after 100 ms, so
//! the stream stays continuous. When the sender falls behind real time (a slow round trip),
//! the next frame carries the audio that piled up (up to 1 s), so throughput keeps up.

mod shared;
mod task;

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

pub use shared::{
    check_frame, AudioOptions, SessionSummary, FRAME_BYTES, MAX_FRAME_BYTES, MAX_MESSAGE_BYTES,
};
pub(crate) use shared::{clone_error, closed_reason};

use crate::error::{Error, Result};
use crate::hume::client::{Events, HumeClient};
use shared::{timer_update, Cmd, Piece, Shared};
use task::AudioTask;

/// A realtime audio session. Feed it PCM with [`AudioSession::send_pcm`]; results arrive as
/// [`crate::hume::HumeEvent`]s through the callbacks given in [`AudioOptions::on_event`] and through
/// [`AudioSession::events`]. [`AudioSession::close`] flushes and waits for the last results.
pub struct AudioSession {
    cmd: mpsc::Sender<Cmd>,
    events: Mutex<Option<Events>>,
    shared: Arc<Mutex<Shared>>,
    /// An odd trailing byte carried to the next `send_pcm`.
    carry: Mutex<Option<u8>>,
    closed: bool,
    _client: HumeClient,
}

impl std::fmt::Debug for AudioSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioSession").finish_non_exhaustive()
    }
}

impl HumeClient {
    /// Open a realtime audio session: connects (retrying what the reconnect policy retries),
    /// waits for `session.created`, applies the options' `session.update`, and returns.
    /// An authentication failure (401) fails at once.
    pub fn audio_session(&self, options: AudioOptions) -> Result<AudioSession> {
        let update = options.measurement_timer_ms.map(timer_update).transpose()?;
        let (cmd_tx, cmd_rx) = mpsc::channel(64);
        let (ready_tx, ready_rx) = oneshot::channel();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (task, events) =
            AudioTask::new(self.inner.clone(), options, update, cmd_rx, ready_tx, shared.clone());
        self.inner.spawn(task.run());
        ready_rx.blocking_recv().map_err(|_| Error::Internal("the Hume session task stopped".into()))??;
        Ok(AudioSession {
            cmd: cmd_tx,
            events: Mutex::new(Some(events)),
            shared,
            carry: Mutex::new(None),
            closed: false,
            _client: self.clone(),
        })
    }
}

impl AudioSession {
    fn ended_error(&self) -> Option<Error> {
        self.shared.lock().expect("session lock").ended_error()
    }

    fn outcome(&self) -> Result<SessionSummary> {
        let outcome = self.shared.lock().expect("session lock").outcome();
        outcome.unwrap_or_else(|| Err(Error::HumeSessionClosed("the session task stopped".into())))
    }

    fn push(&self, cmd: Cmd) -> Result<()> {
        if let Some(e) = self.ended_error() {
            return Err(e);
        }
        self.cmd.blocking_send(cmd).map_err(|_| {
            self.ended_error().unwrap_or_else(|| Error::HumeSessionClosed("the session task stopped".into()))
        })
    }

    /// Queue s16le / 16 kHz / mono PCM of any length (cut at any sample boundary; an odd
    /// trailing byte waits for the next call). Blocks while more than ~2 s of audio waits
    /// to be sent, so a recording streams at real time.
    pub fn send_pcm(&self, pcm: &[u8]) -> Result<()> {
        let mut carry = self.carry.lock().expect("carry lock");
        let mut bytes = Vec::with_capacity(pcm.len() + 1);
        bytes.extend(carry.take());
        bytes.extend_from_slice(pcm);
        if bytes.len() % 2 == 1 {
            *carry = bytes.pop();
        }
        for chunk in bytes.chunks(FRAME_BYTES) {
            self.push(Cmd::Audio(Piece::Stream(chunk.to_vec())))?;
        }
        Ok(())
    }

    /// Queue one frame to be sent exactly as given. Refused before sending when it is
    /// empty or odd-length ([`Error::InvalidInput`]) or over Hume's 10 s frame / 1 MiB
    /// message limits ([`Error::HumeLimit`]).
    pub fn send_frame(&self, frame: &[u8]) -> Result<()> {
        check_frame(frame)?;
        self.push(Cmd::Audio(Piece::Frame(frame.to_vec())))
    }

    /// Replace the session config (`measurement_timer_ms`, 3000-10000). Hume allows it only
    /// before the first audio frame; after it this fails without sending anything.
    pub fn update(&self, measurement_timer_ms: u32) -> Result<()> {
        let msg = timer_update(measurement_timer_ms)?;
        let (tx, rx) = oneshot::channel();
        self.push(Cmd::Update(msg, tx))?;
        rx.blocking_recv().map_err(|_| Error::HumeSessionClosed("the session ended".into()))?
    }

    /// The session's events (once; later calls return `None`).
    pub fn events(&self) -> Option<Events> {
        self.events.lock().expect("events lock").take()
    }

    /// Send what is queued, ask Hume to end the session, deliver the results still due
    /// (the final `speech_ended` result, `utterance.end`, `session.closed`) and return the
    /// summary.
    pub fn close(mut self) -> Result<SessionSummary> {
        self.closed = true;
        let (tx, rx) = oneshot::channel();
        if let Some(odd) = self.carry.lock().expect("carry lock").take() {
            tracing::warn!("dropping a trailing odd byte of audio (s16le needs whole samples): {odd}");
        }
        if self.cmd.blocking_send(Cmd::Close(tx)).is_err() {
            return self.outcome();
        }
        rx.blocking_recv().unwrap_or_else(|_| self.outcome())
    }
}

impl Drop for AudioSession {
    fn drop(&mut self) {
        if !self.closed {
            // Best effort: end the session without waiting.
            let (tx, _rx) = oneshot::channel();
            let _ = self.cmd.try_send(Cmd::Close(tx));
        }
    }
}
