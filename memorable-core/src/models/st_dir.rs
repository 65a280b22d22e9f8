//! What both BERT embedders read from a sentence-transformers directory besides the
//! weights: the tokenizer (truncating at the model's `max_seq_length`, no padding) and that
//! limit itself (`sentence_bert_config.json`, capped by BERT's position table).

use std::path::Path;

use tokenizers::{PaddingParams, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::error::{Error, Result};

pub(crate) fn model_err(dir: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Model(format!("{what} in {}: {e}", dir.display()))
}

/// The tokenizer of a sentence-transformers model, set up as sentence-transformers runs it.
pub(crate) struct StTokenizer {
    tokenizer: Tokenizer,
    max_seq_length: usize,
}

impl StTokenizer {
    /// Load `tokenizer.json`; `max_positions` is the model's position-table size.
    pub fn load(dir: &Path, max_positions: usize) -> Result<StTokenizer> {
        // sentence-transformers' own limit (256 for MiniLM) is below BERT's position table.
        let max_seq_length = match std::fs::read_to_string(dir.join("sentence_bert_config.json")) {
            Ok(s) => serde_json::from_str::<serde_json::Value>(&s)
                .map_err(|e| model_err(dir, "parsing sentence_bert_config.json", e))?
                .get("max_seq_length")
                .and_then(|v| v.as_u64())
                .map_or(max_positions, |n| n as usize),
            Err(_) => max_positions,
        }
        .min(max_positions);
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| model_err(dir, "loading tokenizer.json", e))?;
        // The shipped tokenizer pads and truncates to a fixed 128; we truncate at the
        // model's limit and never pad (batches are packed or padded by the embedder).
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_seq_length,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| model_err(dir, "configuring truncation", e))?;
        tokenizer.with_padding(None::<PaddingParams>);
        Ok(StTokenizer { tokenizer, max_seq_length })
    }

    pub fn max_seq_length(&self) -> usize {
        self.max_seq_length
    }

    /// Token ids of one text after truncation (special tokens included); empty or
    /// whitespace-only text is [`Error::EmptyText`].
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        if text.trim().is_empty() {
            return Err(Error::EmptyText);
        }
        let enc =
            self.tokenizer.encode_fast(text, true).map_err(|e| Error::Model(format!("tokenizing: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }
}
