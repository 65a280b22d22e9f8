//! `classify`: text emotion readings from the engine's emotion classifier.

use std::collections::BTreeMap;

use memorable_core as core;
use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use crate::handle::Memorable;
use crate::task::Job;

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
