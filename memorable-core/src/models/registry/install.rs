//! Install and verify: a new version is staged in `<cache>/.install-<name>@<version>/`,
//! checked (every file's size and SHA-256, then a load and a smoke inference, and for an
//! embedder parity with the probe vectors of the version it replaces), moved to
//! `<cache>/<name>@<version>/`, and only then registered, as a `candidate`. A version that
//! fails is registered as `failed` with the reason, and its files are removed; the active
//! version is never touched.

use std::path::{Path, PathBuf};

use super::probes::{min_cosine, PROBE_MIN_COSINE};
use super::{crash_point, modify, now_ms, Registry, Verification, VersionSource, VersionState};
use super::{parse_role, ModelVersion};
use crate::error::{Error, Result};
use crate::models::cache::{self, ManifestFile, ManifestModel};
use crate::models::role::Role;

/// File in a folder source that describes the model (optional for a new version of a model
/// the registry knows: it inherits role, model id, backend and dimensions).
pub const MODEL_FILE: &str = "memorable-model.json";

/// Where a new version comes from.
#[derive(Debug, Clone)]
pub enum InstallSource {
    /// A manifest entry (the shipped manifest's or an update index's). Its `source.kind` is
    /// `pypi` (a package to download) or `folder` (files in `base`/`source.folder`, checked
    /// against the entry's checksums).
    Manifest { model: ManifestModel, base: Option<PathBuf> },
    /// Every file of a local folder, as version `version` of `name`.
    Folder { path: PathBuf, name: String, version: String },
}

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Installed {
    pub version: ModelVersion,
    /// The version was installed before this call (nothing was done).
    pub already: bool,
}

/// Install the shipped manifest's version of `name` (from PyPI).
pub fn install_manifest(cache: &Path, name: &str, progress: &mut dyn FnMut(&str)) -> Result<Installed> {
    let model = cache::Manifest::builtin()
        .get(name)
        .cloned()
        .ok_or_else(|| Error::ModelVersionNotFound(format!("{name} (not in the shipped manifest)")))?;
    install(cache, InstallSource::Manifest { model, base: None }, progress)
}

/// Install a version beside the others, verify it, and register it as a `candidate`
/// (`progress` hears each step). Installing a version already installed does nothing; one
/// that failed before is tried again.
pub fn install(cache: &Path, source: InstallSource, progress: &mut dyn FnMut(&str)) -> Result<Installed> {
    let described = describe(cache, &source)?;
    let id = described.id();
    let outcome = modify(cache, |reg| {
        if let Some(v) = reg.get(&described.name, &described.version) {
            if v.state != VersionState::Failed {
                return Ok(Ok(Installed { version: v.clone(), already: true }));
            }
        }
        reg.versions.retain(|v| !(v.name == described.name && v.version == described.version));
        match stage_and_verify(cache, reg, &source, described.clone(), progress) {
            Ok(v) => {
                reg.versions.push(v.clone());
                Ok(Ok(Installed { version: v, already: false }))
            }
            Err(reason) => {
                let mut failed = described.clone();
                failed.state = VersionState::Failed;
                failed.folder = String::new();
                failed.failure = Some(reason.clone());
                failed.installed_at = now_ms();
                reg.versions.push(failed);
                Ok(Err(Error::ModelVerificationFailed { model: id.clone(), reason }))
            }
        }
    })?;
    outcome
}

