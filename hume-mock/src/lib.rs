//! An offline server that speaks Hume's protocols, for tests (no internet): the v1 Expression
//! Measurement realtime endpoints (audio and video WebSockets) and upload endpoints, the
//! legacy `v0/stream/models` stream and EVI chat, as `docs/hume.md` and the protocol notes
//! (§5.4) describe them.
//!
//! It is honest about the parts a client can get wrong: the API key is checked before the
//! upgrade (HTTP 401), `session.update` is refused after the first frame, frame and message
//! size limits, a virtual clock that answers faster-than-real-time audio with
//! `rate_limited` (and more than 3 video frames per second likewise), utterance
//! segmentation with interval and `speech_ended` results, one reply per video frame in
//! order, the upload endpoints' errors and `429` + `Retry-After`. Faults are scripted per
//! connection ([`Fault`]): a dropped TCP connection (the client sees 1006), close codes such
//! as 1011, `server_shutdown`, `idle_timeout`, an audio `internal_error` with close 1008,
//! refused handshakes. Scores are deterministic functions of the input
//! ([`audio::audio_scores`], [`video::face_scores`]) so tests can assert them.
//!
//! ```no_run
//! let server = hume_mock::MockServer::start(hume_mock::MockConfig::default()).unwrap();
//! println!("point the client at {}", server.base_url());
//! ```

pub mod audio;
mod exchange;
mod http;
pub mod legacy;
mod realtime;
mod upload;
pub mod video;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};

pub use exchange::{exchange, Exchange};
pub use legacy::{base64_decode, LEGACY_48};

/// The API key the mock accepts unless configured otherwise.
pub const TEST_API_KEY: &str = "test-hume-key";

/// What the mock does, and which faults it plays.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// The one key accepted (as `X-Hume-Api-Key` or `Authorization: Bearer`).
    pub api_key: String,
    /// Speed of the virtual clock: virtual milliseconds per real millisecond. Rate limits,
    /// idle timeouts and inactivity closes run on it, so tests can run a 10 s stream in
    /// 100 ms by giving the client the same scale.
    pub clock_scale: f64,
    /// Audio a session may send ahead of real time before `rate_limited` (ms).
    pub audio_burst_ms: u64,
    /// Video frames per second allowed.
    pub video_fps: f64,
    /// v1 realtime idle timeout (virtual ms; Hume publishes no value).
    pub idle_timeout_ms: u64,
    /// Legacy stream: close after this much idle time (virtual ms; one minute).
    pub legacy_idle_ms: u64,
    /// EVI: inactivity close (virtual ms; 120 s by default).
    pub evi_inactivity_ms: u64,
    /// Scripted faults, by realtime connection attempt.
    pub faults: Vec<Fault>,
    /// The first this-many upload requests get `429` with [`MockConfig::retry_after`].
    pub http_429: u32,
    /// The `Retry-After` value of those 429s (seconds, as HTTP says).
    pub retry_after: String,
    /// Forward-compatible extras: unknown fields on every message and an unknown message
    /// type after `session.created`.
    pub extras: bool,
    /// Largest upload body (bytes).
    pub max_upload_bytes: usize,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            api_key: TEST_API_KEY.into(),
            clock_scale: 1.0,
            audio_burst_ms: 1000,
            video_fps: 3.0,
            idle_timeout_ms: 30_000,
            legacy_idle_ms: 60_000,
            evi_inactivity_ms: 120_000,
            faults: Vec::new(),
            http_429: 0,
            retry_after: "1".into(),
            extras: true,
            max_upload_bytes: 25_000_000,
        }
    }
}

