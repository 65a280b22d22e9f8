//! A BERT encoder written out in candle so that its dense projections can carry LoRA
//! adapters (candle-transformers' `BertModel` keeps its layers private). With no adapters it
//! computes what sentence-transformers computes (tested against the MiniLM reference).
//!
//! Two modes: [`Mode::Infer`] uses candle's fused layer-norm and softmax kernels;
//! [`Mode::Train`] uses differentiable compositions of the same formulas, because the fused
//! kernels have no backward pass (gradients would silently stop at them).

use std::ops::Range;
use std::path::Path;
use std::sync::Mutex;

use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{Linear, VarBuilder};
use candle_transformers::models::bert::{Config as BertConfig, HiddenAct};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A dense projection of a BERT layer that an adapter can modify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proj {
    Query,
    Key,
    Value,
    /// The attention output projection.
    AttnOut,
    /// The feed-forward expansion (hidden → intermediate).
    FfnIn,
    /// The feed-forward contraction (intermediate → hidden).
    FfnOut,
}

impl Proj {
    pub const ALL: [Proj; 6] =
        [Proj::Query, Proj::Key, Proj::Value, Proj::AttnOut, Proj::FfnIn, Proj::FfnOut];

    /// Name used in adapter files and manifests.
    pub fn name(self) -> &'static str {
        match self {
            Proj::Query => "query",
            Proj::Key => "key",
            Proj::Value => "value",
            Proj::AttnOut => "attn_out",
            Proj::FfnIn => "ffn_in",
            Proj::FfnOut => "ffn_out",
        }
    }

    pub fn parse(name: &str) -> Option<Proj> {
        Proj::ALL.into_iter().find(|p| p.name() == name)
    }

    /// (input, output) features of this projection.
    pub fn shape(self, hidden: usize, intermediate: usize) -> (usize, usize) {
        match self {
            Proj::FfnIn => (hidden, intermediate),
            Proj::FfnOut => (intermediate, hidden),
            _ => (hidden, hidden),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A low-rank update `scale · B A` of one projection's weight: `a` is (rank, in), `b` is
/// (out, rank). With `b` zero (how training starts) the projection is unchanged.
#[derive(Clone, Debug)]
pub struct LoraPair {
    pub a: Tensor,
    pub b: Tensor,
    pub scale: f64,
}

impl LoraPair {
    /// `scale · x Aᵀ Bᵀ` for `x` of shape (..., in).
    fn apply(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let dims = x.dims().to_vec();
        let (rows, inp) = (x.elem_count() / dims[dims.len() - 1], dims[dims.len() - 1]);
        let y = x.reshape((rows, inp))?.matmul(&self.a.t()?)?.matmul(&self.b.t()?)?;
        let mut out_dims = dims;
        *out_dims.last_mut().expect("rank >= 1") = y.dim(1)?;
        (y * self.scale)?.reshape(out_dims)
    }

    /// The dense weight update `scale · B A`, shape (out, in).
    pub fn delta(&self) -> candle_core::Result<Tensor> {
        self.b.matmul(&self.a)? * self.scale
    }
}

/// The adapters of one layer (`None` = that projection is not adapted).
#[derive(Clone, Debug, Default)]
pub struct LayerLora {
    pub proj: [Option<LoraPair>; 6],
}

impl LayerLora {
    pub fn get(&self, p: Proj) -> Option<&LoraPair> {
        self.proj[p.index()].as_ref()
    }
    pub fn set(&mut self, p: Proj, pair: LoraPair) {
        self.proj[p.index()] = Some(pair);
    }
}

/// Which kernels a forward pass uses (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Infer,
    Train,
}

/// A small seeded generator (SplitMix64). candle's CPU random source cannot be seeded, and
/// training must be reproducible, so initial weights and dropout masks come from here.
#[derive(Debug, Clone)]
pub struct SplitMix(u64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        SplitMix(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// Inverted dropout with a seeded mask (training only).
#[derive(Debug)]
pub struct Dropout {
    p: f32,
    rng: Mutex<SplitMix>,
}

impl Dropout {
    pub fn new(p: f32, seed: u64) -> Self {
        Dropout { p, rng: Mutex::new(SplitMix::new(seed)) }
    }

    pub fn apply(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        if self.p <= 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 / (1.0 - self.p);
        let mask: Vec<f32> = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            (0..x.elem_count()).map(|_| if rng.next_f32() < self.p { 0.0 } else { keep }).collect()
        };
        x * Tensor::from_vec(mask, x.shape(), x.device())?
    }
}

/// A dense layer whose weights are frozen, as one graph node: its backward pass computes only
/// the input's gradient. (candle's matmul backward also computes the weight's gradient,
/// even for a constant weight: a third of a layer's backward arithmetic, thrown away.)
struct FrozenLinear(Linear);

impl candle_core::CustomOp1 for FrozenLinear {
    fn name(&self) -> &'static str {
        "frozen-linear"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (Some((start, end)), candle_core::CpuStorage::F32(data)) = (layout.contiguous_offsets(), storage)
        else {
            candle_core::bail!("frozen-linear takes a contiguous f32 input");
        };
        let x = Tensor::from_slice(&data[start..end], layout.shape(), &Device::Cpu)?;
        let y = self.0.forward(&x)?.flatten_all()?.to_vec1::<f32>()?;
        let mut dims = layout.shape().dims().to_vec();
        *dims.last_mut().expect("rank >= 1") = self.0.weight().dim(0)?;
        Ok((candle_core::CpuStorage::F32(y), dims.into()))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> candle_core::Result<Option<Tensor>> {
        let out = grad.dim(candle_core::D::Minus1)?;
        let rows = grad.elem_count() / out;
        let g = grad.contiguous()?.reshape((rows, out))?.matmul(self.0.weight())?;
        Ok(Some(g.reshape(arg.shape())?))
    }
}

/// LayerNorm weights.
#[derive(Clone, Debug)]
pub struct Norm {
    pub weight: Tensor,
    pub bias: Tensor,
    eps: f64,
}

impl Norm {
    fn load(vb: VarBuilder, size: usize, eps: f64) -> candle_core::Result<Norm> {
        Ok(Norm { weight: vb.get(size, "weight")?, bias: vb.get(size, "bias")?, eps })
    }

    fn forward(&self, x: &Tensor, mode: Mode) -> candle_core::Result<Tensor> {
        match mode {
            Mode::Infer => candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps as f32),
            Mode::Train => candle_nn::ops::layer_norm_slow(x, &self.weight, &self.bias, self.eps as f32),
        }
    }
}

/// One transformer layer (post-LayerNorm BERT).
#[derive(Clone, Debug)]
pub struct Layer {
    dense: [Linear; 6],
    attn_norm: Norm,
    out_norm: Norm,
    heads: usize,
    act: HiddenAct,
}

impl Layer {
    fn load(vb: VarBuilder, cfg: &BertConfig) -> candle_core::Result<Layer> {
        let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
        let lin = |inp: usize, out: usize, path: &str| candle_nn::linear(inp, out, vb.pp(path));
        Ok(Layer {
            dense: [
                lin(h, h, "attention.self.query")?,
                lin(h, h, "attention.self.key")?,
                lin(h, h, "attention.self.value")?,
                lin(h, h, "attention.output.dense")?,
                lin(h, i, "intermediate.dense")?,
                lin(i, h, "output.dense")?,
            ],
            attn_norm: Norm::load(vb.pp("attention.output.LayerNorm"), h, cfg.layer_norm_eps)?,
            out_norm: Norm::load(vb.pp("output.LayerNorm"), h, cfg.layer_norm_eps)?,
            heads: cfg.num_attention_heads,
            act: cfg.hidden_act,
        })
    }

    fn project(
        &self,
        p: Proj,
        x: &Tensor,
        lora: Option<&LayerLora>,
        mode: Mode,
    ) -> candle_core::Result<Tensor> {
        let dense = &self.dense[p.index()];
        let y = match mode {
            Mode::Infer => dense.forward(x)?,
            Mode::Train => x.contiguous()?.apply_op1(FrozenLinear(dense.clone()))?,
        };
        match lora.and_then(|l| l.get(p)) {
            Some(pair) => y + pair.apply(x)?,
            None => Ok(y),
        }
    }

    /// `x` (n, len, hidden) → (n, len, hidden). `bias` is the additive attention mask from
    /// [`LoraBert::attention_bias`]; `drop` (training) applies dropout to the two residual
    /// branches.
    pub fn forward(
        &self,
        x: &Tensor,
        bias: &Tensor,
        lora: Option<&LayerLora>,
        mode: Mode,
        drop: Option<&Dropout>,
    ) -> candle_core::Result<Tensor> {
        let (n, len, hidden) = x.dims3()?;
        let head_dim = hidden / self.heads;
        let split = |t: Tensor| t.reshape((n, len, self.heads, head_dim))?.transpose(1, 2)?.contiguous();
        // Scaling q before the product is the same as scaling the scores, on fewer numbers.
        let q = split((self.project(Proj::Query, x, lora, mode)? / (head_dim as f64).sqrt())?)?;
        let k = split(self.project(Proj::Key, x, lora, mode)?)?;
        let v = split(self.project(Proj::Value, x, lora, mode)?)?;
        let scores = q.matmul(&k.t()?)?.broadcast_add(bias)?; // (n, heads, len, len)
        let probs = match mode {
            Mode::Infer => candle_nn::ops::softmax_last_dim(&scores)?,
            Mode::Train => candle_nn::ops::softmax(&scores, D::Minus1)?,
        };
        let ctx = probs.matmul(&v)?.transpose(1, 2)?.reshape((n, len, hidden))?;
        let mut attn = self.project(Proj::AttnOut, &ctx, lora, mode)?;
        if let Some(d) = drop {
            attn = d.apply(&attn)?;
        }
        let x = self.attn_norm.forward(&(attn + x)?, mode)?;
        let inner = self.project(Proj::FfnIn, &x, lora, mode)?;
        let inner = match self.act {
            HiddenAct::Gelu => inner.gelu_erf()?,
            HiddenAct::GeluApproximate => inner.gelu()?,
            HiddenAct::Relu => inner.relu()?,
        };
        let mut out = self.project(Proj::FfnOut, &inner, lora, mode)?;
        if let Some(d) = drop {
            out = d.apply(&out)?;
        }
        self.out_norm.forward(&(out + x)?, mode)
    }

    /// This layer with `lora` folded into its weights (`W + scale · B A`): the same function
    /// as `forward(.., Some(lora), ..)` at the cost of a plain layer.
    pub fn merged(&self, lora: &LayerLora) -> candle_core::Result<Layer> {
        let mut layer = self.clone();
        for p in Proj::ALL {
            if let Some(pair) = lora.get(p) {
                let base = &self.dense[p.index()];
                let w = (base.weight() + pair.delta()?)?;
                layer.dense[p.index()] = Linear::new(w, base.bias().cloned());
            }
        }
        Ok(layer)
    }
}

/// A BERT encoder (embeddings + layers) whose layers can run with adapters.
#[derive(Clone, Debug)]
pub struct LoraBert {
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    embed_norm: Norm,
    layers: Vec<Layer>,
    pub hidden: usize,
    pub intermediate: usize,
    device: Device,
}

impl LoraBert {
    /// Load a sentence-transformers folder's BERT (config.json + model.safetensors) on the CPU.
    pub fn load_dir(dir: &Path) -> Result<LoraBert> {
        let config = super::candle_bert::SentenceBertDir::open(dir)?.config;
        LoraBert::load(dir, &config, &Device::Cpu)
    }

    /// Load the weights of `dir/model.safetensors` (a BERT described by `cfg`).
    pub fn load(dir: &Path, cfg: &BertConfig, device: &Device) -> Result<LoraBert> {
        let weights = dir.join("model.safetensors");
        let err =
            |e: candle_core::Error| Error::Model(format!("loading BERT weights from {}: {e}", dir.display()));
        // SAFETY: mapped read-only while the tensors are copied out; model cache files are
        // written once (renamed into place) and never modified in place.
        let vb =
            unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, device) }.map_err(err)?;
        let vb =
            if vb.contains_tensor("bert.embeddings.word_embeddings.weight") { vb.pp("bert") } else { vb };
        LoraBert::new(vb, cfg).map_err(err)
    }

    /// Build from named tensors (transformers' BERT names, without a `bert.` prefix).
    pub fn new(vb: VarBuilder, cfg: &BertConfig) -> candle_core::Result<LoraBert> {
        let (h, emb) = (cfg.hidden_size, vb.pp("embeddings"));
        Ok(LoraBert {
            word: emb.get((cfg.vocab_size, h), "word_embeddings.weight")?,
            position: emb.get((cfg.max_position_embeddings, h), "position_embeddings.weight")?,
            token_type: emb.get((cfg.type_vocab_size, h), "token_type_embeddings.weight")?,
            embed_norm: Norm::load(emb.pp("LayerNorm"), h, cfg.layer_norm_eps)?,
            layers: (0..cfg.num_hidden_layers)
                .map(|i| Layer::load(vb.pp(format!("encoder.layer.{i}")), cfg))
                .collect::<candle_core::Result<_>>()?,
            hidden: h,
            intermediate: cfg.intermediate_size,
            device: vb.device().clone(),
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// Token embeddings (word + position + token type 0), normalized: (n, len, hidden).
    pub fn embed(&self, ids: &Tensor) -> candle_core::Result<Tensor> {
        let (n, len) = ids.dims2()?;
        let words = self.word.index_select(&ids.flatten_all()?, 0)?.reshape((n, len, self.hidden))?;
        let extra = self.position.narrow(0, 0, len)?.broadcast_add(&self.token_type.get(0)?)?;
        self.embed_norm.forward(&words.broadcast_add(&extra)?, Mode::Infer)
    }

    /// The additive attention mask for a (n, len) 0/1 mask: (n, 1, 1, len), 0 where attended
    /// and the most negative f32 on padding (as transformers does).
    pub fn attention_bias(mask: &Tensor) -> candle_core::Result<Tensor> {
        let (n, len) = mask.dims2()?;
        let m = mask.to_dtype(DType::F32)?;
        ((m.ones_like()? - m)? * f64::from(f32::MIN))?.reshape((n, 1, 1, len))
    }

    /// Mean-pooled, L2-normalized sentence embeddings of a batch of token id lists, with
    /// `adapters` on the top `adapters.len()` layers.
    pub fn sentence_embeddings(
        &self,
        batch: &[&[u32]],
        adapters: &[LayerLora],
        mode: Mode,
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        let (ids, mask) = super::candle_bert::pad_batch(batch, &self.device)?;
        let bias = LoraBert::attention_bias(&mask)?;
        let n = self.layers.len();
        let refs: Vec<Option<&LayerLora>> =
            std::iter::repeat_n(None, n - adapters.len()).chain(adapters.iter().map(Some)).collect();
        let h = self.run(self.embed(&ids)?, &bias, 0..n, &refs, mode, None)?;
        let mut v = super::candle_bert::mean_pool(&h, &mask)?.to_vec2::<f32>()?;
        v.iter_mut().for_each(|v| super::hashing::normalize(v));
        Ok(v)
    }

    /// Run `layers` in order, with `adapters[i - layers.start]` on layer `i` when given.
    pub fn run(
        &self,
        mut x: Tensor,
        bias: &Tensor,
        layers: Range<usize>,
        adapters: &[Option<&LayerLora>],
        mode: Mode,
        drop: Option<&Dropout>,
    ) -> candle_core::Result<Tensor> {
        let start = layers.start;
        for i in layers {
            let lora = adapters.get(i - start).copied().flatten();
            x = self.layers[i].forward(&x, bias, lora, mode, drop)?;
        }
        Ok(x)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// A tiny BERT with seeded random weights (2 layers, hidden 8, 2 heads).
    fn tiny() -> (LoraBert, BertConfig) {
        let cfg = BertConfig {
            vocab_size: 20,
            hidden_size: 8,
            num_hidden_layers: 2,
            num_attention_heads: 2,
            intermediate_size: 16,
            max_position_embeddings: 16,
            ..BertConfig::default()
        };
        let mut rng = SplitMix::new(7);
        let mut t = HashMap::new();
        let mut put = |name: String, shape: &[usize], base: f32| {
            let n: usize = shape.iter().product();
            let v: Vec<f32> = (0..n).map(|_| base + (rng.next_f32() - 0.5) * 0.6).collect();
            t.insert(name, Tensor::from_vec(v, shape, &Device::Cpu).unwrap());
        };
        put("embeddings.word_embeddings.weight".into(), &[20, 8], 0.0);
        put("embeddings.position_embeddings.weight".into(), &[16, 8], 0.0);
        put("embeddings.token_type_embeddings.weight".into(), &[2, 8], 0.0);
        put("embeddings.LayerNorm.weight".into(), &[8], 1.0);
        put("embeddings.LayerNorm.bias".into(), &[8], 0.0);
        for l in 0..2 {
            let p = format!("encoder.layer.{l}");
            for (name, o, i) in [
                ("attention.self.query", 8, 8),
                ("attention.self.key", 8, 8),
                ("attention.self.value", 8, 8),
                ("attention.output.dense", 8, 8),
                ("intermediate.dense", 16, 8),
                ("output.dense", 8, 16),
            ] {
                put(format!("{p}.{name}.weight"), &[o, i], 0.0);
                put(format!("{p}.{name}.bias"), &[o], 0.0);
            }
            for ln in ["attention.output.LayerNorm", "output.LayerNorm"] {
                put(format!("{p}.{ln}.weight"), &[8], 1.0);
                put(format!("{p}.{ln}.bias"), &[8], 0.0);
            }
        }
        let vb = VarBuilder::from_tensors(t, DType::F32, &Device::Cpu);
        (LoraBert::new(vb, &cfg).unwrap(), cfg)
    }

    fn adapters(bert: &LoraBert, layers: usize, b_value: Option<f32>, seed: u64) -> Vec<LayerLora> {
        let mut rng = SplitMix::new(seed);
        let mut rand = |r: usize, c: usize| {
            let v: Vec<f32> = (0..r * c).map(|_| rng.next_f32() - 0.5).collect();
            Tensor::from_vec(v, (r, c), &Device::Cpu).unwrap()
        };
        (0..layers)
            .map(|_| {
                let mut l = LayerLora::default();
                for p in Proj::ALL {
                    let (i, o) = p.shape(bert.hidden, bert.intermediate);
                    let b = match b_value {
                        None => Tensor::zeros((o, 4), DType::F32, &Device::Cpu).unwrap(),
                        Some(s) => (rand(o, 4) * s as f64).unwrap(),
                    };
                    l.set(p, LoraPair { a: rand(4, i), b, scale: 2.0 });
                }
                l
            })
            .collect()
    }

    fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
        a.iter().flatten().zip(b.iter().flatten()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    const BATCH: [&[u32]; 3] = [&[1, 5, 7, 2], &[1, 9, 2], &[1, 3, 4, 11, 6, 2]];

    #[test]
    fn zero_initialized_adapters_change_nothing() {
        let (bert, _) = tiny();
        let plain = bert.sentence_embeddings(&BATCH, &[], Mode::Infer).unwrap();
        let zero = adapters(&bert, 2, None, 1);
        let adapted = bert.sentence_embeddings(&BATCH, &zero, Mode::Infer).unwrap();
        assert_eq!(plain, adapted);
        // And a non-zero adapter does change the output (the test can fail).
        let live = adapters(&bert, 2, Some(0.5), 1);
        assert!(max_diff(&plain, &bert.sentence_embeddings(&BATCH, &live, Mode::Infer).unwrap()) > 1e-3);
    }

    #[test]
    fn train_mode_computes_the_same_function() {
        let (bert, _) = tiny();
        let live = adapters(&bert, 1, Some(0.3), 2);
        let infer = bert.sentence_embeddings(&BATCH, &live, Mode::Infer).unwrap();
        let train = bert.sentence_embeddings(&BATCH, &live, Mode::Train).unwrap();
        assert!(max_diff(&infer, &train) < 1e-5, "{}", max_diff(&infer, &train));
    }

    #[test]
    fn merged_layers_equal_adapted_layers() {
        let (bert, _) = tiny();
        let live = adapters(&bert, 2, Some(0.3), 3);
        let adapted = bert.sentence_embeddings(&BATCH, &live, Mode::Infer).unwrap();
        let (ids, mask) = super::super::candle_bert::pad_batch(&BATCH, &Device::Cpu).unwrap();
        let bias = LoraBert::attention_bias(&mask).unwrap();
        let mut h = bert.embed(&ids).unwrap();
        for (layer, lora) in bert.layers().iter().zip(&live) {
            h = layer.merged(lora).unwrap().forward(&h, &bias, None, Mode::Infer, None).unwrap();
        }
        let mut merged = super::super::candle_bert::mean_pool(&h, &mask).unwrap().to_vec2::<f32>().unwrap();
        merged.iter_mut().for_each(|v| super::super::hashing::normalize(v));
        assert!(max_diff(&adapted, &merged) < 1e-5, "{}", max_diff(&adapted, &merged));
    }

    #[test]
    fn gradients_reach_the_lowest_adapter() {
        // The fused layer-norm / softmax kernels have no backward; train mode must not use
        // them, or the lower layer's adapter would get no gradient.
        let (bert, _) = tiny();
        let a =
            candle_core::Var::from_tensor(&Tensor::ones((4, 8), DType::F32, &Device::Cpu).unwrap()).unwrap();
        let b = candle_core::Var::zeros((8, 4), DType::F32, &Device::Cpu).unwrap();
        let mut lora = LayerLora::default();
        lora.set(Proj::Value, LoraPair { a: a.as_tensor().clone(), b: b.as_tensor().clone(), scale: 1.0 });
        let (ids, mask) = super::super::candle_bert::pad_batch(&BATCH, &Device::Cpu).unwrap();
        let bias = LoraBert::attention_bias(&mask).unwrap();
        let x = bert.embed(&ids).unwrap();
        let h = bert.run(x, &bias, 0..2, &[Some(&lora), None], Mode::Train, None).unwrap();
        let loss = h.sqr().unwrap().sum_all().unwrap();
        let grads = loss.backward().unwrap();
        let g = grads.get(b.as_tensor()).expect("gradient for B").abs().unwrap().sum_all().unwrap();
        assert!(g.to_scalar::<f32>().unwrap() > 1e-6);
    }

    #[test]
    fn frozen_linear_matches_linear_forward_and_input_gradient() {
        let mut rng = SplitMix::new(5);
        let mut rand = |shape: &[usize]| {
            let n: usize = shape.iter().product();
            Tensor::from_vec((0..n).map(|_| rng.next_f32() - 0.5).collect::<Vec<f32>>(), shape, &Device::Cpu)
                .unwrap()
        };
        let lin = Linear::new(rand(&[5, 3]), Some(rand(&[5])));
        let x = candle_core::Var::from_tensor(&rand(&[2, 4, 3])).unwrap();
        let plain = lin.forward(x.as_tensor()).unwrap();
        let frozen = x.as_tensor().apply_op1(FrozenLinear(lin.clone())).unwrap();
        let fwd = (&plain - &frozen).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(fwd < 1e-6, "{fwd}");
        let g_plain = plain.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let g_frozen = frozen.sqr().unwrap().sum_all().unwrap().backward().unwrap();
        let (a, b) = (g_plain.get(x.as_tensor()).unwrap(), g_frozen.get(x.as_tensor()).unwrap());
        let bwd = (a - b).unwrap().abs().unwrap().max_all().unwrap().to_scalar::<f32>().unwrap();
        assert!(bwd < 1e-5, "{bwd}");
        // Only the input gets a gradient: the weight is not part of the graph.
        assert!(g_frozen.get(lin.weight()).is_none());
    }

    #[test]
    fn dropout_is_seeded() {
        let x = Tensor::ones((4, 16), DType::F32, &Device::Cpu).unwrap();
        let a = Dropout::new(0.5, 9).apply(&x).unwrap().to_vec2::<f32>().unwrap();
        let b = Dropout::new(0.5, 9).apply(&x).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(a, b);
        let kept = a.iter().flatten().filter(|v| **v > 0.0).count();
        assert!(kept > 16 && kept < 48, "{kept} of 64 kept");
        assert!(a.iter().flatten().all(|v| *v == 0.0 || *v == 2.0));
    }
}