/// The registry entry a source will make (files and checks still to come).
fn describe(cache: &Path, source: &InstallSource) -> Result<ModelVersion> {
    let base = |role: Role, name: &str, version: &str, m: Option<&ManifestModel>| ModelVersion {
        role,
        name: name.to_owned(),
        version: version.to_owned(),
        model_id: m.map(|m| m.model_id.clone()).unwrap_or_default(),
        backend: m.map(|m| m.backend.clone()).unwrap_or_default(),
        dim: m.map_or(0, |m| m.dim),
        max_seq_length: m.map_or(0, |m| m.max_seq_length),
        source: VersionSource::Builtin,
        folder: format!("{name}@{version}"),
        files: m.map(|m| m.files.clone()).unwrap_or_default(),
        installed_at: 0,
        verification: None,
        state: VersionState::Candidate,
        failure: None,
        probes: Vec::new(),
    };
    match source {
        InstallSource::Manifest { model, base: folder } => {
            check_name(&model.name, &model.source.version)?;
            let mut v = base(parse_role(&model.role)?, &model.name, &model.source.version, Some(model));
            v.source = match (model.source.kind.as_str(), folder) {
                ("pypi", _) => VersionSource::Pypi {
                    package: model.source.package.clone(),
                    version: model.source.version.clone(),
                },
                ("folder", Some(dir)) => {
                    VersionSource::Folder { path: dir.join(&model.source.folder).display().to_string() }
                }
                (kind, _) => {
                    return Err(Error::InvalidInput(format!(
                        "{}: unsupported model source kind {kind:?} (pypi, or folder in an index file)",
                        model.name
                    )))
                }
            };
            Ok(v)
        }
        InstallSource::Folder { path, name, version } => {
            check_name(name, version)?;
            if !path.is_dir() {
                return Err(Error::InvalidInput(format!("{} is not a folder", path.display())));
            }
            let mut v = match described_by_folder(path)? {
                Some(m) => base(parse_role(&m.role)?, name, version, Some(&m)),
                None => {
                    let reg = Registry::read(cache)?;
                    let known = reg.active(name).or_else(|| reg.versions.iter().find(|v| v.name == *name));
                    let Some(known) = known else {
                        return Err(Error::InvalidInput(format!(
                            "{name} is not installed: describe the new model in {}/{MODEL_FILE}",
                            path.display()
                        )));
                    };
                    let mut v = base(known.role, name, version, None);
                    v.model_id = known.model_id.clone();
                    v.backend = known.backend.clone();
                    v.dim = known.dim;
                    v.max_seq_length = known.max_seq_length;
                    v
                }
            };
            v.files = Vec::new();
            v.source = VersionSource::Folder { path: path.display().to_string() };
            Ok(v)
        }
    }
}

/// A name and version usable as a folder name.
fn check_name(name: &str, version: &str) -> Result<()> {
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 128
            && !s.starts_with('.')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+'))
    };
    if ok(name) && ok(version) {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "model name {name:?} and version {version:?} must be letters, digits, '.', '-', '_' or '+'"
        )))
    }
}

/// The model a folder describes: its `memorable-model.json`, or for an emotion classifier
/// the classifier's own manifest.
fn described_by_folder(path: &Path) -> Result<Option<ManifestModel>> {
    #[derive(serde::Deserialize)]
    struct Described {
        role: String,
        model_id: String,
        backend: String,
        #[serde(default)]
        dim: usize,
        #[serde(default)]
        max_seq_length: usize,
    }
    let to_model = |d: Described| ManifestModel {
        name: String::new(),
        role: d.role,
        model_id: d.model_id,
        backend: d.backend,
        dim: d.dim,
        max_seq_length: d.max_seq_length,
        source: cache::ModelSource {
            kind: "folder".into(),
            package: String::new(),
            version: String::new(),
            folder: String::new(),
        },
        files: Vec::new(),
    };
    let file = path.join(MODEL_FILE);
    if file.is_file() {
        let text = std::fs::read_to_string(&file)?;
        let d: Described = serde_json::from_str(&text)
            .map_err(|e| Error::InvalidInput(format!("{}: {e}", file.display())))?;
        return Ok(Some(to_model(d)));
    }
    #[cfg(feature = "candle")]
    if path.join(crate::models::emotion_manifest::MANIFEST_FILE).is_file() {
        if let Ok(m) = crate::models::emotion_manifest::EmotionManifest::read(path) {
            return Ok(Some(to_model(Described {
                role: "emotion".into(),
                model_id: m.model_id,
                backend: "adapter".into(),
                dim: m.labels.len(),
                max_seq_length: 0,
            })));
        }
    }
    Ok(None)
}

