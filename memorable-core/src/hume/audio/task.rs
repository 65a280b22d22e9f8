//! The task that runs an audio session on the client's runtime: connections, pacing,
//! acknowledgement of frames, resends, reconnects and the orderly close.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::shared::*;
use crate::error::{Error, Result};
use crate::hume::client::{self, close_code, ClientInner, ConnectError, Emitter, Events, HumeEvent, Ws};
use crate::hume::parse::{self, HumeMessage};
use crate::hume::policy::{Backoff, Ending};

/// Moves one connection's times and ids onto the whole stream's timeline.
#[derive(Debug, Default, Clone, Copy)]
struct Offsets {
    time_ms: u64,
    utterance: u64,
    measurement: u64,
}

/// The frame waiting for its fate.
struct Inflight {
    bytes: Vec<u8>,
    exact: bool,
    seq: u64,
    sent_at: Instant,
    pong: bool,
    rejected: bool,
}

/// Per-connection state.
struct Conn {
    ws: Ws,
    opened: Instant,
    rtt: Duration,
    /// First frame's time: the pacing origin.
    t0: Option<Instant>,
    /// Audio accepted or in flight on this connection (ms).
    sent_ms: f64,
    accepted_ms: f64,
    inflight: Option<Inflight>,
    resend: Option<(Instant, Inflight)>,
    seq: u64,
    ka_next: Instant,
    ka_sent: Option<Instant>,
    /// Waiting for `session.updated` before media.
    awaiting_update: bool,
    close_sent: Option<Instant>,
    ending: Ending,
    /// Largest ids seen, for the next connection's offsets.
    max_utterance: Option<u64>,
    max_measurement: Option<u64>,
}

enum Wake {
    Ws(Option<std::result::Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Cmd(Option<Cmd>),
    Timer,
}

/// What ended the session, for callers.
enum Outcome {
    /// Ended normally (close, idle timeout, 1000).
    Ended(String),
    Failed(Error),
}

pub(super) struct AudioTask {
    inner: Arc<ClientInner>,
    emitter: Emitter,
    live: bool,
    cmd_rx: mpsc::Receiver<Cmd>,
    queue: VecDeque<Piece>,
    queued: usize,
    last_update: Option<Value>,
    media_started: bool,
    offsets: Offsets,
    summary: SessionSummary,
    closing: Option<oneshot::Sender<Result<SessionSummary>>>,
    ready: Option<oneshot::Sender<Result<()>>>,
    pending_update: Option<oneshot::Sender<Result<()>>>,
    shared: Arc<Mutex<Shared>>,
    backoff: Backoff,
    /// An unconfirmed frame from a lost connection, to send first on the next one.
    requeue: Option<Inflight>,
}

impl AudioTask {
    /// The task of a new session, and the events its caller reads.
    pub(super) fn new(
        inner: Arc<ClientInner>,
        options: AudioOptions,
        update: Option<Value>,
        cmd_rx: mpsc::Receiver<Cmd>,
        ready: oneshot::Sender<Result<()>>,
        shared: Arc<Mutex<Shared>>,
    ) -> (AudioTask, Events) {
        let (emitter, events) = Emitter::new(options.callbacks);
        let task = AudioTask {
            backoff: Backoff::new(inner.config.reconnect.clone(), inner.next_seed()),
            inner,
            emitter,
            live: options.live,
            cmd_rx,
            queue: VecDeque::new(),
            queued: 0,
            last_update: update,
            media_started: false,
            offsets: Offsets::default(),
            summary: SessionSummary::default(),
            closing: None,
            ready: Some(ready),
            pending_update: None,
            shared,
            requeue: None,
        };
        (task, events)
    }

