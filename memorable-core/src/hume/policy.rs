//! The decisions of Hume's SDKs, as pure functions (protocol notes §5.1): which endings of a
//! realtime connection are reconnected, the jittered backoff schedule with its attempt cap
//! and reset, which handshake and HTTP failures are retried, and how long to wait for an
//! HTTP retry (`retry-after-ms`, `Retry-After`, `X-RateLimit-Reset`, else 1 s × 2^n).

use super::config::ReconnectPolicy;

/// How a realtime connection ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ending {
    /// The close code, or `None` when the socket ended without a close frame (1006) or the
    /// keep-alive failed.
    pub close_code: Option<u16>,
    /// `session.closed`'s `reason`, if one arrived.
    pub closed_reason: Option<String>,
    /// The `code` of the last `error` message that ended the session, if any.
    pub fatal_error: Option<String>,
}

impl Ending {
    /// Whether Hume's SDK reconnects after this ending.
    pub fn reconnects(&self) -> bool {
        if self.closed_reason.as_deref() == Some("server_shutdown") {
            return true; // even with 1000
        }
        if matches!(
            self.fatal_error.as_deref(),
            Some("config_invalid" | "message_too_large" | "message_invalid")
        ) {
            return false; // needs a change on the caller's side
        }
        match self.close_code {
            None | Some(1001 | 1006 | 1011 | 1012 | 1013) => true,
            Some(1008) => self.fatal_error.as_deref() == Some("internal_error"),
            Some(_) => false,
        }
    }

    /// A short description for events and errors.
    pub fn describe(&self) -> String {
        let code = self.close_code.map_or("1006 (no close frame)".to_owned(), |c| c.to_string());
        let mut s = format!("close {code}");
        if let Some(r) = &self.closed_reason {
            s.push_str(&format!(", session.closed {r}"));
        }
        if let Some(e) = &self.fatal_error {
            s.push_str(&format!(", error {e}"));
        }
        s
    }
}

/// Whether a failed handshake is retried: network errors and timeouts (`None`), 408, 429
/// and 5xx; any other status (401, 403, 404, ...) fails at once.
pub fn handshake_retryable(status: Option<u16>) -> bool {
    match status {
        None => true,
        Some(s) => s == 408 || s == 429 || s >= 500,
    }
}

/// Whether an HTTP (upload) status is retried.
pub fn http_retryable(status: u16) -> bool {
    matches!(status, 408 | 409 | 429) || status >= 500
}

/// A small deterministic generator for jitter (xorshift64*).
#[derive(Debug, Clone)]
pub struct Jitter(u64);

impl Jitter {
    pub fn new(seed: Option<u64>) -> Jitter {
        let seed = seed.unwrap_or_else(|| {
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            t.as_nanos() as u64 ^ (std::process::id() as u64) << 32
        });
        // splitmix64 spreads nearby seeds (0, 1, 2, ...) over the whole state space.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Jitter((z ^ (z >> 31)) | 1)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The reconnect schedule of one session.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: ReconnectPolicy,
    jitter: Jitter,
    /// Attempts in a row so far.
    attempts: u32,
    first_ms: f64,
}

impl Backoff {
    pub fn new(policy: ReconnectPolicy, seed: Option<u64>) -> Backoff {
        Backoff { policy, jitter: Jitter::new(seed), attempts: 0, first_ms: 0.0 }
    }

    /// The delay before the next attempt (ms), or `None` once `max_attempts` in a row are
    /// spent.
    pub fn next_delay_ms(&mut self) -> Option<u64> {
        if self.attempts >= self.policy.max_attempts {
            return None;
        }
        let p = &self.policy;
        if self.attempts == 0 {
            let span = (p.first_delay_max_ms - p.first_delay_min_ms) as f64;
            self.first_ms = p.first_delay_min_ms as f64 + span * self.jitter.next_f64();
        }
        let delay = self.first_ms * p.factor.powi(self.attempts as i32);
        self.attempts += 1;
        Some(delay.min(p.max_delay_ms as f64).round() as u64)
    }

