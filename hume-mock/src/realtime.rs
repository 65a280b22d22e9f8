//! The v1 realtime sessions (protocol notes §1.3-1.5): `session.created`, the update rules,
//! audio frame checks against the virtual clock, utterance results, video one reply per
//! frame, size limits, orderly close with totals, and the scripted faults.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::audio::Analyzer;
use crate::{http, video, Fault, SessionRecord, Shared};

/// Any audio message over this ends the session (`message_too_large`).
pub const AUDIO_MAX_MESSAGE: usize = 1_048_576;
/// Any video message over this ends the session.
pub const VIDEO_MAX_MESSAGE: usize = 2_000_000;
/// An audio frame may hold at most 10 s.
pub const AUDIO_MAX_FRAME: usize = 320_000;
/// Video sessions end after this many `internal_error`s in a row.
const VIDEO_MAX_FAILURES: u32 = 5;

const AUDIO_FORMAT: &str = r#"{"type":"audio/pcm","encoding":"s16le","sample_rate":16000,"channels":1}"#;

fn audio_format() -> Value {
    serde_json::from_str(AUDIO_FORMAT).expect("constant JSON")
}

pub async fn serve(mut stream: TcpStream, req: http::Request, shared: Arc<Shared>) {
    let video = req.path.contains("/video/");
    let attempt = {
        let mut stats = shared.stats.lock().expect("stats lock");
        stats.handshakes += 1;
        stats.handshakes - 1
    };
    let refused = shared.config.faults.iter().find_map(|f| match f {
        Fault::RejectHandshake { attempt: a, status } if *a == attempt => Some(*status),
        _ => None,
    });
    if let Some(status) = refused {
        let body = json!({"message": format!("mock: handshake refused with {status}")});
        let _ = http::respond(&mut stream, status, &[], &body).await;
        return;
    }
    let path = req.path.clone();
    let Some(ws) = crate::upgrade(stream, req).await else { return };
    let session_id = format!("mock-session-{attempt}");
    let rec = {
        let mut stats = shared.stats.lock().expect("stats lock");
        stats.sessions.push(SessionRecord {
            path,
            attempt,
            session_id: session_id.clone(),
            ..Default::default()
        });
        stats.sessions.len() - 1
    };
    let mut s = Session {
        ws,
        shared: shared.clone(),
        rec,
        attempt,
        video,
        session_id,
        config: if video { video_defaults() } else { audio_defaults() },
        analyzer: Analyzer::new(3000),
        frames: 0,
        first_frame_ms: None,
        audio_ms: 0.0,
        tokens: shared.config.video_fps,
        tokens_at: shared.clock.now_ms(),
        frame_id: 0,
        faces_measured: 0,
        failures: 0,
    };
    s.run().await;
}

fn audio_defaults() -> Value {
    json!({"audio": audio_format(), "measurement_timer_ms": 3000})
}

fn video_defaults() -> Value {
    json!({"image": {"type": "image/jpeg"}, "face": {"threshold": 0.9, "min_size": 60}})
}

/// What the session loop does next.
enum Next {
    Continue,
    /// The session is over (the socket was closed or dropped).
    Stop,
}

struct Session {
    ws: WebSocketStream<TcpStream>,
    shared: Arc<Shared>,
    rec: usize,
    attempt: usize,
    video: bool,
    session_id: String,
    /// The config in effect (defaults filled in).
    config: Value,
    analyzer: Analyzer,
    /// Frames accepted on this connection.
    frames: u64,
    /// Virtual time of the first accepted audio frame.
    first_frame_ms: Option<f64>,
    /// Audio accepted so far (ms).
    audio_ms: f64,
    /// Video token bucket.
    tokens: f64,
    tokens_at: f64,
    /// Video: results sent (`frame_id` counts results, not frames).
    frame_id: u64,
    faces_measured: u64,
    failures: u32,
}

impl Session {
    fn record(&self, f: impl FnOnce(&mut SessionRecord)) {
        let mut stats = self.shared.stats.lock().expect("stats lock");
        f(&mut stats.sessions[self.rec]);
    }

