//! What a generator is asked and what it answers: the same shapes for the local GGUF model,
//! Ollama and OpenAI-compatible servers, and every binding (serde).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Who says a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    System,
    User,
    Assistant,
}

crate::named::named_enum!(ChatRole, "role", Error::InvalidInput, {
    System => "system",
    User => "user",
    Assistant => "assistant",
});

/// One message of a chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: ChatRole,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: ChatRole, content: impl Into<String>) -> ChatMessage {
        ChatMessage { role, content: content.into() }
    }
    pub fn system(content: impl Into<String>) -> ChatMessage {
        ChatMessage::new(ChatRole::System, content)
    }
    pub fn user(content: impl Into<String>) -> ChatMessage {
        ChatMessage::new(ChatRole::User, content)
    }
    pub fn assistant(content: impl Into<String>) -> ChatMessage {
        ChatMessage::new(ChatRole::Assistant, content)
    }
}

/// The input: chat messages (rendered with the model's chat template) or a raw prompt (sent
/// as is, like llama.cpp's plain completion).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prompt {
    Chat(Vec<ChatMessage>),
    Raw(String),
}

/// A generation request. `temperature` 0 is greedy; a `seed` makes sampling repeatable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct GenerateRequest {
    pub prompt: Prompt,
    /// Most tokens to generate (default 256).
    pub max_tokens: usize,
    /// Sampling temperature; 0 (the default) is greedy.
    pub temperature: f32,
    /// Nucleus sampling: keep the most probable tokens whose probabilities sum to `top_p`.
    pub top_p: f32,
    /// Seed of the sampler (default 0): the same seed, prompt and model give the same text.
    pub seed: u64,
    /// Stop when the text produces any of these (not included in the answer).
    pub stop: Vec<String>,
    /// The answer must parse as JSON: the model is asked for JSON, the answer is checked, and
    /// an invalid one is retried once before failing with `INVALID_OUTPUT`.
    pub json: bool,
    /// Text the answer begins with, as if the model had written it (a "prefill": steers a
    /// small model into a shape, e.g. `{"summary": "`). The local generator continues it and
    /// returns it as part of the text; server backends send the request without it (their
    /// JSON format option does that work) and their answers stand alone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_prefix: Option<String>,
}

impl Default for GenerateRequest {
    fn default() -> Self {
        GenerateRequest {
            prompt: Prompt::Raw(String::new()),
            max_tokens: 256,
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
            stop: Vec::new(),
            json: false,
            answer_prefix: None,
        }
    }
}

/// Longest `max_tokens` accepted.
pub const MAX_TOKENS: usize = 32_768;

impl GenerateRequest {
    /// A chat request.
    pub fn chat(messages: Vec<ChatMessage>) -> GenerateRequest {
        GenerateRequest { prompt: Prompt::Chat(messages), ..Default::default() }
    }

    /// A raw completion request.
    pub fn raw(prompt: impl Into<String>) -> GenerateRequest {
        GenerateRequest { prompt: Prompt::Raw(prompt.into()), ..Default::default() }
    }

    /// A request from the parts the bindings and the CLI take: a `prompt` (the user's
    /// message, after an optional `system` message; with `raw`, a plain completion) or chat
    /// `messages`, not both. Inconsistent parts are `INVALID_INPUT`.
    pub fn from_parts(
        prompt: Option<String>,
        messages: Option<Vec<ChatMessage>>,
        raw: bool,
        system: Option<String>,
    ) -> Result<GenerateRequest> {
        let bad = |m: &str| Err(Error::InvalidInput(m.into()));
        match (prompt, messages) {
            (Some(_), Some(_)) => bad("give a prompt or messages, not both"),
            (None, None) => bad("give a prompt or messages"),
            (None, Some(_)) if raw => bad("raw takes a prompt, not messages"),
            (None, Some(_)) if system.is_some() => bad("put the system message in messages"),
            (None, Some(m)) => Ok(GenerateRequest::chat(m)),
            (Some(_), None) if raw && system.is_some() => bad("a raw prompt has no system message"),
            (Some(p), None) if raw => Ok(GenerateRequest::raw(p)),
            (Some(p), None) => {
                let mut m: Vec<ChatMessage> = system.map(ChatMessage::system).into_iter().collect();
                m.push(ChatMessage::user(p));
                Ok(GenerateRequest::chat(m))
            }
        }
    }

