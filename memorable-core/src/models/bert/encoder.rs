//! The BERT encoder forward over packed (unpadded) batches: embeddings, then per layer fused
//! QKV projection, per-sequence attention read in place from the QKV rows, output projection
//! with bias + residual then LayerNorm, and the feed-forward block (bias + GELU fused, bias
//! + residual then LayerNorm) in row chunks that stay in cache.
//!
//! Parallelism (on the current rayon pool): a batch of several sequences is cut into groups
//! of whole sequences with balanced token counts, each run start to finish by one task
//! (no synchronisation inside a layer); a single sequence is run by splitting every matrix
//! product's columns and the attention heads across the pool instead.
//! Activation buffers come from a pool of scratch sets kept by the [`Encoder`], so after
//! warm-up a forward pass allocates nothing but its output.

use std::ops::Range;

use parking_lot::Mutex;
use rayon::prelude::*;

use super::gemm::{gemm_panels, panel_width, AVec, BMat, Epilogue, SendPtr};
use super::ops::{self, Isa};
use super::weights::{BertWeights, Calibration, LayerWeights};
use crate::error::{Error, Result};

/// Hidden states of a packed batch: the token rows of every sequence back to back
/// (`tokens x hidden`), no padding.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub hidden: AVec,
    /// Rows of each sequence in `hidden`, in order and contiguous.
    pub seqs: Vec<Range<usize>>,
    pub dim: usize,
}

impl Batch {
    pub fn tokens(&self) -> usize {
        self.seqs.last().map_or(0, |r| r.end)
    }
    /// The hidden states of sequence `i` (`len x dim`).
    pub fn sequence(&self, i: usize) -> &[f32] {
        let r = &self.seqs[i];
        &self.hidden[r.start * self.dim..r.end * self.dim]
    }
}

/// Rows of the feed-forward block computed at a time (its intermediate stays in L2).
const FFN_ROWS: usize = 64;
/// At most this many tokens (a query and its variants), a batch runs as one group with split
/// columns: one pass over the weights serves every sequence, instead of one pass per thread.
const SMALL_BATCH_TOKENS: usize = 48;
/// Tokens a parallel group aims for: enough rows to amortise streaming the weights.
const GROUP_TOKENS: usize = 192;

#[derive(Default)]
struct Scratch {
    qkv: AVec,
    ctx: AVec,
    h1: AVec,
    ffn: AVec,
}

#[derive(Default)]
struct AttnScratch {
    kt: AVec,
    scores: AVec,
}

/// Free scratch sets; tasks take one and give it back, so concurrent calls never share.
struct Pool<T>(Mutex<Vec<T>>);

impl<T: Default> Pool<T> {
    fn take(&self) -> T {
        self.0.lock().pop().unwrap_or_default()
    }
    fn put(&self, t: T) {
        self.0.lock().push(t);
    }
}

/// Runs a [`BertWeights`]' forward. `Send + Sync`: share it across threads.
pub struct Encoder {
    weights: BertWeights,
    isa: Isa,
    scratch: Pool<Scratch>,
    attn: Pool<AttnScratch>,
    /// Per-channel largest |input| of every linear layer, recorded while calibrating an
    /// int8 model ([`Encoder::calibrating`]); `None` otherwise.
    calibration: Option<Mutex<Calibration>>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("config", &self.weights.config).field("isa", &self.isa).finish()
    }
}

impl Encoder {
    pub fn new(weights: BertWeights) -> Encoder {
        let isa = weights.isa();
        Encoder {
            weights,
            isa,
            scratch: Pool(Mutex::new(Vec::new())),
            attn: Pool(Mutex::new(Vec::new())),
            calibration: None,
        }
    }

