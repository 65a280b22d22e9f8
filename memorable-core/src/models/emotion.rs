//! Text emotion classification: the [`EmotionClassifier`] trait. Backends (the trained
//! embedding-head / adapter classifier) live beside it; the emotion layer feeds what a
//! classifier reads in a memory's text into that memory's session as a `text` reading.

use crate::error::Result;

/// Multi-label emotion probabilities for texts, over a fixed label set (the GoEmotions
/// labels for the shipped classifier).
///
/// Implementations are deterministic and `Send + Sync`; `classify` may be called from many
/// threads at once.
pub trait EmotionClassifier: Send + Sync {
    /// Label names, in the order of every probability vector.
    fn labels(&self) -> &[String];
    /// Per-label decision thresholds (same order as [`EmotionClassifier::labels`]): a label
    /// is present when its probability is at or above its threshold.
    fn thresholds(&self) -> &[f32];
    /// One probability vector (each value in [0, 1]) per text.
    fn classify(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
    /// Stable id of the classifier (e.g. its manifest's name and version).
    fn model_id(&self) -> &str;
    /// Model id of the embedder the classifier was trained on; it is only used with that one.
    fn embedder_model_id(&self) -> &str;
    /// The plain embeddings of [`EmotionClassifier::embedder_model_id`] and the emotion
    /// probabilities from one encoder pass, for backends that share their encoder with that
    /// embedder (the adapter classifier runs the shared lower layers once). `None` when the
    /// backend cannot; callers then embed and classify separately.
    ///
    /// The embeddings are the embedder's own vectors (what a memory is stored with), not
    /// adapted ones.
    fn embed_and_classify(&self, texts: &[&str]) -> Result<Option<EmbeddedEmotions>> {
        let _ = texts;
        Ok(None)
    }
    /// True when [`EmotionClassifier::embed_and_classify`] runs on `embedder` itself, so its
    /// embeddings are that embedder's vectors bit for bit (the native shared pass). A store's
    /// write path then embeds and classifies a text in one pass.
    fn shares_pass_with(&self, embedder: &dyn super::Embedder) -> bool {
        let _ = embedder;
        false
    }
}

/// What [`EmotionClassifier::embed_and_classify`] returns: per text, its embedding and its
/// probability vector (label order of [`EmotionClassifier::labels`]).
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddedEmotions {
    pub embeddings: Vec<Vec<f32>>,
    pub scores: Vec<Vec<f32>>,
}
