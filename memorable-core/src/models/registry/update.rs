//! Updates: what is installed against what is available — the manifest compiled into this
//! binary and, optionally, an update source: an index file in the manifest's format whose
//! entries come from PyPI (`"kind": "pypi"`) or from folders beside the index
//! (`"kind": "folder"`, `"folder"` relative to the index file).

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use super::install::{install, InstallSource};
use super::lifecycle::activate;
use super::{ModelVersion, Registry};
use crate::error::{Error, Result};
use crate::models::cache::{Manifest, ManifestModel};

/// An update source: a folder holding `index.json`, or an index file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateSource(pub PathBuf);

impl UpdateSource {
    /// The index file and the folder its entries are relative to.
    fn index(&self) -> (PathBuf, PathBuf) {
        if self.0.is_dir() {
            (self.0.join("index.json"), self.0.clone())
        } else {
            (self.0.clone(), self.0.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf))
        }
    }

    fn read(&self) -> Result<(Manifest, PathBuf)> {
        let (file, base) = self.index();
        let text = std::fs::read_to_string(&file)
            .map_err(|e| Error::InvalidInput(format!("model update source {}: {e}", file.display())))?;
        let m: Manifest = serde_json::from_str(&text)
            .map_err(|e| Error::InvalidInput(format!("model update source {}: {e}", file.display())))?;
        Ok((m, base))
    }
}

/// One model's update status.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UpdateInfo {
    pub name: String,
    pub role: String,
    /// The active version (`None`: not installed).
    pub installed: Option<String>,
    /// The newest version available.
    pub available: String,
    /// `"manifest"` (this binary's) or the update source's index file.
    pub from: String,
    /// `available` is newer than `installed`.
    pub update: bool,
}

/// Newest available version of every model (manifest and `source`), against the active one.
pub fn update_check(cache: &Path, source: Option<&UpdateSource>) -> Result<Vec<UpdateInfo>> {
    let reg = Registry::read(cache)?;
    let mut out: Vec<UpdateInfo> = Vec::new();
    for (model, base) in available(source)? {
        let from = base.as_ref().map_or("manifest".to_owned(), |b| b.display().to_string());
        let installed = reg.active(&model.name).map(|v| v.version.clone());
        let newer = |v: &str| installed.as_deref().is_none_or(|i| compare(v, i) == Ordering::Greater);
        match out.iter_mut().find(|u| u.name == model.name) {
            Some(u) if compare(&model.source.version, &u.available) == Ordering::Greater => {
                u.available = model.source.version.clone();
                u.from = from;
                u.update = newer(&u.available);
            }
            Some(_) => {}
            None => out.push(UpdateInfo {
                name: model.name.clone(),
                role: model.role.clone(),
                update: newer(&model.source.version),
                installed,
                available: model.source.version.clone(),
                from,
            }),
        }
    }
    Ok(out)
}

/// Install, verify and activate the newest available version of `name`; `Ok(None)` when the
/// active version is already the newest.
pub fn update(
    cache: &Path,
    name: &str,
    source: Option<&UpdateSource>,
    progress: &mut dyn FnMut(&str),
) -> Result<Option<ModelVersion>> {
    let newest = available(source)?
        .into_iter()
        .filter(|(m, _)| m.name == name)
        .max_by(|(a, _), (b, _)| compare(&a.source.version, &b.source.version))
        .ok_or_else(|| Error::ModelVersionNotFound(format!("{name} (in no manifest or update source)")))?;
    let (model, base) = newest;
    let reg = Registry::read(cache)?;
    if let Some(active) = reg.active(name) {
        if compare(&model.source.version, &active.version) != Ordering::Greater {
            return Ok(None);
        }
    }
    let version = model.source.version.clone();
    install(cache, InstallSource::Manifest { model, base }, progress)?;
    progress(&format!("activating {name}@{version}"));
    activate(cache, name, &version).map(Some)
}

/// Every model entry available: the manifest's, then the source's (with its folder).
fn available(source: Option<&UpdateSource>) -> Result<Vec<(ManifestModel, Option<PathBuf>)>> {
    let mut out: Vec<(ManifestModel, Option<PathBuf>)> =
        Manifest::builtin().models.into_iter().map(|m| (m, None)).collect();
    if let Some(s) = source {
        let (m, base) = s.read()?;
        out.extend(m.models.into_iter().map(|m| (m, Some(base.clone()))));
    }
    Ok(out)
}

/// Compare versions part by part (`0.10.0` > `0.9.1`): numeric parts as numbers, others as
/// text, a missing part lowest.
pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    let parts = |s: &str| s.split(['.', '-', '+']).map(str::to_owned).collect::<Vec<_>>();
    let (pa, pb) = (parts(a), parts(b));
    for i in 0..pa.len().max(pb.len()) {
        let ord = match (pa.get(i), pb.get(i)) {
            (Some(x), Some(y)) => match (x.parse::<u64>(), y.parse::<u64>()) {
                (Ok(n), Ok(m)) => n.cmp(&m),
                _ => x.cmp(y),
            },
            (Some(_), None) => Ordering::Greater,
            (None, Some(_)) => Ordering::Less,
            (None, None) => Ordering::Equal,
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(compare("0.10.0", "0.9.1"), Ordering::Greater);
        assert_eq!(compare("0.1.0", "0.1.0"), Ordering::Equal);
        assert_eq!(compare("0.1.0", "0.1.0.1"), Ordering::Less);
        assert_eq!(compare("1.0.0-rc1", "1.0.0-rc2"), Ordering::Less);
    }
}