    /// An encoder that records, per layer, each linear layer's largest |input| per channel
    /// over everything it runs; [`Self::calibration`] returns them (what
    /// [`BertWeights::quantized`] smooths with).
    pub fn calibrating(weights: BertWeights) -> Encoder {
        let (d, inter) = (weights.config.hidden_size, weights.config.intermediate_size);
        let layers = (0..weights.num_layers()).map(|_| Calibration::layer(d, inter)).collect();
        Encoder { calibration: Some(Mutex::new(Calibration { layers })), ..Encoder::new(weights) }
    }

    /// What a calibrating encoder recorded (`None` for a plain one).
    pub fn calibration(&self) -> Option<Calibration> {
        self.calibration.as_ref().map(|c| c.lock().clone())
    }

    /// Record the rows of `x` (`width` wide) as input `which` of layer `l` (calibration only).
    fn observe(&self, l: usize, which: usize, x: &[f32], width: usize) {
        if let Some(c) = &self.calibration {
            let mut c = c.lock();
            let max = &mut c.layers[l][which];
            for row in x.chunks_exact(width) {
                for (m, v) in max.iter_mut().zip(row) {
                    *m = m.max(v.abs());
                }
            }
        }
    }

    pub fn weights(&self) -> &BertWeights {
        &self.weights
    }

    /// Token ids -> the input of layer 0 (word + position + token type 0, LayerNorm),
    /// written into `batch` (its buffer is reused when large enough).
    pub fn embed_tokens(&self, ids: &[&[u32]], batch: &mut Batch) -> Result<()> {
        let cfg = &self.weights.config;
        let d = cfg.hidden_size;
        let e = self.weights.embeddings();
        batch.dim = d;
        batch.seqs.clear();
        let mut row = 0;
        for seq in ids {
            if seq.is_empty() {
                return Err(Error::Model("an empty token sequence has no embedding".into()));
            }
            if seq.len() > cfg.max_position_embeddings {
                return Err(Error::Model(format!(
                    "{} tokens exceed the model's {} positions",
                    seq.len(),
                    cfg.max_position_embeddings
                )));
            }
            if let Some(bad) = seq.iter().find(|&&t| t as usize >= cfg.vocab_size) {
                return Err(Error::Model(format!(
                    "token id {bad} outside the vocabulary of {}",
                    cfg.vocab_size
                )));
            }
            batch.seqs.push(row..row + seq.len());
            row += seq.len();
        }
        batch.hidden.resize_scratch(row * d);
        let types = &e.token_type[..d];
        for (seq, r) in ids.iter().zip(&batch.seqs) {
            for (j, &t) in seq.iter().enumerate() {
                let out = &mut batch.hidden[(r.start + j) * d..][..d];
                let word = &e.word[t as usize * d..][..d];
                ops::add3(self.isa, out, word, &e.position[j * d..][..d], types);
            }
        }
        let eps = cfg.layer_norm_eps as f32;
        ops::layer_norm(self.isa, &mut batch.hidden, d, &e.norm.gamma, &e.norm.beta, eps);
        Ok(())
    }

    /// Run encoder layers `layers` (a sub-range of `0..num_layers`) over `batch` in place,
    /// on the current rayon pool. Running `0..k` then `k..n` equals running `0..n`, bit for
    /// bit, and a sequence's result does not depend on the rest of its batch.
    pub fn run_layers(&self, batch: &mut Batch, layers: Range<usize>) {
        self.run_layers_with(&self.weights, batch, layers)
    }

