//! BERT weights for the native forward: the config, the embedding tables, and one
//! [`LayerWeights`] per encoder layer with its linear layers packed for the kernels.
//!
//! Layers are held in `Arc`s, so a second weight set that changes a few layers (a LoRA
//! adapter merged into layers k..n) shares every other layer with the base:
//! [`BertWeights::with_layer`].

use std::path::Path;
use std::sync::Arc;

use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;

use super::gemm::{linear, AVec, Epilogue, PackedMatrix};
use super::ops::Isa;
use super::qgemm::{qlinear, QIsa, QMatrix};
use crate::error::{Error, Result};

/// The parts of a Hugging Face BERT `config.json` the forward needs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}

impl BertConfig {
    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads.max(1)
    }

    /// Refuse what this forward does not implement (the candle backend may still run it).
    pub fn check_supported(&self) -> std::result::Result<(), String> {
        if self.hidden_act != "gelu" {
            return Err(format!("activation {:?} (only exact \"gelu\" is implemented)", self.hidden_act));
        }
        if self.position_embedding_type.as_deref().is_some_and(|p| p != "absolute") {
            return Err(format!("position embeddings {:?}", self.position_embedding_type));
        }
        if self.num_attention_heads == 0 || !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err("hidden size not divisible by the number of heads".into());
        }
        for (what, n) in [
            ("hidden size", self.hidden_size),
            ("intermediate size", self.intermediate_size),
            ("head size", self.head_dim()),
        ] {
            if !n.is_multiple_of(32) {
                return Err(format!("{what} {n} is not a multiple of 32"));
            }
        }
        Ok(())
    }
}

/// A linear layer `y = x W^T + b` with W packed for the kernels.
#[derive(Debug, Clone)]
pub struct Linear {
    pub(crate) w: Weight,
    pub(crate) bias: AVec,
}

/// A linear layer's weight: f32, or int8 (the `minilm-int8` model, [`super::qgemm`]).
#[derive(Debug, Clone)]
pub(crate) enum Weight {
    F32(PackedMatrix),
    Int8(QMatrix),
}

impl Weight {
    fn k(&self) -> usize {
        match self {
            Weight::F32(w) => w.k(),
            Weight::Int8(w) => w.k(),
        }
    }
    fn n(&self) -> usize {
        match self {
            Weight::F32(w) => w.n(),
            Weight::Int8(w) => w.n(),
        }
    }
    /// The f32 instruction set of the model the weight belongs to.
    fn isa(&self) -> Isa {
        match self {
            Weight::F32(w) => w.isa(),
            Weight::Int8(w) => w.isa(),
        }
    }
    fn bytes(&self) -> usize {
        match self {
            Weight::F32(w) => w.bytes(),
            Weight::Int8(w) => w.bytes(),
        }
    }
}

impl Linear {
    /// From a PyTorch-layout weight (`[out][in]`, row-major) and bias (`[out]`).
    pub fn from_dense(
        weight: &[f32],
        bias: &[f32],
        out_features: usize,
        in_features: usize,
        isa: Isa,
    ) -> Result<Linear> {
        if weight.len() != out_features * in_features || bias.len() != out_features {
            return Err(Error::Model(format!(
                "linear layer: weight of {} values and bias of {} for {out_features}x{in_features}",
                weight.len(),
                bias.len()
            )));
        }
        if !out_features.is_multiple_of(32) {
            return Err(Error::Model(format!(
                "linear layer: {out_features} outputs is not a multiple of 32"
            )));
        }
        Ok(Linear {
            w: Weight::F32(PackedMatrix::from_weight(weight, out_features, in_features, isa)),
            bias: AVec::from_slice(bias),
        })
    }