    async fn run(&mut self) {
        let mut created = json!({"type": "session.created", "session_id": self.session_id});
        merge(&mut created, &self.config);
        if self.send(created).await.is_err() {
            return;
        }
        if self.shared.config.extras {
            // An unknown message type: clients must skip it.
            let _ = self.send(json!({"type": "session.heartbeat", "sequence": 0})).await;
        }
        loop {
            let idle = tokio::time::sleep(self.shared.clock.real(self.shared.config.idle_timeout_ms as f64));
            let next = tokio::select! {
                msg = self.ws.next() => match msg {
                    None | Some(Err(_)) => Next::Stop,
                    Some(Ok(Message::Text(t))) => self.text(t.as_str()).await,
                    Some(Ok(Message::Binary(b))) => self.binary(&b).await,
                    // Pings are answered by tungstenite; a client close is answered too.
                    Some(Ok(_)) => Next::Continue,
                },
                _ = idle => {
                    self.end("idle_timeout", 1000).await;
                    Next::Stop
                }
            };
            if let Next::Stop = next {
                return;
            }
        }
    }

    async fn send(&mut self, mut v: Value) -> Result<(), ()> {
        if self.shared.config.extras {
            // A field no client knows: forward compatibility.
            v["x_mock"] = json!({"server_ms": self.shared.clock.now_ms().round()});
        }
        self.ws.send(Message::text(v.to_string())).await.map_err(|_| ())
    }

    async fn error(&mut self, code: &str, message: &str, retryable: bool) -> Result<(), ()> {
        self.send(json!({"type": "error", "code": code, "message": message, "retryable": retryable})).await
    }

    /// `session.closed` with totals, then the close frame; waits briefly for the client's
    /// close so the client reads everything first.
    async fn end(&mut self, reason: &str, code: u16) {
        let closed = if self.video {
            json!({"type": "session.closed", "session_id": self.session_id, "reason": reason,
                   "received": {"frames": self.frames}, "produced": {"measurements": self.faces_measured}})
        } else {
            json!({"type": "session.closed", "session_id": self.session_id, "reason": reason,
                   "received": {"audio_duration_ms": self.analyzer.duration_ms(), "frames": self.frames},
                   "produced": {"utterances": self.analyzer.utterances, "measurements": self.analyzer.measurements}})
        };
        let _ = self.send(closed).await;
        self.close(code, reason).await;
    }