    /// [`Self::run_layers`] with another weight set of the same shapes (e.g. this model with
    /// LoRA deltas merged into some layers), reusing this encoder's scratch.
    pub fn run_layers_with(&self, weights: &BertWeights, batch: &mut Batch, layers: Range<usize>) {
        assert!(layers.end <= weights.num_layers(), "layers {layers:?} of {}", weights.num_layers());
        assert_eq!(weights.config, self.weights.config, "weight sets of different shapes");
        assert_eq!(weights.isa(), self.isa, "weight sets packed for different instruction sets");
        if layers.is_empty() || batch.seqs.is_empty() {
            return;
        }
        let threads = rayon::current_num_threads();
        let d = batch.dim;
        if batch.seqs.len() < 2 || threads < 2 || batch.tokens() <= SMALL_BATCH_TOKENS {
            // Twice as many column tasks as threads: if a thread is descheduled (a busy
            // machine), the others take over its share instead of waiting for it.
            let split = if threads < 2 { 1 } else { 2 * threads };
            self.run_group(weights, &mut batch.hidden, &batch.seqs, layers, split);
            return;
        }
        // Whole sequences per task, balanced by tokens; a multiple of the pool's threads.
        let total = batch.tokens();
        let groups = (total.div_ceil(GROUP_TOKENS).div_ceil(threads) * threads).min(batch.seqs.len());
        let mut parts: Vec<(&mut [f32], Vec<Range<usize>>)> = Vec::with_capacity(groups);
        let mut rest: &mut [f32] = &mut batch.hidden;
        let mut s = 0;
        for g in 0..groups {
            let target = total * (g + 1) / groups;
            let start = batch.seqs[s].start;
            let mut end_seq = s + 1;
            while end_seq < batch.seqs.len() - (groups - g - 1) && batch.seqs[end_seq].end <= target {
                end_seq += 1;
            }
            if g == groups - 1 {
                end_seq = batch.seqs.len();
            }
            let rows = batch.seqs[end_seq - 1].end - start;
            let (mine, tail) = std::mem::take(&mut rest).split_at_mut(rows * d);
            rest = tail;
            parts.push((
                mine,
                batch.seqs[s..end_seq].iter().map(|r| r.start - start..r.end - start).collect(),
            ));
            s = end_seq;
        }
        parts.into_par_iter().for_each(|(x, seqs)| self.run_group(weights, x, &seqs, layers.clone(), 1));
    }

    /// The layers over one group of sequences; `split` > 1 divides each product's columns and
    /// the attention heads among that many tasks.
    fn run_group(
        &self,
        w: &BertWeights,
        x: &mut [f32],
        seqs: &[Range<usize>],
        layers: Range<usize>,
        split: usize,
    ) {
        let mut s = self.scratch.take();
        for l in layers {
            self.layer(l, w.layer(l), x, seqs, &mut s, split);
        }
        self.scratch.put(s);
    }

    fn layer(
        &self,
        l: usize,
        lw: &LayerWeights,
        x: &mut [f32],
        seqs: &[Range<usize>],
        s: &mut Scratch,
        split: usize,
    ) {
        let cfg = &self.weights.config;
        let (d, inter) = (cfg.hidden_size, cfg.intermediate_size);
        let eps = cfg.layer_norm_eps as f32;
        let t = x.len() / d;
        self.observe(l, 0, x, d);
        s.qkv.resize_scratch(t * 3 * d);
        lw.qkv.apply(x, t, &mut s.qkv, Epilogue::Bias(&lw.qkv.bias), split);
        s.ctx.resize_scratch(t * d);
        self.attention(&s.qkv, &mut s.ctx, seqs, split);
        s.h1.resize_scratch(t * d);
        self.observe(l, 1, &s.ctx, d);
        lw.attn_out.apply(&s.ctx, t, &mut s.h1, Epilogue::BiasResidual(&lw.attn_out.bias, x, d), split);
        ops::layer_norm(self.isa, &mut s.h1, d, &lw.attn_norm.gamma, &lw.attn_norm.beta, eps);
        s.ffn.resize_scratch(FFN_ROWS.min(t) * inter);
        let mut r0 = 0;
        while r0 < t {
            let rows = FFN_ROWS.min(t - r0);
            let h1 = &s.h1[r0 * d..(r0 + rows) * d];
            self.observe(l, 2, h1, d);
            lw.ffn_in.apply(h1, rows, &mut s.ffn, Epilogue::BiasGelu(&lw.ffn_in.bias), split);
            self.observe(l, 3, &s.ffn[..rows * inter], inter);
            let out = &mut x[r0 * d..(r0 + rows) * d];
            lw.ffn_out.apply(&s.ffn, rows, out, Epilogue::BiasResidual(&lw.ffn_out.bias, h1, d), split);
            ops::layer_norm(self.isa, out, d, &lw.ffn_norm.gamma, &lw.ffn_norm.beta, eps);
            r0 += rows;
        }
    }

