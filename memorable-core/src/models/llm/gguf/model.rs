//! The llama architecture (SmolLM2, TinyLlama, Mistral, Llama 2 are all this shape):
//! token embedding → N × [RMSNorm → attention with RoPE and grouped KV heads → residual →
//! RMSNorm → SwiGLU feed-forward → residual] → RMSNorm → output head (tied to the embedding
//! when the file has no `output.weight`).
//!
//! The arithmetic is llama.cpp's CPU path, to the bit where it decides the result (greedy
//! output is compared with llama.cpp's): activations are quantized per block before each
//! product, the KV cache holds f16 (llama.cpp's default), queries and attention weights are
//! rounded to f16 for their products with it and summed in ggml's orders ([`super::ggml`]),
//! RoPE angles advance by repeated multiplication in f32, RMSNorm sums f32 squares in f64.
//!
//! A prompt runs as a batch (each weight block is read once for up to [`BATCH`] tokens, not
//! once a token), decoding one token at a time; llama.cpp sums attention in a different order
//! for each, and so does this decoder.

use half::f16;

use super::file::GgufFile;
use super::ggml::{self, Order, WeightedSum};
use super::pool::{split, Pool};
use super::quant::{dequantize_row, Matrix, Quantized};
use crate::error::{Error, Result};

/// Shape of the network, from the GGUF metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub layers: usize,
    pub dim: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub head_dim: usize,
    pub ffn: usize,
    pub vocab: usize,
    pub context: usize,
    pub rope_base: f32,
    pub rope_dims: usize,
    pub eps: f32,
}

impl Config {
    fn from_gguf(f: &GgufFile) -> Result<Config> {
        let arch = f.str("general.architecture")?;
        if arch != "llama" {
            return Err(Error::Model(format!(
                "GGUF architecture {arch:?} is not supported by the local generator (llama is: SmolLM2, TinyLlama, Mistral, Llama 2); serve it with Ollama or an OpenAI-compatible server"
            )));
        }
        let u = |k: &str| f.u64(&format!("llama.{k}")).map(|v| v as usize);
        let dim = u("embedding_length")?;
        let heads = u("attention.head_count")?;
        let kv_heads = u("attention.head_count_kv").unwrap_or(heads);
        if heads == 0 || kv_heads == 0 || dim % heads != 0 || heads % kv_heads != 0 {
            return Err(Error::Model(format!(
                "inconsistent attention shape: {dim} wide, {heads} heads, {kv_heads} KV heads"
            )));
        }
        let head_dim = dim / heads;
        let vocab = f
            .get("tokenizer.ggml.tokens")
            .and_then(|v| v.as_array())
            .map(|a| a.len())
            .ok_or_else(|| Error::Model("GGUF has no tokenizer.ggml.tokens".into()))?;
        Ok(Config {
            layers: u("block_count")?,
            dim,
            heads,
            kv_heads,
            head_dim,
            ffn: u("feed_forward_length")?,
            vocab,
            context: u("context_length").unwrap_or(2048),
            rope_base: f.f32("llama.rope.freq_base").unwrap_or(10_000.0),
            rope_dims: u("rope.dimension_count").unwrap_or(head_dim),
            eps: f.f32("llama.attention.layer_norm_rms_epsilon").unwrap_or(1e-5),
        })
    }

    fn kv_dim(&self) -> usize {
        self.kv_heads * self.head_dim
    }
}

struct Layer {
    attn_norm: Vec<f32>,
    wq: Matrix,
    wk: Matrix,
    wv: Matrix,
    wo: Matrix,
    ffn_norm: Vec<f32>,
    gate: Matrix,
    up: Matrix,
    down: Matrix,
}

/// The weights, shared by every generation.
pub struct Llama {
    pub cfg: Config,
    embed: Matrix,
    layers: Vec<Layer>,
    norm: Vec<f32>,
    /// `None`: the head is the embedding matrix (tied).
    output: Option<Matrix>,
}

impl std::fmt::Debug for Llama {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Llama").field("cfg", &self.cfg).finish_non_exhaustive()
    }
}

fn vector(f: &GgufFile, name: &str, len: usize) -> Result<Vec<f32>> {
    let t = f.tensor(name).ok_or_else(|| Error::Model(format!("GGUF has no tensor {name}")))?;
    if t.elements() != len as u64 {
        return Err(Error::Model(format!("{name} has {} values, expected {len}", t.elements())));
    }
    let mut out = vec![0f32; len];
    dequantize_row(t.kind, f.data(t), &mut out)?;
    Ok(out)
}

