//! `classify`: text emotion readings from the engine's emotion classifier.

use std::collections::BTreeMap;

use memorable_core as core;
use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use crate::task::Job;
use crate::Memorable;

/// One text's emotion reading.
#[napi(object)]
pub struct Classified {
    pub text: String,
    /// Probability of every label (the 28 GoEmotions labels for the shipped classifier).
    pub scores: BTreeMap<String, f64>,
    /// Labels at or above their thresholds, most probable first.
    pub labels: Vec<String>,
}

impl From<core::Classified> for Classified {
    fn from(c: core::Classified) -> Self {
        Classified {
            text: c.text,
            scores: c.scores.into_iter().map(|(k, v)| (k, f64::from(v))).collect(),
            labels: c.labels,
        }
    }
}

/// Whether text emotion classification is available (`stats().classifier`).
#[napi(object, use_nullable = true)]
pub struct ClassifierStatus {
    /// True when `classify` can run (checksums are verified on first use).
    pub available: bool,
    /// True once the classifier is loaded.
    pub loaded: bool,
    pub model_id: Option<String>,
    /// Why classification is off (null when it is available).
    pub reason: Option<String>,
}

impl From<core::ClassifierStatus> for ClassifierStatus {
    fn from(s: core::ClassifierStatus) -> Self {
        ClassifierStatus { available: s.available, loaded: s.loaded, model_id: s.model_id, reason: s.reason }
    }
}

#[napi]
impl Memorable {
    /// Emotion readings of `texts` from the engine's emotion classifier (the shipped
    /// GoEmotions classifier when the store embeds with MiniLM). Rejects with code
    /// `CLASSIFIER_UNAVAILABLE` saying why when there is none.
    #[napi(ts_return_type = "Promise<Array<Classified>>")]
    pub fn classify(&self, texts: Vec<String>) -> AsyncTask<Job<Vec<Classified>>> {
        let inner = self.inner.clone();
        AsyncTask::new(Job::new(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            inner.classify(&refs).map(|v| v.into_iter().map(Into::into).collect())
        }))
    }
}
