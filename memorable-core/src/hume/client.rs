//! [`HumeClient`]: the synchronous face of the Hume client. It owns a current-thread tokio
//! runtime on a background thread (so the rest of MemoRable stays synchronous), the API key,
//! and the TLS configuration (rustls with ring, webpki roots). Sessions and uploads hang
//! off it; the WebSocket handshake and the events every session reports live here too.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::config::{ApiKey, HumeConfig};
use super::parse::HumeMessage;
use crate::error::{Error, Result};

/// Path of the audio realtime endpoint.
pub const AUDIO_PATH: &str = "/v1/expression/audio/realtime";
/// Path of the video realtime endpoint.
pub const VIDEO_PATH: &str = "/v1/expression/video/realtime";

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Something a session reports, in order, to its subscribers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum HumeEvent {
    /// A connection opened (`connection` counts from 0; > 0 after a reconnect).
    Connected { session_id: String, connection: u32 },
    /// A message from Hume, parsed. Audio times and ids are moved onto the whole stream's
    /// timeline across reconnects; for video, `frame` is the index (from 0, in the order
    /// sent) of the frame this reply answers.
    Message { message: HumeMessage, frame: Option<u64> },
    /// A video frame that got no measurement: refused (`invalid_image_frame`), or
    /// rate-limited in a live session, or failed (`internal_error`) for good.
    FrameDropped { frame: u64, code: String },
    /// The connection ended and the client will reconnect after `delay_ms`.
    Reconnecting { attempt: u32, delay_ms: u64, cause: String },
    /// The session ended; nothing follows.
    Closed { reason: String },
}

/// A subscriber callback. It runs on the client's runtime thread: keep it short, and do not
/// call the same session's blocking methods from it.
pub type EventCallback = Arc<dyn Fn(&HumeEvent) + Send + Sync>;

/// Delivers events to callbacks and to the session's [`Events`] iterator.
pub(crate) struct Emitter {
    callbacks: Vec<EventCallback>,
    tx: mpsc::Sender<HumeEvent>,
}

impl Emitter {
    pub fn new(callbacks: Vec<EventCallback>) -> (Emitter, Events) {
        let (tx, rx) = mpsc::channel();
        (Emitter { callbacks, tx }, Events(rx))
    }

    pub fn emit(&self, event: HumeEvent) {
        for cb in &self.callbacks {
            // A panicking subscriber must not take the session down with it.
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(&event))).is_err() {
                tracing::error!("a Hume event callback panicked; event dropped for it");
            }
        }
        // The receiver may be gone (nobody iterates): that is fine.
        let _ = self.tx.send(event);
    }
}

/// The events of a session, in order; iteration blocks until the next event and ends after
/// the session's `Closed`.
pub struct Events(mpsc::Receiver<HumeEvent>);

impl Events {
    /// The next event if one is ready.
    pub fn try_next(&self) -> Option<HumeEvent> {
        self.0.try_recv().ok()
    }

    /// The next event, waiting at most `timeout`.
    pub fn next_timeout(&self, timeout: Duration) -> Option<HumeEvent> {
        self.0.recv_timeout(timeout).ok()
    }
}

impl Iterator for Events {
    type Item = HumeEvent;
    fn next(&mut self) -> Option<HumeEvent> {
        self.0.recv().ok()
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Events")
    }
}

/// The session's clock: virtual milliseconds that run `scale` times faster than real time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    pub scale: f64,
}

impl Clock {
    /// The real duration of `ms` virtual milliseconds.
    pub fn real(&self, ms: f64) -> Duration {
        Duration::from_secs_f64((ms.max(0.0) / self.scale) / 1000.0)
    }
    /// Virtual milliseconds since `t`.
    pub fn since_ms(&self, t: Instant) -> f64 {
        t.elapsed().as_secs_f64() * 1000.0 * self.scale
    }
    /// The instant `ms` virtual milliseconds after `t`.
    pub fn after(&self, t: Instant, ms: f64) -> Instant {
        t + self.real(ms)
    }
}

