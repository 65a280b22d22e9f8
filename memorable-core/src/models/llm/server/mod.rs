//! Model servers behind the [`Generator`](super::Generator) and [`Embedder`](crate::Embedder)
//! traits: Ollama's own API ([`ollama`]) and the OpenAI-compatible one ([`openai`], which
//! llama.cpp's server, vLLM, LM Studio and Ollama all speak).
//!
//! One HTTP client for both (`Client`): timeouts, bounded retries with doubling backoff for
//! what may pass (no connection, 5xx, 429), no retry for what will not (4xx), and a circuit
//! breaker that, after `breaker_failures` consecutive failures, refuses calls for
//! `breaker_cooldown_ms` so a dead server costs nothing while a fallback serves. The API key
//! comes from the environment variable the configuration names, and never appears in a log
//! line, an error or a `Debug` output.

pub mod ollama;
pub mod openai;

use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::config::ModelServerConfig;
use crate::error::{Error, Result};

/// Largest error body or non-streamed answer read (a server cannot make us buffer more).
const MAX_BODY: u64 = 64 << 20;

/// An API key, redacted in `Debug`.
#[derive(Clone)]
pub(crate) struct ApiKey(String);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// One embedding: an array of finite numbers, normalized to unit length. Anything else (a
/// vector per token from a server without pooling, strings, NaN) is a protocol error.
pub(crate) fn embedding(v: &Value, what: &str) -> Result<Vec<f32>> {
    let bad = || {
        Error::ServerProtocol(format!(
            "{what} answered an embedding that is not one array of numbers (a server without pooling?)"
        ))
    };
    let v = v
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|x| x.as_f64().filter(|f| f.is_finite()).map(|f| f as f32).ok_or_else(bad))
        .collect::<Result<Vec<f32>>>()?;
    Ok(normalize(v))
}

/// A server embedder's dimension, from one probe embedding (a server says it nowhere else).
pub(crate) fn probe_dim(client: &Client, embed: impl Fn(&[&str]) -> Result<Vec<Vec<f32>>>) -> Result<usize> {
    match embed(&["dimension probe"])?.pop().map_or(0, |v| v.len()) {
        0 => Err(Error::ServerProtocol(format!("{} returned an empty embedding", client.what()))),
        dim => Ok(dim),
    }
}