    pub(super) async fn run(mut self) {
        let outcome = self.run_connections().await;
        let (reason, result) = match outcome {
            Outcome::Ended(reason) => (reason.clone(), Ok(reason)),
            Outcome::Failed(e) => (e.to_string(), Err(e)),
        };
        self.summary.reason = reason.clone();
        self.shared.lock().expect("session lock").ended =
            Some(result.as_ref().map(|_| self.summary.clone()).map_err(clone_error));
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(result.as_ref().map(|_| ()).map_err(clone_error));
        }
        if let Some(tx) = self.pending_update.take() {
            let _ = tx.send(Err(Error::HumeSessionClosed(reason.clone())));
        }
        self.emitter.emit(HumeEvent::Closed { reason: reason.clone() });
        // Answer a close that is waiting, or the next one.
        let answer = |tx: oneshot::Sender<Result<SessionSummary>>, summary: &SessionSummary| {
            let _ = tx.send(match &result {
                Ok(_) => Ok(summary.clone()),
                Err(e) => Err(clone_error(e)),
            });
        };
        if let Some(tx) = self.closing.take() {
            answer(tx, &self.summary);
        }
        self.cmd_rx.close();
        while let Some(cmd) = self.cmd_rx.recv().await {
            match cmd {
                Cmd::Close(tx) => answer(tx, &self.summary),
                Cmd::Update(_, tx) => {
                    let _ = tx.send(Err(Error::HumeSessionClosed(reason.clone())));
                }
                Cmd::Audio(_) => {}
            }
        }
    }

    async fn run_connections(&mut self) -> Outcome {
        let mut connection = 0u32;
        loop {
            let mut conn = match self.open(connection).await {
                Ok(Some(conn)) => conn,
                Ok(None) => return Outcome::Ended("client_request".into()),
                Err(e) => return Outcome::Failed(e),
            };
            self.serve(&mut conn).await;
            let uptime_ms = self.inner.clock.since_ms(conn.opened) as u64;
            self.finish_connection(&mut conn);
            let ending = conn.ending.clone();
            if conn.close_sent.is_some() {
                let reason = ending.closed_reason.clone().unwrap_or_else(|| "client_request".into());
                return Outcome::Ended(reason);
            }
            if !ending.reconnects() {
                return match ending.fatal_error.clone() {
                    Some(code) => Outcome::Failed(Error::HumeRejected {
                        message: format!("the session ended ({})", ending.describe()),
                        code,
                    }),
                    None => Outcome::Ended(ending.closed_reason.clone().unwrap_or_else(|| ending.describe())),
                };
            }
            self.backoff.connection_ended(uptime_ms);
            connection += 1;
            self.summary.reconnects += 1;
            tracing::info!(cause = %ending.describe(), "Hume audio connection lost; reconnecting");
            match self.wait_backoff(&ending.describe()).await {
                Ok(true) => {}
                Ok(false) => return Outcome::Ended("client_request".into()),
                Err(e) => return Outcome::Failed(e),
            }
        }
    }

    /// Carry a finished connection's accounting into the stream.
    fn finish_connection(&mut self, conn: &mut Conn) {
        self.offsets.time_ms += conn.accepted_ms.round() as u64;
        if let Some(u) = conn.max_utterance {
            self.offsets.utterance += u + 1;
        }
        if let Some(m) = conn.max_measurement {
            self.offsets.measurement += m + 1;
        }
        // A frame whose fate is unknown: a recording sends it again (it may be measured
        // twice); a live source drops it, as Hume's SDK does.
        let lost = conn.inflight.take().or(conn.resend.take().map(|(_, f)| f));
        if let Some(frame) = lost {
            if self.live {
                self.summary.dropped += 1;
            } else {
                self.summary.resent += 1;
                self.requeue = Some(frame);
            }
        }
    }

