//! The model registry: every installed version of every model, per role, in the model cache.
//!
//! The cache folder is shared by every store on the machine; `<cache>/registry.json` lists
//! the versions installed there (role, name, version, source, files with SHA-256 and size,
//! install time, the verification each passed) and their state: one `active` version per
//! (role, name), the `previous` one kept for rollback, `candidate`s installed and verified
//! but not in use, and `failed` ones. A version lives in its own folder, `<name>@<version>`,
//! installed beside the others and never over them.
//!
//! Every change is one atomic replacement of `registry.json` (written to a temporary file,
//! synced, renamed over it, the folder synced) under an exclusive lock on
//! `<cache>/.registry.lock`: a crash at any point leaves the old registry or the new one,
//! so there is always exactly one active version of a model that had one. Folders that no
//! registry entry names (an install that died after copying, before registering) and
//! `.install-*` staging folders are removed by [`gc`](lifecycle::gc).
//!
//! A cache filled before the registry existed (`<cache>/minilm/` from `models fetch` or
//! `scripts/fetch-model.sh`) is read as the manifest's version of that model, active; it is
//! written into `registry.json` by the first change. The shipped emotion classifier is a
//! built-in version of the `emotion` role (compiled into the binary, no folder).
//!
//! Stores record which version of each role they opened with (their `meta` table) and hold
//! a shared lock on each version folder they use (`<folder>/.lease`) while open, so `gc` in
//! another process never removes a version in use.

mod facade;
mod install;
mod lease;
mod lifecycle;
mod probes;
mod update;

use std::fs::OpenOptions;

pub(crate) use crate::crash::crash_point;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use facade::{
    classifier_registry_name, models_deploy, models_gc, models_list, models_rollback, models_update,
};
pub use install::{install, install_manifest, InstallSource, Installed, MODEL_FILE};
pub use lease::Lease;
pub use lifecycle::{activate, gc, rollback, verify, GcReport, VerifyReport};
pub use probes::{PROBE_MIN_COSINE, PROBE_TEXTS};
pub use update::{update, update_check, UpdateInfo, UpdateSource};

use super::cache::{self, ManifestFile, ManifestModel, ModelSource};
use super::role::Role;
use crate::error::{Error, Result};

/// The registry's file in the cache folder.
pub const REGISTRY_FILE: &str = "registry.json";
const LOCK_FILE: &str = ".registry.lock";
/// Registry file format.
const FORMAT: u32 = 1;

/// Where a version is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionState {
    /// The version stores open with (one per role and name).
    Active,
    /// The version active before the current one, kept for `rollback`.
    Previous,
    /// Installed and verified, not in use; `activate` makes it active.
    Candidate,
    /// Failed its verification or its activation (the reason is kept); never used.
    Failed,
}

/// Where a version's files came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum VersionSource {
    /// A PyPI package that ships the files.
    Pypi { package: String, version: String },
    /// A local folder (copied into the cache).
    Folder { path: String },
    /// A training job of this machine.
    Training { job: String },
    /// Compiled into the binary (the shipped emotion classifier).
    Builtin,
}

/// What a version's verification checked, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// Every file present with its size and SHA-256.
    pub checksums: bool,
    /// The model loaded.
    pub load: bool,
    /// A smoke inference gave a well-formed answer (finite unit vectors, scores, tokens).
    pub smoke: bool,
    /// For an embedder: the lowest cosine between its probe vectors and those of the
    /// version it replaces (same model id); `None` when there was none to compare with.
    pub probe_cosine: Option<f32>,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
}

/// One installed version of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    pub role: Role,
    pub name: String,
    pub version: String,
    /// Stored beside every vector an embedder makes; the classifier's or generator's id.
    pub model_id: String,
    /// `candle-bert` (embedders), `gguf` (generators), `adapter` (emotion classifiers).
    pub backend: String,
    pub dim: usize,
    pub max_seq_length: usize,
    pub source: VersionSource,
    /// Folder inside the cache (empty for a built-in version).
    pub folder: String,
    pub files: Vec<ManifestFile>,
    /// Milliseconds since the Unix epoch.
    pub installed_at: i64,
    /// The last verification it passed (`None`: adopted from a pre-registry cache and not
    /// verified since).
    pub verification: Option<Verification>,
    pub state: VersionState,
    /// Why it failed, for a `failed` version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// An embedder's vectors of [`PROBE_TEXTS`], to compare later versions with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<Vec<f32>>,
}

impl ModelVersion {
    /// `name@version`.
    pub fn id(&self) -> String {
        format!("{}@{}", self.name, self.version)
    }

