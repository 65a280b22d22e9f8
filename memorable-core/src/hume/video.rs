//! Realtime video sessions (`/v1/expression/video/realtime`, protocol notes §1.5, §5.3):
//! one JPEG per binary message, at most 2,000,000 bytes (checked before sending), a token
//! bucket of at most 3 frames/s (1 credit to start, bursts of 2; on `rate_limited` the rate
//! halves down to 0.5 fps, then climbs back 1 fps per second of accepted frames), replies
//! matched to frames first-in first-out (every frame gets exactly one), rate-limited frames
//! dropped (live camera) or resent (recording). Like Hume's SDK, a video session does not
//! reconnect: its FIFO pairing would break; open a new one.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::audio::{clone_error, closed_reason, SessionSummary};
use super::client::{
    self, close_code, ClientInner, ConnectError, Emitter, EventCallback, Events, HumeClient, HumeEvent, Ws,
};
use super::parse;
use super::policy::{Backoff, Ending};
use crate::error::{Error, Result};

/// Hume's largest video message (the SDK's reading of "2 MB").
pub const MAX_MESSAGE_BYTES: usize = 2_000_000;
/// Frames per second Hume allows, and the floor the rate halves down to.
const MAX_FPS: f64 = 3.0;
const MIN_FPS: f64 = 0.5;
/// Token bucket: credits at the start, and the burst.
const START_CREDITS: f64 = 1.0;
const BURST: f64 = 2.0;

/// Options of a video session.
#[derive(Clone, Default)]
pub struct VideoOptions {
    face_threshold: Option<f32>,
    face_min_size: Option<u32>,
    live: bool,
    callbacks: Vec<EventCallback>,
}

impl std::fmt::Debug for VideoOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoOptions")
            .field("face_threshold", &self.face_threshold)
            .field("face_min_size", &self.face_min_size)
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

impl VideoOptions {
    pub fn new() -> VideoOptions {
        VideoOptions::default()
    }
    /// Face detection threshold (0-1, Hume's default 0.9).
    pub fn face_threshold(mut self, t: f32) -> Self {
        self.face_threshold = Some(t);
        self
    }
    /// Smallest face side in pixels (>= 1, Hume's default 60).
    pub fn face_min_size(mut self, px: u32) -> Self {
        self.face_min_size = Some(px);
        self
    }
    /// A live camera: a rate-limited frame is dropped. Otherwise (a recording) it is resent.
    pub fn live(mut self, live: bool) -> Self {
        self.live = live;
        self
    }
    /// Call `f` with every event, in order, on the client's runtime thread.
    pub fn on_event(mut self, f: impl Fn(&HumeEvent) + Send + Sync + 'static) -> Self {
        self.callbacks.push(Arc::new(f));
        self
    }

    fn update(&self) -> Result<Option<Value>> {
        if self.face_threshold.is_none() && self.face_min_size.is_none() {
            return Ok(None);
        }
        let mut face = json!({});
        if let Some(t) = self.face_threshold {
            if !(0.0..=1.0).contains(&t) {
                return Err(Error::InvalidInput(format!("face threshold must be in 0..=1 (got {t})")));
            }
            face["threshold"] = json!(t);
        }
        if let Some(m) = self.face_min_size {
            if m == 0 {
                return Err(Error::InvalidInput("face min_size must be at least 1".into()));
            }
            face["min_size"] = json!(m);
        }
        Ok(Some(json!({"type": "session.update", "face": face})))
    }
}

enum Cmd {
    Frame(u64, Vec<u8>),
    Close(oneshot::Sender<Result<SessionSummary>>),
}

/// A realtime video session: [`VideoSession::send_jpeg`] queues frames (paced to Hume's
/// rate), replies arrive as [`HumeEvent`]s with the index of the frame they answer.
pub struct VideoSession {
    cmd: mpsc::Sender<Cmd>,
    events: Mutex<Option<Events>>,
    ended: Arc<Mutex<Option<String>>>,
    next_frame: Mutex<u64>,
    closed: bool,
    _client: HumeClient,
}

impl std::fmt::Debug for VideoSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoSession").finish_non_exhaustive()
    }
}

