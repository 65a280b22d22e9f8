//! Switch, roll back, verify and clean up.
//!
//! `activate` re-checks a candidate's files, makes it active in one atomic registry write,
//! then loads it and runs a smoke inference from its final place; if that fails, a second
//! write puts the old version back and marks the candidate failed (the error says why). A
//! crash between the writes leaves the new version active (it passed its install checks).
//! Open stores keep the models they loaded; they take the new version at their next open or
//! at `reload_models()`.

use std::path::Path;

use super::install::load_and_smoke;
use super::lease::Lease;
use super::{crash_point, modify, RegistryLock, VersionState, REGISTRY_FILE};
use super::{ModelVersion, Registry};
use crate::error::{Error, Result};
use crate::models::cache;

fn not_found(name: &str, version: &str) -> Error {
    Error::ModelVersionNotFound(format!("{name}@{version}"))
}

/// Make `version` of `name` active (the active one becomes `previous`).
pub fn activate(cache: &Path, name: &str, version: &str) -> Result<ModelVersion> {
    let before = modify(cache, |reg| {
        let v = reg.get(name, version).ok_or_else(|| not_found(name, version))?.clone();
        match v.state {
            VersionState::Active => return Ok(None),
            VersionState::Failed => {
                return Err(Error::ModelVerificationFailed {
                    model: v.id(),
                    reason: format!(
                        "it failed before ({}); install it again",
                        v.failure.as_deref().unwrap_or("no reason recorded")
                    ),
                })
            }
            VersionState::Candidate | VersionState::Previous => {}
        }
        if let Err(reason) = check_files(cache, &v) {
            mark_failed(reg, &v, &reason);
            return Ok(Some(Err(Error::ModelVerificationFailed { model: v.id(), reason })));
        }
        crash_point("activate:before-switch");
        let old = reg.active(name).map(|a| a.version.clone());
        reg.promote(name, version);
        Ok(Some(Ok(old)))
    })?;
    let old = match before {
        None => return current(cache, name, version),
        Some(Err(e)) => return Err(e),
        Some(Ok(old)) => old,
    };
    crash_point("activate:after-switch");
    let reg = Registry::read(cache)?;
    let v = reg.get(name, version).ok_or_else(|| not_found(name, version))?.clone();
    if let Err(reason) = load_and_smoke(cache, &cache.join(&v.folder), &v) {
        // Put the version that was active back, and say why.
        modify(cache, |reg| {
            if let Some(old) = &old {
                reg.promote(name, old);
            }
            mark_failed(reg, &v, &reason);
            Ok(())
        })?;
        return Err(Error::ModelVerificationFailed {
            model: v.id(),
            reason: format!("activation rolled back: {reason}"),
        });
    }
    Ok(v)
}

fn current(cache: &Path, name: &str, version: &str) -> Result<ModelVersion> {
    Registry::read(cache)?.get(name, version).cloned().ok_or_else(|| not_found(name, version))
}

fn mark_failed(reg: &mut Registry, v: &ModelVersion, reason: &str) {
    if let Some(e) = reg.get_mut(&v.name, &v.version) {
        e.state = VersionState::Failed;
        e.failure = Some(reason.to_owned());
    }
}

/// Every file of `v` in its folder, of the right size and SHA-256.
fn check_files(cache: &Path, v: &ModelVersion) -> std::result::Result<(), String> {
    if v.folder.is_empty() {
        return Ok(());
    }
    cache::verify(&cache.join(&v.folder), &v.manifest_model())
}

/// Make the previous version of `name` active again (the active one becomes a candidate).
/// With no previous version: [`Error::NoPreviousVersion`], and nothing changes.
pub fn rollback(cache: &Path, name: &str) -> Result<ModelVersion> {
    modify(cache, |reg| {
        let prev = reg.previous(name).ok_or_else(|| Error::NoPreviousVersion(name.to_owned()))?.clone();
        check_files(cache, &prev).map_err(|reason| Error::ModelVerificationFailed {
            model: prev.id(),
            reason: format!("the previous version cannot be used: {reason}; nothing changed"),
        })?;
        for v in reg.versions.iter_mut().filter(|v| v.name == name) {
            v.state = match v.state {
                VersionState::Previous => VersionState::Active,
                VersionState::Active => VersionState::Candidate,
                s => s,
            };
        }
        Ok(prev)
    })
    .map(|mut v| {
        v.state = VersionState::Active;
        v
    })
}

