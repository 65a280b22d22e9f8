//! `memorable models install | update | activate | rollback | gc | verify` and the version
//! table of `models list`: the model registry from the command line (the work is the core's
//! `models::registry`).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};
use memorable::models::cache;
use memorable::models::registry::{self, InstallSource, Registry, UpdateSource, VersionState};
use serde_json::json;

/// The model cache every command works on.
pub(crate) fn cache_dir() -> Result<PathBuf> {
    cache::cache_dir(None).context("no model cache directory: set MEMORABLE_MODEL_DIR or MEMORABLE_HOME")
}

/// A spinner that shows each step (hidden for --json or when stderr is not a terminal).
fn steps(as_json: bool) -> ProgressBar {
    use std::io::IsTerminal;
    if as_json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn source(given: Option<&Path>) -> Option<UpdateSource> {
    given
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("MEMORABLE_MODEL_SOURCE").filter(|v| !v.is_empty()).map(PathBuf::from))
        .map(UpdateSource)
}

/// The registry's versions without their probe vectors (long, and for machines).
fn versions_json(reg: &Registry) -> serde_json::Value {
    let mut v = serde_json::to_value(&reg.versions).unwrap_or_default();
    if let Some(list) = v.as_array_mut() {
        for item in list {
            if let Some(o) = item.as_object_mut() {
                o.remove("probes");
            }
        }
    }
    v
}

/// `models list`'s version table (text), or its JSON value.
pub(crate) fn versions(as_json: bool) -> Result<Option<serde_json::Value>> {
    let Some(dir) = cache::cache_dir(None) else { return Ok(None) };
    let reg = Registry::read(&dir)?;
    if as_json {
        return Ok(Some(versions_json(&reg)));
    }
    println!("\ninstalled versions (model registry, {}):", dir.join(registry::REGISTRY_FILE).display());
    println!("{:<20} {:<10} {:<12} {:<10} {:>8}  source", "name", "role", "version", "state", "size MB");
    for v in &reg.versions {
        let state = match v.state {
            VersionState::Active => "active*",
            VersionState::Previous => "previous",
            VersionState::Candidate => "candidate",
            VersionState::Failed => "failed",
        };
        let source = match &v.source {
            registry::VersionSource::Pypi { package, version } => format!("pypi {package}=={version}"),
            registry::VersionSource::Folder { path } => format!("folder {path}"),
            registry::VersionSource::Training { job } => format!("training job {job}"),
            registry::VersionSource::Builtin => "built in".into(),
        };
        println!(
            "{:<20} {:<10} {:<12} {:<10} {:>8}  {source}{}",
            v.name,
            registry::role_name(v.role),
            v.version,
            state,
            v.bytes() / 1_000_000,
            v.failure.as_deref().map(|f| format!(" — {f}")).unwrap_or_default()
        );
    }
    Ok(None)
}

pub(crate) fn install(
    name: &str,
    from: Option<&Path>,
    version: Option<&str>,
    activate: bool,
    as_json: bool,
) -> Result<()> {
    let dir = cache_dir()?;
    let bar = steps(as_json);
    let mut progress = |m: &str| bar.set_message(m.to_owned());
    let installed = match from {
        None => registry::install_manifest(&dir, name, &mut progress)?,
        Some(path) => {
            let version = version.context("--version is required with --from")?;
            let src = InstallSource::Folder {
                path: path.to_path_buf(),
                name: name.to_owned(),
                version: version.to_owned(),
            };
            registry::install(&dir, src, &mut progress)?
        }
    };
    let mut v = installed.version.clone();
    if activate && v.state != VersionState::Active {
        bar.set_message(format!("activating {}", v.id()));
        v = registry::activate(&dir, &v.name, &v.version)?;
    }
    bar.finish_and_clear();
    if as_json {
        let mut value = serde_json::to_value(&v)?;
        if let Some(o) = value.as_object_mut() {
            o.remove("probes");
        }
        println!("{}", json!({ "version": value, "already": installed.already }));
    } else if installed.already {
        println!("{} is already installed ({:?})", v.id(), v.state);
    } else {
        println!("{} installed and verified: {:?}", v.id(), v.state);
    }
    Ok(())
}

