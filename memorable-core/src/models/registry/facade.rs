//! The registry as the bindings and the CLI's callers see it: one call per operation, the
//! cache found as every store finds it (`model_dir`, else the environment).

use std::path::{Path, PathBuf};

use super::{GcReport, ModelVersion, Registry, UpdateSource};
use crate::error::{Error, Result};
use crate::models::cache;

fn cache_of(model_dir: Option<&Path>) -> Result<PathBuf> {
    cache::cache_dir(model_dir).ok_or_else(|| {
        Error::InvalidConfig(
            "no model cache directory: set model_dir, MEMORABLE_MODEL_DIR or MEMORABLE_HOME".into(),
        )
    })
}

/// Every installed model version with its state (probe vectors left out).
pub fn models_list(model_dir: Option<&Path>) -> Result<Vec<ModelVersion>> {
    let mut versions = Registry::read(&cache_of(model_dir)?)?.versions;
    for v in &mut versions {
        v.probes.clear();
    }
    Ok(versions)
}

/// Install, verify and activate the newest available version of `name` (or of every
/// installed model with a newer version) from the shipped manifest and `source` (a folder
/// holding `index.json`, or an index file). Returns the versions activated.
pub fn models_update(
    model_dir: Option<&Path>,
    name: Option<&str>,
    source: Option<&Path>,
) -> Result<Vec<ModelVersion>> {
    let dir = cache_of(model_dir)?;
    let source = source.map(|s| UpdateSource(s.to_path_buf()));
    let names: Vec<String> = match name {
        Some(n) => vec![n.to_owned()],
        None => super::update_check(&dir, source.as_ref())?
            .into_iter()
            .filter(|u| u.update && u.installed.is_some())
            .map(|u| u.name)
            .collect(),
    };
    let mut out = Vec::new();
    for n in names {
        if let Some(mut v) = super::update(&dir, &n, source.as_ref(), &mut |_| {})? {
            v.probes.clear();
            out.push(v);
        }
    }
    Ok(out)
}

/// The registry name of a classifier's versions: its own, except `goemotions`, whose
/// versions share the shipped classifier's name (`goemotions-minilm`).
pub fn classifier_registry_name(name: &str) -> String {
    #[cfg(feature = "candle")]
    if name == "goemotions" {
        return crate::models::emotion_manifest::builtin_manifest().name;
    }
    name.to_owned()
}

/// Make the previous version of `name` active again ([`Error::NoPreviousVersion`] when
/// there is none; nothing changes then). A classifier name (`goemotions`) is accepted.
pub fn models_rollback(model_dir: Option<&Path>, name: &str) -> Result<ModelVersion> {
    let mut v = super::rollback(&cache_of(model_dir)?, &classifier_registry_name(name))?;
    v.probes.clear();
    Ok(v)
}

/// Make `version` of `name` active (default: its newest candidate); the active one becomes
/// `previous`. A classifier name (`goemotions`) is accepted.
pub fn models_deploy(model_dir: Option<&Path>, name: &str, version: Option<&str>) -> Result<ModelVersion> {
    let dir = cache_of(model_dir)?;
    let name = classifier_registry_name(name);
    let version = match version {
        Some(v) => v.to_owned(),
        None => Registry::read(&dir)?
            .versions
            .iter()
            .filter(|v| v.name == name && v.state == super::VersionState::Candidate)
            .max_by_key(|v| v.installed_at)
            .map(|v| v.version.clone())
            .ok_or_else(|| Error::ModelVersionNotFound(format!("{name}: no candidate version to deploy")))?,
    };
    let mut v = super::activate(&dir, &name, &version)?;
    v.probes.clear();
    Ok(v)
}

/// Remove the versions nothing needs (see [`super::gc`]); `limit_mb` reports whether the
/// cache is still over that size.
pub fn models_gc(model_dir: Option<&Path>, limit_mb: Option<u64>) -> Result<GcReport> {
    super::gc(&cache_of(model_dir)?, limit_mb.map(|mb| mb.saturating_mul(1 << 20)))
}
