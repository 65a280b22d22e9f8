//! [`crate::Memorable::classify`]: text emotion scores from the engine's emotion classifier, and the
//! slot that holds that classifier.
//!
//! By default the slot holds the shipped GoEmotions classifier
//! ([`crate::models::emotion_adapter::load_default`]), loaded on first use when the engine
//! embeds with the MiniLM it was trained on; otherwise classification is off and
//! [`ClassifierStatus::reason`] (in `stats()`) says why.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::{Embedder, EmotionClassifier};

/// One text's emotion reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classified {
    pub text: String,
    /// Probability of every label (GoEmotions label names for the shipped classifier).
    pub scores: BTreeMap<String, f32>,
    /// Labels at or above their thresholds, most probable first.
    pub labels: Vec<String>,
}

/// Whether emotion classification is available, from [`crate::Stats::classifier`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifierStatus {
    /// True when `classify` can run (for a classifier not loaded yet: as far as can be told
    /// without loading it; checksums are verified on first use).
    pub available: bool,
    /// True once the classifier is loaded.
    pub loaded: bool,
    /// Model id of the classifier, when there is one.
    pub model_id: Option<String>,
    /// Why classification is off.
    pub reason: Option<String>,
    /// True when the loaded classifier runs on the store's own embedder: a remembered text's
    /// vector and its emotion scores come from one encoder pass (the shipped classifier on
    /// the native MiniLM forward).
    #[serde(default)]
    pub shared_pass: bool,
}

/// The engine's emotion classifier: given, or the shipped default loaded on first use.
pub(crate) struct ClassifierSlot {
    /// The application's own classifier (never replaced by the default).
    given: bool,
    embedder_model_id: String,
    model_dir: Option<PathBuf>,
    threads: usize,
    /// The store's embedder when it is the native forward: the default classifier then runs
    /// on its encoder (one pass for a memory's vector and its emotion scores).
    #[cfg(feature = "candle")]
    shared: Option<Arc<crate::models::BertEmbedder>>,
    cell: OnceLock<std::result::Result<Arc<dyn EmotionClassifier>, String>>,
}

impl ClassifierSlot {
    /// A slot holding the application's own classifier (`Builder::emotion_classifier`).
    pub(crate) fn given(classifier: Arc<dyn EmotionClassifier>) -> Self {
        let slot = ClassifierSlot {
            given: true,
            embedder_model_id: classifier.embedder_model_id().to_owned(),
            model_dir: None,
            threads: 1,
            #[cfg(feature = "candle")]
            shared: None,
            cell: OnceLock::new(),
        };
        let _ = slot.cell.set(Ok(classifier));
        slot
    }

    /// Whether the application gave this classifier (it is then not the registry's).
    pub(crate) fn is_given(&self) -> bool {
        self.given
    }

    /// The classifier already in the slot (a given one, or the default once loaded).
    pub(crate) fn get_given(&self) -> Option<Arc<dyn EmotionClassifier>> {
        self.cell.get().and_then(|r| r.as_ref().ok().cloned())
    }

    /// The slot for an engine that now embeds with `embedder` (after a reembed): a given
    /// classifier stays; the default is judged again for the new embedder.
    pub(crate) fn rebind(self: &Arc<Self>, embedder: &Arc<dyn Embedder>) -> Arc<Self> {
        if self.given || self.embedder_model_id == embedder.model_id() {
            return self.clone();
        }
        Arc::new(ClassifierSlot::default_for(embedder, self.model_dir.clone(), self.threads))
    }

    /// The shipped classifier as an [`EmotionClassifier`] for the emotional layer, loaded on
    /// its first `classify`; `None` when this slot holds a given classifier, or when the
    /// shipped one cannot serve this embedder (the reason is in `stats().classifier`).
    pub(crate) fn lazy_default(self: &Arc<Self>) -> Option<Arc<dyn EmotionClassifier>> {
        if self.cell.get().is_some() {
            return None;
        }
        #[cfg(feature = "candle")]
        {
            use crate::models::emotion_adapter::{default_manifest, default_unavailable_reason_in};
            let dir = self.model_dir.as_deref();
            if default_unavailable_reason_in(&self.embedder_model_id, dir).is_some() {
                return None;
            }
            Some(Arc::new(LazyDefault { slot: self.clone(), manifest: default_manifest(dir).0 }))
        }
        #[cfg(not(feature = "candle"))]
        None
    }

    /// The default: the shipped classifier for an engine embedding with `embedder`.
    pub(crate) fn default_for(
        embedder: &Arc<dyn Embedder>,
        model_dir: Option<PathBuf>,
        threads: usize,
    ) -> Self {
        ClassifierSlot {
            given: false,
            embedder_model_id: embedder.model_id().to_owned(),
            model_dir,
            threads,
            #[cfg(feature = "candle")]
            shared: embedder.clone().native_bert(),
            cell: OnceLock::new(),
        }
    }

