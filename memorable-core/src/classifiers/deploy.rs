//! Deployment: a trained model is installed in the model registry as a version of its
//! classifier, evaluated against the deployed version on the same evaluation split, and
//! activated when the policy says so; `deploy` and `rollback` by hand; `classify` with a
//! named classifier (and a user's calibration).

use std::path::{Path, PathBuf};

use super::current::current;
use super::personal;
use crate::classify::{classify_with_thresholds, Classified};
use crate::deployed::{self, registry_name};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::models::cache;
use crate::models::registry::{self, InstallSource, ModelVersion};
use crate::training::custom::Trained;
use crate::training::report::{report, EvalReport};
use crate::training::split::{Dataset, Split};
use crate::training::{DeployPolicy, TrainOptions};

/// What a finished job did with its model.
pub(crate) struct Decision {
    pub version: String,
    pub deployed: bool,
    pub reason: String,
    pub new: EvalReport,
    pub current: Option<EvalReport>,
}

/// The MiniLM every classifier runs on: its folder in the model cache (checked against its
/// checksums) and the SHA-256 of its weights.
pub(crate) fn encoder(engine: &Engine) -> Result<(PathBuf, String)> {
    let cache = deployed::cache_of(engine.config.model_dir.as_deref())?;
    let (dir, entry) = registry::resolve(&cache, "minilm").ok_or_else(|| {
        Error::ClassifierUnavailable(
            "no MiniLM in the model cache: run `memorable models fetch minilm`".into(),
        )
    })?;
    cache::verify(&dir, &entry).map_err(|r| {
        Error::ClassifierUnavailable(format!("minilm: {r}; run `memorable models fetch minilm`"))
    })?;
    let sha =
        entry.files.iter().find(|f| f.path == "model.safetensors").map(|f| f.sha256.clone()).ok_or_else(
            || Error::ClassifierUnavailable("the model manifest lists no MiniLM weights".into()),
        )?;
    Ok((dir, sha))
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn evaluate_and_install(
    engine: &Engine,
    classifier: &str,
    job: u64,
    ds: &Dataset,
    split: &Split,
    opts: &TrainOptions,
    trained: &Trained,
    out_dir: &Path,
) -> Result<Decision> {
    let gold: Vec<Vec<usize>> = split.eval.iter().map(|&r| ds.gold[r].clone()).collect();
    let texts: Vec<&str> = split.eval.iter().map(|&r| ds.texts[r].as_str()).collect();
    let mut new = report("new", &ds.labels, &trained.eval_probs, &gold, &trained.manifest.thresholds);
    let current = match current(engine, classifier)? {
        Some((id, c)) if c.labels() == ds.labels.as_slice() => {
            let mut probs = Vec::with_capacity(texts.len());
            for chunk in texts.chunks(256) {
                probs.extend(c.classify(chunk)?);
            }
            Some(report(&id, &ds.labels, &probs, &gold, c.thresholds()))
        }
        _ => None,
    };
    let cache = deployed::cache_of(engine.config.model_dir.as_deref())?;
    let name = registry_name(classifier);
    let version = format!("j{job}-{}", &trained.manifest.adapter.sha256[..8]);
    registry::install(
        &cache,
        InstallSource::Folder { path: out_dir.to_path_buf(), name: name.clone(), version: version.clone() },
        &mut |step| tracing::debug!(step, "installing the trained classifier"),
    )?;
    new.model = format!("{name}@{version}");
    let (deploy, reason) = match (opts.deploy, &current) {
        (DeployPolicy::Always, _) => (true, "deployed (policy: always)".to_owned()),
        (DeployPolicy::Never, _) => (false, "kept as a candidate (policy: never)".to_owned()),
        (DeployPolicy::Auto, None) => (true, "deployed: no comparable version was deployed".to_owned()),
        (DeployPolicy::Auto, Some(cur)) => {
            let gain = new.macro_f1 - cur.macro_f1;
            if gain >= opts.margin {
                (
                    true,
                    format!(
                        "deployed: macro-F1 {:.4} beats {} ({:.4}) by {gain:+.4}",
                        new.macro_f1, cur.model, cur.macro_f1
                    ),
                )
            } else {
                (
                    false,
                    format!(
                        "kept as a candidate: macro-F1 {:.4} vs {} ({:.4}), {gain:+.4} is under the margin {}",
                        new.macro_f1, cur.model, cur.macro_f1, opts.margin
                    ),
                )
            }
        }
    };
    if deploy {
        registry::activate(&cache, &name, &version)?;
    }
    Ok(Decision { version, deployed: deploy, reason, new, current })
}

/// Deploy `version` of `classifier` (default: its newest candidate).
pub(crate) fn deploy(engine: &Engine, classifier: &str, version: Option<&str>) -> Result<ModelVersion> {
    super::collect::require(engine, classifier)?;
    registry::models_deploy(engine.config.model_dir.as_deref(), classifier, version)
}

/// Make the previously deployed version of `classifier` active again.
pub(crate) fn rollback(engine: &Engine, classifier: &str) -> Result<ModelVersion> {
    super::collect::require(engine, classifier)?;
    let cache = deployed::cache_of(engine.config.model_dir.as_deref())?;
    let mut v = registry::rollback(&cache, &registry_name(classifier))?;
    v.probes.clear();
    Ok(v)
}

/// Readings of `texts` by `classifier` as deployed now; with `user`, labels are decided by
/// that user's calibrated thresholds when they have some for this version.
pub(crate) fn classify(
    engine: &Engine,
    texts: &[&str],
    classifier: &str,
    user: Option<&str>,
) -> Result<Vec<Classified>> {
    for t in texts {
        crate::memory::validate_text(t, engine.config.max_text_chars)?;
    }
    super::collect::require(engine, classifier)?;
    let Some((id, c)) = current(engine, classifier)? else {
        return Err(Error::ClassifierUnavailable(format!(
            "classifier {classifier:?} has no deployed version yet: train one (train --classifier {classifier})"
        )));
    };
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    let thresholds = match user {
        Some(u) => personal::thresholds(engine, classifier, u, &id)?,
        None => None,
    };
    classify_with_thresholds(c.as_ref(), texts, thresholds.as_deref().unwrap_or(c.thresholds()))
}
