//! Signed feature hashing of normalized word unigrams and bigrams (stopwords dropped).
//!
//! No weights and no dependencies: it captures lexical overlap only, so it is the fallback
//! when no sentence-embedding model is available. The hash (FNV-1a, 64 bit) is fixed, so
//! vectors are identical on every platform and version of this `model_id`.

use super::Embedder;
use crate::error::Result;

/// Weight of a word bigram relative to a unigram.
const BIGRAM_WEIGHT: f32 = 0.5;

/// The built-in fallback embedder.
#[derive(Debug, Clone)]
pub struct HashingEmbedder {
    dim: usize,
    model_id: String,
}

impl HashingEmbedder {
    pub fn new(dim: usize) -> Self {
        HashingEmbedder { dim, model_id: format!("hashing-v1-{dim}") }
    }

    /// Embed one text (the batch call maps this over its inputs).
    pub fn embed_one(&self, text: &str) -> Vec<f32> {
        let mut v = vec![0f32; self.dim];
        let words = crate::text::content_words(text);
        for w in &words {
            self.add(&mut v, fnv1a(w.as_bytes(), FNV_OFFSET), 1.0);
        }
        for pair in words.windows(2) {
            // Hash "a b" without allocating: continue the hash of `a` over a separator and `b`.
            let h = fnv1a(pair[1].as_bytes(), fnv1a(b"\x1f", fnv1a(pair[0].as_bytes(), FNV_OFFSET)));
            self.add(&mut v, h, BIGRAM_WEIGHT);
        }
        if words.is_empty() {
            // Punctuation- or symbol-only text: hash it whole so it still has a direction.
            self.add(&mut v, fnv1a(text.trim().as_bytes(), FNV_OFFSET), 1.0);
        }
        normalize(&mut v);
        v
    }

    fn add(&self, v: &mut [f32], h: u64, w: f32) {
        let slot = (h % self.dim as u64) as usize;
        // The top bit decides the sign, so collisions cancel out on average instead of adding up.
        let sign = if h >> 63 == 0 { 1.0 } else { -1.0 };
        v[slot] += sign * w;
    }
}

impl Default for HashingEmbedder {
    fn default() -> Self {
        HashingEmbedder::new(384)
    }
}

impl Embedder for HashingEmbedder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| self.embed_one(t)).collect())
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn model_id(&self) -> &str {
        &self.model_id
    }
    fn is_fallback(&self) -> bool {
        true
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    // FNV's low bits mix poorly for short keys; a final avalanche spreads them over all slots.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

pub(crate) fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cos(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn unit_length_deterministic_and_lexical() {
        let e = HashingEmbedder::new(384);
        let a = e.embed_one("I adopted a puppy named Biscuit");
        assert!((cos(&a, &a) - 1.0).abs() < 1e-5);
        assert_eq!(a, e.embed_one("I adopted a puppy named Biscuit"));
        let near = e.embed_one("Biscuit the puppy");
        let far = e.embed_one("quarterly revenue projections");
        assert!(cos(&a, &near) > cos(&a, &far) + 0.2);
        assert_eq!(e.embed_one("Don't STOP").len(), 384);
        let sym = e.embed_one("!!!");
        assert!((cos(&sym, &sym) - 1.0).abs() < 1e-5);
    }
}
