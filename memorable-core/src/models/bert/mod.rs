//! The native BERT sentence embedder: a hand-written f32 forward of BERT encoders such as
//! all-MiniLM-L6-v2, tuned for CPUs, the default embedding backend on CPU (candle still runs
//! GPUs, and stays selectable as `minilm-candle`).
//!
//! Same recipe as sentence-transformers (tokenize, truncate at `max_seq_length`, BERT, mean
//! pooling, L2 normalization) and the same weights file, so vectors match it (cosine >=
//! 0.9999 on the reference set) and match the candle backend. What makes it fast:
//! - packed batches: sequences are sorted by length and laid back to back, no padding, no
//!   attention mask; attention runs per sequence;
//! - weights packed once at load for the micro-kernels ([`gemm`]): AVX-512, AVX2+FMA or
//!   portable, chosen at run time ([`Isa::detect`]; no `target-cpu=native` needed);
//! - fused epilogues: bias + GELU, bias + residual (LayerNorm right after, while in cache);
//!   Q, K and V in one product; attention reads Q, K, V in place (no per-head copies);
//! - activation buffers reused across calls (no allocation per pass once warm);
//! - threads: a batch is split into groups of whole sequences (no synchronisation inside a
//!   layer); a single text splits each product across the pool instead (batch-1 latency).
//!
//! Results are deterministic bit for bit: the same text gives the same vector whatever
//! batch it is in, however many threads run it, and with each instruction set.
//!
//! # Reusing the forward (e.g. a LoRA-adapted classifier)
//!
//! [`BertWeights`] holds per-layer weights in `Arc`s; [`BertWeights::with_layer`] makes a
//! second set that shares every layer it does not replace. [`LayerWeights`]' linear layers
//! unpack with [`Linear::dense`] and take a merged delta with [`Linear::add_to_rows`] (the
//! fused `qkv` layer holds Q rows `0..h`, K rows `h..2h`, V rows `2h..3h`). An [`Encoder`]
//! runs any layer range of a [`Batch`] with its own or another same-shaped weight set, so
//! one pass can share layers `0..k` and then finish `k..n` twice:
//!
//! ```no_run
//! # fn main() -> memorable_core::Result<()> {
//! use memorable_core::models::bert::{Batch, BertEmbedder, BertOptions};
//! let e = BertEmbedder::load("/path/to/minilm", BertOptions::default())?;
//! let enc = e.encoder();
//! let base = enc.weights();
//! let (k, n) = (4, base.num_layers());
//! // An adapted copy: layer 4 with a (here zero) delta merged into its query rows.
//! let h = base.config.hidden_size;
//! let mut l4 = base.layer(4).clone();
//! l4.qkv = l4.qkv.add_to_rows(0, &vec![0.0; h * h])?;
//! let adapted = base.with_layer(4, l4)?;
//!
//! let ids = e.tokenize(&["I adopted a puppy!"])?;
//! let refs: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
//! let mut batch = Batch::default();
//! e.run(|| -> memorable_core::Result<()> {
//!     enc.embed_tokens(&refs, &mut batch)?;
//!     enc.run_layers(&mut batch, 0..k); // shared part, once
//!     let mut tuned = batch.clone();
//!     enc.run_layers(&mut batch, k..n); // plain model -> the embedding
//!     enc.run_layers_with(&adapted, &mut tuned, k..n); // adapted model -> its hidden states
//!     let embedding = enc.mean_pool(&batch, true);
//!     let features = enc.mean_pool(&tuned, false);
//!     # let _ = (embedding, features);
//!     Ok(())
//! })?;
//! # Ok(()) }
//! ```
//!
//! Thread safety: [`BertEmbedder`] and [`Encoder`] are `Send + Sync`; concurrent calls
//! share the embedder's pool of [`BertOptions::threads`] threads.

mod calibration;
pub mod encoder;
pub mod gemm;
pub mod ops;
pub mod qgemm;
pub mod weights;

use std::path::{Path, PathBuf};

pub use encoder::{Batch, Encoder};
pub use ops::Isa;
pub use qgemm::QIsa;
pub use weights::{BertConfig, BertWeights, Calibration, Embeddings, LayerWeights, Linear, Norm};

use super::st_dir::StTokenizer;
use super::{DeviceKind, Embedder};
use crate::error::{Error, Result};
use parking_lot::Mutex;