fn matrix(f: &GgufFile, name: &str, rows: usize, cols: usize) -> Result<Matrix> {
    let t = f.tensor(name).ok_or_else(|| Error::Model(format!("GGUF has no tensor {name}")))?;
    if t.dims.len() != 2 || t.dims[0] as usize != cols || t.dims[1] as usize != rows {
        return Err(Error::Model(format!("{name} is {:?}, expected [{cols}, {rows}]", t.dims)));
    }
    Matrix::load(f, t)
}

impl Llama {
    pub fn load(f: &GgufFile) -> Result<Llama> {
        let cfg = Config::from_gguf(f)?;
        let (d, kv, ffn) = (cfg.dim, cfg.kv_dim(), cfg.ffn);
        let layers = (0..cfg.layers)
            .map(|i| {
                let n = |s: &str| format!("blk.{i}.{s}.weight");
                Ok(Layer {
                    attn_norm: vector(f, &n("attn_norm"), d)?,
                    wq: matrix(f, &n("attn_q"), d, d)?,
                    wk: matrix(f, &n("attn_k"), kv, d)?,
                    wv: matrix(f, &n("attn_v"), kv, d)?,
                    wo: matrix(f, &n("attn_output"), d, d)?,
                    ffn_norm: vector(f, &n("ffn_norm"), d)?,
                    gate: matrix(f, &n("ffn_gate"), ffn, d)?,
                    up: matrix(f, &n("ffn_up"), ffn, d)?,
                    down: matrix(f, &n("ffn_down"), d, ffn)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let embed = matrix(f, "token_embd.weight", cfg.vocab, d)?;
        let output = match f.tensor("output.weight") {
            Some(_) => Some(matrix(f, "output.weight", cfg.vocab, d)?),
            None => None,
        };
        Ok(Llama { norm: vector(f, "output_norm.weight", d)?, embed, layers, output, cfg })
    }

    /// Bytes of weights held in memory.
    pub fn weight_bytes(&self) -> usize {
        let l: usize = self
            .layers
            .iter()
            .map(|l| {
                [&l.wq, &l.wk, &l.wv, &l.wo, &l.gate, &l.up, &l.down].iter().map(|m| m.bytes()).sum::<usize>()
                    + 4 * (l.attn_norm.len() + l.ffn_norm.len())
            })
            .sum();
        l + self.embed.bytes() + self.output.as_ref().map_or(0, Matrix::bytes)
    }

    fn head(&self) -> &Matrix {
        self.output.as_ref().unwrap_or(&self.embed)
    }
}

/// Tokens run through the network at once while processing a prompt (llama.cpp's default
/// batch, which also decides where its attention sums switch order).
pub const BATCH: usize = 512;

/// Rows of a weight matrix kept in cache while every token of a batch is multiplied with them.
const ROW_BLOCK: usize = 16;

/// One generation's state: the KV cache and scratch buffers.
pub struct Session {
    /// `[layer][position][kv_dim]`, f16 as llama.cpp keeps it.
    k: Vec<f16>,
    v: Vec<f16>,
    capacity: usize,
    /// Tokens in the cache.
    pub len: usize,
    /// Per token of the running batch: `[token][width]`.
    x: Vec<f32>,
    xb: Vec<f32>,
    q: Vec<f32>,
    kbuf: Vec<f32>,
    vbuf: Vec<f32>,
    att_out: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    pub logits: Vec<f32>,
    qa: Quantized,
    qb: Quantized,
}

impl Session {
    pub fn new(cfg: &Config, capacity: usize) -> Session {
        let kv = cfg.layers * capacity * cfg.kv_dim();
        Session {
            k: vec![f16::ZERO; kv],
            v: vec![f16::ZERO; kv],
            capacity,
            len: 0,
            x: Vec::new(),
            xb: Vec::new(),
            q: Vec::new(),
            kbuf: Vec::new(),
            vbuf: Vec::new(),
            att_out: Vec::new(),
            gate: Vec::new(),
            up: Vec::new(),
            logits: vec![0.0; cfg.vocab],
            qa: Quantized::default(),
            qb: Quantized::default(),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn size_for(&mut self, cfg: &Config, n: usize) {
        for (buf, width) in [
            (&mut self.x, cfg.dim),
            (&mut self.xb, cfg.dim),
            (&mut self.q, cfg.dim),
            (&mut self.kbuf, cfg.kv_dim()),
            (&mut self.vbuf, cfg.kv_dim()),
            (&mut self.att_out, cfg.dim),
            (&mut self.gate, cfg.ffn),
            (&mut self.up, cfg.ffn),
        ] {
            buf.resize(n * width, 0.0);
        }
    }
}

/// `out[t][r] = w[r] · x[t]` for the `n` tokens of `x`, rows split across the pool, each block
/// of rows multiplied with every token while it is in cache. Several matrices of the same
/// input (q, k, v; gate, up) share one hand-off.
fn matmul(pool: &Pool, jobs: &mut [(&Matrix, &mut [f32])], x: &Quantized, n: usize) {
    let parts = pool.threads();
    let ptrs: Vec<(&Matrix, SendPtr)> = jobs.iter_mut().map(|(m, o)| (*m, SendPtr(o.as_mut_ptr()))).collect();
    pool.run(&|p| {
        for (w, out) in &ptrs {
            let (rows, cols) = (w.rows(), w.cols());
            let mine = split(rows, p, parts);
            let mut r0 = mine.start;
            while r0 < mine.end {
                let r1 = (r0 + ROW_BLOCK).min(mine.end);
                for t in 0..n {
                    let xt = x.token(t, cols);
                    for r in r0..r1 {
                        // Safety: each part writes only its own rows of every token.
                        unsafe { *out.get().add(t * rows + r) = w.dot(r, xt) };
                    }
                }
                r0 = r1;
            }
        }
    });
}

#[derive(Clone, Copy)]
struct SendPtr(*mut f32);
// Safety: used only to hand disjoint output ranges to the pool's threads.
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}
impl SendPtr {
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// `out = x / rms(x) · w` (f32 squares summed in f64, as ggml).
fn rms_norm(x: &[f32], w: &[f32], eps: f32, out: &mut [f32]) {
    let sum: f64 = x.iter().map(|v| (v * v) as f64).sum();
    let mean = (sum / x.len() as f64) as f32;
    let scale = 1.0 / (mean + eps).sqrt();
    for ((o, v), g) in out.iter_mut().zip(x).zip(w) {
        *o = v * scale * g;
    }
}

/// RoPE, llama.cpp's "norm" mode: neighbouring pairs rotated by `pos · base^(-2i/dims)`,
/// the angle advanced by repeated multiplication.
fn rope(v: &mut [f32], head_dim: usize, dims: usize, pos: usize, base: f32) {
    let scale = base.powf(-2.0 / dims as f32);
    for head in v.chunks_exact_mut(head_dim) {
        let mut theta = pos as f32;
        for i in (0..dims).step_by(2) {
            let (s, c) = theta.sin_cos();
            let (a, b) = (head[i], head[i + 1]);
            // Fused as GCC contracts ggml's `x0*cos - x1*sin` on an FMA build: a one-ulp
            // difference here flips f16 roundings of the KV cache some layers later.
            head[i] = a.mul_add(c, -(b * s));
            head[i + 1] = a.mul_add(s, b * c);
            theta *= scale;
        }
    }
}

impl Llama {
    /// Feed `tokens` at the session's next positions (one batch: at most [`BATCH`]); the
    /// logits of what follows the last one are left in `s.logits` when `want_logits`.
    pub fn forward(&self, s: &mut Session, pool: &Pool, tokens: &[u32], want_logits: bool) -> Result<()> {
        let c = &self.cfg;
        let n = tokens.len();
        if let Some(bad) = tokens.iter().find(|t| **t as usize >= c.vocab) {
            return Err(Error::Model(format!("token id {bad} is outside the vocabulary")));
        }
        if n == 0 || n > BATCH {
            return Err(Error::InvalidInput(format!("a batch holds 1 to {BATCH} tokens, not {n}")));
        }
        if s.len + n > s.capacity {
            return Err(Error::InvalidInput(format!("the context window of {} tokens is full", s.capacity)));
        }
        s.size_for(c, n);
        let (d, kv_dim, hd) = (c.dim, c.kv_dim(), c.head_dim);
        let order = if n >= 2 { Order::Tiled } else { Order::Vec };
        for (t, tok) in tokens.iter().enumerate() {
            self.embed.row(*tok as usize, &mut s.x[t * d..(t + 1) * d]);
        }
        for (li, l) in self.layers.iter().enumerate() {
            // Attention.
            for t in 0..n {
                rms_norm(&s.x[t * d..(t + 1) * d], &l.attn_norm, c.eps, &mut s.xb[t * d..(t + 1) * d]);
            }
            l.wq.quantize(&s.xb, &mut s.qa);
            matmul(pool, &mut [(&l.wq, &mut s.q), (&l.wk, &mut s.kbuf), (&l.wv, &mut s.vbuf)], &s.qa, n);
            for t in 0..n {
                let pos = s.len + t;
                rope(&mut s.q[t * d..(t + 1) * d], hd, c.rope_dims, pos, c.rope_base);
                rope(&mut s.kbuf[t * kv_dim..(t + 1) * kv_dim], hd, c.rope_dims, pos, c.rope_base);
                let base = (li * s.capacity + pos) * kv_dim;
                for i in 0..kv_dim {
                    s.k[base + i] = f16::from_f32(s.kbuf[t * kv_dim + i]);
                    s.v[base + i] = f16::from_f32(s.vbuf[t * kv_dim + i]);
                }
            }
            self.attention(s, li, n, order, pool);
            l.wo.quantize(&s.att_out, &mut s.qa);
            matmul(pool, &mut [(&l.wo, &mut s.xb)], &s.qa, n);
            for (x, d) in s.x.iter_mut().zip(&s.xb) {
                *x += d;
            }
            // Feed-forward.
            for t in 0..n {
                rms_norm(&s.x[t * d..(t + 1) * d], &l.ffn_norm, c.eps, &mut s.xb[t * d..(t + 1) * d]);
            }
            l.gate.quantize(&s.xb, &mut s.qa);
            matmul(pool, &mut [(&l.gate, &mut s.gate), (&l.up, &mut s.up)], &s.qa, n);
            ggml::swiglu(&mut s.gate, &s.up);
            l.down.quantize(&s.gate, &mut s.qb);
            matmul(pool, &mut [(&l.down, &mut s.xb)], &s.qb, n);
            for (x, d) in s.x.iter_mut().zip(&s.xb) {
                *x += d;
            }
        }
        s.len += n;
        if want_logits {
            let last = &s.x[(n - 1) * d..n * d];
            rms_norm(last, &self.norm, c.eps, &mut s.xb[..d]);
            let head = self.head();
            head.quantize(&s.xb[..d], &mut s.qa);
            let logits = &mut s.logits;
            matmul(pool, &mut [(head, logits)], &s.qa, 1);
        }
        Ok(())
    }

    /// Causal attention of the batch's `n` tokens over the cache, (token, head) pairs split
    /// across the pool.
    fn attention(&self, s: &mut Session, layer: usize, n: usize, order: Order, pool: &Pool) {
        let c = &self.cfg;
        let (hd, kv_dim, group) = (c.head_dim, c.kv_dim(), c.heads / c.kv_heads);
        let scale = 1.0 / (hd as f32).sqrt();
        let parts = pool.threads();
        let first = s.len;
        let (k, v, q) = (&s.k, &s.v, &s.q);
        let out = SendPtr(s.att_out.as_mut_ptr());
        let base = layer * s.capacity * kv_dim;
        pool.run(&|p| {
            let mut scores = Vec::with_capacity(first + n);
            let mut sum = WeightedSum::new(order, hd);
            let mut qh = vec![0f32; hd];
            for job in split(n * c.heads, p, parts) {
                let (t, h) = (job / c.heads, job % c.heads);
                let kvh = h / group;
                // The query as f16, as ggml converts it for its product with the f16 cache.
                for (o, x) in qh.iter_mut().zip(&q[t * c.dim + h * hd..][..hd]) {
                    *o = f16::from_f32(*x).to_f32();
                }
                scores.clear();
                for pos in 0..=first + t {
                    let kt = &k[base + pos * kv_dim + kvh * hd..][..hd];
                    scores.push(ggml::dot(order, &qh, kt) * scale);
                }
                ggml::softmax(&mut scores);
                sum.clear();
                for (pos, w) in scores.iter().enumerate() {
                    let vt = &v[base + pos * kv_dim + kvh * hd..][..hd];
                    sum.add(pos, f16::from_f32(*w).to_f32(), vt);
                }
                // Safety: each (token, head) writes its own `hd` outputs.
                let o = unsafe { std::slice::from_raw_parts_mut(out.get().add(t * c.dim + h * hd), hd) };
                sum.finish(o);
            }
        });
    }
}