    /// The version's files as a manifest entry (what [`cache::verify`] checks).
    pub fn manifest_model(&self) -> ManifestModel {
        let (package, version) = match &self.source {
            VersionSource::Pypi { package, version } => (package.clone(), version.clone()),
            _ => (String::new(), self.version.clone()),
        };
        ManifestModel {
            name: self.name.clone(),
            role: role_name(self.role).into(),
            model_id: self.model_id.clone(),
            backend: self.backend.clone(),
            dim: self.dim,
            max_seq_length: self.max_seq_length,
            source: ModelSource { kind: "registry".into(), package, version, folder: self.folder.clone() },
            files: self.files.clone(),
        }
    }

    /// Total size of its files in bytes.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// The role's name as the manifest writes it.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Embedding => "embedding",
        Role::Emotion => "emotion",
        Role::Generation => "generation",
    }
}

pub(crate) fn parse_role(s: &str) -> Result<Role> {
    match s {
        "embedding" => Ok(Role::Embedding),
        "emotion" => Ok(Role::Emotion),
        "generation" => Ok(Role::Generation),
        other => Err(Error::InvalidInput(format!(
            "unknown model role {other:?}: expected embedding, emotion or generation"
        ))),
    }
}

/// Every version installed in one model cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    pub format: u32,
    pub versions: Vec<ModelVersion>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry { format: FORMAT, versions: Vec::new() }
    }
}

impl Registry {
    /// The registry of the cache in `cache` (an empty or missing cache has an empty one),
    /// with the versions a pre-registry cache holds and the built-in ones.
    pub fn read(cache: &Path) -> Result<Registry> {
        let path = cache.join(REGISTRY_FILE);
        let mut reg = parsed(&path)?;
        if reg.format > FORMAT {
            return Err(Error::Model(format!(
                "{} has format {}, newer than this build reads ({FORMAT}); upgrade MemoRable",
                path.display(),
                reg.format
            )));
        }
        reg.adopt(cache);
        Ok(reg)
    }

    /// Add the models a pre-registry cache holds (`<cache>/<name>/`) and the built-in
    /// versions, for names the registry does not know yet.
    fn adopt(&mut self, cache: &Path) {
        for m in cache::Manifest::builtin().models {
            let folder = cache.join(&m.name);
            if self.versions.iter().any(|v| v.name == m.name) || !folder.is_dir() {
                continue;
            }
            let installed_at = std::fs::metadata(&folder)
                .and_then(|md| md.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as i64);
            let Ok(role) = parse_role(&m.role) else { continue };
            self.versions.push(ModelVersion {
                role,
                name: m.name.clone(),
                version: m.source.version.clone(),
                model_id: m.model_id.clone(),
                backend: m.backend.clone(),
                dim: m.dim,
                max_seq_length: m.max_seq_length,
                source: VersionSource::Pypi {
                    package: m.source.package.clone(),
                    version: m.source.version.clone(),
                },
                folder: m.name.clone(),
                files: m.files.clone(),
                installed_at,
                verification: None,
                state: VersionState::Active,
                failure: None,
                probes: Vec::new(),
            });
        }
        #[cfg(feature = "candle")]
        {
            let shipped = super::emotion_manifest::builtin_manifest();
            if !self.versions.iter().any(|v| v.name == shipped.name) {
                self.versions.push(ModelVersion {
                    role: Role::Emotion,
                    name: shipped.name.clone(),
                    version: BUILTIN_VERSION.into(),
                    model_id: shipped.model_id.clone(),
                    backend: "adapter".into(),
                    dim: shipped.labels.len(),
                    max_seq_length: 0,
                    source: VersionSource::Builtin,
                    folder: String::new(),
                    files: Vec::new(),
                    installed_at: 0,
                    verification: None,
                    state: VersionState::Active,
                    failure: None,
                    probes: Vec::new(),
                });
            }
        }
    }

    /// The active version of `name`.
    pub fn active(&self, name: &str) -> Option<&ModelVersion> {
        self.versions.iter().find(|v| v.name == name && v.state == VersionState::Active)
    }

    /// The previous version of `name`.
    pub fn previous(&self, name: &str) -> Option<&ModelVersion> {
        self.versions.iter().find(|v| v.name == name && v.state == VersionState::Previous)
    }

    /// One version.
    pub fn get(&self, name: &str, version: &str) -> Option<&ModelVersion> {
        self.versions.iter().find(|v| v.name == name && v.version == version)
    }

    pub(crate) fn get_mut(&mut self, name: &str, version: &str) -> Option<&mut ModelVersion> {
        self.versions.iter_mut().find(|v| v.name == name && v.version == version)
    }

    /// Make `version` of `name` active, the active one previous, and an older previous one
    /// a candidate.
    pub(crate) fn promote(&mut self, name: &str, version: &str) {
        for v in self.versions.iter_mut().filter(|v| v.name == name) {
            v.state = match v.state {
                _ if v.version == version => VersionState::Active,
                VersionState::Active => VersionState::Previous,
                VersionState::Previous => VersionState::Candidate,
                s => s,
            };
        }
    }
}

