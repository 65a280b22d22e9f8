//! The version of a classifier that serves `classify` right now: the one deployed in the
//! model registry, else for `goemotions` the shipped one. Training (to compare with), the
//! calibration and `classify` all ask here.

use std::sync::Arc;

use crate::deployed::{self, registry_name, GOEMOTIONS};
use crate::engine::Engine;
use crate::error::Result;
use crate::models::EmotionClassifier;

/// The classifier `classify` uses for `name` now, with its `name@version`: the deployed
/// version, else for `goemotions` the shipped one.
pub(crate) fn current(engine: &Engine, name: &str) -> Result<Option<(String, Arc<dyn EmotionClassifier>)>> {
    let threads = engine.selection.limits.threads;
    if let Some((version, c)) = deployed::active(engine.config.model_dir.as_deref(), name, threads)? {
        return Ok(Some((format!("{}@{version}", registry_name(name)), c)));
    }
    if name == GOEMOTIONS {
        let c = engine.classifier.get()?;
        return Ok(Some((format!("{}@builtin", registry_name(name)), c)));
    }
    Ok(None)
}