/// The runtime thread: a current-thread runtime driven until the client is dropped.
struct RuntimeThread {
    handle: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for RuntimeThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            // The last reference may be dropped on the runtime thread itself (inside a
            // callback); it cannot join itself, and it is about to stop anyway.
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

pub(crate) struct ClientInner {
    pub config: HumeConfig,
    pub key: ApiKey,
    pub http_base: String,
    pub ws_base: String,
    pub clock: Clock,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// Reconnect jitter seeds handed to sessions (distinct per session, reproducible when
    /// the config has a seed).
    seeds: Mutex<u64>,
    runtime: RuntimeThread,
}

impl ClientInner {
    pub fn spawn<F: std::future::Future<Output = ()> + Send + 'static>(&self, f: F) {
        self.runtime.handle.spawn(f);
    }

    pub fn next_seed(&self) -> Option<u64> {
        let mut s = self.seeds.lock().expect("seed lock");
        *s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        self.config.seed.map(|base| base ^ *s)
    }
}

/// A client for Hume's v1 Expression Measurement API: realtime audio and video sessions and
/// the upload endpoints. Cheap to clone; `Send + Sync`.
///
/// Create it once and reuse it: it owns a background thread running the network I/O. The
/// API key comes from [`HumeConfig::api_key`] or `HUME_API_KEY`, travels only in the
/// `X-Hume-Api-Key` header, and never appears in `Debug` output, logs or errors.
#[derive(Clone)]
pub struct HumeClient {
    pub(crate) inner: Arc<ClientInner>,
}

impl std::fmt::Debug for HumeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HumeClient")
            .field("base_url", &self.inner.http_base)
            .field("api_key", &self.inner.key)
            .finish()
    }
}

impl HumeClient {
    /// A client with this configuration (fails without an API key or with a bad config).
    pub fn new(config: HumeConfig) -> Result<HumeClient> {
        config.validate()?;
        let key = config.resolve_key()?;
        if key.expose().is_empty() || key.expose().bytes().any(|b| !(0x21..0x7F).contains(&b)) {
            return Err(Error::InvalidConfig(
                "the Hume API key must be printable ASCII without spaces".into(),
            ));
        }
        let (http_base, ws_base) = config.urls();
        authority(&http_base).map_err(Error::InvalidConfig)?;
        let tls = ws_base.starts_with("wss://").then(tls_config);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the Hume client's runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("memorable-hume".into())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(|e| Error::Internal(format!("cannot start the Hume client's thread: {e}")))?;
        let clock = Clock { scale: config.clock_scale };
        Ok(HumeClient {
            inner: Arc::new(ClientInner {
                config,
                key,
                http_base,
                ws_base,
                clock,
                tls,
                seeds: Mutex::new(0),
                runtime: RuntimeThread { handle, stop: Some(stop), thread: Some(thread) },
            }),
        })
    }

    /// A client with the default configuration (`HUME_API_KEY`, Hume's cloud).
    pub fn from_env() -> Result<HumeClient> {
        HumeClient::new(HumeConfig::default())
    }

    pub fn config(&self) -> &HumeConfig {
        &self.inner.config
    }
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
    Arc::new(config)
}

/// Why a handshake failed.
pub(crate) enum ConnectError {
    /// Worth another attempt (network, timeout, 408, 429, 5xx).
    Retry(String),
    /// Not worth one (401, other 4xx, a bad URL).
    Fatal(Error),
}

/// Open a WebSocket to `path` with the key in the handshake header. Returns the socket and
/// how long the handshake took (a first estimate of the round trip).
///
/// The upgrade request is written here rather than by tungstenite's client handshake,
/// which logs the raw request (and so the key) at trace level.
pub(crate) async fn connect(
    inner: &ClientInner,
    path: &str,
) -> std::result::Result<(Ws, Duration), ConnectError> {
    let started = Instant::now();
    let timeout = inner.clock.real(inner.config.connect_timeout_ms as f64);
    match tokio::time::timeout(timeout, handshake(inner, path)).await {
        Err(_) => Err(ConnectError::Retry(format!(
            "handshake timed out after {} ms",
            inner.config.connect_timeout_ms
        ))),
        Ok(Ok(ws)) => Ok((ws, started.elapsed())),
        Ok(Err(e)) => Err(e),
    }
}