/// `url` without any `user:password@` part, for messages.
pub(crate) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s && !url[s + 3..at].contains('/') => {
            format!("{}{}", &url[..s + 3], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// Refuses calls for a while after repeated failures.
#[derive(Debug)]
struct Breaker {
    failures: AtomicU32,
    open_until: Mutex<Option<Instant>>,
    threshold: u32,
    cooldown: Duration,
}

impl Breaker {
    fn check(&self, what: &str) -> Result<()> {
        let open = *self.open_until.lock().unwrap_or_else(|e| e.into_inner());
        match open {
            Some(until) if Instant::now() < until => Err(Error::ServerUnavailable(format!(
                "{what} failed {} times in a row; not retried for another {} s (circuit breaker open)",
                self.threshold,
                (until - Instant::now()).as_secs() + 1
            ))),
            _ => Ok(()),
        }
    }

    fn success(&self) {
        self.failures.store(0, Ordering::Relaxed);
        *self.open_until.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn failure(&self) {
        let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= self.threshold {
            *self.open_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + self.cooldown);
            tracing::warn!(
                failures = n,
                cooldown_ms = self.cooldown.as_millis() as u64,
                "model server circuit breaker open"
            );
        }
    }
}

/// HTTP to one model server.
pub(crate) struct Client {
    agent: ureq::Agent,
    base: String,
    /// What to call the server in messages ("Ollama at http://...").
    what: String,
    key: Option<ApiKey>,
    retries: u32,
    backoff: Duration,
    breaker: Breaker,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("server", &self.what).field("key", &self.key).finish()
    }
}

/// A streamed answer: its lines, read as they come.
pub(crate) struct Lines {
    reader: BufReader<Box<dyn Read + Send + Sync>>,
    what: String,
}

impl Lines {
    /// The next non-empty line (`None` at the end of the stream).
    pub fn next_line(&mut self) -> Result<Option<String>> {
        loop {
            let mut line = String::new();
            let n = self
                .reader
                .read_line(&mut line)
                .map_err(|e| Error::ServerUnavailable(format!("{} broke off its answer: {e}", self.what)))?;
            if n == 0 {
                return Ok(None);
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if !line.is_empty() {
                return Ok(Some(line.to_owned()));
            }
        }
    }
}

impl Client {
    pub fn new(base: &str, kind: &str, cfg: &ModelServerConfig) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(cfg.timeout_ms)))
            .timeout_connect(Some(Duration::from_millis(cfg.connect_timeout_ms)))
            .http_status_as_error(false)
            .build()
            .into();
        let key = std::env::var(&cfg.api_key_env).ok().filter(|k| !k.is_empty()).map(ApiKey);
        Client {
            agent,
            base: base.trim_end_matches('/').to_owned(),
            what: format!("{kind} at {}", redact_url(base)),
            key,
            retries: cfg.retries,
            backoff: Duration::from_millis(cfg.backoff_ms),
            breaker: Breaker {
                failures: AtomicU32::new(0),
                open_until: Mutex::new(None),
                threshold: cfg.breaker_failures,
                cooldown: Duration::from_millis(cfg.breaker_cooldown_ms),
            },
        }
    }

    pub fn what(&self) -> &str {
        &self.what
    }

    /// POST `body` to `path` (GET when `None`) and return the answer's lines as they
    /// stream, once the server said 2xx. Retries, the breaker and the error mapping apply.
    pub fn request(&self, path: &str, body: Option<&Value>) -> Result<Lines> {
        self.breaker.check(&self.what)?;
        let url = format!("{}{path}", self.base);
        let mut delay = self.backoff;
        for attempt in 0..=self.retries {
            let last = attempt == self.retries;
            let sent = match body {
                Some(b) => {
                    let mut req = self.agent.post(&url).header("Content-Type", "application/json");
                    if let Some(k) = &self.key {
                        req = req.header("Authorization", format!("Bearer {}", k.0));
                    }
                    req.send(serde_json::to_vec(b)?.as_slice())
                }
                None => {
                    let mut req = self.agent.get(&url);
                    if let Some(k) = &self.key {
                        req = req.header("Authorization", format!("Bearer {}", k.0));
                    }
                    req.call()
                }
            };
            let mut response = match sent {
                Ok(r) => r,
                Err(e) => {
                    if !last {
                        tracing::info!(server = %self.what, attempt, error = %e, "model server unreachable; retrying");
                        std::thread::sleep(delay);
                        delay *= 2;
                        continue;
                    }
                    self.breaker.failure();
                    return Err(Error::ServerUnavailable(format!("cannot reach {}: {e}", self.what)));
                }
            };
            let status = response.status().as_u16();
            if (200..300).contains(&status) {
                self.breaker.success();
                let reader: Box<dyn Read + Send + Sync> = Box::new(response.into_body().into_reader());
                return Ok(Lines { reader: BufReader::new(reader), what: self.what.clone() });
            }
            let text = response.body_mut().with_config().limit(MAX_BODY).read_to_string().unwrap_or_default();
            let message = error_message(&text);
            if (status >= 500 || status == 429) && !last {
                tracing::info!(server = %self.what, status, attempt, "model server failed; retrying");
                std::thread::sleep(delay);
                delay *= 2;
                continue;
            }
            if status >= 500 || status == 429 {
                self.breaker.failure();
                return Err(Error::ServerUnavailable(format!(
                    "{} answered HTTP {status}: {message}",
                    self.what
                )));
            }
            // A refusal: the server is up, the request is wrong. Not retried, not a failure.
            self.breaker.success();
            return Err(Error::ServerRejected(format!("{} answered HTTP {status}: {message}", self.what)));
        }
        unreachable!("the loop returns on its last attempt")
    }

    /// A whole JSON answer.
    pub fn json(&self, path: &str, body: Option<&Value>) -> Result<Value> {
        let mut lines = self.request(path, body)?;
        let mut text = String::new();
        while let Some(line) = lines.next_line()? {
            text.push_str(&line);
            text.push('\n');
        }
        serde_json::from_str(&text).map_err(|e| {
            Error::ServerProtocol(format!("{} answered with something that is not JSON: {e}", self.what))
        })
    }
}

/// The message of an error body: Ollama's `{"error": "..."}`, OpenAI's
/// `{"error": {"message": "..."}}`, or the text itself (shortened).
fn error_message(text: &str) -> String {
    let json: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let m = match &json["error"] {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("message").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    };
    m.unwrap_or_else(|| text.chars().take(200).collect::<String>().trim().to_owned())
}

/// Parse one JSON line of a stream.
pub(crate) fn parse_line(line: &str, what: &str) -> Result<Value> {
    serde_json::from_str(line).map_err(|e| {
        Error::ServerProtocol(format!(
            "{what} sent a line that is not JSON ({e}): {:?}",
            line.chars().take(80).collect::<String>()
        ))
    })
}

/// Scale `v` to unit length (servers do not promise normalized embeddings; stored vectors
/// must be).
pub(crate) fn normalize(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials_in_messages() {
        assert_eq!(redact_url("http://user:secret@host:1/v1"), "http://host:1/v1");
        assert_eq!(redact_url("http://host/a@b"), "http://host/a@b");
        assert_eq!(format!("{:?}", ApiKey("sk-123".into())), "ApiKey(<redacted>)");
    }

    #[test]
    fn error_bodies_of_both_protocols() {
        assert_eq!(error_message(r#"{"error":"model 'x' not found"}"#), "model 'x' not found");
        assert_eq!(error_message(r#"{"error":{"message":"bad","type":"invalid_request_error"}}"#), "bad");
        assert_eq!(error_message("plain"), "plain");
    }

    #[test]
    fn an_unreachable_server_opens_the_breaker() {
        let cfg = ModelServerConfig {
            retries: 0,
            breaker_failures: 2,
            connect_timeout_ms: 200,
            ..Default::default()
        };
        // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
        let c = Client::new("http://127.0.0.1:9", "Ollama", &cfg);
        for _ in 0..2 {
            let e = c.json("/api/tags", None).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::ServerUnavailable);
        }
        let e = c.json("/api/tags", None).unwrap_err();
        assert!(e.to_string().contains("circuit breaker open"), "{e}");
    }
}