    /// A connection that stayed up `uptime_ms` ended: reset the count if it was stable.
    pub fn connection_ended(&mut self, uptime_ms: u64) {
        if uptime_ms >= self.policy.stable_after_ms {
            self.attempts = 0;
        }
    }

    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

/// The wait before HTTP retry `n` (0-based) in ms: the server's `retry-after-ms`, else
/// `Retry-After` (seconds), else `X-RateLimit-Reset` (Unix seconds), else 1 s × 2^n with
/// ±20 % jitter; at most 60 s.
pub fn http_retry_delay_ms(n: u32, header: impl Fn(&str) -> Option<String>, jitter: &mut Jitter) -> u64 {
    const CAP_MS: f64 = 60_000.0;
    let parse =
        |h: &str| header(h).and_then(|v| v.trim().parse::<f64>().ok()).filter(|v| v.is_finite() && *v >= 0.0);
    let ms = if let Some(ms) = parse("retry-after-ms") {
        ms
    } else if let Some(s) = parse("retry-after") {
        s * 1000.0
    } else if let Some(reset) = parse("x-ratelimit-reset") {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        (reset - now.as_secs_f64()).max(0.0) * 1000.0
    } else {
        let base = 1000.0 * 2f64.powi(n as i32);
        base * (0.8 + 0.4 * jitter.next_f64())
    };
    ms.min(CAP_MS).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ending(code: Option<u16>, reason: Option<&str>, error: Option<&str>) -> Ending {
        Ending { close_code: code, closed_reason: reason.map(Into::into), fatal_error: error.map(Into::into) }
    }

    #[test]
    fn which_endings_reconnect() {
        for code in [None, Some(1001), Some(1006), Some(1011), Some(1012), Some(1013)] {
            assert!(ending(code, None, None).reconnects(), "{code:?}");
        }
        assert!(!ending(Some(1000), None, None).reconnects());
        assert!(!ending(Some(1000), Some("client_request"), None).reconnects());
        assert!(!ending(Some(1000), Some("idle_timeout"), None).reconnects());
        assert!(ending(Some(1000), Some("server_shutdown"), None).reconnects());
        assert!(ending(Some(1008), Some("error"), Some("internal_error")).reconnects());
        assert!(!ending(Some(1008), Some("error"), Some("config_invalid")).reconnects());
        assert!(!ending(Some(1008), Some("error"), Some("message_too_large")).reconnects());
        assert!(!ending(Some(1008), None, None).reconnects());
        // Even a dropped socket is not retried after an error that needs the caller's fix.
        assert!(!ending(None, None, Some("config_invalid")).reconnects());
    }

    #[test]
    fn handshake_and_http_statuses() {
        assert!(handshake_retryable(None));
        for s in [408, 429, 500, 502, 503] {
            assert!(handshake_retryable(Some(s)), "{s}");
        }
        for s in [400, 401, 403, 404] {
            assert!(!handshake_retryable(Some(s)), "{s}");
        }
        assert!(http_retryable(409) && http_retryable(503) && !http_retryable(413) && !http_retryable(401));
    }

    #[test]
    fn schedule_is_jittered_multiplied_capped_and_limited() {
        let mut b = Backoff::new(ReconnectPolicy::default(), Some(7));
        let delays: Vec<u64> = std::iter::from_fn(|| b.next_delay_ms()).collect();
        assert_eq!(delays.len(), 30);
        assert!((1000..=5000).contains(&delays[0]), "{delays:?}");
        let first = delays[0] as f64;
        for (i, &d) in delays.iter().enumerate() {
            let expected = (first * 1.3f64.powi(i as i32)).min(10_000.0);
            // (the first delay is rounded to whole ms before it is multiplied here)
            assert!((d as f64 - expected).abs() <= 1.0 + 0.001 * expected, "attempt {i}: {d} vs {expected}");
        }
        assert_eq!(*delays.last().unwrap(), 10_000);
        // A short-lived connection does not reset the count; a stable one does.
        b.connection_ended(4999);
        assert_eq!(b.next_delay_ms(), None);
        b.connection_ended(5000);
        assert_eq!(b.attempts(), 0);
        assert!(b.next_delay_ms().is_some_and(|d| (1000..=5000).contains(&d)));
        // Different seeds, different first delays (jitter).
        let firsts: std::collections::HashSet<u64> = (0..20)
            .map(|s| Backoff::new(ReconnectPolicy::default(), Some(s)).next_delay_ms().unwrap())
            .collect();
        assert!(firsts.len() > 10);
    }

    #[test]
    fn http_retry_delays() {
        let mut j = Jitter::new(Some(3));
        let none = |_: &str| None;
        let d0 = http_retry_delay_ms(0, none, &mut j);
        let d2 = http_retry_delay_ms(2, none, &mut j);
        assert!((800..=1200).contains(&d0) && (3200..=4800).contains(&d2), "{d0} {d2}");
        let hdr = |name: &'static str, v: &'static str| move |h: &str| (h == name).then(|| v.to_owned());
        assert_eq!(http_retry_delay_ms(0, hdr("retry-after", "3"), &mut j), 3000);
        assert_eq!(http_retry_delay_ms(5, hdr("retry-after-ms", "250"), &mut j), 250);
        assert_eq!(http_retry_delay_ms(0, hdr("retry-after", "600"), &mut j), 60_000);
        // An HTTP date is not a number: fall back to the exponential schedule.
        assert!(http_retry_delay_ms(0, hdr("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"), &mut j) >= 800);
    }
}
