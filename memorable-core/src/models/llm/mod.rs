//! The generator role: a model that writes text, "for management and structure" — here,
//! summaries and facts written by consolidation jobs, never on the write path.
//!
//! [`Generator`] is the extension point (like [`crate::Embedder`]); backends: a local GGUF
//! model on the CPU ([`gguf`]: SmolLM2 by default, any llama-architecture GGUF), and model
//! servers ([`server`]: Ollama's API and the OpenAI-compatible one). Selection picks one per
//! configuration and profile, with fallback (see `models::select`).

pub mod config;
#[cfg(feature = "candle")]
pub mod gguf;
pub mod json_guard;
mod request;
pub mod select;
#[cfg(feature = "servers")]
pub mod server;
#[cfg(any(feature = "candle", feature = "servers"))]
mod stops;

pub use crate::models::profile::GeneratorChoice;
pub use config::ModelServerConfig;
pub use request::{ChatMessage, ChatRole, FinishReason, GenerateRequest, Generation, Prompt, MAX_TOKENS};
pub use select::GeneratorSlot;
#[cfg(any(feature = "candle", feature = "servers"))]
pub(crate) use stops::StopWatcher;

use crate::error::{Error, Result};

/// A callback that receives the text as it is generated; returning `false` stops early.
pub type OnText<'a> = &'a mut dyn FnMut(&str) -> bool;

/// Writes text. Implementations must be deterministic for a given request and seed, and
/// hold no lock across calls other than what they need to run one generation.
pub trait Generator: Send + Sync {
    /// Stable id of the model (`"smollm2"`, `"ollama:llama3.2"`, ...).
    fn model_id(&self) -> &str;