    /// Multi-head self-attention of each sequence, from the fused QKV rows into `ctx`.
    fn attention(&self, qkv: &[f32], ctx: &mut [f32], seqs: &[Range<usize>], split: usize) {
        let heads = self.weights.config.num_attention_heads;
        let out = SendPtr(ctx.as_mut_ptr());
        let run = |i: usize| {
            let mut a = self.attn.take();
            // SAFETY: each (sequence, head) writes only its rows x head columns of `ctx`.
            unsafe { self.head(qkv, out, seqs[i / heads].clone(), i % heads, &mut a) };
            self.attn.put(a);
        };
        if split > 1 {
            (0..seqs.len() * heads).into_par_iter().for_each(run);
        } else {
            (0..seqs.len() * heads).for_each(run);
        }
    }

    /// softmax(Q K^T / sqrt(dh)) V for one head of one sequence (rows `r` of `qkv`).
    unsafe fn head(&self, qkv: &[f32], ctx: SendPtr<f32>, r: Range<usize>, h: usize, a: &mut AttnScratch) {
        let cfg = &self.weights.config;
        let (d, dh) = (cfg.hidden_size, cfg.head_dim());
        let ld = 3 * d;
        let len = r.len();
        let nr = panel_width(self.isa);
        let padded = len.div_ceil(nr) * nr;
        // K^T of this head, packed as panels of nr keys ([panel][dh][nr]), zero padded.
        a.kt.resize_scratch(padded * dh);
        let kt = &mut a.kt[..];
        for j in 0..padded {
            let panel = &mut kt[(j / nr) * dh * nr..][..dh * nr];
            if j < len {
                let key = &qkv[(r.start + j) * ld + d + h * dh..][..dh];
                for (c, v) in key.iter().enumerate() {
                    panel[c * nr + j % nr] = *v;
                }
            } else {
                for c in 0..dh {
                    panel[c * nr + j % nr] = 0.0;
                }
            }
        }
        a.scores.resize_scratch(len * padded);
        let q = qkv.as_ptr().add(r.start * ld + h * dh);
        let kt_b = BMat { ptr: a.kt.as_ptr(), ldb: nr, panel_stride: dh * nr, k: dh, panels: padded / nr };
        gemm_panels(
            self.isa,
            len,
            q,
            ld,
            kt_b,
            0,
            padded / nr,
            a.scores.as_mut_ptr(),
            padded,
            Epilogue::None,
            false,
        );
        ops::softmax_rows(self.isa, &mut a.scores, len, padded, len, 1.0 / (dh as f32).sqrt());
        let v = BMat {
            ptr: qkv.as_ptr().add(r.start * ld + 2 * d + h * dh),
            ldb: ld,
            panel_stride: nr,
            k: len,
            panels: dh / nr,
        };
        gemm_panels(
            self.isa,
            len,
            a.scores.as_ptr(),
            padded,
            v,
            0,
            dh / nr,
            ctx.0.add(r.start * d + h * dh),
            d,
            Epilogue::None,
            false,
        );
    }

    /// Mean of each sequence's rows (mean pooling), L2-normalized when `normalize`.
    pub fn mean_pool(&self, batch: &Batch, normalize: bool) -> Vec<Vec<f32>> {
        (0..batch.seqs.len())
            .map(|i| {
                let mut v = vec![0.0; batch.dim];
                ops::mean_rows(self.isa, batch.sequence(i), batch.dim, &mut v);
                if normalize {
                    super::super::hashing::normalize(&mut v);
                }
                v
            })
            .collect()
    }
}