/// How to load and run a BERT embedder (native or candle).
#[derive(Debug, Clone)]
pub struct BertOptions {
    /// Stored beside every vector; must name the weights exactly.
    pub model_id: String,
    /// Threads of the embedder's rayon pool.
    pub threads: usize,
    /// Texts per forward pass.
    pub batch_size: usize,
    /// The native embedder runs on the CPU only; candle also runs CUDA and Metal.
    pub device: DeviceKind,
}

impl Default for BertOptions {
    fn default() -> Self {
        BertOptions {
            model_id: "sentence-transformers/all-MiniLM-L6-v2".into(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            batch_size: 32,
            device: DeviceKind::Cpu,
        }
    }
}

/// True when the native forward runs well on this CPU: AVX2+FMA or AVX-512 on x86-64, or
/// any other architecture (its portable kernels vectorize there). On x86-64 without FMA
/// the candle backend is the better choice.
pub fn native_supported() -> bool {
    !cfg!(target_arch = "x86_64") || Isa::detect() >= Isa::Avx2
}

/// A BERT sentence embedder (mean pooling, normalized) on the native CPU forward.
pub struct BertEmbedder {
    encoder: Encoder,
    tokenizer: StTokenizer,
    pool: rayon::ThreadPool,
    batches: Mutex<Vec<Batch>>,
    batch_size: usize,
    model_id: String,
    dir: PathBuf,
}

impl std::fmt::Debug for BertEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BertEmbedder")
            .field("model_id", &self.model_id)
            .field("dir", &self.dir)
            .field("isa", &self.encoder.weights().isa())
            .field("int8", &self.int8())
            .field("threads", &self.pool.current_num_threads())
            .finish()
    }
}

impl BertEmbedder {
    /// Load a sentence-transformers directory (config.json, tokenizer.json,
    /// model.safetensors in f32) with the best instruction set of this CPU.
    pub fn load(dir: impl AsRef<Path>, opts: BertOptions) -> Result<Self> {
        Self::load_with_isa(dir, opts, Isa::detect())
    }

    /// [`Self::load_with_isa`] with a given instruction set (at most [`Isa::detect`]); for
    /// tests and benchmarks comparing kernels.
    pub fn load_with_isa(dir: impl AsRef<Path>, opts: BertOptions, isa: Isa) -> Result<Self> {
        Self::load_with(dir.as_ref(), opts, isa, None)
    }

    /// [`Self::load`], then the encoder layers' linear layers quantized to int8 with the best
    /// int8 kernels of this CPU ([`qgemm`]; the `minilm-int8` model). Its vectors are close to
    /// the f32 model's but not equal, so `opts.model_id` must name them apart.
    pub fn load_int8(dir: impl AsRef<Path>, opts: BertOptions) -> Result<Self> {
        Self::load_with(dir.as_ref(), opts, Isa::detect(), Some(QIsa::detect()))
    }

    /// [`Self::load_int8`] with given kernels (at most what this CPU runs); for tests and
    /// benchmarks comparing them.
    pub fn load_int8_with(dir: impl AsRef<Path>, opts: BertOptions, isa: Isa, qisa: QIsa) -> Result<Self> {
        Self::load_with(dir.as_ref(), opts, isa, Some(qisa))
    }

    fn load_with(dir: &Path, opts: BertOptions, isa: Isa, int8: Option<QIsa>) -> Result<Self> {
        let _span = tracing::info_span!("load_bert_native", dir = %dir.display(), isa = isa.name()).entered();
        if opts.device != DeviceKind::Cpu {
            return Err(Error::Model(format!(
                "the native BERT forward runs on the CPU, not {:?}",
                opts.device
            )));
        }
        if isa > Isa::detect() {
            return Err(Error::Model(format!("this CPU cannot run {} kernels", isa.name())));
        }
        if let Some(q) = int8.filter(|q| *q > QIsa::detect()) {
            return Err(Error::Model(format!("this CPU cannot run {} kernels", q.name())));
        }
        let mut weights = BertWeights::load(dir, isa)?;
        let tokenizer = StTokenizer::load(dir, weights.config.max_position_embeddings)?;
        if let Some(q) = int8 {
            let calibration = calibration::run(&weights, &tokenizer)?;
            weights = weights.quantized(q, Some(&calibration))?;
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads.max(1))
            .thread_name(|i| format!("memorable-embed-{i}"))
            .build()
            .map_err(|e| Error::Internal(format!("embedding thread pool: {e}")))?;
        Ok(BertEmbedder {
            encoder: Encoder::new(weights),
            tokenizer,
            pool,
            batches: Mutex::new(Vec::new()),
            batch_size: opts.batch_size.max(1),
            model_id: opts.model_id,
            dir: dir.to_path_buf(),
        })
    }