    /// This layer with its weight quantized to int8 for `qisa`'s kernels (the bias stays
    /// f32). With `input_max` (each input channel's largest |value| on calibration data) the
    /// layer is smoothed first: channel `k` of the input is divided by
    /// `s_k = sqrt(input_max_k / max_j |w_jk|)` and column `k` of the weight multiplied by it
    /// (SmoothQuant with α = 0.5, its paper's default; see [`super::qgemm`]).
    pub fn quantized(&self, qisa: QIsa, input_max: Option<&[f32]>) -> Linear {
        let (w, _) = self.dense();
        let (n, k) = (self.out_features(), self.in_features());
        let smooth: Option<Vec<f32>> = input_max.map(|x| {
            let mut w_max = vec![0f32; k];
            for row in w.chunks_exact(k) {
                for (m, v) in w_max.iter_mut().zip(row) {
                    *m = m.max(v.abs());
                }
            }
            x.iter()
                .zip(&w_max)
                .map(|(a, b)| {
                    let s = (a / b).sqrt();
                    if s.is_finite() && s > 0.0 {
                        s
                    } else {
                        1.0
                    }
                })
                .collect()
        });
        let q = QMatrix::from_weight(&w, n, k, qisa, self.w.isa(), smooth.as_deref());
        Linear { w: Weight::Int8(q), bias: self.bias.clone() }
    }

    /// True when the weight is int8.
    pub fn is_quantized(&self) -> bool {
        matches!(self.w, Weight::Int8(_))
    }

    /// `out` (`m x out_features`) = `x W^T` with a fused epilogue (whose bias is normally
    /// this layer's); `split` > 1 divides the columns among that many tasks.
    pub fn apply(&self, x: &[f32], m: usize, out: &mut [f32], epi: Epilogue<'_>, split: usize) {
        match &self.w {
            Weight::F32(w) => linear(x, m, w, out, epi, split),
            Weight::Int8(w) => qlinear(x, m, w, out, epi, split),
        }
    }

    /// The weight (`[out][in]`; an int8 weight dequantized) and bias, unpacked.
    pub fn dense(&self) -> (Vec<f32>, Vec<f32>) {
        let w = match &self.w {
            Weight::F32(w) => w.to_weight(),
            Weight::Int8(w) => w.to_weight(),
        };
        (w, self.bias.to_vec())
    }

    /// A copy with `delta` (`rows x in`, row-major) added to the weight rows starting at
    /// `first_row`, e.g. a LoRA update `scale * B A` merged into the query rows (0..hidden) of
    /// a fused QKV layer.
    pub fn add_to_rows(&self, first_row: usize, delta: &[f32]) -> Result<Linear> {
        let (mut w, b) = self.dense();
        let k = self.in_features();
        if !delta.len().is_multiple_of(k) || first_row * k + delta.len() > w.len() {
            return Err(Error::Model(format!(
                "delta of {} values does not fit rows {first_row}.. of a {}x{k} weight",
                delta.len(),
                self.out_features()
            )));
        }
        for (v, d) in w[first_row * k..].iter_mut().zip(delta) {
            *v += d;
        }
        Linear::from_dense(&w, &b, self.out_features(), k, self.w.isa())
    }

    pub fn in_features(&self) -> usize {
        self.w.k()
    }
    pub fn out_features(&self) -> usize {
        self.w.n()
    }
    fn bytes(&self) -> usize {
        self.w.bytes() + self.bias.bytes()
    }
}

/// LayerNorm scale and shift (epsilon comes from the config).
#[derive(Debug, Clone)]
pub struct Norm {
    pub gamma: AVec,
    pub beta: AVec,
}

/// One encoder layer.
#[derive(Debug, Clone)]
pub struct LayerWeights {
    /// Query, key and value fused: outputs `[0, h)` are Q, `[h, 2h)` K, `[2h, 3h)` V.
    pub qkv: Linear,
    pub attn_out: Linear,
    pub attn_norm: Norm,
    pub ffn_in: Linear,
    pub ffn_out: Linear,
    pub ffn_norm: Norm,
}

impl LayerWeights {
    fn bytes(&self) -> usize {
        self.qkv.bytes()
            + self.attn_out.bytes()
            + self.ffn_in.bytes()
            + self.ffn_out.bytes()
            + 4 * (self.attn_norm.gamma.bytes() + self.ffn_norm.gamma.bytes())
    }
}

/// Each linear layer's largest |input| per channel over some data, per encoder layer:
/// `layers[l]` = [QKV input, attention output input, FFN input, FFN output input] (what
/// [`super::Encoder::calibrating`] records and [`BertWeights::quantized`] smooths with).
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    pub layers: Vec<[Vec<f32>; 4]>,
}

