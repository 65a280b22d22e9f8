//! Sentence embeddings with a BERT model run by candle, from a sentence-transformers
//! directory (config.json, tokenizer.json, model.safetensors, sentence_bert_config.json):
//! tokenize, truncate at the model's `max_seq_length`, run BERT in length-sorted padded
//! batches, mean-pool over the attention mask, L2-normalize. The same recipe as
//! sentence-transformers, so vectors match it (cosine >= 0.9999 on the reference set).
//!
//! Thread safety: the embedder is `Send + Sync`; concurrent `embed` calls share one
//! rayon pool of [`BertOptions::threads`] threads, which bounds the CPU it takes.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig};

pub use super::bert::BertOptions;
use super::hashing::normalize;
use super::st_dir::{model_err, StTokenizer};
use super::{DeviceKind, Embedder};
use crate::error::{Error, Result};

/// A BERT sentence embedder (mean pooling, normalized), e.g. all-MiniLM-L6-v2.
pub struct CandleBertEmbedder {
    model: BertModel,
    tokenizer: StTokenizer,
    device: Device,
    pool: rayon::ThreadPool,
    dim: usize,
    batch_size: usize,
    model_id: String,
    dir: PathBuf,
}

impl std::fmt::Debug for CandleBertEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CandleBertEmbedder")
            .field("model_id", &self.model_id)
            .field("dir", &self.dir)
            .field("dim", &self.dim)
            .field("max_seq_length", &self.tokenizer.max_seq_length())
            .field("device", &self.device)
            .finish()
    }
}

/// What a sentence-transformers directory says about its BERT: the config and the tokenizer
/// set up the way sentence-transformers runs it (truncating at its maximum sequence length).
/// Shared by the candle forwards over such a directory (the emotion adapter, training).
pub(crate) struct SentenceBertDir {
    pub config: BertConfig,
    pub tokenizer: StTokenizer,
}

impl SentenceBertDir {
    pub fn open(dir: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(dir.join("config.json"))
            .map_err(|e| model_err(dir, "reading config.json", e))?;
        let config: BertConfig =
            serde_json::from_str(&text).map_err(|e| model_err(dir, "parsing config.json", e))?;
        let tokenizer = StTokenizer::load(dir, config.max_position_embeddings)?;
        Ok(SentenceBertDir { config, tokenizer })
    }
}

/// Token ids of each text after truncation (special tokens included); blank texts are
/// [`Error::EmptyText`].
pub(crate) fn tokenize(tokenizer: &StTokenizer, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
    texts.iter().map(|t| tokenizer.encode(t)).collect()
}

/// Padded `(ids, mask)` tensors of shape `(n, longest)` for a batch of token id lists.
pub(crate) fn pad_batch(batch: &[&[u32]], device: &Device) -> candle_core::Result<(Tensor, Tensor)> {
    let n = batch.len();
    let len = batch.iter().map(|ids| ids.len()).max().unwrap_or(0);
    let mut ids = vec![0u32; n * len];
    let mut mask = vec![0u32; n * len];
    for (row, tokens) in batch.iter().enumerate() {
        ids[row * len..row * len + tokens.len()].copy_from_slice(tokens);
        mask[row * len..row * len + tokens.len()].fill(1);
    }
    Ok((Tensor::from_vec(ids, (n, len), device)?, Tensor::from_vec(mask, (n, len), device)?))
}

/// Mean of `hidden` (n, len, dim) over the positions where `mask` (n, len) is 1.
pub(crate) fn mean_pool(hidden: &Tensor, mask: &Tensor) -> candle_core::Result<Tensor> {
    let mask = mask.to_dtype(hidden.dtype())?.unsqueeze(2)?; // (n, len, 1)
    let summed = hidden.broadcast_mul(&mask)?.sum(1)?; // (n, dim)
    summed.broadcast_div(&mask.sum(1)?)
}