    /// Longest input in tokens (special tokens included); longer texts are truncated.
    pub fn max_seq_length(&self) -> usize {
        self.tokenizer.max_seq_length()
    }

    /// Token ids of each text after truncation (special tokens included).
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        texts.iter().map(|t| self.tokenizer.encode(t)).collect()
    }

    /// Number of tokens the model sees for each text (at most [`Self::max_seq_length`]).
    pub fn token_counts(&self, texts: &[&str]) -> Result<Vec<usize>> {
        Ok(self.tokenize(texts)?.iter().map(Vec::len).collect())
    }

    /// The forward, to run layer ranges or other weight sets (see the module docs).
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// Run `f` on the embedder's thread pool (the encoder parallelises on the current pool).
    pub fn run<R: Send>(&self, f: impl FnOnce() -> R + Send) -> R {
        self.pool.install(f)
    }

    /// The instruction set the kernels use.
    pub fn isa(&self) -> Isa {
        self.encoder.weights().isa()
    }

    /// The int8 kernels of a quantized model (`None`: an f32 model).
    pub fn int8(&self) -> Option<QIsa> {
        let w = self.encoder.weights();
        if w.num_layers() == 0 {
            return None;
        }
        match &w.layer(0).qkv.w {
            weights::Weight::Int8(q) => Some(q.qisa()),
            weights::Weight::F32(_) => None,
        }
    }

    /// Texts per forward pass.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The folder the weights were loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The forward's batching, for [`Embedder::embed`] and passes that run layers of their
    /// own (the shared-pass emotion classifier): on the embedder's pool, tokenize `texts`, sort
    /// them by length and, per batch of at most the embedder's batch size, write the input of
    /// layer 0 into a reused [`Batch`] and call `f` with the texts' indices and that batch.
    /// Sorted by length, each batch holds similar lengths (attention cost is per sequence, so
    /// this only groups work; there is no padding to save).
    pub fn for_each_batch(
        &self,
        texts: &[&str],
        mut f: impl FnMut(&[usize], &mut Batch) -> Result<()> + Send,
    ) -> Result<()> {
        if texts.is_empty() {
            return Ok(());
        }
        self.pool.install(|| {
            use rayon::prelude::*;
            let tokens: Vec<Vec<u32>> = if texts.len() > 1 {
                texts.par_iter().map(|t| self.tokenizer.encode(t)).collect::<Result<_>>()?
            } else {
                self.tokenize(texts)?
            };
            let mut order: Vec<usize> = (0..texts.len()).collect();
            order.sort_by_key(|&i| tokens[i].len());
            let mut batch = self.batches.lock().pop().unwrap_or_default();
            let result = order.chunks(self.batch_size).try_for_each(|chunk| {
                let ids: Vec<&[u32]> = chunk.iter().map(|&i| tokens[i].as_slice()).collect();
                self.encoder.embed_tokens(&ids, &mut batch)?;
                f(chunk, &mut batch)
            });
            self.batches.lock().push(batch);
            result
        })
    }
}

impl Embedder for BertEmbedder {
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let n_layers = self.encoder.weights().num_layers();
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
        self.for_each_batch(texts, |chunk, batch| {
            self.encoder.run_layers(batch, 0..n_layers);
            for (&i, v) in chunk.iter().zip(self.encoder.mean_pool(batch, true)) {
                out[i] = v;
            }
            Ok(())
        })?;
        Ok(out)
    }
    fn dim(&self) -> usize {
        self.encoder.weights().config.hidden_size
    }
    fn model_id(&self) -> &str {
        &self.model_id
    }
    fn native_bert(self: std::sync::Arc<Self>) -> Option<std::sync::Arc<BertEmbedder>> {
        Some(self)
    }
}