/// A scripted fault. `attempt` counts authenticated realtime handshakes (audio and video)
/// from 0; `after_frames` counts frames accepted on that connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer the handshake with this HTTP status instead of upgrading.
    RejectHandshake { attempt: usize, status: u16 },
    /// Drop the TCP connection without a close frame (the client sees 1006).
    Drop { attempt: usize, after_frames: u64 },
    /// Close with this code (1001, 1011, 1012, 1013, ...), no `session.closed`.
    Close { attempt: usize, after_frames: u64, code: u16 },
    /// `session.closed` with reason `server_shutdown`, then close 1000.
    ServerShutdown { attempt: usize, after_frames: u64 },
    /// `session.closed` with reason `idle_timeout`, then close 1000.
    IdleTimeout { attempt: usize, after_frames: u64 },
    /// Audio: `error` `internal_error` (not retryable), `session.closed` `error`, close 1008.
    InternalError { attempt: usize, after_frames: u64 },
    /// Stop reading (and so answering pings) without closing: a stalled connection that only
    /// the client's keep-alive notices.
    Stall { attempt: usize, after_frames: u64 },
    /// Answer `session.update` with `config_invalid` (not retryable), then close 1008, as a
    /// server that refuses the config does.
    RejectUpdate { attempt: usize },
}

/// What the mock saw of one realtime session (for tests to assert on).
#[derive(Debug, Clone, Default)]
pub struct SessionRecord {
    pub path: String,
    pub attempt: usize,
    pub session_id: String,
    /// `session.update` messages received, as sent.
    pub updates: Vec<serde_json::Value>,
    /// Frames accepted (audio: measured; video: accepted for detection).
    pub frames_accepted: u64,
    /// Frames refused with `invalid_*_frame`.
    pub frames_invalid: u64,
    /// Frames refused with `rate_limited`.
    pub rate_limited: u64,
    /// Audio: every accepted byte, in order.
    pub audio: Vec<u8>,
    /// Whether the first binary frame came before any `session.update` was answered.
    pub media_started: bool,
    /// How the server ended the session: close code and `session.closed` reason.
    pub close_code: Option<u16>,
    pub close_reason: Option<String>,
    /// Whether the client sent `session.close`.
    pub client_close: bool,
}

/// Everything the mock recorded.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Realtime handshakes with a valid key (the `attempt` counter).
    pub handshakes: usize,
    /// Requests refused with 401.
    pub unauthorized: usize,
    /// Requests that carried a credential in the URL query (Hume says: headers only).
    pub key_in_query: usize,
    /// Requests that carried both credentials.
    pub both_credentials: usize,
    pub sessions: Vec<SessionRecord>,
    /// Upload requests (any outcome) and those answered 429.
    pub uploads: usize,
    pub uploads_429: usize,
    /// Legacy and EVI connections.
    pub legacy_connections: usize,
    pub evi_connections: usize,
}

/// State shared by the server's tasks.
pub(crate) struct Shared {
    pub config: MockConfig,
    pub clock: Clock,
    pub stats: Mutex<Stats>,
}

/// The virtual clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: Instant,
    scale: f64,
}

impl Clock {
    /// Virtual milliseconds since the server started.
    pub fn now_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0 * self.scale
    }
    /// The real duration of `ms` virtual milliseconds.
    pub fn real(&self, ms: f64) -> Duration {
        Duration::from_secs_f64((ms / self.scale).max(0.0) / 1000.0)
    }
}

/// A running mock server (on its own thread and runtime). Dropping it stops it.
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MockServer {
    /// Listen on an ephemeral loopback port.
    pub fn start(config: MockConfig) -> std::io::Result<MockServer> {
        Self::start_on("127.0.0.1:0", config)
    }

    /// Listen on `addr` (loopback addresses only make sense for a test server).
    pub fn start_on(addr: &str, config: MockConfig) -> std::io::Result<MockServer> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let clock = Clock { start: Instant::now(), scale: config.clock_scale.max(1e-6) };
        let shared = Arc::new(Shared { config, clock, stats: Mutex::new(Stats::default()) });
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let task_shared = shared.clone();
        let thread = std::thread::Builder::new().name("hume-mock".into()).spawn(move || {
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("tokio listener");
                tokio::select! {
                    _ = accept_loop(listener, task_shared) => {}
                    _ = stopped => {}
                }
            });
        })?;
        Ok(MockServer { addr, shared, stop: Some(stop), thread: Some(thread) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the base URL to give a client (WebSockets use `ws://`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A snapshot of what the server saw so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats.lock().expect("stats lock").clone()
    }

    /// Stop accepting and end every session.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        tokio::spawn(handle(stream, shared.clone()));
    }
}

