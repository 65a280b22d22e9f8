//! The model registry end to end through the CLI (and, for the store side, a store opened in
//! this process while the CLI runs in others): install a second version of MiniLM (a
//! re-packed copy with another version string), activate, roll back, collect garbage; a
//! corrupted candidate is refused; `kill -9` (an abort at each named step) during install and
//! activate leaves exactly one active version with good files; `gc` in another process never
//! removes a version an open store uses. Needs the cached MiniLM (`scripts/fetch-model.sh`):
//! fails, never skips, without it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use memorable::models::cache::{self, Manifest};
use memorable::models::registry::{Registry, VersionState};
use memorable::{Config, Memorable};

/// The cached MiniLM folder.
fn minilm() -> PathBuf {
    let dir = cache::cache_dir(None).expect("a model cache directory").join("minilm");
    let entry = Manifest::builtin().get("minilm").unwrap().clone();
    if let Err(r) = cache::verify(&dir, &entry) {
        panic!("the cached MiniLM is needed ({r}); run scripts/fetch-model.sh");
    }
    dir
}

/// Link (or copy) the manifest files of MiniLM into `to`.
fn link_minilm(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in &Manifest::builtin().get("minilm").unwrap().files {
        let (src, dst) = (minilm().join(&f.path), to.join(&f.path));
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        if std::fs::hard_link(&src, &dst).is_err() {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    cache: PathBuf,
    /// A re-packed MiniLM to install as another version.
    repack: PathBuf,
}

/// A model cache holding MiniLM 0.1.0 as `scripts/fetch-model.sh` leaves it, and a copy.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    link_minilm(&cache.join("minilm"));
    let repack = tmp.path().join("repack");
    link_minilm(&repack);
    Fixture { _tmp: tmp, cache, repack }
}

fn cli(cache: &Path, args: &[&str], crash_at: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_memorable"));
    cmd.args(args).env("MEMORABLE_MODEL_DIR", cache).env_remove("MEMORABLE_MODEL_SOURCE");
    if let Some(point) = crash_at {
        cmd.env("MEMORABLE_CRASH_AT", point);
    }
    cmd.output().unwrap()
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn states(cache: &Path) -> Vec<(String, VersionState)> {
    let mut v: Vec<_> = Registry::read(cache)
        .unwrap()
        .versions
        .into_iter()
        .filter(|v| v.name == "minilm")
        .map(|v| (v.version, v.state))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn install(f: &Fixture, version: &str) {
    let from = f.repack.to_str().unwrap();
    ok(cli(&f.cache, &["models", "install", "minilm", "--from", from, "--version", version, "--json"], None));
}

fn one_active_and_verified(cache: &Path) -> String {
    let active: Vec<_> = states(cache).into_iter().filter(|(_, s)| *s == VersionState::Active).collect();
    assert_eq!(active.len(), 1, "exactly one active version: {:?}", states(cache));
    ok(cli(cache, &["models", "verify", "minilm"], None));
    active[0].0.clone()
}

fn open_store(dir: &Path, cache: &Path) -> Memorable {
    let mut config = Config::default();
    config.embedder = "minilm".into();
    config.model_dir = Some(cache.to_path_buf());
    config.generator = "none".into();
    Memorable::builder(dir).config(config).open().unwrap()
}

fn versions_in_use(mem: &Memorable) -> Vec<String> {
    mem.stats().unwrap().models.iter().filter(|m| m.name == "minilm").map(|m| m.version.clone()).collect()
}

#[test]
fn install_activate_rollback_gc() {
    let f = fixture();
    install(&f, "0.1.1");
    assert_eq!(
        states(&f.cache),
        [("0.1.0".into(), VersionState::Active), ("0.1.1".into(), VersionState::Candidate)]
    );
    let v = Registry::read(&f.cache).unwrap().get("minilm", "0.1.1").unwrap().clone();
    let check = v.verification.expect("verified at install");
    assert!(check.checksums && check.load && check.smoke);
    assert!(check.probe_cosine.unwrap() >= 0.9999, "{check:?}");

    ok(cli(&f.cache, &["models", "activate", "minilm", "0.1.1"], None));
    assert_eq!(
        states(&f.cache),
        [("0.1.0".into(), VersionState::Previous), ("0.1.1".into(), VersionState::Active)]
    );
    let store = tempfile::tempdir().unwrap();
    {
        let mem = open_store(store.path(), &f.cache);
        assert_eq!(versions_in_use(&mem), ["0.1.1"]);
        mem.close().unwrap();
    }

    ok(cli(&f.cache, &["models", "rollback", "minilm"], None));
    assert_eq!(
        states(&f.cache),
        [("0.1.0".into(), VersionState::Active), ("0.1.1".into(), VersionState::Candidate)]
    );
    let before = std::fs::read(f.cache.join("registry.json")).unwrap();
    let out = cli(&f.cache, &["models", "rollback", "minilm"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no previous version"), "{out:?}");
    assert_eq!(
        std::fs::read(f.cache.join("registry.json")).unwrap(),
        before,
        "a refused rollback changes nothing"
    );

    let report: serde_json::Value =
        serde_json::from_str(&ok(cli(&f.cache, &["models", "gc", "--json"], None))).unwrap();
    assert_eq!(report["removed"], serde_json::json!(["minilm@0.1.1"]));
    assert!(!f.cache.join("minilm@0.1.1").exists());
    assert_eq!(one_active_and_verified(&f.cache), "0.1.0");
    let mem = open_store(store.path(), &f.cache);
    assert_eq!(versions_in_use(&mem), ["0.1.0"]);
}

#[test]
fn a_corrupted_candidate_is_refused_and_the_active_version_stays() {
    let f = fixture();
    // Truncated weights: the load fails.
    let weights = f.repack.join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::remove_file(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let out = cli(
        &f.cache,
        &["models", "install", "minilm", "--from", f.repack.to_str().unwrap(), "--version", "0.1.1"],
        None,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("failed verification"), "{out:?}");
    assert_eq!(
        states(&f.cache),
        [("0.1.0".into(), VersionState::Active), ("0.1.1".into(), VersionState::Failed)]
    );
    assert!(!f.cache.join("minilm@0.1.1").exists(), "a failed version leaves no files");
    let out = cli(&f.cache, &["models", "activate", "minilm", "0.1.1"], None);
    assert!(!out.status.success(), "a failed version cannot be activated");

    // Good at install, altered in the cache afterwards: activation refuses it.
    std::fs::remove_file(&weights).unwrap();
    std::fs::write(&weights, &bytes).unwrap();
    install(&f, "0.1.2");
    let installed = f.cache.join("minilm@0.1.2/model.safetensors");
    let mut altered = std::fs::read(&installed).unwrap();
    let mid = altered.len() / 2;
    altered[mid] ^= 0x55;
    std::fs::write(&installed, &altered).unwrap();
    let out = cli(&f.cache, &["models", "activate", "minilm", "0.1.2"], None);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SHA-256"), "{out:?}");
    assert_eq!(one_active_and_verified(&f.cache), "0.1.0");
    assert_eq!(Registry::read(&f.cache).unwrap().get("minilm", "0.1.2").unwrap().state, VersionState::Failed);
}

#[test]
fn kill_during_install_leaves_the_active_version() {
    for point in ["install:after-copy", "install:before-register", "registry:before-rename"] {
        let f = fixture();
        let from = f.repack.to_str().unwrap();
        let out = cli(
            &f.cache,
            &["models", "install", "minilm", "--from", from, "--version", "0.1.1"],
            Some(point),
        );
        assert!(!out.status.success(), "{point}: the process must die there");
        assert_eq!(one_active_and_verified(&f.cache), "0.1.0", "{point}");
        // The next run cleans up what the dead one left, and installs again.
        ok(cli(&f.cache, &["models", "gc"], None));
        let leftovers: Vec<_> = std::fs::read_dir(&f.cache)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".install-") || n.contains('@'))
            .collect();
        assert!(leftovers.is_empty(), "{point}: {leftovers:?}");
        install(&f, "0.1.1");
        assert_eq!(one_active_and_verified(&f.cache), "0.1.0");
    }
}

#[test]
fn kill_during_activate_leaves_one_active_version() {
    for (point, expected) in [
        ("activate:before-switch", "0.1.0"),
        ("registry:before-rename", "0.1.0"),
        ("activate:after-switch", "0.1.1"),
    ] {
        let f = fixture();
        install(&f, "0.1.1");
        let out = cli(&f.cache, &["models", "activate", "minilm", "0.1.1"], Some(point));
        assert!(!out.status.success(), "{point}: the process must die there");
        assert_eq!(one_active_and_verified(&f.cache), expected, "{point}");
        let store = tempfile::tempdir().unwrap();
        let mem = open_store(store.path(), &f.cache);
        assert_eq!(versions_in_use(&mem), [expected], "{point}");
    }
}

#[test]
fn gc_in_another_process_keeps_what_an_open_store_uses() {
    let f = fixture();
    install(&f, "0.1.1");
    ok(cli(&f.cache, &["models", "activate", "minilm", "0.1.1"], None));
    let store = tempfile::tempdir().unwrap();
    let mem = open_store(store.path(), &f.cache);
    assert_eq!(versions_in_use(&mem), ["0.1.1"]);
    // 0.1.1 becomes a mere candidate while the store still runs on it.
    install(&f, "0.1.2");
    ok(cli(&f.cache, &["models", "activate", "minilm", "0.1.2"], None));
    ok(cli(&f.cache, &["models", "activate", "minilm", "0.1.0"], None));
    assert_eq!(
        states(&f.cache),
        [
            ("0.1.0".into(), VersionState::Active),
            ("0.1.1".into(), VersionState::Candidate),
            ("0.1.2".into(), VersionState::Previous)
        ]
    );
    let report: serde_json::Value =
        serde_json::from_str(&ok(cli(&f.cache, &["models", "gc", "--json"], None))).unwrap();
    assert_eq!(report["in_use"], serde_json::json!(["minilm@0.1.1"]), "{report}");
    assert!(f.cache.join("minilm@0.1.1/model.safetensors").exists());
    mem.remember(memorable::NewMemory::new("u", "still working on the version it opened with")).unwrap();

    // reload_models takes the active version at once; then nothing holds 0.1.1.
    mem.reload_models().unwrap();
    assert_eq!(versions_in_use(&mem), ["0.1.0"]);
    assert_eq!(mem.recall(&memorable::Recall::new("u", "working version").limit(1)).unwrap().len(), 1);
    let report: serde_json::Value =
        serde_json::from_str(&ok(cli(&f.cache, &["models", "gc", "--json"], None))).unwrap();
    assert_eq!(report["removed"], serde_json::json!(["minilm@0.1.1"]), "{report}");
    assert!(f.cache.join("minilm@0.1.2").exists(), "previous is kept for rollback");
}
