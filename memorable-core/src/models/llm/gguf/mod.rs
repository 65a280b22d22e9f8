//! The local generator: a llama-architecture GGUF (SmolLM2-135M-Instruct by default; any
//! TinyLlama, Mistral or Llama 2 GGUF placed in the model cache) run on the CPU by a small
//! decoder written for it ([`model`]), with the GGUF's own tokenizer ([`tokenizer`], llama.cpp's
//! rules) and chat template ([`template`]).
//!
//! Loading maps the file, repacks the weights (f32 scales beside packed quants) and starts a
//! pool of `threads` (the selection's limit). A generation allocates its own KV cache, sized
//! to the prompt plus `max_tokens` (at most the context window), so concurrent generations
//! share the weights and take turns on the pool.

pub mod file;
pub mod ggml;
pub mod model;
mod pool;
pub mod quant;
pub mod template;
pub mod tokenizer;

use std::path::Path;

use file::GgufFile;
use model::Llama;
pub use model::Session;
use pool::Pool;
use template::ChatTemplate;
use tokenizer::Tokenizer;

use super::json_guard::JsonGuard;
use super::{FinishReason, GenerateRequest, Generation, Generator, OnText, Prompt, StopWatcher};
use crate::error::{Error, Result};

/// Largest context a generation uses (the model's own window may be larger; the KV cache
/// grows with it: 30 layers × 192 × 2 × 2 bytes a token for SmolLM2).
pub const MAX_CONTEXT: usize = 8192;

/// A GGUF model ready to generate.
pub struct GgufGenerator {
    id: String,
    model: Llama,
    tokenizer: Tokenizer,
    template: ChatTemplate,
    pool: Pool,
    context: usize,
    /// Every token's bytes, made on the first JSON-mode generation (the guard tries many).
    token_bytes: std::sync::OnceLock<Vec<Vec<u8>>>,
}

impl std::fmt::Debug for GgufGenerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufGenerator")
            .field("id", &self.id)
            .field("model", &self.model.cfg)
            .field("threads", &self.pool.threads())
            .finish()
    }
}

impl GgufGenerator {
    /// Load the GGUF at `path`, naming the model `id`, running on `threads` threads.
    pub fn load(path: &Path, id: &str, threads: usize) -> Result<GgufGenerator> {
        let file = GgufFile::open(path)?;
        let tokenizer = Tokenizer::from_gguf(&file)?;
        let model = Llama::load(&file)?;
        if tokenizer.vocab_size() != model.cfg.vocab {
            return Err(Error::Model("the tokenizer and the model disagree on the vocabulary size".into()));
        }
        let token = |id: Option<u32>| id.map(|i| tokenizer.decode_special(i)).unwrap_or_default();
        let template = ChatTemplate::new(
            file.get("tokenizer.chat_template").and_then(|v| v.as_str()),
            &token(tokenizer.bos),
            &token(tokenizer.eos),
        )?;
        let context = model.cfg.context.min(MAX_CONTEXT);
        tracing::info!(
            model = id,
            layers = model.cfg.layers,
            dim = model.cfg.dim,
            weights_mb = model.weight_bytes() / (1024 * 1024),
            threads,
            "local generator loaded"
        );
        Ok(GgufGenerator {
            id: id.to_owned(),
            model,
            tokenizer,
            template,
            pool: Pool::new(threads),
            context,
            token_bytes: std::sync::OnceLock::new(),
        })
    }

    /// The token ids of `text` as the model sees it (special tokens parsed, BOS when the
    /// model asks for one).
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        self.tokenizer.encode(text, true)
    }

    /// The prompt a chat becomes.
    pub fn render_chat(&self, messages: &[super::ChatMessage]) -> Result<String> {
        self.template.render(messages)
    }

    pub fn context(&self) -> usize {
        self.context
    }

    pub fn threads(&self) -> usize {
        self.pool.threads()
    }

    /// Bytes of weights read for every decoded token (what bounds decoding by memory
    /// bandwidth).
    pub fn weight_bytes(&self) -> usize {
        self.model.weight_bytes()
    }

    /// The logits of the token that follows each prefix of `ids` from `ids[..from]` on: the
    /// first `from` tokens run as a prompt, the others one at a time, as a generation runs
    /// them (one row per prefix). What parity checks compare with another runtime's scores.
    pub fn logits(&self, ids: &[u32], from: usize) -> Result<Vec<Vec<f32>>> {
        if ids.is_empty() || ids.len() > self.context {
            return Err(Error::InvalidInput(format!("{} tokens: give 1 to {}", ids.len(), self.context)));
        }
        let mut s = Session::new(&self.model.cfg, ids.len());
        let from = from.clamp(1, ids.len());
        // The prefix as one prompt, then one token at a time, as a generation runs.
        self.feed(&mut s, &ids[..from])?;
        let mut rows = vec![s.logits.clone()];
        for id in &ids[from..] {
            self.feed(&mut s, &[*id])?;
            rows.push(s.logits.clone());
        }
        Ok(rows)
    }

    /// A KV cache for up to `capacity` tokens (capped at the context window), for [`feed`].
    ///
    /// [`feed`]: GgufGenerator::feed
    pub fn session(&self, capacity: usize) -> Session {
        Session::new(&self.model.cfg, capacity.min(self.context))
    }

    /// Run `ids` at the session's next positions, as a prompt (batches of [`model::BATCH`];
    /// one token is one decoding step), leaving the logits of what follows in
    /// [`Session::logits`].
    pub fn feed(&self, s: &mut Session, ids: &[u32]) -> Result<()> {
        let batches = ids.chunks(model::BATCH).count();
        for (i, batch) in ids.chunks(model::BATCH).enumerate() {
            self.model.forward(s, &self.pool, batch, i + 1 == batches)?;
        }
        Ok(())
    }
}

