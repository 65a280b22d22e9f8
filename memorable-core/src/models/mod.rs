//! Model backends. [`Embedder`] turns text into unit vectors; [`BertEmbedder`] runs a
//! sentence-transformers BERT (all-MiniLM-L6-v2 by default) on the CPU with a hand-written
//! forward ([`bert`]), [`CandleBertEmbedder`] runs the same model with candle (GPUs, and the
//! reference); [`HashingEmbedder`] is the dependency-free fallback used when no model
//! weights are present. [`cache`] holds the model cache and its manifest, [`select`] picks
//! a model for the machine.

#[cfg(feature = "candle")]
mod adapter_file;
#[cfg(feature = "candle")]
pub mod bert;
#[cfg(feature = "candle")]
pub mod bert_lora;
pub mod cache;
#[cfg(feature = "candle")]
pub mod candle_bert;
pub mod emotion;
#[cfg(feature = "candle")]
pub mod emotion_adapter;
#[cfg(feature = "candle")]
pub mod emotion_manifest;
pub mod emotion_metrics;
#[cfg(feature = "candle")]
pub mod emotion_native;
mod hashing;
pub mod llm;
pub(crate) mod profile;
pub mod registry;
mod resolve;
mod role;
pub mod select;
#[cfg(feature = "candle")]
mod st_dir;

#[cfg(feature = "candle")]
pub use bert::{BertEmbedder, BertOptions};
#[cfg(feature = "candle")]
pub use candle_bert::CandleBertEmbedder;
pub use emotion::{EmbeddedEmotions, EmotionClassifier};
#[cfg(feature = "candle")]
pub use emotion_adapter::{AdapterEmotionClassifier, ClassifierOptions};
#[cfg(feature = "candle")]
pub use emotion_native::SharedPassClassifier;
pub use hashing::HashingEmbedder;
pub use select::{ModelChoice, Profile, SelectionReport};

/// Where the model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    #[default]
    Cpu,
    Cuda,
    Metal,
}

use crate::error::Result;

/// Turns texts into L2-normalized vectors of a fixed dimension.
///
/// Implementations must be deterministic (the same text gives the same vector on every
/// platform and run), because vectors are stored and compared across processes.
pub trait Embedder: Send + Sync {
    /// Embed a batch; the result has one vector of length [`Embedder::dim`] per input.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
    /// Dimension of every vector.
    fn dim(&self) -> usize;
    /// Stable id of the model (stored beside every vector it makes).
    fn model_id(&self) -> &str;
    /// True for the hashing fallback (reported by `stats()`).
    fn is_fallback(&self) -> bool {
        false
    }
    /// This embedder as the native BERT forward, when it is one: the emotion classifier can
    /// then run on its encoder, and one pass gives a text's vector and its emotion scores.
    #[cfg(feature = "candle")]
    fn native_bert(self: std::sync::Arc<Self>) -> Option<std::sync::Arc<BertEmbedder>> {
        None
    }
}
