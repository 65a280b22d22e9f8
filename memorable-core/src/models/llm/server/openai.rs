//! The OpenAI-compatible API: `/chat/completions` and `/completions` with SSE streaming,
//! `/embeddings`, `/models` (paths under the configured base URL, which carries `/v1`).

use serde_json::json;

use super::{embedding, parse_line, probe_dim, Client};
use crate::error::{Error, Result};
use crate::models::llm::config::ModelServerConfig;
use crate::models::llm::{FinishReason, GenerateRequest, Generation, Generator, OnText, Prompt, StopWatcher};
use crate::models::Embedder;

/// A model served by an OpenAI-compatible server.
#[derive(Debug)]
pub struct OpenAiGenerator {
    client: Client,
    model: String,
    id: String,
}

impl OpenAiGenerator {
    pub fn new(model: &str, cfg: &ModelServerConfig) -> OpenAiGenerator {
        OpenAiGenerator {
            client: Client::new(&cfg.openai_url, "the OpenAI-compatible server", cfg),
            model: model.to_owned(),
            id: format!("openai:{model}"),
        }
    }
}

impl Generator for OpenAiGenerator {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn generate_once(&self, r: &GenerateRequest, on_text: OnText<'_>) -> Result<Generation> {
        let mut body = json!({
            "model": self.model,
            "max_tokens": r.max_tokens,
            "temperature": r.temperature,
            "top_p": r.top_p,
            "seed": r.seed,
            "stream": true,
            // OpenAI and vLLM then end the stream with the token counts; servers that ignore it
            // (llama-cpp-python) are counted by their chunks, one token each.
            "stream_options": { "include_usage": true },
        });
        if !r.stop.is_empty() {
            body["stop"] = json!(r.stop);
        }
        let path = match &r.prompt {
            Prompt::Chat(messages) => {
                body["messages"] = json!(messages);
                if r.json {
                    body["response_format"] = json!({ "type": "json_object" });
                }
                "/chat/completions"
            }
            Prompt::Raw(p) => {
                body["prompt"] = json!(p);
                "/completions"
            }
        };
        let mut lines = self.client.request(path, Some(&body))?;
        let mut watcher = StopWatcher::new(&r.stop);
        let mut g = Generation::new(String::new(), FinishReason::Stop, &self.id);
        let mut finished = false;
        let mut stopped = false;
        let mut usage = false;
        let mut chunks = 0;
        while let Some(line) = lines.next_line()? {
            // Server-sent events: `data: {...}` lines, comments (`: ping`) and other fields.
            let Some(data) = line.strip_prefix("data:") else { continue };
            let data = data.trim();
            if data == "[DONE]" {
                finished = true;
                break;
            }
            let v = parse_line(data, self.client.what())?;
            if let Some(e) = v.get("error") {
                let m = e["message"].as_str().or(e.as_str()).unwrap_or("an error");
                return Err(Error::ServerUnavailable(format!(
                    "{} failed while generating: {m}",
                    self.client.what()
                )));
            }
            if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
                g.prompt_tokens = u["prompt_tokens"].as_u64().unwrap_or(0) as usize;
                g.completion_tokens = u["completion_tokens"].as_u64().unwrap_or(0) as usize;
                usage = true;
            }
            let Some(choice) = v["choices"].get(0) else { continue };
            let piece = choice["delta"]["content"].as_str().or_else(|| choice["text"].as_str()).unwrap_or("");
            chunks += usize::from(!piece.is_empty());
            if !stopped {
                let (emit, s) = watcher.push(piece);
                if !emit.is_empty() && !on_text(emit) {
                    stopped = true;
                }
                stopped |= s;
            }
            match choice["finish_reason"].as_str() {
                Some("length") => g.finish_reason = FinishReason::Length,
                Some(_) => g.finish_reason = FinishReason::Stop,
                None => {}
            }
        }
        if !finished {
            return Err(Error::ServerProtocol(format!(
                "{} ended its stream without [DONE]",
                self.client.what()
            )));
        }
        if stopped {
            g.finish_reason = FinishReason::Stop;
        } else {
            let rest = watcher.flush().to_owned();
            if !rest.is_empty() {
                on_text(&rest);
            }
        }
        g.text = watcher.text().to_owned();
        if !usage {
            g.completion_tokens = chunks;
        }
        Ok(g)
    }
}

/// Models the server offers (`/models`).
pub fn list_models(cfg: &ModelServerConfig) -> Result<Vec<String>> {
    let c = Client::new(&cfg.openai_url, "the OpenAI-compatible server", cfg);
    let v = c.json("/models", None)?;
    Ok(v["data"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default())
}

/// Embeddings from an OpenAI-compatible server (`/embeddings`), normalized to unit length.
#[derive(Debug)]
pub struct OpenAiEmbedder {
    client: Client,
    model: String,
    id: String,
    dim: usize,
}

impl OpenAiEmbedder {
    /// Connect and learn the model's dimension from one probe embedding.
    pub fn new(model: &str, cfg: &ModelServerConfig) -> Result<OpenAiEmbedder> {
        let mut e = OpenAiEmbedder {
            client: Client::new(&cfg.openai_url, "the OpenAI-compatible server", cfg),
            model: model.to_owned(),
            id: format!("openai:{model}"),
            dim: 0,
        };
        e.dim = probe_dim(&e.client, |t| e.embed_raw(t))?;
        Ok(e)
    }

    fn embed_raw(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let v = self.client.json("/embeddings", Some(&json!({ "model": self.model, "input": texts })))?;
        let data = v["data"].as_array().ok_or_else(|| {
            Error::ServerProtocol(format!("{} answered /embeddings without data", self.client.what()))
        })?;
        let mut out = vec![Vec::new(); texts.len()];
        for (i, d) in data.iter().enumerate() {
            let at = d["index"].as_u64().map_or(i, |x| x as usize);
            let v = embedding(&d["embedding"], self.client.what())?;
            if let Some(slot) = out.get_mut(at) {
                *slot = v;
            }
        }
        if out.iter().any(Vec::is_empty) {
            return Err(Error::ServerProtocol(format!(
                "{} answered /embeddings without an embedding for every input",
                self.client.what()
            )));
        }
        Ok(out)
    }
}

impl Embedder for OpenAiEmbedder {
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