/// Stage, check and move a version into place; `Err` is the reason it failed (its staged
/// files are gone by then).
fn stage_and_verify(
    cache: &Path,
    reg: &mut Registry,
    source: &InstallSource,
    mut v: ModelVersion,
    progress: &mut dyn FnMut(&str),
) -> std::result::Result<ModelVersion, String> {
    let stage = cache.join(format!(".install-{}", v.id()));
    if stage.exists() {
        std::fs::remove_dir_all(&stage).map_err(|e| format!("clearing {}: {e}", stage.display()))?;
    }
    std::fs::create_dir_all(&stage).map_err(|e| format!("creating {}: {e}", stage.display()))?;
    let result = (|| {
        let files = stage.join("files");
        progress(&format!("fetching {}", v.id()));
        fetch_files(source, &stage, &files, &mut v)?;
        crash_point("install:after-copy");
        progress(&format!("checking the files of {}", v.id()));
        cache::verify(&files, &v.manifest_model()).map_err(|r| format!("checksums: {r}"))?;
        progress(&format!("loading {} and running a smoke inference", v.id()));
        let probes = load_and_smoke(cache, &files, &v)?;
        let probe_cosine = match (v.role, reg.active(&v.name)) {
            (Role::Embedding, Some(active)) => parity(cache, reg, active.clone(), &v, &probes)?,
            _ => None,
        };
        v.probes = probes;
        v.verification =
            Some(Verification { checksums: true, load: true, smoke: true, probe_cosine, at: now_ms() });
        let dest = cache.join(&v.folder);
        if dest.exists() {
            // Left by an install that died between moving its files and registering them.
            std::fs::remove_dir_all(&dest).map_err(|e| format!("clearing {}: {e}", dest.display()))?;
        }
        std::fs::rename(&files, &dest).map_err(|e| format!("moving into {}: {e}", dest.display()))?;
        crash_point("install:before-register");
        v.installed_at = now_ms();
        v.state = VersionState::Candidate;
        Ok(v)
    })();
    let _ = std::fs::remove_dir_all(&stage);
    result
}

/// Put the version's files in `files` and fill in their list (from the source's checksums
/// for a manifest entry, hashed from the copies for a folder).
fn fetch_files(
    source: &InstallSource,
    stage: &Path,
    files: &Path,
    v: &mut ModelVersion,
) -> std::result::Result<(), String> {
    match source {
        InstallSource::Manifest { model, base } => match (model.source.kind.as_str(), base) {
            ("pypi", _) => cache::stage_pypi(stage, files, model).map_err(|e| e.to_string()),
            (_, Some(dir)) => {
                let from = dir.join(&model.source.folder);
                for f in &model.files {
                    copy_file(&from.join(&f.path), &files.join(&f.path))?;
                }
                Ok(())
            }
            (kind, None) => Err(format!("source kind {kind:?} needs an index folder")),
        },
        InstallSource::Folder { path, .. } => {
            let mut rels = Vec::new();
            list_files(path, Path::new(""), &mut rels)
                .map_err(|e| format!("listing {}: {e}", path.display()))?;
            rels.sort();
            for rel in rels {
                let target = files.join(&rel);
                copy_file(&path.join(&rel), &target)?;
                let size = std::fs::metadata(&target).map_err(|e| e.to_string())?.len();
                let sha256 = cache::sha256_file(&target).map_err(|e| e.to_string())?;
                v.files.push(ManifestFile { path: rel.to_string_lossy().replace('\\', "/"), sha256, size });
            }
            if v.files.is_empty() {
                return Err(format!("{} holds no files", path.display()));
            }
            Ok(())
        }
    }
}

fn copy_file(from: &Path, to: &Path) -> std::result::Result<(), String> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::copy(from, to).map_err(|e| format!("copying {}: {e}", from.display()))?;
    Ok(())
}

/// Regular files under `dir`, relative, skipping dotfiles (stamps, leases) and the
/// description file.
fn list_files(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root.join(rel))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') || (rel.as_os_str().is_empty() && name == MODEL_FILE) {
            continue;
        }
        let path = rel.join(&name);
        let kind = entry.file_type()?;
        if kind.is_dir() {
            list_files(root, &path, out)?;
        } else if kind.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Load the version from `folder` and run one inference; an embedder's probe vectors are
