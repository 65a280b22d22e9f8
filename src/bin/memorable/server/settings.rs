//! The server's settings file (`--config FILE`, TOML): keys and their tenants, limits, log
//! level, default ranking weights and alert rules. Everything here may change at run time
//! (SIGHUP or an edit of the file) but `max_in_flight`, reported as needing a restart; the
//! store and the listen address are command-line options. The key shape is a public
//! contract (deployment scripts write it): docs/server.md.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use memorable::{AlertRule, RankWeights};
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct SettingsFile {
    pub server: ServerSettings,
    pub recall: RecallSettings,
    /// Alert rules replacing the store's (`Memorable::set_alert_rules`); absent: the
    /// store's defaults stay.
    pub alerts: Option<AlertSettings>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct AlertSettings {
    pub rules: Vec<AlertRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ServerSettings {
    /// The `tracing` filter of the process (e.g. "info", "memorable=debug").
    pub log_level: Option<String>,
    /// Largest request body, in bytes (413 above).
    pub max_body_bytes: usize,
    /// A request that has not finished after this long answers 503 `TIMEOUT`.
    pub request_timeout_ms: u64,
    /// Requests served at once; more wait at most `queue_timeout_ms`, then answer 503
    /// `OVERLOADED` (so overload is answered quickly instead of queueing without end).
    pub max_in_flight: usize,
    pub queue_timeout_ms: u64,
    /// The default token bucket of every key (a key may set its own).
    pub rate_limit: RateLimit,
    pub keys: Vec<KeyEntry>,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            log_level: None,
            max_body_bytes: 1 << 20,
            request_timeout_ms: 30_000,
            max_in_flight: 64,
            queue_timeout_ms: 100,
            rate_limit: RateLimit::default(),
            keys: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RateLimit {
    /// Tokens added per second (sustained requests per second).
    pub per_second: f64,
    /// Bucket size (the burst a key may send at once).
    pub burst: f64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit { per_second: 50.0, burst: 100.0 }
    }
}

/// One API key: `sha256` is the lowercase hex digest of the key (`memorable keys hash`); the
/// key itself is never stored or logged.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyEntry {
    pub name: String,
    pub sha256: String,
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub user_prefix: Option<String>,
    /// This key's own token bucket (default: `[server.rate_limit]`).
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
}

/// Defaults of `POST /v1/recall` and the MCP `recall` tool.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RecallSettings {
    /// Ranking weights used when a request gives none (see `RankWeights`).
    pub weights: Option<RankWeights>,
}

impl SettingsFile {
    pub(crate) fn load(path: &Path) -> Result<SettingsFile> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("invalid settings file {}", path.display()))
    }

    pub(crate) fn parse(text: &str) -> Result<SettingsFile> {
        let s: SettingsFile = toml::from_str(text)?;
        s.validate()?;
        Ok(s)
    }

    fn validate(&self) -> Result<()> {
        let s = &self.server;
        if s.max_body_bytes == 0 || s.max_in_flight == 0 || s.request_timeout_ms == 0 {
            bail!("server.max_body_bytes, max_in_flight and request_timeout_ms must be positive");
        }
        if let Some(level) = &s.log_level {
            tracing_subscriber::EnvFilter::try_new(level)
                .with_context(|| format!("server.log_level {level:?}"))?;
        }
        let mut names = BTreeMap::new();
        for (i, k) in s.keys.iter().enumerate() {
            let at = format!("server.keys[{i}] ({:?})", k.name);
            if k.name.trim().is_empty() {
                bail!("server.keys[{i}]: name is empty");
            }
            if names.insert(k.name.as_str(), i).is_some() {
                bail!("{at}: the name is used twice");
            }
            if k.sha256.len() != 64 || !k.sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                bail!("{at}: sha256 must be 64 lowercase hex digits (`memorable keys hash`)");
            }
            if k.users.is_empty() && k.user_prefix.is_none() {
                bail!("{at}: give `users` or `user_prefix`");
            }
            if k.users.iter().any(|u| u.trim().is_empty()) || k.user_prefix.as_deref() == Some("") {
                bail!("{at}: an empty user id or prefix would let the key act for anyone");
            }
            if let Some(r) = k.rate_limit {
                if !(r.per_second >= 1e-6
                    && r.burst >= 1.0
                    && r.per_second.is_finite()
                    && r.burst.is_finite())
                {
                    bail!("{at}: rate_limit needs a finite per_second >= 1e-6 and burst >= 1");
                }
            }
        }
        let r = s.rate_limit;
        if !(r.per_second >= 1e-6 && r.burst >= 1.0 && r.per_second.is_finite() && r.burst.is_finite()) {
            bail!("server.rate_limit needs a finite per_second >= 1e-6 and burst >= 1");
        }
        Ok(())
    }

    /// Settings that changed between `self` and `new` but only apply after a restart.
    pub(crate) fn restart_needed(&self, new: &SettingsFile) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.server.max_in_flight != new.server.max_in_flight {
            out.push("server.max_in_flight");
        }
        out
    }
}

impl ServerSettings {
    pub(crate) fn key_rate(&self, k: &KeyEntry) -> RateLimit {
        k.rate_limit.unwrap_or(self.rate_limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";

    #[test]
    fn the_documented_key_shape_parses() {
        let s = SettingsFile::parse(&format!(
            "[[server.keys]]\nname = \"alice-app\"\nsha256 = \"{KEY}\"\nusers = [\"alice\"]\n\
             [[server.keys]]\nname = \"tenant-a\"\nsha256 = \"{KEY}\"\nuser_prefix = \"tenant-a/\"\n"
        ))
        .unwrap();
        assert_eq!(s.server.keys.len(), 2);
        assert_eq!(s.server.keys[1].user_prefix.as_deref(), Some("tenant-a/"));
    }

    #[test]
    fn bad_files_are_refused() {
        for bad in [
            "[server]\nmax_in_flight = 0\n",
            "[server]\nunknown = 1\n",
            "[[server.keys]]\nname = \"a\"\nsha256 = \"abc\"\nusers = [\"u\"]\n",
            &format!("[[server.keys]]\nname = \"a\"\nsha256 = \"{KEY}\"\n"),
            &format!("[[server.keys]]\nname = \"a\"\nsha256 = \"{KEY}\"\nuser_prefix = \"\"\n"),
            "[recall.weights]\nsemantic = \"high\"\n",
            "[server]\nlog_level = \"[[[\"\n",
            "not toml",
        ] {
            assert!(SettingsFile::parse(bad).is_err(), "{bad}");
        }
    }
}
