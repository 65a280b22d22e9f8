//! Ollama's native API: `/api/chat` and `/api/generate` (NDJSON streaming, `format: "json"`),
//! `/api/embed`, `/api/tags`.

use serde_json::{json, Value};

use super::{embedding, parse_line, probe_dim, Client};
use crate::error::{Error, Result};
use crate::models::llm::config::ModelServerConfig;
use crate::models::llm::{FinishReason, GenerateRequest, Generation, Generator, OnText, Prompt, StopWatcher};
use crate::models::Embedder;

/// A model served by Ollama.
#[derive(Debug)]
pub struct OllamaGenerator {
    client: Client,
    model: String,
    id: String,
}

impl OllamaGenerator {
    pub fn new(model: &str, cfg: &ModelServerConfig) -> OllamaGenerator {
        OllamaGenerator {
            client: Client::new(&cfg.ollama_url, "Ollama", cfg),
            model: model.to_owned(),
            id: format!("ollama:{model}"),
        }
    }
}

/// Ollama's `options` for a request.
fn options(r: &GenerateRequest) -> Value {
    let mut o = json!({
        "temperature": r.temperature,
        "top_p": r.top_p,
        "seed": r.seed,
        "num_predict": r.max_tokens,
    });
    if !r.stop.is_empty() {
        o["stop"] = json!(r.stop);
    }
    o
}

impl Generator for OllamaGenerator {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn generate_once(&self, r: &GenerateRequest, on_text: OnText<'_>) -> Result<Generation> {
        let (path, mut body) = match &r.prompt {
            Prompt::Chat(messages) => (
                "/api/chat",
                json!({ "model": self.model, "messages": messages, "stream": true, "options": options(r) }),
            ),
            Prompt::Raw(p) => (
                "/api/generate",
                json!({ "model": self.model, "prompt": p, "raw": true, "stream": true, "options": options(r) }),
            ),
        };
        if r.json {
            body["format"] = json!("json");
        }
        let mut lines = self.client.request(path, Some(&body))?;
        let mut watcher = StopWatcher::new(&r.stop);
        let mut g = Generation::new(String::new(), FinishReason::Stop, &self.id);
        let mut done = false;
        let mut stopped = false;
        while let Some(line) = lines.next_line()? {
            let v = parse_line(&line, self.client.what())?;
            if let Some(e) = v.get("error").and_then(Value::as_str) {
                return Err(Error::ServerUnavailable(format!(
                    "{} failed while generating: {e}",
                    self.client.what()
                )));
            }
            let piece = v["message"]["content"].as_str().or_else(|| v["response"].as_str()).unwrap_or("");
            if !stopped {
                let (emit, s) = watcher.push(piece);
                if !emit.is_empty() && !on_text(emit) {
                    stopped = true;
                }
                stopped |= s;
            }
            if v["done"].as_bool() == Some(true) {
                g.prompt_tokens = v["prompt_eval_count"].as_u64().unwrap_or(0) as usize;
                g.completion_tokens = v["eval_count"].as_u64().unwrap_or(0) as usize;
                g.finish_reason = match v["done_reason"].as_str() {
                    Some("length") => FinishReason::Length,
                    _ => FinishReason::Stop,
                };
                done = true;
                break;
            }
        }
        if !done {
            return Err(Error::ServerProtocol(format!(
                "{} ended its stream without a final message",
                self.client.what()
            )));
        }
        if !stopped {
            let rest = watcher.flush().to_owned();
            if !rest.is_empty() {
                on_text(&rest);
            }
        } else {
            g.finish_reason = FinishReason::Stop;
        }
        g.text = watcher.text().to_owned();
        Ok(g)
    }
}

/// Models installed on an Ollama server (`/api/tags`).
pub fn list_models(cfg: &ModelServerConfig) -> Result<Vec<String>> {
    let c = Client::new(&cfg.ollama_url, "Ollama", cfg);
    let v = c.json("/api/tags", None)?;
    Ok(v["models"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["name"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default())
}

/// Embeddings from an Ollama model (`/api/embed`), normalized to unit length.
#[derive(Debug)]
pub struct OllamaEmbedder {
    client: Client,
    model: String,
    id: String,
    dim: usize,
}

impl OllamaEmbedder {
    /// Connect and learn the model's dimension from one probe embedding.
    pub fn new(model: &str, cfg: &ModelServerConfig) -> Result<OllamaEmbedder> {
        let mut e = OllamaEmbedder {
            client: Client::new(&cfg.ollama_url, "Ollama", cfg),
            model: model.to_owned(),
            id: format!("ollama:{model}"),
            dim: 0,
        };
        e.dim = probe_dim(&e.client, |t| e.embed_raw(t))?;
        Ok(e)
    }

    fn embed_raw(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let v = self.client.json("/api/embed", Some(&json!({ "model": self.model, "input": texts })))?;
        let rows = v["embeddings"].as_array().ok_or_else(|| {
            Error::ServerProtocol(format!("{} answered /api/embed without embeddings", self.client.what()))
        })?;
        rows.iter().map(|r| embedding(r, self.client.what())).collect()
    }
}

impl Embedder for OllamaEmbedder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embed_raw(texts)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn model_id(&self) -> &str {
        &self.id
    }
}