pub(crate) fn update(name: Option<&str>, check: bool, from: Option<&Path>, as_json: bool) -> Result<()> {
    let dir = cache_dir()?;
    let source = source(from);
    let checks = registry::update_check(&dir, source.as_ref())?;
    if check {
        if as_json {
            println!("{}", serde_json::to_string(&checks)?);
        } else {
            println!("{:<20} {:<12} {:<12} {:<12} from", "name", "role", "installed", "available");
            for u in &checks {
                println!(
                    "{:<20} {:<12} {:<12} {:<12} {}{}",
                    u.name,
                    u.role,
                    u.installed.as_deref().unwrap_or("-"),
                    u.available,
                    u.from,
                    if u.update { "  (update available)" } else { "" }
                );
            }
        }
        return Ok(());
    }
    let names: Vec<String> = match name {
        Some(n) => vec![n.to_owned()],
        None => checks.iter().filter(|u| u.update && u.installed.is_some()).map(|u| u.name.clone()).collect(),
    };
    let bar = steps(as_json);
    let mut done = Vec::new();
    for n in &names {
        let updated = registry::update(&dir, n, source.as_ref(), &mut |m| bar.set_message(m.to_owned()))?;
        done.push(json!({ "name": n, "activated": updated.as_ref().map(|v| v.version.clone()) }));
        if !as_json {
            bar.suspend(|| match &updated {
                Some(v) => println!(
                    "{} installed, verified and activated (stores take it at their next open)",
                    v.id()
                ),
                None => println!("{n} is up to date"),
            });
        }
    }
    bar.finish_and_clear();
    if as_json {
        println!("{}", serde_json::Value::Array(done));
    }
    Ok(())
}

pub(crate) fn activate(name: &str, version: &str, as_json: bool) -> Result<()> {
    let bar = steps(as_json);
    bar.set_message(format!("verifying and activating {name}@{version}"));
    let v = registry::activate(&cache_dir()?, name, version)?;
    bar.finish_and_clear();
    if as_json {
        println!("{}", json!({ "name": v.name, "version": v.version, "state": v.state }));
    } else {
        println!("{} is active (stores take it at their next open, or at reload_models())", v.id());
    }
    Ok(())
}

pub(crate) fn rollback(name: &str, as_json: bool) -> Result<()> {
    let v = registry::rollback(&cache_dir()?, &registry::classifier_registry_name(name))?;
    if as_json {
        println!("{}", json!({ "name": v.name, "version": v.version, "state": v.state }));
    } else {
        println!("rolled back: {} is active again", v.id());
    }
    Ok(())
}

pub(crate) fn deploy(name: &str, version: Option<&str>, as_json: bool) -> Result<()> {
    let bar = steps(as_json);
    bar.set_message(format!("verifying and deploying {name}"));
    let v = registry::models_deploy(Some(&cache_dir()?), name, version)?;
    bar.finish_and_clear();
    if as_json {
        println!("{}", json!({ "name": v.name, "version": v.version, "state": v.state }));
    } else {
        println!("deployed: {} is active (classify uses it from its next call)", v.id());
    }
    Ok(())
}

pub(crate) fn gc(limit_mb: Option<u64>, as_json: bool) -> Result<()> {
    let report = registry::gc(&cache_dir()?, limit_mb.map(|mb| mb.saturating_mul(1 << 20)))?;
    if as_json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "removed {} version(s) and {} partial install(s), freed {} MB; {} MB of models left",
            report.removed.len(),
            report.partial.len(),
            report.freed_bytes / 1_000_000,
            report.cache_bytes / 1_000_000
        );
        for r in &report.removed {
            println!("  removed {r}");
        }
        for r in &report.in_use {
            println!("  kept {r}: an open store uses it");
        }
        if report.over_limit {
            println!("  the cache is still over the limit: what is left is active, previous or in use");
        }
    }
    Ok(())
}

/// Exit status 1 when a version fails its check.
pub(crate) fn verify(name: Option<&str>, as_json: bool) -> Result<bool> {
    let bar = steps(as_json);
    bar.set_message("checking every file of every installed version");
    let reports = registry::verify(&cache_dir()?, name)?;
    bar.finish_and_clear();
    if as_json {
        println!("{}", serde_json::to_string(&reports)?);
    } else {
        for r in &reports {
            match &r.reason {
                None => println!("ok      {}@{} ({:?})", r.name, r.version, r.state),
                Some(why) => println!("FAILED  {}@{} ({:?}): {why}", r.name, r.version, r.state),
            }
        }
    }
    Ok(reports.iter().all(|r| r.ok))
}