    /// Sleep the next backoff delay while still taking commands. `Ok(false)` when a close
    /// ended the wait.
    async fn wait_backoff(&mut self, cause: &str) -> Result<bool> {
        let attempt = self.backoff.attempts() + 1;
        let Some(delay) = self.backoff.next_delay_ms() else {
            return Err(Error::HumeConnection(format!(
                "gave up after {} reconnect attempts in a row (last: {cause})",
                self.inner.config.reconnect.max_attempts
            )));
        };
        self.emitter.emit(HumeEvent::Reconnecting { attempt, delay_ms: delay, cause: cause.to_owned() });
        let until = self.inner.clock.after(Instant::now(), delay as f64);
        loop {
            let accept = self.accepts_commands();
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return Ok(true),
                cmd = self.cmd_rx.recv(), if accept => match cmd {
                    None => return Ok(false),
                    Some(Cmd::Close(tx)) => {
                        // `session.close` stops a reconnect.
                        self.closing = Some(tx);
                        return Ok(false);
                    }
                    Some(cmd) => self.command(cmd, None).await,
                },
            }
        }
    }

    /// Connect (retrying handshakes as the policy says), wait for `session.created`, resend
    /// the last `session.update`. `Ok(None)` when a close came first.
    async fn open(&mut self, connection: u32) -> Result<Option<Conn>> {
        let (mut ws, rtt) = loop {
            match client::connect(&self.inner, client::AUDIO_PATH).await {
                Ok(ok) => break ok,
                Err(ConnectError::Fatal(e)) => return Err(e),
                Err(ConnectError::Retry(why)) => {
                    tracing::info!(%why, "Hume handshake failed; retrying");
                    if !self.wait_backoff(&why).await? {
                        return Ok(None);
                    }
                }
            }
        };
        let created =
            tokio::time::timeout(self.inner.clock.real(self.inner.config.connect_timeout_ms as f64), async {
                while let Some(Ok(msg)) = ws.next().await {
                    if let Message::Text(t) = msg {
                        if let Ok(v) = serde_json::from_str::<Value>(t.as_str()) {
                            if v["type"] == "session.created" {
                                return v["session_id"].as_str().map(str::to_owned);
                            }
                        }
                    }
                }
                None
            })
            .await;
        let Ok(Some(session_id)) = created else {
            // No session.created: count it as a failed attempt of the same connection.
            let why = "the connection closed before session.created".to_owned();
            if !self.wait_backoff(&why).await? {
                return Ok(None);
            }
            return Box::pin(self.open(connection)).await;
        };
        let now = Instant::now();
        let mut conn = Conn {
            ws,
            opened: now,
            rtt,
            t0: None,
            sent_ms: 0.0,
            accepted_ms: 0.0,
            inflight: None,
            resend: None,
            seq: 0,
            ka_next: self.inner.clock.after(now, self.inner.config.keepalive_interval_ms as f64),
            ka_sent: None,
            awaiting_update: false,
            close_sent: None,
            ending: Ending::default(),
            max_utterance: None,
            max_measurement: None,
        };
        self.summary.session_ids.push(session_id.clone());
        self.emitter.emit(HumeEvent::Connected { session_id, connection });
        if let Some(update) = &self.last_update {
            // After a reconnect the last update goes again, before any media.
            conn.awaiting_update = true;
            if conn.ws.send(Message::text(update.to_string())).await.is_err() {
                conn.awaiting_update = false;
            }
        } else if let Some(ready) = self.ready.take() {
            let _ = ready.send(Ok(()));
        }
        if let Some(frame) = self.requeue.take() {
            conn.resend = Some((now, frame));
        }
        Ok(Some(conn))
    }

    fn accepts_commands(&self) -> bool {
        self.closing.is_none() && (self.live || self.queued < QUEUE_LIMIT)
    }

    /// Apply a command; `conn` is `None` while reconnecting.
    async fn command(&mut self, cmd: Cmd, conn: Option<&mut Conn>) {
        match cmd {
            Cmd::Audio(piece) => {
                let len = match &piece {
                    Piece::Stream(b) | Piece::Frame(b) => b.len(),
                };
                if self.live && conn.is_none() {
                    self.summary.dropped += 1; // a live source loses what it says while disconnected
                    return;
                }
                if self.live && self.queued + len > LIVE_QUEUE_LIMIT {
                    if let Some(Piece::Stream(b) | Piece::Frame(b)) = self.queue.pop_front() {
                        self.queued -= b.len();
                        self.summary.dropped += 1;
                    }
                }
                self.queued += len;
                self.queue.push_back(piece);
            }
            Cmd::Update(msg, tx) => {
                if self.media_started {
                    let _ = tx.send(Err(Error::InvalidInput(
                        "session.update is allowed only before the first audio frame (Hume would end the session with config_invalid)".into(),
                    )));
                    return;
                }
                self.last_update = Some(msg.clone());
                match conn {
                    Some(conn) => {
                        conn.awaiting_update = true;
                        if conn.ws.send(Message::text(msg.to_string())).await.is_err() {
                            let _ = tx.send(Err(Error::HumeConnection("the connection dropped".into())));
                            return;
                        }
                        self.pending_update = Some(tx);
                    }
                    // Applied on the next connection.
                    None => {
                        let _ = tx.send(Ok(()));
                    }
                }
            }
            Cmd::Close(tx) => self.closing = Some(tx),
        }
    }

    /// Serve one connection until it ends (its `ending` says how).
    async fn serve(&mut self, conn: &mut Conn) {
        let clock = self.inner.clock;
        let ka_timeout = self.inner.config.keepalive_timeout_ms as f64;
        loop {
            let now = Instant::now();
            // Keep-alive.
            if let Some(sent) = conn.ka_sent {
                if clock.since_ms(sent) >= ka_timeout {
                    tracing::warn!("Hume keep-alive ping unanswered; treating the connection as lost");
                    conn.ending = Ending::default(); // 1006
                    return;
                }
            }
            if now >= conn.ka_next {
                if conn.ws.send(Message::Ping(b"ka".to_vec().into())).await.is_err() {
                    return;
                }
                conn.ka_sent.get_or_insert(now);
                conn.ka_next = clock.after(now, self.inner.config.keepalive_interval_ms as f64);
            }
            // Settle the frame in flight, then send the next one when pacing allows.
            self.settle(conn);
            if let Err(()) = self.send_next(conn).await {
                return;
            }
            if self.closing.is_some() && self.drained(conn) && conn.close_sent.is_none() {
                if conn.ws.send(Message::text(r#"{"type":"session.close"}"#)).await.is_err() {
                    return;
                }
                conn.close_sent = Some(Instant::now());
            }
            if let Some(sent) = conn.close_sent {
                if clock.since_ms(sent) >= self.inner.config.close_timeout_ms as f64 {
                    tracing::warn!("Hume did not confirm session.close in time");
                    return;
                }
            }
            let wake = self.next_wake(conn);
            let accept = self.accepts_commands();
            let event = tokio::select! {
                msg = conn.ws.next() => Wake::Ws(msg),
                cmd = self.cmd_rx.recv(), if accept => Wake::Cmd(cmd),
                _ = tokio::time::sleep_until(wake) => Wake::Timer,
            };
            match event {
                Wake::Timer => {}
                Wake::Cmd(None) => {
                    // Every handle is gone: close as if asked.
                    let (tx, _rx) = oneshot::channel();
                    self.closing = Some(tx);
                }
                Wake::Cmd(Some(cmd)) => self.command(cmd, Some(conn)).await,
                Wake::Ws(None | Some(Err(_))) => return,
                Wake::Ws(Some(Ok(msg))) => self.incoming(conn, msg),
            }
        }
    }

    fn drained(&self, conn: &Conn) -> bool {
        self.queue.is_empty() && conn.inflight.is_none() && conn.resend.is_none()
    }

    /// The earliest instant something is due.
    fn next_wake(&self, conn: &Conn) -> Instant {
        let clock = self.inner.clock;
        let mut wake = conn.ka_next;
        if let Some(sent) = conn.ka_sent {
            wake = wake.min(clock.after(sent, self.inner.config.keepalive_timeout_ms as f64));
        }
        if let Some(sent) = conn.close_sent {
            wake = wake.min(clock.after(sent, self.inner.config.close_timeout_ms as f64));
        }
        match (&conn.inflight, &conn.resend) {
            (Some(f), _) if f.pong => wake = wake.min(f.sent_at + ack_wait(conn.rtt)),
            (Some(_), _) => {} // waiting for the pong
            (None, Some((at, _))) => wake = wake.min(*at),
            (None, None) => {
                if let Some(at) = self.pace_at(conn) {
                    wake = wake.min(at);
                }
            }
        }
        wake
    }

    /// When the next queued audio may go, if there is any to send.
    fn pace_at(&self, conn: &Conn) -> Option<Instant> {
        if conn.awaiting_update {
            return None;
        }
        let next_ms = match self.queue.front()? {
            Piece::Frame(b) => b.len() as f64 / BYTES_PER_MS,
            Piece::Stream(_) => {
                if self.stream_bytes() < FRAME_BYTES && self.closing.is_none() {
                    return None; // wait for a whole frame unless flushing
                }
                FRAME_BYTES.min(self.stream_bytes()) as f64 / BYTES_PER_MS
            }
        };
        let t0 = conn.t0?;
        Some(self.inner.clock.after(t0, conn.sent_ms + next_ms - LEAD_MS))
    }

    /// Bytes of stream audio at the front of the queue.
    fn stream_bytes(&self) -> usize {
        self.queue
            .iter()
            .map_while(|p| match p {
                Piece::Stream(b) => Some(b.len()),
                Piece::Frame(_) => None,
            })
            .sum()
    }

    /// Decide the frame in flight once its pong is back and the ack wait has passed.
    fn settle(&mut self, conn: &mut Conn) {
        let Some(f) = &conn.inflight else { return };
        if !f.pong || f.sent_at.elapsed() < ack_wait(conn.rtt) {
            return;
        }
        let f = conn.inflight.take().expect("checked");
        let ms = f.bytes.len() as f64 / BYTES_PER_MS;
        if f.rejected {
            conn.sent_ms -= ms;
            self.summary.resent += 1;
            conn.resend = Some((self.inner.clock.after(Instant::now(), RESEND_DELAY_MS), f));
        } else {
            conn.accepted_ms += ms;
            self.summary.audio_ms = (self.offsets.time_ms as f64 + conn.accepted_ms).round() as u64;
            self.summary.frames += 1;
        }
    }

    /// Send the next frame if nothing is in flight and pacing allows.
    async fn send_next(&mut self, conn: &mut Conn) -> std::result::Result<(), ()> {
        if conn.inflight.is_some() || conn.awaiting_update {
            return Ok(());
        }
        let now = Instant::now();
        let (bytes, exact) = if let Some((at, _)) = &conn.resend {
            if now < *at {
                return Ok(());
            }
            let (_, f) = conn.resend.take().expect("checked");
            (f.bytes, f.exact)
        } else {
            if let Some(at) = self.pace_at(conn) {
                if now < at {
                    return Ok(());
                }
            } else if conn.t0.is_some() || self.queue.is_empty() {
                return Ok(());
            }
            match self.take_frame(conn, now) {
                Some(frame) => frame,
                None => return Ok(()),
            }
        };
        conn.t0.get_or_insert(now);
        conn.seq += 1;
        conn.sent_ms += bytes.len() as f64 / BYTES_PER_MS;
        self.media_started = true;
        let seq = conn.seq;
        let frame = Message::Binary(bytes.clone().into());
        if conn.ws.send(frame).await.is_err()
            || conn.ws.send(Message::Ping(seq.to_be_bytes().to_vec().into())).await.is_err()
        {
            conn.inflight = Some(Inflight { bytes, exact, seq, sent_at: now, pong: false, rejected: false });
            return Err(());
        }
        conn.inflight = Some(Inflight { bytes, exact, seq, sent_at: now, pong: false, rejected: false });
        Ok(())
    }

    /// Cut the next frame from the queue: an exact frame as is, else 100 ms of stream audio
    /// (more, up to 1 s, when the sender is behind real time).
    fn take_frame(&mut self, conn: &Conn, now: Instant) -> Option<(Vec<u8>, bool)> {
        if let Some(Piece::Frame(_)) = self.queue.front() {
            let Some(Piece::Frame(b)) = self.queue.pop_front() else { unreachable!() };
            self.queued -= b.len();
            return Some((b, true));
        }
        let available = self.stream_bytes();
        if available == 0 || (available < FRAME_BYTES && self.closing.is_none()) {
            return None;
        }
        let behind_ms = conn.t0.map_or(0.0, |t0| {
            let elapsed_ms =
                now.saturating_duration_since(t0).as_secs_f64() * 1000.0 * self.inner.clock.scale;
            elapsed_ms + LEAD_MS - conn.sent_ms
        });
        let want = ((behind_ms * BYTES_PER_MS) as usize).clamp(FRAME_BYTES, MAX_COALESCED) & !1;
        let mut out = Vec::with_capacity(want.min(available));
        while out.len() < want {
            let Some(Piece::Stream(b)) = self.queue.front_mut() else { break };
            let take = (want - out.len()).min(b.len());
            out.extend(b.drain(..take));
            if b.is_empty() {
                self.queue.pop_front();
            }
        }
        self.queued -= out.len();
        Some((out, false))
    }

    fn incoming(&mut self, conn: &mut Conn, msg: Message) {
        match msg {
            Message::Pong(p) => {
                if &p[..] == b"ka" {
                    conn.ka_sent = None;
                } else if let Some(f) = &mut conn.inflight {
                    if p[..] == f.seq.to_be_bytes() {
                        f.pong = true;
                    }
                }
            }
            Message::Close(frame) => conn.ending.close_code = Some(close_code(&frame)),
            Message::Text(t) => match parse::parse(t.as_str()) {
                Ok(m) => {
                    if m.message_type.as_deref() == Some("session.closed") {
                        conn.ending.closed_reason = closed_reason(t.as_str());
                    }
                    self.message(conn, m)
                }
                Err(e) => tracing::warn!(error = %e, "ignoring an unreadable Hume message"),
            },
            _ => {}
        }
    }

    fn message(&mut self, conn: &mut Conn, mut m: HumeMessage) {
        match m.message_type.as_deref() {
            Some("session.updated") => {
                conn.awaiting_update = false;
                if let Some(tx) = self.pending_update.take() {
                    let _ = tx.send(Ok(()));
                }
                if let Some(ready) = self.ready.take() {
                    let _ = ready.send(Ok(()));
                }
            }
            Some("error") => {
                let notice = m.notices.first().cloned();
                let code = notice.as_ref().and_then(|n| n.code.clone()).unwrap_or_default();
                let retryable = notice.as_ref().and_then(|n| n.retryable).unwrap_or(false);
                match code.as_str() {
                    "rate_limited" => match &mut conn.inflight {
                        Some(f) => f.rejected = true,
                        None => tracing::warn!("rate_limited with no frame in flight; its audio is lost"),
                    },
                    "invalid_audio_frame" if conn.inflight.take().is_some() => self.summary.dropped += 1,
                    _ if !retryable => {
                        conn.ending.fatal_error = Some(code.clone());
                        let message = notice.map(|n| n.message).unwrap_or_default();
                        let err = Error::HumeRejected { code, message };
                        if let Some(tx) = self.pending_update.take() {
                            let _ = tx.send(Err(clone_error(&err)));
                        }
                        if let Some(ready) = self.ready.take() {
                            let _ = ready.send(Err(err));
                        }
                    }
                    _ => {}
                }
            }
            Some("measurement.result") => {
                self.summary.results += 1;
                for r in &mut m.readings {
                    conn.max_utterance = conn.max_utterance.max(r.utterance_id);
                    conn.max_measurement = conn.max_measurement.max(r.measurement_id);
                    self.shift(r);
                }
            }
            _ => {}
        }
        self.emitter.emit(HumeEvent::Message { message: m, frame: None });
    }

    fn shift(&self, r: &mut parse::HumeReading) {
        let o = self.offsets;
        if let Some(w) = &mut r.window {
            w.start_ms += o.time_ms;
            w.end_ms += o.time_ms;
        }
        r.utterance_id = r.utterance_id.map(|u| u + o.utterance);
        r.measurement_id = r.measurement_id.map(|m| m + o.measurement);
    }
}

/// How long a frame waits after its pong before counting as accepted.
fn ack_wait(handshake: Duration) -> Duration {
    // The handshake took at least one round trip; two of them cover an error that a server
    // sends after answering the ping.
    (handshake * 2).min(MAX_ACK_WAIT)
}