impl HumeClient {
    /// Open a realtime video session (connect, `session.created`, the options' update).
    pub fn video_session(&self, options: VideoOptions) -> Result<VideoSession> {
        let update = options.update()?;
        let (emitter, events) = Emitter::new(options.callbacks);
        let (cmd_tx, cmd_rx) = mpsc::channel(8);
        let (ready_tx, ready_rx) = oneshot::channel();
        let ended = Arc::new(Mutex::new(None));
        let task = VideoTask {
            inner: self.inner.clone(),
            emitter,
            live: options.live,
            cmd_rx,
            update,
            ended: ended.clone(),
            summary: SessionSummary::default(),
            queue: VecDeque::new(),
            inflight: VecDeque::new(),
            fps: MAX_FPS,
            credits: START_CREDITS,
            credits_at: Instant::now(),
            rate_changed: Instant::now(),
            closing: None,
        };
        self.inner.spawn(task.run(ready_tx));
        ready_rx.blocking_recv().map_err(|_| Error::Internal("the Hume session task stopped".into()))??;
        Ok(VideoSession {
            cmd: cmd_tx,
            events: Mutex::new(Some(events)),
            ended,
            next_frame: Mutex::new(0),
            closed: false,
            _client: self.clone(),
        })
    }
}

impl VideoSession {
    fn ended_error(&self) -> Error {
        let why =
            self.ended.lock().expect("session lock").clone().unwrap_or_else(|| "the session ended".into());
        Error::HumeSessionClosed(why)
    }

    /// Queue one JPEG; returns its frame index (what [`HumeEvent::Message`]'s `frame` will
    /// say). Refused before sending when it is over 2,000,000 bytes ([`Error::HumeLimit`])
    /// or not a JPEG ([`Error::InvalidInput`]). Blocks while frames wait for the rate limit.
    pub fn send_jpeg(&self, jpeg: &[u8]) -> Result<u64> {
        if jpeg.len() > MAX_MESSAGE_BYTES {
            return Err(Error::HumeLimit(format!(
                "a video frame of {} bytes is over Hume's 2,000,000-byte message limit",
                jpeg.len()
            )));
        }
        if jpeg.len() < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8 {
            return Err(Error::InvalidInput("a video frame must be one whole JPEG image".into()));
        }
        if self.ended.lock().expect("session lock").is_some() {
            return Err(self.ended_error());
        }
        let mut next = self.next_frame.lock().expect("frame lock");
        let index = *next;
        self.cmd.blocking_send(Cmd::Frame(index, jpeg.to_vec())).map_err(|_| self.ended_error())?;
        *next += 1;
        Ok(index)
    }

    /// The session's events (once; later calls return `None`).
    pub fn events(&self) -> Option<Events> {
        self.events.lock().expect("events lock").take()
    }

    /// Wait for every queued frame's reply, end the session, return the summary.
    pub fn close(mut self) -> Result<SessionSummary> {
        self.closed = true;
        let (tx, rx) = oneshot::channel();
        self.cmd.blocking_send(Cmd::Close(tx)).map_err(|_| self.ended_error())?;
        rx.blocking_recv().map_err(|_| self.ended_error())?
    }
}

impl Drop for VideoSession {
    fn drop(&mut self) {
        if !self.closed {
            let (tx, _rx) = oneshot::channel();
            let _ = self.cmd.try_send(Cmd::Close(tx));
        }
    }
}

struct VideoTask {
    inner: Arc<ClientInner>,
    emitter: Emitter,
    live: bool,
    cmd_rx: mpsc::Receiver<Cmd>,
    update: Option<Value>,
    ended: Arc<Mutex<Option<String>>>,
    summary: SessionSummary,
    /// Frames waiting for the rate limit, and frames sent awaiting their reply (FIFO).
    queue: VecDeque<(u64, Vec<u8>)>,
    inflight: VecDeque<(u64, Vec<u8>)>,
    fps: f64,
    credits: f64,
    credits_at: Instant,
    rate_changed: Instant,
    closing: Option<oneshot::Sender<Result<SessionSummary>>>,
}