/// `host`, `port` and path prefix of the base URL.
pub(crate) fn authority(base: &str) -> std::result::Result<(String, u16, String), String> {
    let (tls, rest) = match base.split_once("://") {
        Some(("https" | "wss", rest)) => (true, rest),
        Some(("http" | "ws", rest)) => (false, rest),
        _ => return Err(format!("unsupported URL {base:?}")),
    };
    let (hostport, prefix) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/').to_owned()),
        None => (rest, String::new()),
    };
    let default_port = if tls { 443 } else { 80 };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h, p.parse().map_err(|_| format!("bad port in {base:?}"))?),
        _ => (hostport, default_port),
    };
    if host.is_empty() {
        return Err(format!("no host in {base:?}"));
    }
    Ok((host.trim_start_matches('[').trim_end_matches(']').to_owned(), port, prefix))
}

async fn handshake(inner: &ClientInner, path: &str) -> std::result::Result<Ws, ConnectError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (host, port, prefix) =
        authority(&inner.ws_base).map_err(|e| ConnectError::Fatal(Error::InvalidConfig(e)))?;
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| ConnectError::Retry(format!("connect to {host}:{port}: {e}")))?;
    let _ = tcp.set_nodelay(true);
    let mut stream = match &inner.tls {
        None => MaybeTlsStream::Plain(tcp),
        Some(tls) => {
            let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|_| {
                ConnectError::Fatal(Error::InvalidConfig(format!("bad TLS server name {host:?}")))
            })?;
            let tls = tokio_rustls::TlsConnector::from(tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| ConnectError::Retry(format!("TLS with {host}: {e}")))?;
            MaybeTlsStream::Rustls(tls)
        }
    };
    let nonce = tokio_tungstenite::tungstenite::handshake::client::generate_key();
    let host_header = if (inner.tls.is_some() && port == 443) || (inner.tls.is_none() && port == 80) {
        host.clone()
    } else {
        format!("{host}:{port}")
    };
    let request = format!(
        "GET {prefix}{path} HTTP/1.1\r\nHost: {host_header}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {nonce}\r\nUser-Agent: memorable/{}\r\n\
         X-Hume-Api-Key: {}\r\n\r\n",
        crate::VERSION,
        inner.key.expose()
    );
    let io = |e: std::io::Error| ConnectError::Retry(format!("handshake with {host}: {e}"));
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    // Read the response head (and whatever follows it).
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let (status, accept, head_len, content_length) = loop {
        let n = stream.read(&mut chunk).await.map_err(io)?;
        if n == 0 {
            return Err(ConnectError::Retry(format!("{host} closed the connection during the handshake")));
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let header = |name: &str| {
                    response
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .and_then(|h| std::str::from_utf8(h.value).ok())
                        .map(str::to_owned)
                };
                let length = header("content-length").and_then(|l| l.trim().parse::<usize>().ok());
                break (response.code.unwrap_or(0), header("sec-websocket-accept"), len, length);
            }
            Ok(httparse::Status::Partial) if buf.len() < 64 * 1024 => continue,
            _ => return Err(ConnectError::Retry(format!("{host} sent a malformed handshake response"))),
        }
    };
    if status == 101 {
        let expected = tokio_tungstenite::tungstenite::handshake::derive_accept_key(nonce.as_bytes());
        if accept.as_deref() != Some(expected.as_str()) {
            return Err(ConnectError::Retry(format!(
                "{host} answered the upgrade with a wrong Sec-WebSocket-Accept"
            )));
        }
        let leftover = buf.split_off(head_len);
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default();
        let ws = WebSocketStream::from_partially_read(stream, leftover, Role::Client, Some(config)).await;
        return Ok(ws);
    }
    // A refusal: read its (small) body for Hume's message.
    let want = content_length.unwrap_or(0).min(64 * 1024);
    let mut body = buf.split_off(head_len);
    while body.len() < want {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    Err(refusal(status, &body))
}

/// Classify a refused handshake (any status but 101).
fn refusal(status: u16, body: &[u8]) -> ConnectError {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_default();
    if status == 401 || status == 403 {
        ConnectError::Fatal(Error::HumeAuth(format!("HTTP {status} on the WebSocket handshake: {message}")))
    } else if super::policy::handshake_retryable(Some(status)) {
        ConnectError::Retry(format!("HTTP {status} on the WebSocket handshake: {message}"))
    } else {
        ConnectError::Fatal(Error::HumeRejected { code: format!("http_{status}"), message })
    }
}

/// The close code of a close frame (1005 when the frame had none).
pub(crate) fn close_code(frame: &Option<tokio_tungstenite::tungstenite::protocol::CloseFrame>) -> u16 {
    frame.as_ref().map_or(1005, |f| u16::from(f.code))
}