    async fn close(&mut self, code: u16, reason: &str) {
        self.record(|r| {
            r.close_code = Some(code);
            r.close_reason = Some(reason.to_owned());
        });
        let frame = CloseFrame { code: CloseCode::from(code), reason: "".into() };
        let _ = self.ws.close(Some(frame)).await;
        let drain = async { while let Some(Ok(_)) = self.ws.next().await {} };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drain).await;
    }

    async fn fatal(&mut self, code: &str, message: &str) -> Next {
        let _ = self.error(code, message, false).await;
        self.end("error", 1008).await;
        Next::Stop
    }

    async fn text(&mut self, text: &str) -> Next {
        let limit = if self.video { VIDEO_MAX_MESSAGE } else { AUDIO_MAX_MESSAGE };
        if text.len() > limit {
            return self
                .fatal("message_too_large", &format!("message of {} bytes is over {limit}", text.len()))
                .await;
        }
        let msg: Value = match serde_json::from_str(text) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                let _ = self.error("message_invalid", "messages must be JSON objects", true).await;
                return Next::Continue;
            }
        };
        match msg["type"].as_str() {
            Some("session.update") => {
                self.record(|r| r.updates.push(msg.clone()));
                if self.frames > 0 {
                    return self
                        .fatal(
                            "config_invalid",
                            "session.update is allowed only before the first media frame",
                        )
                        .await;
                }
                let attempt = self.attempt;
                if self.shared.config.faults.contains(&Fault::RejectUpdate { attempt }) {
                    return self.fatal("config_invalid", "the config part is not valid (scripted)").await;
                }
                match self.validate(&msg) {
                    Ok(config) => {
                        self.config = config;
                        if let Some(t) = self.config["measurement_timer_ms"].as_u64() {
                            self.analyzer.timer_ms = t;
                        }
                        let mut updated = json!({"type": "session.updated"});
                        merge(&mut updated, &self.config.clone());
                        if self.send(updated).await.is_err() {
                            return Next::Stop;
                        }
                        Next::Continue
                    }
                    Err(why) => self.fatal("config_invalid", &why).await,
                }
            }
            Some("session.close") => {
                self.record(|r| r.client_close = true);
                for m in self.analyzer.finish() {
                    let _ = self.send(m).await;
                }
                self.end("client_request", 1000).await;
                Next::Stop
            }
            _ => {
                let _ = self.error("message_invalid", "unknown message type", true).await;
                Next::Continue
            }
        }
    }

    /// The whole new config (fields left out go back to their defaults), or why not.
    fn validate(&self, msg: &Value) -> Result<Value, String> {
        let mut config = if self.video { video_defaults() } else { audio_defaults() };
        if self.video {
            if let Some(image) = msg.get("image") {
                if image != &json!({"type": "image/jpeg"}) {
                    return Err("image must be {\"type\":\"image/jpeg\"}".into());
                }
            }
            if let Some(face) = msg.get("face") {
                if let Some(t) = face.get("threshold") {
                    let t = t
                        .as_f64()
                        .filter(|t| (0.0..=1.0).contains(t))
                        .ok_or("face.threshold must be in 0..1")?;
                    config["face"]["threshold"] = json!(t);
                }
                if let Some(m) = face.get("min_size") {
                    let m = m.as_u64().filter(|&m| m >= 1).ok_or("face.min_size must be an integer >= 1")?;
                    config["face"]["min_size"] = json!(m);
                }
            }
        } else {
            if let Some(audio) = msg.get("audio") {
                if audio != &audio_format() {
                    return Err(format!("audio must be {AUDIO_FORMAT}"));
                }
            }
            if let Some(t) = msg.get("measurement_timer_ms") {
                let t = t
                    .as_u64()
                    .filter(|t| (3000..=10_000).contains(t))
                    .ok_or("measurement_timer_ms must be an integer in 3000..=10000")?;
                config["measurement_timer_ms"] = json!(t);
            }
        }
        Ok(config)
    }

    async fn binary(&mut self, data: &[u8]) -> Next {
        self.record(|r| r.media_started = true);
        let next = if self.video { self.video_frame(data).await } else { self.audio_frame(data).await };
        if let Next::Stop = next {
            return next;
        }
        self.fault().await
    }

    async fn audio_frame(&mut self, data: &[u8]) -> Next {
        if data.len() > AUDIO_MAX_MESSAGE {
            return self
                .fatal("message_too_large", &format!("message of {} bytes is over 1 MiB", data.len()))
                .await;
        }
        if data.is_empty() || !data.len().is_multiple_of(2) || data.len() > AUDIO_MAX_FRAME {
            self.record(|r| r.frames_invalid += 1);
            let why =
                format!("audio frames must be 2..={AUDIO_MAX_FRAME} bytes of s16le (got {})", data.len());
            let _ = self.error("invalid_audio_frame", &why, true).await;
            return Next::Continue;
        }
        // The virtual clock: at most 1 s of audio per second, after a small burst.
        let now = self.shared.clock.now_ms();
        let first = *self.first_frame_ms.get_or_insert(now);
        let frame_ms = data.len() as f64 / 32.0;
        if self.audio_ms + frame_ms > now - first + self.shared.config.audio_burst_ms as f64 {
            self.record(|r| r.rate_limited += 1);
            let _ = self.error("rate_limited", "audio sent faster than real time", true).await;
            return Next::Continue;
        }
        self.audio_ms += frame_ms;
        self.frames += 1;
        self.record(|r| {
            r.frames_accepted += 1;
            r.audio.extend_from_slice(data);
        });
        for m in self.analyzer.push(data) {
            if self.send(m).await.is_err() {
                return Next::Stop;
            }
        }
        Next::Continue
    }

    async fn video_frame(&mut self, data: &[u8]) -> Next {
        if data.len() > VIDEO_MAX_MESSAGE {
            return self
                .fatal("message_too_large", &format!("message of {} bytes is over 2 MB", data.len()))
                .await;
        }
        let jpeg = match video::read_jpeg(data) {
            Ok(j) if (j.width as u64) * (j.height as u64) <= video::MAX_PIXELS => j,
            Ok(_) => return self.invalid_image("image over 8,294,400 pixels").await,
            Err(why) => return self.invalid_image(&why).await,
        };
        // Token bucket on the virtual clock.
        let now = self.shared.clock.now_ms();
        let fps = self.shared.config.video_fps;
        self.tokens = (self.tokens + (now - self.tokens_at) * fps / 1000.0).min(fps);
        self.tokens_at = now;
        if self.tokens < 1.0 {
            self.record(|r| r.rate_limited += 1);
            let _ = self.error("rate_limited", "more than 3 frames per second", true).await;
            return Next::Continue;
        }
        self.tokens -= 1.0;
        self.frames += 1;
        self.record(|r| r.frames_accepted += 1);
        if jpeg.fail {
            self.failures += 1;
            if self.failures >= VIDEO_MAX_FAILURES {
                let _ = self.error("internal_error", "inference failed", false).await;
                self.end("error", 1008).await;
                return Next::Stop;
            }
            let _ = self.error("internal_error", "inference failed", true).await;
            return Next::Continue;
        }
        self.failures = 0;
        let (faces, measured) = video::faces(data, &jpeg);
        self.faces_measured += measured;
        let result = json!({"type": "measurement.result", "frame_id": self.frame_id, "faces": faces});
        self.frame_id += 1;
        if self.send(result).await.is_err() {
            return Next::Stop;
        }
        Next::Continue
    }

    async fn invalid_image(&mut self, why: &str) -> Next {
        self.record(|r| r.frames_invalid += 1);
        let _ = self.error("invalid_image_frame", why, true).await;
        Next::Continue
    }

    /// Play the scripted fault due after this many accepted frames, if any.
    async fn fault(&mut self) -> Next {
        let (attempt, frames) = (self.attempt, self.frames);
        let due = self.shared.config.faults.iter().find(|f| match f {
            Fault::Drop { attempt: a, after_frames: n }
            | Fault::Close { attempt: a, after_frames: n, .. }
            | Fault::ServerShutdown { attempt: a, after_frames: n }
            | Fault::IdleTimeout { attempt: a, after_frames: n }
            | Fault::InternalError { attempt: a, after_frames: n }
            | Fault::Stall { attempt: a, after_frames: n } => *a == attempt && *n == frames,
            Fault::RejectHandshake { .. } | Fault::RejectUpdate { .. } => false,
        });
        match due.cloned() {
            None => Next::Continue,
            Some(Fault::Drop { .. }) => {
                // No close frame: the session ends and drops its socket (the client sees 1006).
                self.record(|r| r.close_code = Some(1006));
                Next::Stop
            }
            Some(Fault::Close { code, .. }) => {
                self.close(code, "scripted close").await;
                Next::Stop
            }
            Some(Fault::ServerShutdown { .. }) => {
                self.end("server_shutdown", 1000).await;
                Next::Stop
            }
            Some(Fault::IdleTimeout { .. }) => {
                self.end("idle_timeout", 1000).await;
                Next::Stop
            }
            Some(Fault::InternalError { .. }) => self.fatal("internal_error", "audio inference failed").await,
            Some(Fault::Stall { .. }) => {
                // Hold the socket open, reading nothing, until the client gives up on it.
                self.record(|r| r.close_code = Some(1006));
                let _ =
                    tokio::time::timeout(std::time::Duration::from_secs(30), std::future::pending::<()>())
                        .await;
                Next::Stop
            }
            Some(Fault::RejectHandshake { .. } | Fault::RejectUpdate { .. }) => Next::Continue,
        }
    }
}

/// Copy `from`'s fields into `into` (both objects).
fn merge(into: &mut Value, from: &Value) {
    if let (Some(into), Some(from)) = (into.as_object_mut(), from.as_object()) {
        for (k, v) in from {
            into.insert(k.clone(), v.clone());
        }
    }
}