impl VideoTask {
    async fn run(mut self, ready: oneshot::Sender<Result<()>>) {
        let result = match self.open().await {
            Ok(mut ws) => {
                let _ = ready.send(Ok(()));
                self.serve(&mut ws).await
            }
            Err(e) => {
                let _ = ready.send(Err(clone_error(&e)));
                Err(e)
            }
        };
        let reason = match &result {
            Ok(r) => r.clone(),
            Err(e) => e.to_string(),
        };
        *self.ended.lock().expect("session lock") = Some(reason.clone());
        self.summary.reason = reason.clone();
        self.summary.dropped += (self.queue.len() + self.inflight.len()) as u64;
        self.emitter.emit(HumeEvent::Closed { reason });
        let answer = |tx: oneshot::Sender<Result<SessionSummary>>, s: &SessionSummary| {
            let _ = tx.send(result.as_ref().map(|_| s.clone()).map_err(clone_error));
        };
        if let Some(tx) = self.closing.take() {
            answer(tx, &self.summary);
        }
        self.cmd_rx.close();
        while let Some(cmd) = self.cmd_rx.recv().await {
            if let Cmd::Close(tx) = cmd {
                answer(tx, &self.summary);
            }
        }
    }

    /// Connect (handshake failures retried per the policy), `session.created`, the update.
    async fn open(&mut self) -> Result<Ws> {
        let mut backoff = Backoff::new(self.inner.config.reconnect.clone(), self.inner.next_seed());
        let mut ws = loop {
            match client::connect(&self.inner, client::VIDEO_PATH).await {
                Ok((ws, _)) => break ws,
                Err(ConnectError::Fatal(e)) => return Err(e),
                Err(ConnectError::Retry(why)) => {
                    let Some(delay) = backoff.next_delay_ms() else {
                        return Err(Error::HumeConnection(format!("gave up connecting: {why}")));
                    };
                    self.emitter.emit(HumeEvent::Reconnecting {
                        attempt: backoff.attempts(),
                        delay_ms: delay,
                        cause: why,
                    });
                    tokio::time::sleep(self.inner.clock.real(delay as f64)).await;
                }
            }
        };
        let timeout = self.inner.clock.real(self.inner.config.connect_timeout_ms as f64);
        let mut want = "session.created";
        loop {
            let msg = tokio::time::timeout(timeout, ws.next()).await;
            let Ok(Some(Ok(msg))) = msg else {
                return Err(Error::HumeConnection(format!("no {want} from Hume")));
            };
            let Message::Text(t) = msg else { continue };
            let m = parse::parse(t.as_str())?;
            match m.message_type.as_deref() {
                Some("session.created") if want == "session.created" => {
                    let id = serde_json::from_str::<Value>(t.as_str())?["session_id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    self.summary.session_ids.push(id.clone());
                    self.emitter.emit(HumeEvent::Connected { session_id: id, connection: 0 });
                    match &self.update {
                        None => return Ok(ws),
                        Some(u) => {
                            ws.send(Message::text(u.to_string()))
                                .await
                                .map_err(|e| Error::HumeConnection(e.to_string()))?;
                            want = "session.updated";
                        }
                    }
                }
                Some("session.updated") if want == "session.updated" => return Ok(ws),
                Some("error") => {
                    let n = m.notices.into_iter().next();
                    return Err(Error::HumeRejected {
                        code: n.as_ref().and_then(|n| n.code.clone()).unwrap_or_default(),
                        message: n.map(|n| n.message).unwrap_or_default(),
                    });
                }
                _ => {}
            }
        }
    }

    /// Refill the token bucket; the instant the next credit is due when there is none.
    fn refill(&mut self) -> Option<Instant> {
        let clock = self.inner.clock;
        self.credits = (self.credits + clock.since_ms(self.credits_at) * self.fps / 1000.0).min(BURST);
        self.credits_at = Instant::now();
        (self.credits < 1.0).then(|| clock.after(self.credits_at, (1.0 - self.credits) * 1000.0 / self.fps))
    }

    async fn serve(&mut self, ws: &mut Ws) -> Result<String> {
        let mut ending = Ending::default();
        let mut close_sent: Option<Instant> = None;
        loop {
            // Send what the bucket allows.
            let mut wake = None;
            while !self.queue.is_empty() {
                if let Some(at) = self.refill() {
                    wake = Some(at);
                    break;
                }
                let (index, bytes) = self.queue.pop_front().expect("non-empty");
                self.credits -= 1.0;
                if ws.send(Message::Binary(bytes.clone().into())).await.is_err() {
                    self.inflight.push_back((index, bytes));
                    return Err(Error::HumeConnection("the video connection dropped".into()));
                }
                self.inflight.push_back((index, bytes));
            }
            if self.closing.is_some()
                && self.queue.is_empty()
                && self.inflight.is_empty()
                && close_sent.is_none()
            {
                if ws.send(Message::text(r#"{"type":"session.close"}"#)).await.is_err() {
                    return Err(Error::HumeConnection("the video connection dropped".into()));
                }
                close_sent = Some(Instant::now());
            }
            let deadline =
                close_sent.map(|t| self.inner.clock.after(t, self.inner.config.close_timeout_ms as f64));
            let wake = match (wake, deadline) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let accept = self.closing.is_none() && self.queue.len() < 4;
            tokio::select! {
                msg = ws.next() => match msg {
                    None | Some(Err(_)) => break,
                    Some(Ok(Message::Close(frame))) => ending.close_code = Some(close_code(&frame)),
                    Some(Ok(Message::Text(t))) => self.reply(t.as_str(), &mut ending)?,
                    Some(Ok(_)) => {}
                },
                cmd = self.cmd_rx.recv(), if accept => match cmd {
                    Some(Cmd::Frame(i, b)) => self.queue.push_back((i, b)),
                    Some(Cmd::Close(tx)) => self.closing = Some(tx),
                    None => {
                        let (tx, _rx) = oneshot::channel();
                        self.closing = Some(tx);
                    }
                },
                _ = sleep_until_opt(wake) => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        tracing::warn!("Hume did not confirm session.close in time");
                        break;
                    }
                }
            }
        }
        if close_sent.is_some() {
            return Ok(ending.closed_reason.unwrap_or_else(|| "client_request".into()));
        }
        match ending.fatal_error.clone() {
            Some(code) => Err(Error::HumeRejected {
                code,
                message: format!("the session ended ({})", ending.describe()),
            }),
            None => Err(Error::HumeSessionClosed(format!("the video session ended ({})", ending.describe()))),
        }
    }