    /// One generation, streaming text pieces to `on_text`. With `request.json` the backend
    /// asks its model for JSON (servers have a JSON format option); [`generate`] checks it.
    fn generate_once(&self, request: &GenerateRequest, on_text: OnText<'_>) -> Result<Generation>;
}

/// Generate with `generator`, enforcing JSON mode: an answer that does not parse as JSON is
/// retried once with a correction, then fails with `INVALID_OUTPUT`. On success in JSON mode
/// the text is the JSON value alone (any prose or code fence around it removed).
pub fn generate(
    generator: &dyn Generator,
    request: &GenerateRequest,
    on_text: OnText<'_>,
) -> Result<Generation> {
    request.validate()?;
    let mut g = generator.generate_once(request, on_text)?;
    if !request.json {
        return Ok(g);
    }
    if let Some(json) = extract_json(&g.text) {
        g.text = json;
        return Ok(g);
    }
    tracing::info!(model = generator.model_id(), "answer was not JSON; retrying once");
    let first = g.text.clone();
    let retry = correction(request, &first);
    let mut again = generator.generate_once(&retry, on_text)?;
    match extract_json(&again.text) {
        Some(json) => {
            again.text = json;
            again.prompt_tokens += g.prompt_tokens;
            again.completion_tokens += g.completion_tokens;
            Ok(again)
        }
        // The answer itself stays out of the message: it may repeat what a user said.
        None => Err(Error::InvalidOutput(format!(
            "{} answered with text that is not JSON, twice (the last: {} characters, finish reason {})",
            generator.model_id(),
            again.text.chars().count(),
            again.finish_reason
        ))),
    }
}

/// The request asking again, with the invalid answer and what was wrong with it.
fn correction(request: &GenerateRequest, answer: &str) -> GenerateRequest {
    const FIX: &str = "That answer was not valid JSON. Reply again with only the JSON value, nothing else.";
    let mut retry = request.clone();
    retry.prompt = match &request.prompt {
        Prompt::Chat(messages) => {
            let mut m = messages.clone();
            m.push(ChatMessage::assistant(answer));
            m.push(ChatMessage::user(FIX));
            Prompt::Chat(m)
        }
        Prompt::Raw(p) => Prompt::Raw(format!("{p}{answer}\n\n{FIX}\n")),
    };
    // A different seed, so a sampled retry is not the same draw.
    retry.seed = request.seed.wrapping_add(1);
    retry
}

/// The first JSON object or array in `text` (models wrap JSON in prose or ``` fences), as
/// compact text; `None` when there is none.
pub fn extract_json(text: &str) -> Option<String> {
    for (i, c) in text.char_indices() {
        if c == '{' || c == '[' {
            let mut stream = serde_json::Deserializer::from_str(&text[i..]).into_iter::<serde_json::Value>();
            if let Some(Ok(v)) = stream.next() {
                if v.is_object() || v.is_array() {
                    return Some(v.to_string());
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Answers from a script, one per call.
    struct Scripted(Mutex<Vec<&'static str>>);

    impl Generator for Scripted {
        fn model_id(&self) -> &str {
            "scripted"
        }
        fn generate_once(&self, r: &GenerateRequest, on_text: OnText<'_>) -> Result<Generation> {
            let text = self.0.lock().unwrap().remove(0);
            on_text(text);
            let mut g = Generation::new(text.into(), FinishReason::Stop, "scripted");
            g.prompt_tokens = match &r.prompt {
                Prompt::Chat(m) => m.len(),
                Prompt::Raw(_) => 1,
            };
            Ok(g)
        }
    }

    #[test]
    fn json_mode_extracts_retries_once_then_fails() {
        let req = GenerateRequest::chat(vec![ChatMessage::user("facts?")]).json(true);
        let g = Scripted(Mutex::new(vec!["Sure! ```json\n{\"a\": [1, 2]}\n```"]));
        assert_eq!(generate(&g, &req, &mut |_| true).unwrap().text, r#"{"a":[1,2]}"#);
        let g = Scripted(Mutex::new(vec!["no json here", "[\"ok\"]"]));
        let out = generate(&g, &req, &mut |_| true).unwrap();
        assert_eq!(out.text, r#"["ok"]"#);
        assert_eq!(out.prompt_tokens, 1 + 3, "the retry carries the answer and the correction");
        let g = Scripted(Mutex::new(vec!["nope", "still nope", "never asked"]));
        let e = generate(&g, &req, &mut |_| true).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidOutput);
        assert_eq!(g.0.lock().unwrap().len(), 1, "exactly one retry");
    }

    #[test]
    fn requests_are_validated() {
        assert_eq!(GenerateRequest::raw("").validate().unwrap_err().code(), crate::ErrorCode::EmptyText);
        let r = GenerateRequest::raw("x").max_tokens(0);
        assert_eq!(r.validate().unwrap_err().code(), crate::ErrorCode::InvalidInput);
        assert!(GenerateRequest::raw("x").temperature(f32::NAN).validate().is_err());
        assert!(GenerateRequest::raw("x").top_p(0.0).validate().is_err());
        assert!(GenerateRequest::raw("x").stop([""]).validate().is_err());
        assert!(GenerateRequest::chat(vec![]).validate().is_err());
    }

    #[test]
    fn requests_from_json_in_either_shape() {
        let flat =
            GenerateRequest::from_json(r#"{"prompt": "hi", "system": "be brief", "max_tokens": 5}"#).unwrap();
        assert_eq!(flat.prompt, Prompt::Chat(vec![ChatMessage::system("be brief"), ChatMessage::user("hi")]));
        assert_eq!(flat.max_tokens, 5);
        let raw = GenerateRequest::from_json(r#"{"prompt": "1, 2,", "raw": true, "json": false}"#).unwrap();
        assert_eq!(raw.prompt, Prompt::Raw("1, 2,".into()));
        let msgs = GenerateRequest::from_json(r#"{"messages": [{"role": "user", "content": "x"}]}"#).unwrap();
        assert_eq!(msgs.prompt, Prompt::Chat(vec![ChatMessage::user("x")]));
        let core = GenerateRequest::from_json(r#"{"prompt": {"raw": "y"}, "seed": 3}"#).unwrap();
        assert_eq!((core.prompt, core.seed), (Prompt::Raw("y".into()), 3));
        for bad in [
            "not json",
            "[1]",
            r#"{"prompt": 3}"#,
            r#"{"prompt": "a", "messages": [{"role": "user", "content": "b"}]}"#,
            r#"{"prompt": "a", "max_token": 5}"#,
            r#"{"messages": [{"role": "wizard", "content": "b"}]}"#,
            "{}",
        ] {
            assert_eq!(
                GenerateRequest::from_json(bad).unwrap_err().code(),
                crate::ErrorCode::InvalidInput,
                "{bad}"
            );
        }
    }

    #[test]
    fn requests_from_the_parts_bindings_take() {
        let p = |s: &str| Some(s.to_owned());
        let chat = GenerateRequest::from_parts(p("hi"), None, false, p("be brief")).unwrap();
        assert_eq!(chat.prompt, Prompt::Chat(vec![ChatMessage::system("be brief"), ChatMessage::user("hi")]));
        assert_eq!(
            GenerateRequest::from_parts(p("hi"), None, true, None).unwrap().prompt,
            Prompt::Raw("hi".into())
        );
        let m = Some(vec![ChatMessage::user("x")]);
        assert_eq!(
            GenerateRequest::from_parts(None, m.clone(), false, None).unwrap().prompt,
            Prompt::Chat(m.clone().unwrap())
        );
        for bad in [
            GenerateRequest::from_parts(p("a"), m.clone(), false, None),
            GenerateRequest::from_parts(None, None, false, None),
            GenerateRequest::from_parts(None, m.clone(), true, None),
            GenerateRequest::from_parts(None, m, false, p("s")),
            GenerateRequest::from_parts(p("a"), None, true, p("s")),
        ] {
            assert_eq!(bad.unwrap_err().code(), crate::ErrorCode::InvalidInput);
        }
    }
}