/// returned.
pub(crate) fn load_and_smoke(
    cache: &Path,
    folder: &Path,
    v: &ModelVersion,
) -> std::result::Result<Vec<Vec<f32>>, String> {
    #[cfg(feature = "candle")]
    {
        match v.role {
            Role::Embedding => {
                let vectors = embedder(folder, v)?
                    .embed(&super::probes::PROBE_TEXTS)
                    .map_err(|e| format!("smoke inference: {e}"))?;
                for x in &vectors {
                    let norm: f32 = x.iter().map(|p| p * p).sum::<f32>().sqrt();
                    if x.len() != v.dim || !x.iter().all(|p| p.is_finite()) || (norm - 1.0).abs() > 1e-3 {
                        return Err(format!(
                            "smoke inference: expected finite unit vectors of {} dimensions, got {} (norm {norm})",
                            v.dim,
                            x.len()
                        ));
                    }
                }
                Ok(vectors)
            }
            Role::Emotion => {
                let encoder = super::resolve(cache, "minilm")
                    .map(|(dir, _)| dir)
                    .ok_or("no MiniLM encoder in the model cache for the classifier to run on")?;
                let c =
                    crate::models::AdapterEmotionClassifier::load_dir(folder, &encoder, Default::default())
                        .map_err(|e| format!("load: {e}"))?;
                use crate::models::EmotionClassifier;
                let scores =
                    c.classify(&["I am so happy to see you again"]).map_err(|e| format!("smoke: {e}"))?;
                if scores.len() != 1
                    || scores[0].len() != c.labels().len()
                    || !scores[0].iter().all(|s| s.is_finite())
                {
                    return Err("smoke inference: malformed scores".into());
                }
                Ok(Vec::new())
            }
            Role::Generation => {
                let _ = cache;
                let file = v
                    .files
                    .iter()
                    .find(|f| f.path.ends_with(".gguf"))
                    .ok_or("a generator version needs a .gguf file")?;
                let g =
                    crate::models::llm::gguf::GgufGenerator::load(&folder.join(&file.path), &v.model_id, 2)
                        .map_err(|e| format!("load: {e}"))?;
                let mut req =
                    crate::models::llm::GenerateRequest::from_parts(Some("Hello".into()), None, true, None)
                        .map_err(|e| e.to_string())?;
                req.max_tokens = 2;
                crate::models::llm::generate(&g, &req, &mut |_| true).map_err(|e| format!("smoke: {e}"))?;
                Ok(Vec::new())
            }
        }
    }
    #[cfg(not(feature = "candle"))]
    {
        let _ = (cache, folder, v);
        Err("this build cannot load models (no candle feature)".into())
    }
}

#[cfg(feature = "candle")]
fn embedder(
    folder: &Path,
    v: &ModelVersion,
) -> std::result::Result<Box<dyn crate::models::Embedder>, String> {
    use crate::models::{bert, BertEmbedder, BertOptions, CandleBertEmbedder, DeviceKind};
    let opts =
        BertOptions { model_id: v.model_id.clone(), threads: 2, batch_size: 8, device: DeviceKind::Cpu };
    let e: Box<dyn crate::models::Embedder> = if bert::native_supported() {
        Box::new(BertEmbedder::load(folder, opts).map_err(|e| format!("load: {e}"))?)
    } else {
        Box::new(CandleBertEmbedder::load(folder, opts).map_err(|e| format!("load: {e}"))?)
    };
    Ok(e)
}

/// Compare a new embedder version's probe vectors with the active version's (computed now
/// and kept in its entry when it has none). A version under the same model id must make
/// the same vectors.
fn parity(
    cache: &Path,
    reg: &mut Registry,
    active: ModelVersion,
    v: &ModelVersion,
    probes: &[Vec<f32>],
) -> std::result::Result<Option<f32>, String> {
    if active.model_id != v.model_id {
        return Err(format!(
            "{} is {} but the active {} is {}: a version must make the same model's vectors; install a different model under a name of its own and move stores to it with reembed",
            v.id(),
            v.model_id,
            active.id(),
            active.model_id
        ));
    }
    let theirs = if active.probes.is_empty() {
        let computed = load_and_smoke(cache, &cache.join(&active.folder), &active).map_err(|r| {
            format!("the active {} cannot make probe vectors to compare with: {r}", active.id())
        })?;
        if let Some(a) = reg.get_mut(&active.name, &active.version) {
            a.probes = computed.clone();
        }
        computed
    } else {
        active.probes.clone()
    };
    let cos = min_cosine(probes, &theirs).ok_or("probe vectors of different shapes")?;
    if cos < PROBE_MIN_COSINE {
        return Err(format!(
            "its vectors differ from the active {}'s (lowest probe cosine {cos:.6}, at least {PROBE_MIN_COSINE} means the same model): it is a different model; install it under a name of its own and move stores to it with reembed",
            active.id()
        ));
    }
    Ok(Some(cos))
}
