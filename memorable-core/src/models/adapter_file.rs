//! The adapter file of a trained emotion classifier (`adapter.safetensors`): its tensor
//! names, its checksum check, and reading it into LoRA pairs and a head. Shared by the candle
//! classifier ([`super::emotion_adapter`]), the native shared pass
//! ([`super::emotion_native`]) and training.

use candle_core::{DType, Module, Tensor};
use candle_nn::Linear;

use super::bert_lora::{Dropout, LayerLora, LoraPair};
use super::emotion_manifest::{EmotionManifest, ADAPTER_FILE};
use crate::error::{Error, Result};

fn unavailable(what: impl std::fmt::Display) -> Error {
    Error::ClassifierUnavailable(what.to_string())
}

/// The head on pooled token states: an optional GELU hidden layer, then one logit per label.
#[derive(Debug, Clone)]
pub struct Head {
    pub hidden: Option<Linear>,
    pub out: Linear,
}

impl Head {
    /// Logits (n, labels) for pooled states (n, dim); `drop` applies dropout (training).
    pub fn forward(&self, pooled: &Tensor, drop: Option<&Dropout>) -> candle_core::Result<Tensor> {
        let mut x = pooled.clone();
        if let Some(h) = &self.hidden {
            if let Some(d) = drop {
                x = d.apply(&x)?;
            }
            x = h.forward(&x)?.gelu_erf()?;
        }
        if let Some(d) = drop {
            x = d.apply(&x)?;
        }
        self.out.forward(&x)
    }
}

/// Tensor names inside `adapter.safetensors`.
pub fn lora_a_name(layer: usize, proj: super::bert_lora::Proj) -> String {
    format!("layer.{layer}.{}.lora_a", proj.name())
}
pub fn lora_b_name(layer: usize, proj: super::bert_lora::Proj) -> String {
    format!("layer.{layer}.{}.lora_b", proj.name())
}
pub const HEAD_HIDDEN_WEIGHT: &str = "head.hidden.weight";
pub const HEAD_HIDDEN_BIAS: &str = "head.hidden.bias";
pub const HEAD_OUT_WEIGHT: &str = "head.out.weight";
pub const HEAD_OUT_BIAS: &str = "head.out.bias";

/// Hex SHA-256 of bytes.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Refuses an adapter file whose size or SHA-256 is not the manifest's.
pub(crate) fn check_adapter(manifest: &EmotionManifest, adapter: &[u8]) -> Result<()> {
    let digest = sha256_hex(adapter);
    if digest != manifest.adapter.sha256 || adapter.len() as u64 != manifest.adapter.bytes {
        return Err(unavailable(format!(
            "{} fails its checksum ({} bytes, sha256 {digest}; the manifest says {} bytes, {})",
            manifest.adapter.file,
            adapter.len(),
            manifest.adapter.bytes,
            manifest.adapter.sha256
        )));
    }
    Ok(())
}

/// The sizes of the encoder an adapter file is read for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EncoderShape {
    pub layers: usize,
    pub hidden: usize,
    pub intermediate: usize,
}

/// The adapters (one per adapted layer, bottom first) and the head stored in an adapter file.
pub(crate) fn read_adapter(
    manifest: &EmotionManifest,
    tensors: &std::collections::HashMap<String, Tensor>,
    bert: EncoderShape,
) -> Result<(Vec<LayerLora>, Head)> {
    let spec = &manifest.adapter;
    let layers = bert.layers;
    let split = layers.saturating_sub(spec.layers.len());
    if spec.layers.iter().copied().ne(split..layers) {
        return Err(unavailable(format!(
            "adapted layers {:?} are not the top layers of a {layers}-layer encoder",
            spec.layers
        )));
    }
    let get = |name: &str, shape: &[usize]| -> Result<Tensor> {
        let t =
            tensors.get(name).ok_or_else(|| unavailable(format!("{ADAPTER_FILE} lacks tensor {name}")))?;
        if t.dims() != shape {
            return Err(unavailable(format!(
                "{ADAPTER_FILE}: tensor {name} has shape {:?}, expected {shape:?}",
                t.dims()
            )));
        }
        t.to_dtype(DType::F32).map_err(unavailable)
    };
    let mut adapters = Vec::new();
    for &l in &spec.layers {
        let mut lora = LayerLora::default();
        for &p in &spec.projections {
            let (inp, out) = p.shape(bert.hidden, bert.intermediate);
            lora.set(
                p,
                LoraPair {
                    a: get(&lora_a_name(l, p), &[spec.rank, inp])?,
                    b: get(&lora_b_name(l, p), &[out, spec.rank])?,
                    scale: spec.scale(),
                },
            );
        }
        adapters.push(lora);
    }
    let labels = manifest.labels.len();
    let (hidden, head_in) = if spec.head_hidden > 0 {
        let w = get(HEAD_HIDDEN_WEIGHT, &[spec.head_hidden, bert.hidden])?;
        let b = get(HEAD_HIDDEN_BIAS, &[spec.head_hidden])?;
        (Some(Linear::new(w, Some(b))), spec.head_hidden)
    } else {
        (None, bert.hidden)
    };
    let out = Linear::new(get(HEAD_OUT_WEIGHT, &[labels, head_in])?, Some(get(HEAD_OUT_BIAS, &[labels])?));
    Ok((adapters, Head { hidden, out }))
}
