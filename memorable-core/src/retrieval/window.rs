//! Time windows: `short` / `medium` / `long` (20 min / 1 h / 24 h by default, set in
//! [`WindowConfig`]) or any number of seconds, always measured back from an anchor instant
//! (now, unless the caller gives one).
//!
//! Boundaries: a window of length `d` anchored at `at` holds the memories with
//! `at - d <= occurred_at <= at` — both ends inclusive, so a memory stored "just now" is in
//! every window and one exactly `d` old is still in. Times are compared in whole
//! milliseconds (the store's resolution). An explicit range (`since` / `until` on a
//! [`crate::Recall`]) stays half-open, `[since, until)`; a request with both a window and a
//! range gets their intersection.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::WindowConfig;
use crate::error::{Error, Result};
use crate::time::to_ms;

/// A window of time ending at an anchor instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeWindow {
    /// [`WindowConfig::short_secs`] (20 minutes by default).
    Short,
    /// [`WindowConfig::medium_secs`] (1 hour by default).
    Medium,
    /// [`WindowConfig::long_secs`] (24 hours by default).
    Long,
    /// Any length, in seconds (at least 1).
    Seconds(u64),
}

impl TimeWindow {
    /// The window's length in seconds under `cfg`.
    pub fn seconds(self, cfg: &WindowConfig) -> u64 {
        match self {
            TimeWindow::Short => cfg.short_secs,
            TimeWindow::Medium => cfg.medium_secs,
            TimeWindow::Long => cfg.long_secs,
            TimeWindow::Seconds(s) => s,
        }
    }

    /// Parse `"short"`, `"medium"`, `"long"` or a number of seconds (`"90"`, `"90s"`),
    /// as the bindings and the CLI accept them.
    pub fn parse(s: &str) -> Result<TimeWindow> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "short" => return Ok(TimeWindow::Short),
            "medium" => return Ok(TimeWindow::Medium),
            "long" => return Ok(TimeWindow::Long),
            _ => {}
        }
        let digits = t.strip_suffix('s').unwrap_or(&t);
        match digits.parse::<u64>() {
            Ok(n) if n > 0 => Ok(TimeWindow::Seconds(n)),
            _ => Err(Error::InvalidInput(format!(
                "time window must be \"short\", \"medium\", \"long\" or a positive number of seconds, got {s:?}"
            ))),
        }
    }

    /// A window of `secs` seconds, as a binding receives one (a JS number, a Python int, a
    /// C integer): a whole number, at least 1.
    pub fn from_secs(secs: f64) -> Result<TimeWindow> {
        if secs.is_finite() && secs >= 1.0 && secs.fract() == 0.0 && secs <= u64::MAX as f64 {
            Ok(TimeWindow::Seconds(secs as u64))
        } else {
            Err(Error::InvalidInput(format!(
                "a time window must be a positive whole number of seconds, got {secs}"
            )))
        }
    }

    /// The window anchored at `at` as store bounds `[since, until)` in unix milliseconds
    /// (`until` is one millisecond past `at`, which makes the end inclusive).
    pub(crate) fn bounds(self, at: OffsetDateTime, cfg: &WindowConfig) -> Result<(i64, i64)> {
        let secs = self.seconds(cfg);
        if secs == 0 {
            return Err(Error::InvalidInput("a time window must be at least one second long".into()));
        }
        let end = to_ms(at);
        let len = i64::try_from(secs).ok().and_then(|s| s.checked_mul(1000)).unwrap_or(i64::MAX);
        Ok((end.saturating_sub(len), end.saturating_add(1)))
    }
}

impl std::fmt::Display for TimeWindow {
    /// `"short"`, `"medium"`, `"long"` or `"<n>s"`: what [`TimeWindow::parse`] reads back.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeWindow::Short => f.write_str("short"),
            TimeWindow::Medium => f.write_str("medium"),
            TimeWindow::Long => f.write_str("long"),
            TimeWindow::Seconds(n) => write!(f, "{n}s"),
        }
    }
}

impl std::str::FromStr for TimeWindow {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        TimeWindow::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_bounds() {
        assert_eq!(TimeWindow::parse("Short").unwrap(), TimeWindow::Short);
        assert_eq!(TimeWindow::parse("90s").unwrap(), TimeWindow::Seconds(90));
        assert!(TimeWindow::parse("0").is_err());
        assert!(TimeWindow::parse("soon").is_err());
        let cfg = WindowConfig::default();
        let at = OffsetDateTime::from_unix_timestamp(10_000).unwrap();
        assert_eq!(TimeWindow::Short.bounds(at, &cfg).unwrap(), (10_000_000 - 1_200_000, 10_000_001));
        let json = serde_json::to_string(&TimeWindow::Seconds(5)).unwrap();
        assert_eq!(json, r#"{"seconds":5}"#);
        assert_eq!(serde_json::from_str::<TimeWindow>("\"long\"").unwrap(), TimeWindow::Long);
    }
}