/// One version's check.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VerifyReport {
    pub name: String,
    pub version: String,
    pub state: VersionState,
    pub ok: bool,
    /// What is wrong, when not ok.
    pub reason: Option<String>,
}

/// Check the files of every installed version (or of `name`'s) against the registry.
pub fn verify(cache: &Path, name: Option<&str>) -> Result<Vec<VerifyReport>> {
    let reg = Registry::read(cache)?;
    let out: Vec<VerifyReport> = reg
        .versions
        .iter()
        .filter(|v| name.is_none_or(|n| v.name == n))
        .filter(|v| v.state != VersionState::Failed)
        .map(|v| {
            let res = check_files(cache, v);
            VerifyReport {
                name: v.name.clone(),
                version: v.version.clone(),
                state: v.state,
                ok: res.is_ok(),
                reason: res.err(),
            }
        })
        .collect();
    if let Some(n) = name {
        if out.is_empty() {
            return Err(Error::ModelVersionNotFound(n.to_owned()));
        }
    }
    Ok(out)
}

/// What [`gc`] removed and kept.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GcReport {
    /// `name@version` (or folder name) of each version removed.
    pub removed: Vec<String>,
    /// Versions that would have gone but an open store uses.
    pub in_use: Vec<String>,
    /// Leftovers of interrupted installs and downloads removed.
    pub partial: Vec<String>,
    pub freed_bytes: u64,
    /// Bytes of model files left in the cache.
    pub cache_bytes: u64,
    /// The cache is over `limit_bytes` and nothing more may go (active, previous or in use).
    pub over_limit: bool,
}

/// Remove what no one needs: failed versions, candidates, folders no registry entry names
/// and leftovers of interrupted installs, never an `active` or `previous` version nor one an
/// open store (of any process) uses. With `limit_bytes`, report whether the cache still
/// exceeds it.
pub fn gc(cache: &Path, limit_bytes: Option<u64>) -> Result<GcReport> {
    let mut report = GcReport::default();
    if !cache.is_dir() {
        return Ok(report);
    }
    // Installs hold this lock from staging to registering: what is staged now is a leftover.
    let _lock = RegistryLock::take(cache)?;
    let mut reg = Registry::read(cache)?;
    let mut keep = Vec::new();
    for v in std::mem::take(&mut reg.versions) {
        let folder = cache.join(&v.folder);
        let needed = matches!(v.state, VersionState::Active | VersionState::Previous) || v.folder.is_empty();
        if needed {
            keep.push(v);
        } else if folder.is_dir() && Lease::in_use(&folder) {
            report.in_use.push(v.id());
            keep.push(v);
        } else {
            if folder.is_dir() {
                report.freed_bytes += dir_bytes(&folder);
                std::fs::remove_dir_all(&folder)?;
            }
            report.removed.push(v.id());
        }
    }
    reg.versions = keep;
    for entry in std::fs::read_dir(cache)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if !path.is_dir() {
            continue;
        }
        let partial = name.starts_with(".install-") || (name.starts_with(".fetch-") && stale(&path));
        let orphan = name.contains('@') && !reg.versions.iter().any(|v| v.folder == name);
        if partial || (orphan && !Lease::in_use(&path)) {
            report.freed_bytes += dir_bytes(&path);
            std::fs::remove_dir_all(&path)?;
            if partial { &mut report.partial } else { &mut report.removed }.push(name);
        }
    }
    super::write(cache, &reg)?;
    report.cache_bytes =
        reg.versions.iter().filter(|v| !v.folder.is_empty()).map(|v| dir_bytes(&cache.join(&v.folder))).sum();
    report.over_limit = limit_bytes.is_some_and(|l| report.cache_bytes > l);
    debug_assert!(cache.join(REGISTRY_FILE).exists());
    Ok(report)
}

/// A `.fetch-*` folder of `models fetch` (which does not take the registry lock) untouched
/// for an hour.
fn stale(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > 3600)
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}
