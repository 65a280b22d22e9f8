//! `Config.model_server`: where the Ollama and OpenAI-compatible servers are and how hard to
//! try them. A leaf, so the configuration can name it without the clients.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How to reach model servers (generation and, with `embedder = "ollama:..."`, embeddings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelServerConfig {
    /// Ollama's base URL (default `http://127.0.0.1:11434`).
    pub ollama_url: String,
    /// An OpenAI-compatible API's base URL, `/v1` included (default
    /// `http://127.0.0.1:8080/v1`: llama.cpp's server; vLLM, LM Studio and OpenAI's own API
    /// speak the same protocol).
    pub openai_url: String,
    /// Name of the environment variable holding the API key sent as `Authorization: Bearer`
    /// (default `MEMORABLE_LLM_API_KEY`; unset: no key). The key is read from there, never
    /// from the configuration, and never logged.
    pub api_key_env: String,
    /// The server model the `server` profile generates with under `generator = "auto"`
    /// (e.g. `"ollama:llama3.2"`); unset: the local model.
    pub generator: Option<String>,
    /// Whole-request timeout, ms (default 120,000: a long generation on a slow server).
    pub timeout_ms: u64,
    /// Connection timeout, ms (default 3,000).
    pub connect_timeout_ms: u64,
    /// Retries of a request that failed to connect or got a 5xx / 429 (default 2).
    pub retries: u32,
    /// First retry delay, ms, doubled each retry (default 250).
    pub backoff_ms: u64,
    /// Consecutive failures that open the circuit breaker (default 3): calls then fail at once
    /// (or fall back to the local generator) for `breaker_cooldown_ms`.
    pub breaker_failures: u32,
    /// How long an open breaker refuses calls before one is tried again, ms (default 30,000).
    pub breaker_cooldown_ms: u64,
}

impl Default for ModelServerConfig {
    fn default() -> Self {
        ModelServerConfig {
            ollama_url: "http://127.0.0.1:11434".into(),
            openai_url: "http://127.0.0.1:8080/v1".into(),
            api_key_env: "MEMORABLE_LLM_API_KEY".into(),
            generator: None,
            timeout_ms: 120_000,
            connect_timeout_ms: 3_000,
            retries: 2,
            backoff_ms: 250,
            breaker_failures: 3,
            breaker_cooldown_ms: 30_000,
        }
    }
}

impl ModelServerConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidConfig(m));
        for (name, url) in [("ollama_url", &self.ollama_url), ("openai_url", &self.openai_url)] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return bad(format!("model_server.{name} must be an http:// or https:// URL"));
            }
        }
        if self.timeout_ms == 0 || self.connect_timeout_ms == 0 {
            return bad("model_server timeouts must be positive".into());
        }
        if self.breaker_failures == 0 {
            return bad("model_server.breaker_failures must be at least 1".into());
        }
        if let Some(g) = &self.generator {
            if !(g.starts_with("ollama:") || g.starts_with("openai:")) {
                return bad(format!(
                    "model_server.generator must be \"ollama:<model>\" or \"openai:<model>\", got {g:?}"
                ));
            }
        }
        Ok(())
    }
}