/// The registry file at `path` as written (an empty registry when there is none). An open
/// resolves each of its models through the registry, so the file is parsed once and then
/// again only when it changed: every write replaces it by a rename, which gives it a new
/// inode, and its size and modification time are compared too.
fn parsed(path: &Path) -> Result<Registry> {
    type Parsed = std::collections::HashMap<PathBuf, ((u64, std::time::SystemTime, u64), Registry)>;
    static PARSED: std::sync::OnceLock<std::sync::Mutex<Parsed>> = std::sync::OnceLock::new();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Registry::default()),
        Err(e) => return Err(Error::Storage(format!("reading {}: {e}", path.display()))),
    };
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    let key = (meta.len(), meta.modified().unwrap_or(std::time::UNIX_EPOCH), inode);
    let cache = PARSED.get_or_init(Default::default);
    if let Some((k, reg)) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(path) {
        if *k == key {
            return Ok(reg.clone());
        }
    }
    let bytes =
        std::fs::read(path).map_err(|e| Error::Storage(format!("reading {}: {e}", path.display())))?;
    let reg = serde_json::from_slice::<Registry>(&bytes)
        .map_err(|e| Error::Corrupt(format!("{}: {e}", path.display())))?;
    cache.lock().unwrap_or_else(|e| e.into_inner()).insert(path.to_path_buf(), (key, reg.clone()));
    Ok(reg)
}

/// Version string of built-in models: the crate's.
pub const BUILTIN_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The folder and file list the engine should load for `name` in the cache `cache`: its
/// active version's, or (no registry entry) `<cache>/<name>` with the shipped manifest's.
/// An unreadable registry is reported and the pre-registry layout used.
pub fn resolve(cache: &Path, name: &str) -> Option<(PathBuf, ManifestModel)> {
    match Registry::read(cache) {
        Ok(reg) => {
            if let Some(v) = reg.active(name).filter(|v| !v.folder.is_empty()) {
                return Some((cache.join(&v.folder), v.manifest_model()));
            }
        }
        Err(e) => tracing::warn!(error = %e, "the model registry cannot be read; using the shipped manifest"),
    }
    cache::Manifest::builtin().get(name).map(|m| (cache.join(name), m.clone()))
}

/// The versions in use for a set of model names: `(role, name, version)` of each active one.
pub fn active_versions(cache: Option<&Path>, names: &[&str]) -> Vec<(Role, String, String)> {
    let Some(reg) = cache.and_then(|c| Registry::read(c).ok()) else { return Vec::new() };
    names.iter().filter_map(|n| reg.active(n)).map(|v| (v.role, v.name.clone(), v.version.clone())).collect()
}

/// Change the registry of `cache` under its lock: read it, apply `change`, and when that
/// succeeds replace the file atomically. A failed change writes nothing.
pub(crate) fn modify<T>(cache: &Path, change: impl FnOnce(&mut Registry) -> Result<T>) -> Result<T> {
    let _lock = RegistryLock::take(cache)?;
    let mut reg = Registry::read(cache)?;
    let out = change(&mut reg)?;
    write(cache, &reg)?;
    Ok(out)
}

/// The exclusive lock on a cache's registry (released when dropped, or by the OS when the
/// process dies).
pub(crate) struct RegistryLock(#[allow(dead_code)] std::fs::File);

impl RegistryLock {
    pub(crate) fn take(cache: &Path) -> Result<RegistryLock> {
        let io = |e: std::io::Error| Error::Storage(format!("model cache {}: {e}", cache.display()));
        std::fs::create_dir_all(cache).map_err(io)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(cache.join(LOCK_FILE))
            .map_err(io)?;
        file.lock().map_err(|e| Error::Storage(format!("locking the model registry: {e}")))?;
        Ok(RegistryLock(file))
    }
}

/// Replace `<cache>/registry.json` with `reg`: temporary file, fsync, rename, fsync of the
/// folder. Readers see the old file or the new one, never a mix.
fn write(cache: &Path, reg: &Registry) -> Result<()> {
    let tmp = cache.join(format!(".{REGISTRY_FILE}.{}.tmp", std::process::id()));
    let bytes = serde_json::to_vec_pretty(reg).map_err(|e| Error::Internal(e.to_string()))?;
    let io = |e: std::io::Error| Error::Storage(format!("writing the model registry: {e}"));
    {
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    crash_point("registry:before-rename");
    std::fs::rename(&tmp, cache.join(REGISTRY_FILE)).map_err(io)?;
    if let Ok(dir) = std::fs::File::open(cache) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    crate::time::now_ms()
}
