//! Configuration of the Hume client: where Hume is, the API key (which never appears in
//! `Debug`, logs or errors), and the timing of reconnects, keep-alive and HTTP retries.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Hume's v1 API (HTTP; WebSockets use the same host with `wss://`).
pub const DEFAULT_BASE_URL: &str = "https://api.cloud.hume.ai";
/// Environment variable the API key is read from when the config has none.
pub const API_KEY_ENV: &str = "HUME_API_KEY";

/// A Hume API key. It travels only in the `X-Hume-Api-Key` handshake / request header;
/// `Debug` and `Display` print `<redacted>`, and it is never serialized.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key in `HUME_API_KEY`, if set and not blank.
    pub fn from_env() -> Option<ApiKey> {
        std::env::var(API_KEY_ENV).ok().filter(|k| !k.trim().is_empty()).map(ApiKey)
    }

    /// The secret itself, for the one header that carries it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl std::fmt::Display for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The reconnect schedule of Hume's SDKs (protocol notes §5.1): the first delay is uniform
/// in `[first_delay_min_ms, first_delay_max_ms]`, each next one `factor` times longer up to
/// `max_delay_ms`, at most `max_attempts` in a row; the count starts again once a
/// connection stayed up `stable_after_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    pub max_attempts: u32,
    pub first_delay_min_ms: u64,
    pub first_delay_max_ms: u64,
    pub factor: f64,
    pub max_delay_ms: u64,
    pub stable_after_ms: u64,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            max_attempts: 30,
            first_delay_min_ms: 1000,
            first_delay_max_ms: 5000,
            factor: 1.3,
            max_delay_ms: 10_000,
            stable_after_ms: 5000,
        }
    }
}

/// Everything the Hume client needs. Durations are in milliseconds of the client's clock,
/// which runs `clock_scale` times faster than real time (1 outside tests).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct HumeConfig {
    /// The API key; when `None`, `HUME_API_KEY` is read. Never serialized.
    #[serde(skip_serializing)]
    pub api_key: Option<ApiKey>,
    /// `https://api.cloud.hume.ai` by default; `http://` URLs (a local test server) use
    /// plain `ws://` for the realtime endpoints.
    pub base_url: String,
    pub reconnect: ReconnectPolicy,
    /// Client ping interval, and how long a ping may go unanswered before the connection
    /// counts as lost (1006) and is reconnected (20 s each, as Hume's Python SDK).
    pub keepalive_interval_ms: u64,
    pub keepalive_timeout_ms: u64,
    /// Handshake timeout (a timeout is retried like a network error).
    pub connect_timeout_ms: u64,
    /// How long `close()` waits for `session.closed` and the remaining results.
    pub close_timeout_ms: u64,
    /// HTTP (upload) request timeout and retries (on 408, 409, 429 and 5xx).
    pub http_timeout_ms: u64,
    pub http_retries: u32,
    /// Test knob: the client's clock runs this many times faster than real time (pacing,
    /// backoff, keep-alive, `Retry-After`); pair it with the offline server's clock scale.
    pub clock_scale: f64,
    /// Seed of the reconnect jitter (random when `None`).
    pub seed: Option<u64>,
}

impl Default for HumeConfig {
    fn default() -> Self {
        HumeConfig {
            api_key: None,
            base_url: DEFAULT_BASE_URL.into(),
            reconnect: ReconnectPolicy::default(),
            keepalive_interval_ms: 20_000,
            keepalive_timeout_ms: 20_000,
            connect_timeout_ms: 10_000,
            close_timeout_ms: 10_000,
            http_timeout_ms: 60_000,
            http_retries: 2,
            clock_scale: 1.0,
            seed: None,
        }
    }
}

impl HumeConfig {
    /// A config for `base_url` with the key given (tests, local servers).
    pub fn new(base_url: impl Into<String>, api_key: ApiKey) -> HumeConfig {
        HumeConfig { base_url: base_url.into(), api_key: Some(api_key), ..Default::default() }
    }

    /// The key from the config, else from `HUME_API_KEY`.
    pub(crate) fn resolve_key(&self) -> Result<ApiKey> {
        self.api_key
            .clone()
            .or_else(ApiKey::from_env)
            .ok_or_else(|| Error::HumeAuth(format!("no API key: set {API_KEY_ENV} or HumeConfig::api_key")))
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidConfig(m));
        if !(self.base_url.starts_with("https://") || self.base_url.starts_with("http://")) {
            return bad(format!(
                "hume base_url must start with https:// or http:// (got {:?})",
                self.base_url
            ));
        }
        if !(self.clock_scale.is_finite() && self.clock_scale > 0.0) {
            return bad("hume clock_scale must be a positive number".into());
        }
        let r = &self.reconnect;
        if r.first_delay_min_ms > r.first_delay_max_ms || !(r.factor.is_finite() && r.factor >= 1.0) {
            return bad(
                "hume reconnect: first_delay_min_ms <= first_delay_max_ms and factor >= 1 are required"
                    .into(),
            );
        }
        if self.keepalive_interval_ms == 0 || self.connect_timeout_ms == 0 || self.http_timeout_ms == 0 {
            return bad("hume keep-alive, connect and HTTP timeouts must be positive".into());
        }
        Ok(())
    }

    /// `base_url` without a trailing slash, and its WebSocket counterpart.
    pub(crate) fn urls(&self) -> (String, String) {
        let http = self.base_url.trim_end_matches('/').to_owned();
        let ws = match http.strip_prefix("https://") {
            Some(rest) => format!("wss://{rest}"),
            None => format!("ws://{}", http.trim_start_matches("http://")),
        };
        (http, ws)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_never_shows() {
        let config = HumeConfig::new("http://127.0.0.1:1", ApiKey::new("sk-very-secret"));
        let debug = format!("{config:?}");
        assert!(!debug.contains("sk-very-secret") && debug.contains("<redacted>"), "{debug}");
        let json = serde_json::to_string(&config).unwrap();
        assert!(!json.contains("sk-very-secret") && !json.contains("api_key"), "{json}");
        assert_eq!(format!("{}", ApiKey::new("x")), "<redacted>");
    }

    #[test]
    fn urls_and_validation() {
        let c = HumeConfig::default();
        assert_eq!(c.urls(), ("https://api.cloud.hume.ai".into(), "wss://api.cloud.hume.ai".into()));
        let c = HumeConfig::new("http://127.0.0.1:9/", ApiKey::new("k"));
        assert_eq!(c.urls().1, "ws://127.0.0.1:9");
        assert!(HumeConfig { base_url: "ftp://x".into(), ..Default::default() }.validate().is_err());
        assert!(HumeConfig { clock_scale: 0.0, ..Default::default() }.validate().is_err());
    }
}