    /// The classifier, loading it on first use.
    pub(crate) fn get(&self) -> Result<Arc<dyn EmotionClassifier>> {
        self.cell
            .get_or_init(|| {
                #[cfg(feature = "candle")]
                {
                    use crate::models::emotion_adapter::{load_default_on, ClassifierOptions};
                    let opts =
                        ClassifierOptions { threads: self.threads.max(1), ..ClassifierOptions::default() };
                    let dir = self.model_dir.as_deref();
                    let loaded = load_default_on(&self.embedder_model_id, dir, opts, self.shared.clone());
                    if let Err(e) = &loaded {
                        tracing::warn!(reason = %e, "emotion classification is off");
                    }
                    loaded.map_err(|e| e.to_string())
                }
                #[cfg(not(feature = "candle"))]
                {
                    Err("this build has no candle feature, which the emotion classifier needs".to_owned())
                }
            })
            .clone()
            .map_err(Error::ClassifierUnavailable)
    }

    /// Emotion readings of `texts` (see [`crate::Memorable::classify`]): every text is checked
    /// (blank, or over `max_chars`) before the classifier is loaded or run.
    pub(crate) fn classify(&self, texts: &[&str], max_chars: usize) -> Result<Vec<Classified>> {
        for t in texts {
            crate::memory::validate_text(t, max_chars)?;
        }
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let classifier = self.get()?;
        classify_with(classifier.as_ref(), texts)
    }

    /// The slot's state for a store embedding with `embedder`.
    pub(crate) fn status(&self, embedder: &dyn Embedder) -> ClassifierStatus {
        match self.cell.get() {
            Some(Ok(c)) => ClassifierStatus {
                available: true,
                loaded: true,
                model_id: Some(c.model_id().to_owned()),
                reason: None,
                shared_pass: c.shares_pass_with(embedder),
            },
            Some(Err(reason)) => ClassifierStatus {
                available: false,
                loaded: false,
                model_id: None,
                reason: Some(reason.clone()),
                shared_pass: false,
            },
            None => {
                #[cfg(feature = "candle")]
                let (model_id, reason) = {
                    use crate::models::emotion_adapter::{default_manifest, default_unavailable_reason_in};
                    let dir = self.model_dir.as_deref();
                    (
                        Some(default_manifest(dir).0.model_id),
                        default_unavailable_reason_in(&self.embedder_model_id, dir),
                    )
                };
                #[cfg(not(feature = "candle"))]
                let (model_id, reason) = (None, Some("this build has no candle feature".to_owned()));
                ClassifierStatus {
                    available: reason.is_none(),
                    loaded: false,
                    model_id,
                    reason,
                    shared_pass: false,
                }
            }
        }
    }
}

/// The shipped classifier behind the [`EmotionClassifier`] trait: labels, thresholds and ids
/// come from its compiled-in manifest, so the emotional layer can be set up at open without
/// loading the adapter and the encoder (which happens on the first text to classify).
#[cfg(feature = "candle")]
struct LazyDefault {
    slot: Arc<ClassifierSlot>,
    manifest: crate::models::emotion_manifest::EmotionManifest,
}

#[cfg(feature = "candle")]
impl EmotionClassifier for LazyDefault {
    fn labels(&self) -> &[String] {
        &self.manifest.labels
    }
    fn thresholds(&self) -> &[f32] {
        &self.manifest.thresholds
    }
    fn classify(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.slot.get()?.classify(texts)
    }
    fn model_id(&self) -> &str {
        &self.manifest.model_id
    }
    fn embedder_model_id(&self) -> &str {
        // The store's embedder, which `lazy_default` checked the classifier runs on (the
        // encoder it was trained on, or that encoder quantized: `minilm-int8`).
        &self.slot.embedder_model_id
    }
    fn embed_and_classify(&self, texts: &[&str]) -> Result<Option<crate::models::EmbeddedEmotions>> {
        self.slot.get()?.embed_and_classify(texts)
    }
    /// Loads the classifier (as the first `classify` would): whether the pass is shared is
    /// known once it is loaded; one that cannot load shares nothing.
    fn shares_pass_with(&self, embedder: &dyn Embedder) -> bool {
        self.slot.get().is_ok_and(|c| c.shares_pass_with(embedder))
    }
}

/// Readings of `texts` by `classifier`, in input order.
pub fn classify_with(classifier: &dyn EmotionClassifier, texts: &[&str]) -> Result<Vec<Classified>> {
    classify_with_thresholds(classifier, texts, classifier.thresholds())
}

/// [`classify_with`], deciding labels with `thresholds` (one per label) instead of the
/// classifier's own (a user's calibration).
pub(crate) fn classify_with_thresholds(
    classifier: &dyn EmotionClassifier,
    texts: &[&str],
    thresholds: &[f32],
) -> Result<Vec<Classified>> {
    let probs = classifier.classify(texts)?;
    let labels = classifier.labels();
    if thresholds.len() != labels.len() {
        return Err(Error::Internal(format!("{} thresholds for {} labels", thresholds.len(), labels.len())));
    }
    Ok(texts
        .iter()
        .zip(probs)
        .map(|(text, p)| {
            let mut over: Vec<(usize, f32)> =
                p.iter().enumerate().filter(|(l, v)| **v >= thresholds[*l]).map(|(l, v)| (l, *v)).collect();
            over.sort_by(|a, b| b.1.total_cmp(&a.1));
            Classified {
                text: (*text).to_owned(),
                scores: labels.iter().cloned().zip(p).collect(),
                labels: over.into_iter().map(|(l, _)| labels[l].clone()).collect(),
            }
        })
        .collect())
}