    fn reply(&mut self, text: &str, ending: &mut Ending) -> Result<()> {
        let m = match parse::parse(text) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring an unreadable Hume message");
                return Ok(());
            }
        };
        let mut frame = None;
        match m.message_type.as_deref() {
            Some("measurement.result") => {
                let Some((index, _)) = self.inflight.pop_front() else {
                    return Err(Error::Internal("a video result with no frame in flight".into()));
                };
                frame = Some(index);
                self.summary.results += 1;
                self.summary.frames += 1;
                // Climb back 1 fps per second of accepted frames.
                let clock = self.inner.clock;
                while self.fps < MAX_FPS && clock.since_ms(self.rate_changed) >= 1000.0 {
                    self.fps = (self.fps + 1.0).min(MAX_FPS);
                    self.rate_changed = clock.after(self.rate_changed, 1000.0);
                }
            }
            Some("error") => {
                let n = m.notices.first();
                let code = n.and_then(|n| n.code.clone()).unwrap_or_default();
                let retryable = n.and_then(|n| n.retryable).unwrap_or(false);
                match code.as_str() {
                    "invalid_image_frame" | "rate_limited" | "internal_error" => {
                        let Some((index, bytes)) = self.inflight.pop_front() else {
                            return Err(Error::Internal("a video error with no frame in flight".into()));
                        };
                        frame = Some(index);
                        if code == "rate_limited" {
                            self.fps = (self.fps / 2.0).max(MIN_FPS);
                            self.rate_changed = Instant::now();
                            self.credits = self.credits.min(0.0);
                        }
                        let resend = !self.live && retryable && code != "invalid_image_frame";
                        if resend {
                            self.summary.resent += 1;
                            self.queue.push_front((index, bytes));
                        } else {
                            self.summary.dropped += 1;
                            self.emitter.emit(HumeEvent::FrameDropped { frame: index, code: code.clone() });
                        }
                        if !retryable && code == "internal_error" {
                            ending.fatal_error = Some(code);
                        }
                    }
                    _ if !retryable => ending.fatal_error = Some(code),
                    _ => {}
                }
            }
            Some("session.closed") => ending.closed_reason = closed_reason(text),
            _ => {}
        }
        self.emitter.emit(HumeEvent::Message { message: m, frame });
        Ok(())
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