    /// A request from JSON text, in either shape: the request's own (`{"prompt": {"chat":
    /// [...]}}` or `{"prompt": {"raw": "..."}}`) or the flat one the bindings take (`{"prompt":
    /// "...", "raw": true, "system": "..."}` or `{"messages": [{"role", "content"}]}`), with
    /// `max_tokens`, `temperature`, `top_p`, `seed`, `stop`, `json`, `answer_prefix`. Bad
    /// JSON, unknown fields and inconsistent parts are `INVALID_INPUT`.
    pub fn from_json(text: &str) -> Result<GenerateRequest> {
        let bad = |e: String| Error::InvalidInput(format!("not a generation request: {e}"));
        let mut v: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let obj = v.as_object_mut().ok_or_else(|| bad("a JSON object is expected".into()))?;
        if !obj.get("prompt").is_some_and(|p| p.is_object()) {
            let prompt = match obj.remove("prompt") {
                Some(serde_json::Value::String(p)) => Some(p),
                None | Some(serde_json::Value::Null) => None,
                Some(_) => return Err(bad("\"prompt\" must be a string".into())),
            };
            let messages = obj
                .remove("messages")
                .filter(|m| !m.is_null())
                .map(serde_json::from_value::<Vec<ChatMessage>>)
                .transpose()
                .map_err(|e| bad(e.to_string()))?;
            let flag = |v: Option<serde_json::Value>| v.and_then(|v| v.as_bool()).unwrap_or(false);
            let raw = flag(obj.remove("raw"));
            let system = obj.remove("system").and_then(|s| s.as_str().map(str::to_owned));
            let parts = GenerateRequest::from_parts(prompt, messages, raw, system)?;
            obj.insert("prompt".into(), serde_json::to_value(&parts.prompt)?);
        }
        serde_json::from_value(v).map_err(|e| bad(e.to_string()))
    }

    pub fn max_tokens(mut self, n: usize) -> Self {
        self.max_tokens = n;
        self
    }
    pub fn temperature(mut self, t: f32) -> Self {
        self.temperature = t;
        self
    }
    pub fn top_p(mut self, p: f32) -> Self {
        self.top_p = p;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn stop(mut self, stop: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.stop = stop.into_iter().map(Into::into).collect();
        self
    }
    pub fn json(mut self, json: bool) -> Self {
        self.json = json;
        self
    }

    /// The answer begins with `prefix` (see [`GenerateRequest::answer_prefix`]).
    pub fn answer_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.answer_prefix = Some(prefix.into());
        self
    }

    /// Check every field; bad input is `INVALID_INPUT` and nothing is generated.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidInput(m));
        match &self.prompt {
            Prompt::Raw(p) if p.is_empty() => return Err(Error::EmptyText),
            Prompt::Chat(m) if m.is_empty() => return bad("a chat needs at least one message".into()),
            Prompt::Chat(m) if m.iter().all(|m| m.content.trim().is_empty()) => return Err(Error::EmptyText),
            _ => {}
        }
        if self.max_tokens == 0 || self.max_tokens > MAX_TOKENS {
            return bad(format!("max_tokens must be in 1..={MAX_TOKENS}, got {}", self.max_tokens));
        }
        if !self.temperature.is_finite() || !(0.0..=5.0).contains(&self.temperature) {
            return bad(format!("temperature must be in [0, 5], got {}", self.temperature));
        }
        if !self.top_p.is_finite() || self.top_p <= 0.0 || self.top_p > 1.0 {
            return bad(format!("top_p must be in (0, 1], got {}", self.top_p));
        }
        if self.stop.iter().any(String::is_empty) {
            return bad("stop sequences must not be empty".into());
        }
        Ok(())
    }
}

/// Why a generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinishReason {
    /// The model ended its answer, or a stop sequence was produced.
    Stop,
    /// `max_tokens` (or the context window) ran out.
    Length,
}

crate::named::named_enum!(FinishReason, "finish reason", Error::InvalidInput, {
    Stop => "stop",
    Length => "length",
});

/// A generated answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Generation {
    pub text: String,
    /// The generated token ids (empty for a server that does not report them).
    pub tokens: Vec<u32>,
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
    pub finish_reason: FinishReason,
    /// The model that answered (`smollm2`, `ollama:llama3`, ...).
    pub model: String,
}

impl Generation {
    pub fn new(text: String, finish_reason: FinishReason, model: impl Into<String>) -> Generation {
        Generation {
            text,
            tokens: Vec::new(),
            prompt_tokens: 0,
            completion_tokens: 0,
            finish_reason,
            model: model.into(),
        }
    }
}