/// Which credential a request carried.
pub(crate) enum Auth {
    Ok,
    Missing,
    Bad,
}

pub(crate) fn check_auth(shared: &Shared, req: &http::Request, allow_query: bool) -> Auth {
    let header = req.header("x-hume-api-key").map(str::to_owned);
    let bearer = req.header("authorization").and_then(|a| a.strip_prefix("Bearer ")).map(str::to_owned);
    let query =
        req.query.get("api_key").or(req.query.get("apikey")).or(req.query.get("access_token")).cloned();
    {
        let mut stats = shared.stats.lock().expect("stats lock");
        if query.is_some() {
            stats.key_in_query += 1;
        }
        if header.is_some() && bearer.is_some() {
            stats.both_credentials += 1;
        }
    }
    let given = match (header, bearer, query.filter(|_| allow_query)) {
        (Some(_), Some(_), _) => return Auth::Bad,
        (Some(k), None, _) | (None, Some(k), _) | (None, None, Some(k)) => k,
        (None, None, None) => return Auth::Missing,
    };
    if given == shared.config.api_key {
        Auth::Ok
    } else {
        Auth::Bad
    }
}

async fn handle(mut stream: TcpStream, shared: Arc<Shared>) {
    let Some(mut req) = http::read_head(&mut stream).await else { return };
    let path = req.path.clone();
    let legacy_or_evi = path == "/v0/stream/models" || path == "/v0/evi/chat";
    match check_auth(&shared, &req, legacy_or_evi) {
        Auth::Ok => {}
        auth => {
            shared.stats.lock().expect("stats lock").unauthorized += 1;
            let body = match auth {
                Auth::Missing => serde_json::json!({"message": "Missing API key or access token"}),
                _ => serde_json::json!({"message": "Invalid API key", "request_id": "req-mock-401"}),
            };
            let _ = http::respond(&mut stream, 401, &[], &body).await;
            return;
        }
    }
    match (req.method.as_str(), path.as_str(), req.is_upgrade()) {
        ("GET", "/v1/expression/audio/realtime" | "/v1/expression/video/realtime", true) => {
            realtime::serve(stream, req, shared).await
        }
        ("GET", "/v0/stream/models", true) => legacy::serve_legacy(stream, req, shared).await,
        ("GET", "/v0/evi/chat", true) => legacy::serve_evi(stream, req, shared).await,
        ("POST", "/v1/expression/audio/file" | "/v1/expression/video/file", false) => {
            upload::serve(&mut stream, &mut req, &shared).await
        }
        (_, "/v1/expression/audio/file" | "/v1/expression/video/file", _) => {
            let body = upload::error_body("method_not_allowed", "use POST");
            let _ = http::respond(&mut stream, 405, &[], &body).await;
        }
        _ => {
            let body = upload::error_body("not_found", &format!("no endpoint {path}"));
            let _ = http::respond(&mut stream, 404, &[], &body).await;
        }
    }
}

/// Upgrade an authenticated request to a WebSocket (the mock writes the 101 itself so it can
/// answer anything else first).
pub(crate) async fn upgrade(
    mut stream: TcpStream,
    req: http::Request,
) -> Option<tokio_tungstenite::WebSocketStream<TcpStream>> {
    use tokio::io::AsyncWriteExt;
    let key = req.header("sec-websocket-key")?;
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: {accept}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.ok()?;
    // Read messages well over Hume's limits, so the mock itself answers `message_too_large`.
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    Some(
        tokio_tungstenite::WebSocketStream::from_partially_read(
            stream,
            req.leftover,
            tokio_tungstenite::tungstenite::protocol::Role::Server,
            Some(config),
        )
        .await,
    )
}