impl Calibration {
    /// One layer's zeros for a hidden size and an intermediate size.
    pub(crate) fn layer(hidden: usize, intermediate: usize) -> [Vec<f32>; 4] {
        [vec![0.0; hidden], vec![0.0; hidden], vec![0.0; hidden], vec![0.0; intermediate]]
    }
}

/// Word, position and token-type tables, and the LayerNorm after their sum.
#[derive(Debug, Clone)]
pub struct Embeddings {
    pub word: AVec,
    pub position: AVec,
    pub token_type: AVec,
    pub norm: Norm,
}

/// A whole BERT encoder's weights. Cloning is cheap (the tables and layers are shared).
#[derive(Debug, Clone)]
pub struct BertWeights {
    pub config: BertConfig,
    isa: Isa,
    embeddings: Arc<Embeddings>,
    layers: Vec<Arc<LayerWeights>>,
}

impl BertWeights {
    /// Read `config.json` and `model.safetensors` (f32; a `bert.` name prefix is accepted)
    /// from a Hugging Face / sentence-transformers directory, packing for `isa`.
    pub fn load(dir: &Path, isa: Isa) -> Result<BertWeights> {
        let err =
            |what: &str, e: &dyn std::fmt::Display| Error::Model(format!("{what} in {}: {e}", dir.display()));
        let config: BertConfig = serde_json::from_str(
            &std::fs::read_to_string(dir.join("config.json")).map_err(|e| err("reading config.json", &e))?,
        )
        .map_err(|e| err("parsing config.json", &e))?;
        config.check_supported().map_err(|e| err("unsupported BERT variant", &e))?;
        let bytes =
            std::fs::read(dir.join("model.safetensors")).map_err(|e| err("reading model.safetensors", &e))?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| err("parsing model.safetensors", &e))?;
        let prefix = if st.names().iter().any(|n| n.starts_with("bert.")) { "bert." } else { "" };
        let get = |name: &str, shape: &[usize]| -> Result<AVec> {
            let full = format!("{prefix}{name}");
            let t = st.tensor(&full).map_err(|e| err(&format!("tensor {full}"), &e))?;
            if t.shape() != shape {
                return Err(err(
                    &format!("tensor {full}"),
                    &format!("shape {:?}, expected {shape:?}", t.shape()),
                ));
            }
            if t.dtype() != Dtype::F32 {
                return Err(err(
                    &format!("tensor {full}"),
                    &format!("dtype {:?} (only F32 is supported)", t.dtype()),
                ));
            }
            let mut v = AVec::zeros(shape.iter().product());
            for (d, b) in v.iter_mut().zip(t.data().chunks_exact(4)) {
                *d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
            Ok(v)
        };
        let (h, i) = (config.hidden_size, config.intermediate_size);
        let norm = |name: &str| -> Result<Norm> {
            Ok(Norm {
                gamma: get(&format!("{name}.weight"), &[h])?,
                beta: get(&format!("{name}.bias"), &[h])?,
            })
        };
        let linear = |name: &str, out: usize, inp: usize| -> Result<Linear> {
            Linear::from_dense(
                &get(&format!("{name}.weight"), &[out, inp])?,
                &get(&format!("{name}.bias"), &[out])?,
                out,
                inp,
                isa,
            )
        };
        let embeddings = Embeddings {
            word: get("embeddings.word_embeddings.weight", &[config.vocab_size, h])?,
            position: get("embeddings.position_embeddings.weight", &[config.max_position_embeddings, h])?,
            token_type: get("embeddings.token_type_embeddings.weight", &[config.type_vocab_size, h])?,
            norm: norm("embeddings.LayerNorm")?,
        };
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let p = format!("encoder.layer.{l}");
            let mut qkv_w = Vec::with_capacity(3 * h * h);
            let mut qkv_b = Vec::with_capacity(3 * h);
            for part in ["query", "key", "value"] {
                qkv_w.extend_from_slice(&get(&format!("{p}.attention.self.{part}.weight"), &[h, h])?);
                qkv_b.extend_from_slice(&get(&format!("{p}.attention.self.{part}.bias"), &[h])?);
            }
            layers.push(Arc::new(LayerWeights {
                qkv: Linear::from_dense(&qkv_w, &qkv_b, 3 * h, h, isa)?,
                attn_out: linear(&format!("{p}.attention.output.dense"), h, h)?,
                attn_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                ffn_in: linear(&format!("{p}.intermediate.dense"), i, h)?,
                ffn_out: linear(&format!("{p}.output.dense"), h, i)?,
                ffn_norm: norm(&format!("{p}.output.LayerNorm"))?,
            }));
        }
        Ok(BertWeights { config, isa, embeddings: Arc::new(embeddings), layers })
    }

    /// This weight set with every encoder layer's linear layers quantized to int8 for
    /// `qisa` (embeddings, LayerNorm and attention stay f32), smoothed with `calibration`
    /// when given (see [`Linear::quantized`]).
    pub fn quantized(&self, qisa: QIsa, calibration: Option<&Calibration>) -> Result<BertWeights> {
        if let Some(c) = calibration.filter(|c| c.layers.len() != self.layers.len()) {
            return Err(Error::Model(format!(
                "calibration of {} layers for a {}-layer model",
                c.layers.len(),
                self.layers.len()
            )));
        }
        let layers = self
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let input = |which: usize| calibration.map(|c| c.layers[i][which].as_slice());
                Arc::new(LayerWeights {
                    qkv: l.qkv.quantized(qisa, input(0)),
                    attn_out: l.attn_out.quantized(qisa, input(1)),
                    attn_norm: l.attn_norm.clone(),
                    ffn_in: l.ffn_in.quantized(qisa, input(2)),
                    ffn_out: l.ffn_out.quantized(qisa, input(3)),
                    ffn_norm: l.ffn_norm.clone(),
                })
            })
            .collect();
        Ok(BertWeights {
            config: self.config.clone(),
            isa: self.isa,
            embeddings: self.embeddings.clone(),
            layers,
        })
    }

    /// The instruction set the linear layers are packed for.
    pub fn isa(&self) -> Isa {
        self.isa
    }
    pub fn embeddings(&self) -> &Embeddings {
        &self.embeddings
    }
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }
    pub fn layer(&self, i: usize) -> &LayerWeights {
        &self.layers[i]
    }

    /// A weight set equal to this one but with layer `i` replaced; every other layer and the
    /// embedding tables are shared, not copied.
    pub fn with_layer(&self, i: usize, layer: LayerWeights) -> Result<BertWeights> {
        if i >= self.layers.len() {
            return Err(Error::Model(format!("layer {i} of a {}-layer model", self.layers.len())));
        }
        let (h, inter) = (self.config.hidden_size, self.config.intermediate_size);
        let shapes = [
            (layer.qkv.in_features(), layer.qkv.out_features(), h, 3 * h),
            (layer.attn_out.in_features(), layer.attn_out.out_features(), h, h),
            (layer.ffn_in.in_features(), layer.ffn_in.out_features(), h, inter),
            (layer.ffn_out.in_features(), layer.ffn_out.out_features(), inter, h),
        ];
        let packs = [&layer.qkv, &layer.attn_out, &layer.ffn_in, &layer.ffn_out].map(|l| l.w.isa());
        if shapes.iter().any(|(a, b, c, d)| (a, b) != (c, d)) || packs.iter().any(|p| *p != self.isa) {
            return Err(Error::Model(format!(
                "replacement layer {i} does not match the model's shapes or packing"
            )));
        }
        let mut out = self.clone();
        out.layers[i] = Arc::new(layer);
        Ok(out)
    }

    /// Bytes of weights held (the shared parts counted once per set).
    pub fn bytes(&self) -> usize {
        let e = &self.embeddings;
        e.word.bytes()
            + e.position.bytes()
            + e.token_type.bytes()
            + self.layers.iter().map(|l| l.bytes()).sum::<usize>()
    }

    /// True when layer `i` of both sets is the same allocation (shared, not copied).
    pub fn shares_layer(&self, other: &BertWeights, i: usize) -> bool {
        Arc::ptr_eq(&self.layers[i], &other.layers[i])
    }
}