/// Length-sorted order of texts, so each batch pads to a similar length (less wasted compute).
pub(crate) fn length_order(tokens: &[Vec<u32>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    order.sort_by_key(|&i| tokens[i].len());
    order
}

impl CandleBertEmbedder {
    /// Load a sentence-transformers directory. Weights are memory-mapped while loading.
    pub fn load(dir: impl AsRef<Path>, opts: BertOptions) -> Result<Self> {
        let dir = dir.as_ref();
        let _span = tracing::info_span!("load_bert", dir = %dir.display()).entered();
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).map_err(|e| model_err(dir, &format!("reading {name}"), e))
        };
        let config: BertConfig = serde_json::from_str(&read("config.json")?)
            .map_err(|e| model_err(dir, "parsing config.json", e))?;
        let tokenizer = StTokenizer::load(dir, config.max_position_embeddings)?;

        let device = make_device(opts.device)?;
        let weights = dir.join("model.safetensors");
        // SAFETY: the file is mapped read-only and only while loading; the cache files are
        // written once (atomically renamed into place) and never modified in place.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }
            .map_err(|e| model_err(dir, "mapping model.safetensors", e))?;
        let model = BertModel::load(vb, &config).map_err(|e| model_err(dir, "loading BERT weights", e))?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads.max(1))
            .thread_name(|i| format!("memorable-embed-{i}"))
            .build()
            .map_err(|e| Error::Internal(format!("embedding thread pool: {e}")))?;
        Ok(CandleBertEmbedder {
            model,
            tokenizer,
            device,
            pool,
            dim: config.hidden_size,
            batch_size: opts.batch_size.max(1),
            model_id: opts.model_id,
            dir: dir.to_path_buf(),
        })
    }

    /// Longest input in tokens (special tokens included); longer texts are truncated.
    pub fn max_seq_length(&self) -> usize {
        self.tokenizer.max_seq_length()
    }

    /// The device the model runs on.
    pub fn device_kind(&self) -> DeviceKind {
        if self.device.is_cuda() {
            DeviceKind::Cuda
        } else if self.device.is_metal() {
            DeviceKind::Metal
        } else {
            DeviceKind::Cpu
        }
    }

    /// Token ids of each text after truncation (special tokens included).
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        tokenize(&self.tokenizer, texts)
    }

    /// Number of tokens the model sees for each text (at most [`Self::max_seq_length`]).
    pub fn token_counts(&self, texts: &[&str]) -> Result<Vec<usize>> {
        Ok(self.tokenize(texts)?.iter().map(Vec::len).collect())
    }

    /// One forward pass over same-batch texts; returns normalized mean-pooled vectors.
    fn forward(&self, batch: &[&[u32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let (ids, mask) = pad_batch(batch, &self.device)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?; // (n, len, dim)
        let mut vectors = mean_pool(&hidden, &mask)?.to_vec2::<f32>()?;
        vectors.iter_mut().for_each(|v| normalize(v));
        Ok(vectors)
    }
}

impl Embedder for CandleBertEmbedder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let tokens = self.tokenize(texts)?;
        let order = length_order(&tokens);
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        self.pool.install(|| -> Result<()> {
            for chunk in order.chunks(self.batch_size) {
                let batch: Vec<&[u32]> = chunk.iter().map(|&i| tokens[i].as_slice()).collect();
                let vectors =
                    self.forward(&batch).map_err(|e| Error::Model(format!("BERT forward pass: {e}")))?;
                for (&i, v) in chunk.iter().zip(vectors) {
                    out[i] = v;
                }
            }
            Ok(())
        })?;
        Ok(out)
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn model_id(&self) -> &str {
        &self.model_id
    }
}

pub(crate) fn make_device(kind: DeviceKind) -> Result<Device> {
    let dev: candle_core::Result<Device> = match kind {
        DeviceKind::Cpu => Ok(Device::Cpu),
        #[cfg(feature = "cuda")]
        DeviceKind::Cuda => Device::new_cuda(0),
        #[cfg(feature = "metal")]
        DeviceKind::Metal => Device::new_metal(0),
        #[allow(unreachable_patterns)]
        other => return Err(Error::Model(format!("device {other:?} is not compiled into this build"))),
    };
    dev.map_err(|e| Error::Model(format!("opening device {kind:?}: {e}")))
}

/// GPU backends usable right now (compiled in and a device answers).
pub fn gpu_available() -> (bool, bool) {
    #[cfg(feature = "cuda")]
    let cuda = Device::new_cuda(0).is_ok();
    #[cfg(not(feature = "cuda"))]
    let cuda = false;
    #[cfg(feature = "metal")]
    let metal = Device::new_metal(0).is_ok();
    #[cfg(not(feature = "metal"))]
    let metal = false;
    (cuda, metal)
}