impl GgufGenerator {
    fn all_token_bytes(&self) -> &[Vec<u8>] {
        self.token_bytes.get_or_init(|| {
            (0..self.tokenizer.vocab_size() as u32).map(|id| self.tokenizer.token_bytes(id)).collect()
        })
    }

    /// Leave only the logits of tokens that continue the JSON `guard` has read (the most
    /// likely [`JSON_CANDIDATES`] that do, so sampling keeps its choice); false when none does.
    fn mask_to_json(&self, logits: &mut [f32], guard: &JsonGuard) -> bool {
        let bytes = self.all_token_bytes();
        let valid = |id: usize| {
            if self.tokenizer.is_eog(id as u32) {
                guard.complete()
            } else {
                guard.accepts(&bytes[id])
            }
        };
        let by_logit = |a: &usize, b: &usize| logits[*b].total_cmp(&logits[*a]).then(a.cmp(b));
        let mut order: Vec<usize> = (0..logits.len()).collect();
        // Most steps find their tokens among the best few hundred: sort those first.
        let head = order.len().min(512);
        if head < order.len() {
            order.select_nth_unstable_by(head, by_logit);
        }
        order[..head].sort_unstable_by(by_logit);
        let mut kept: Vec<usize> =
            order[..head].iter().copied().filter(|&i| valid(i)).take(JSON_CANDIDATES).collect();
        if kept.is_empty() {
            let mut rest = order[head..].to_vec();
            rest.sort_unstable_by(by_logit);
            kept.extend(rest.into_iter().filter(|&i| valid(i)).take(JSON_CANDIDATES));
        }
        if kept.is_empty() {
            return false;
        }
        let saved: Vec<f32> = kept.iter().map(|&i| logits[i]).collect();
        logits.fill(f32::NEG_INFINITY);
        for (i, v) in kept.into_iter().zip(saved) {
            logits[i] = v;
        }
        true
    }
}

/// How many JSON-valid tokens a constrained step samples among.
const JSON_CANDIDATES: usize = 64;

