//! The deployed version of each named classifier, loaded from the model registry and
//! reloaded when its active version changes (a deploy or rollback in any process), so
//! `classify` follows the registry without reopening the store.
//!
//! A classifier's versions are registered under its name, except `goemotions`, whose
//! registry name is the shipped classifier's (`goemotions-minilm`): its built-in version is
//! the shipped one, served by the engine's classifier slot.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::{Error, Result};
use crate::models::emotion_adapter::{builtin_manifest, AdapterEmotionClassifier, ClassifierOptions};
use crate::models::registry::{self, Registry, VersionSource};
use crate::models::{cache, EmotionClassifier};

/// The shipped classifier's name as applications use it.
pub const GOEMOTIONS: &str = "goemotions";

/// The registry name of a classifier's versions.
pub fn registry_name(classifier: &str) -> String {
    registry::classifier_registry_name(classifier)
}

type Loaded = (String, Arc<AdapterEmotionClassifier>);

fn loaded() -> &'static Mutex<HashMap<(PathBuf, String), Loaded>> {
    static LOADED: OnceLock<Mutex<HashMap<(PathBuf, String), Loaded>>> = OnceLock::new();
    LOADED.get_or_init(Default::default)
}

/// The model cache folder of `model_dir` (as every store finds it).
pub fn cache_of(model_dir: Option<&Path>) -> Result<PathBuf> {
    cache::cache_dir(model_dir).ok_or_else(|| {
        Error::InvalidConfig(
            "no model cache directory: set model_dir, MEMORABLE_MODEL_DIR or MEMORABLE_HOME".into(),
        )
    })
}

/// The active installed version of `classifier` (`None`: only the built-in one, or none),
/// loaded once per version and process.
pub fn active(model_dir: Option<&Path>, classifier: &str, threads: usize) -> Result<Option<Loaded>> {
    let cache = cache_of(model_dir)?;
    let name = registry_name(classifier);
    let reg = Registry::read(&cache)?;
    let Some(v) = reg.active(&name).filter(|v| v.source != VersionSource::Builtin) else {
        return Ok(None);
    };
    let key = (cache.clone(), name.clone());
    if let Some((version, c)) = loaded().lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        if *version == v.version {
            return Ok(Some((version.clone(), c.clone())));
        }
    }
    let encoder = registry::resolve(&cache, "minilm").map(|(dir, _)| dir).ok_or_else(|| {
        Error::ClassifierUnavailable(
            "no MiniLM in the model cache: run `memorable models fetch minilm`".into(),
        )
    })?;
    let opts = ClassifierOptions { threads: threads.max(1), ..ClassifierOptions::default() };
    let c = Arc::new(AdapterEmotionClassifier::load_dir(&cache.join(&v.folder), &encoder, opts)?);
    tracing::info!(classifier, version = %v.version, "loaded a deployed classifier version");
    loaded().lock().unwrap_or_else(|e| e.into_inner()).insert(key, (v.version.clone(), c.clone()));
    Ok(Some((v.version.clone(), c)))
}

/// A named classifier for the emotional layer: its labels as the layer reads them (each
/// mapped to its catalog expression, unmapped ones kept as they are), its scores from the
/// version deployed at the time of each call.
pub struct NamedClassifier {
    pub model_dir: Option<PathBuf>,
    pub name: String,
    /// Label names handed to the emotional layer, in the classifier's label order.
    pub mapped: Vec<String>,
    pub thresholds: Vec<f32>,
    pub model_id: String,
    pub embedder_model_id: String,
    pub threads: usize,
}

impl EmotionClassifier for NamedClassifier {
    fn labels(&self) -> &[String] {
        &self.mapped
    }
    fn thresholds(&self) -> &[f32] {
        &self.thresholds
    }
    fn classify(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let Some((version, c)) = active(self.model_dir.as_deref(), &self.name, self.threads)? else {
            return Err(Error::ClassifierUnavailable(format!(
                "classifier {:?} has no deployed version yet (train one)",
                self.name
            )));
        };
        if c.labels().len() != self.mapped.len() {
            return Err(Error::ClassifierUnavailable(format!(
                "{}@{version} has {} labels, the classifier {:?} {}",
                self.name,
                c.labels().len(),
                self.name,
                self.mapped.len()
            )));
        }
        c.classify(texts)
    }
    fn model_id(&self) -> &str {
        &self.model_id
    }
    fn embedder_model_id(&self) -> &str {
        &self.embedder_model_id
    }
}

/// The classifier the emotional layer reads texts with when `Config.classifiers.emotion`
/// names one of the application's classifiers (`None` for `goemotions`: the engine's
/// shipped slot serves it). A name the store does not know is reported and ignored.
pub(crate) fn for_emotion(
    name: &str,
    store: &crate::store::Store,
    model_dir: Option<&Path>,
    threads: usize,
) -> Option<Arc<dyn EmotionClassifier>> {
    if name == GOEMOTIONS {
        return None;
    }
    let row = match store.read(|c| crate::store::examples::get_classifier(c, name)) {
        Ok(Some(row)) => row,
        Ok(None) => {
            tracing::warn!(
                classifier = name,
                "classifiers.emotion names no classifier of this store; using goemotions"
            );
            return None;
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the classifier for the emotional layer");
            return None;
        }
    };
    let labels: Vec<String> = serde_json::from_str(&row.1).ok()?;
    let mapping: std::collections::BTreeMap<String, String> = serde_json::from_str(&row.2).ok()?;
    let mapped = labels.iter().map(|l| mapping.get(l).cloned().unwrap_or_else(|| l.clone())).collect();
    Some(Arc::new(NamedClassifier {
        model_dir: model_dir.map(Path::to_path_buf),
        name: name.to_owned(),
        mapped,
        thresholds: vec![0.5; labels.len()],
        model_id: format!("memorable/{name}-classifier"),
        embedder_model_id: builtin_manifest().embedder.model_id,
        threads,
    }))
}