impl Generator for GgufGenerator {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn generate_once(&self, req: &GenerateRequest, on_text: OnText<'_>) -> Result<Generation> {
        let mut text = match &req.prompt {
            Prompt::Chat(messages) => self.template.render(messages)?,
            Prompt::Raw(p) => p.clone(),
        };
        let prefix = req.answer_prefix.as_deref().unwrap_or("");
        text.push_str(prefix);
        let ids = self.tokenizer.encode(&text, true);
        if ids.is_empty() {
            return Err(Error::EmptyText);
        }
        if ids.len() >= self.context {
            return Err(Error::InvalidInput(format!(
                "the prompt has {} tokens; the context window holds {}",
                ids.len(),
                self.context
            )));
        }
        let capacity = (ids.len() + req.max_tokens).min(self.context);
        let mut s = Session::new(&self.model.cfg, capacity);
        let _span = tracing::debug_span!("generate", model = %self.id, prompt_tokens = ids.len()).entered();
        self.feed(&mut s, &ids)?;
        let mut rng = SplitMix(req.seed);
        let mut out: Vec<u32> = Vec::new();
        let mut watcher = StopWatcher::new(&req.stop);
        // Bytes of tokens that end inside a UTF-8 character wait for the rest.
        let mut pending: Vec<u8> = Vec::new();
        let mut finish = FinishReason::Length;
        // JSON mode: only tokens that keep the answer valid JSON, and the end when it closes.
        let mut guard = req.json.then(JsonGuard::new);
        if let Some(g) = &mut guard {
            if !g.feed(prefix.as_bytes()) || g.complete() {
                return Err(Error::InvalidInput(format!(
                    "in JSON mode the answer prefix must begin a JSON object, got {prefix:?}"
                )));
            }
        }
        // The prefix is the start of the answer: streamed and returned as such.
        let (emit, _) = watcher.push(prefix);
        if !emit.is_empty() {
            on_text(emit);
        }
        loop {
            if out.len() >= req.max_tokens {
                break;
            }
            if let Some(g) = &guard {
                if !self.mask_to_json(&mut s.logits, g) {
                    break; // no token continues the JSON: the caller's check reports it
                }
            }
            let tok = sample(&mut s.logits, req.temperature, req.top_p, &mut rng);
            if self.tokenizer.is_eog(tok) {
                finish = FinishReason::Stop;
                break;
            }
            out.push(tok);
            let closed = guard.as_mut().is_some_and(|g| {
                g.feed(&self.all_token_bytes()[tok as usize]);
                g.complete()
            });
            pending.extend(self.tokenizer.token_bytes(tok));
            let valid = match std::str::from_utf8(&pending) {
                Ok(_) => pending.len(),
                Err(e) if e.error_len().is_none() => e.valid_up_to(),
                Err(_) => pending.len(),
            };
            let piece = String::from_utf8_lossy(&pending[..valid]).into_owned();
            pending.drain(..valid);
            let (emit, stopped) = watcher.push(&piece);
            let keep_going = emit.is_empty() || on_text(emit);
            if stopped || !keep_going || closed {
                finish = FinishReason::Stop;
                break;
            }
            if s.len >= s.capacity() {
                break;
            }
            self.feed(&mut s, &[tok])?;
        }
        if !pending.is_empty() {
            let tail = String::from_utf8_lossy(&pending).into_owned();
            let (emit, _) = watcher.push(&tail);
            if !emit.is_empty() {
                on_text(emit);
            }
        }
        let rest = watcher.flush().to_owned();
        if !rest.is_empty() {
            on_text(&rest);
        }
        Ok(Generation {
            text: watcher.text().to_owned(),
            prompt_tokens: ids.len(),
            completion_tokens: out.len(),
            tokens: out,
            finish_reason: finish,
            model: self.id.clone(),
        })
    }
}

/// A small deterministic random source (SplitMix64).
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The next token: the most likely one at temperature 0 (the first on ties, as llama.cpp's
/// greedy sampler), else a draw from the softmax at `temperature` restricted to the smallest
/// set of tokens whose probabilities reach `top_p`.
fn sample(logits: &mut [f32], temperature: f32, top_p: f32, rng: &mut SplitMix) -> u32 {
    let argmax = || {
        let mut best = 0;
        for (i, v) in logits.iter().enumerate() {
            if *v > logits[best] {
                best = i;
            }
        }
        best as u32
    };
    if temperature <= 0.0 {
        return argmax();
    }
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut probs: Vec<(u32, f64)> = logits
        .iter()
        .enumerate()
        .map(|(i, l)| (i as u32, (((l - max) / temperature) as f64).exp()))
        .collect();
    probs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let total: f64 = probs.iter().map(|p| p.1).sum();
    let mut kept = 0;
    let mut mass = 0.0;
    for p in &probs {
        mass += p.1 / total;
        kept += 1;
        if mass >= top_p as f64 {
            break;
        }
    }
    let probs = &probs[..kept];
    let kept_total: f64 = probs.iter().map(|p| p.1).sum();
    let mut r = rng.next_f64() * kept_total;
    for p in probs {
        r -= p.1;
        if r <= 0.0 {
            return p.0;
        }
    }
    probs.last().map_or_else(argmax, |p| p.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_takes_the_first_maximum_and_sampling_is_seeded() {
        let mut l = vec![0.1, 2.0, 2.0, -1.0];
        assert_eq!(sample(&mut l, 0.0, 1.0, &mut SplitMix(1)), 1);
        let mut r = SplitMix(7);
        let a: Vec<u32> = (0..50).map(|_| sample(&mut l.clone(), 1.0, 1.0, &mut r)).collect();
        let mut r = SplitMix(7);
        let b: Vec<u32> = (0..50).map(|_| sample(&mut l.clone(), 1.0, 1.0, &mut r)).collect();
        assert_eq!(a, b, "same seed, same draws");
        assert!(a.iter().any(|t| *t != a[0]), "temperature 1 draws more than one token");
        // A tight nucleus keeps only the top tokens.
        let mut r = SplitMix(9);
        assert!((0..50).all(|_| sample(&mut [5.0, 0.0, 0.0], 1.0, 0.5, &mut r) == 0));
    }
}
