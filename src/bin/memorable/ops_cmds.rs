//! Operations commands: `metrics`, `health`, `backup`, `verify`, `restore`, `restore-user`,
//! `export` (and `import`, which reads what `export` writes), `rekey`. Long work shows a progress bar
//! on a terminal.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};
use memorable::{HealthCheck, HealthReport, HealthStatus};
use serde_json::json;

use crate::global::Global;
use crate::util::{open, parse_time};

/// The command ran and its answer is "no" (unsound backup, failing store): exit 1 without
/// printing an error on top of the report.
#[derive(Debug)]
pub(crate) struct Unsound;

impl std::fmt::Display for Unsound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("unsound")
    }
}
impl std::error::Error for Unsound {}

/// A byte progress bar on a terminal, hidden otherwise.
fn bytes_bar(what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(0);
    b.set_style(
        ProgressStyle::with_template("{msg:10} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b.set_message(what.to_owned());
    b
}

fn tick(bar: &ProgressBar) -> impl FnMut(u64, u64) + '_ {
    move |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    }
}

pub(crate) fn metrics(cli: &Global, prometheus: bool) -> Result<()> {
    let mem = open(&cli.store, &cli.embedder)?;
    let snapshot = mem.metrics()?;
    mem.close()?;
    if prometheus {
        print!("{}", memorable::metrics::prometheus::render(&snapshot));
    } else if cli.json {
        println!("{}", serde_json::to_string(&snapshot)?);
    } else {
        println!("{}", serde_json::to_string_pretty(&snapshot)?);
    }
    Ok(())
}

pub(crate) fn health(cli: &Global) -> Result<()> {
    let report = match open(&cli.store, &cli.embedder) {
        Ok(mem) => {
            let r = mem.health();
            mem.close()?;
            r?
        }
        // A store that cannot be opened is failing; say why in the same shape.
        Err(e) => {
            HealthReport::from_checks(vec![HealthCheck::new("open", HealthStatus::Failing, format!("{e:#}"))])
        }
    };
    if cli.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.status.as_str());
        for c in &report.checks {
            println!("  {:9} {:6} {}", c.status.as_str(), c.name, c.reason);
        }
    }
    if report.status == HealthStatus::Failing {
        return Err(Unsound.into());
    }
    Ok(())
}

pub(crate) fn backup(cli: &Global, file: &Path) -> Result<()> {
    let mem = open(&cli.store, &cli.embedder)?;
    let bar = bytes_bar("backup");
    let report = mem.backup_with_progress(file, &mut tick(&bar));
    bar.finish_and_clear();
    mem.close()?;
    let report = report?;
    if cli.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "backup {}: {} memories of {} users, {} bytes, {} index files, {:.0} ms",
            report.path, report.memories, report.users, report.bytes, report.index_files, report.duration_ms
        );
    }
    Ok(())
}

/// `rekey`: the old key from `MEMORABLE_KEY`, the new one from `MEMORABLE_NEW_KEY` or stdin.
pub(crate) fn rekey(cli: &Global, new_key_stdin: bool) -> Result<()> {
    let old = memorable::EncryptionKey::from_env()
        .with_context(|| format!("set {} to the store's current key", memorable::KEY_ENV))?;
    let new = if new_key_stdin {
        let mut line = zeroize::Zeroizing::new(String::new());
        std::io::stdin().lock().read_line(&mut line)?;
        memorable::EncryptionKey::new(line.trim_end_matches(['\r', '\n']))?
    } else {
        let var = zeroize::Zeroizing::new(std::env::var("MEMORABLE_NEW_KEY").unwrap_or_default());
        if var.is_empty() {
            bail!("set MEMORABLE_NEW_KEY to the new key (or pass --new-key-stdin)");
        }
        memorable::EncryptionKey::new(var.as_str())?
    };
    memorable::rekey(&cli.store, &old, &new)?;
    if cli.json {
        println!("{}", json!({"rekeyed": cli.store.display().to_string()}));
    } else {
        println!("{}: rekeyed; open it with the new key from now on", cli.store.display());
    }
    Ok(())
}

pub(crate) fn verify(cli: &Global, path: &Path) -> Result<()> {
    let bar = bytes_bar("verify");
    let report = memorable::verify_with_progress(path, &mut tick(&bar));
    bar.finish_and_clear();
    let report = report?;
    if cli.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        let verdict = if report.ok { "sound" } else { "UNSOUND" };
        println!(
            "{} {}: {verdict} ({} memories of {} users, schema {}, model {})",
            report.kind,
            report.path,
            report.memories,
            report.users,
            report.schema_version.map_or("?".into(), |v| v.to_string()),
            report.model_id.as_deref().unwrap_or("none"),
        );
        for p in &report.problems {
            println!("  problem: {p}");
        }
        for w in &report.warnings {
            println!("  warning: {w}");
        }
    }
    if !report.ok {
        return Err(Unsound.into());
    }
    Ok(())
}

pub(crate) fn restore(cli: &Global, file: &Path, new_dir: &Path) -> Result<()> {
    let bar = bytes_bar("restore");
    let report = memorable::restore_with_progress(file, new_dir, &mut tick(&bar));
    bar.finish_and_clear();
    let report = report?;
    if cli.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("restored {} memories of {} users into {}", report.memories, report.users, report.path);
    }
    Ok(())
}

pub(crate) fn restore_user(cli: &Global, user: &str, at: &str) -> Result<()> {
    let at = parse_time(at)?;
    let mem = open(&cli.store, &cli.embedder)?;
    let report = mem.restore_user(user, at);
    mem.close()?;
    let report = report?;
    if cli.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "user {}: {} memories reverted, {} removed (created later), {} unchanged",
            report.user,
            report.reverted.len(),
            report.removed.len(),
            report.unchanged
        );
        if !report.unrestorable.is_empty() {
            println!("  no version at that instant for: {:?}", report.unrestorable);
        }
    }
    Ok(())
}

pub(crate) fn export(cli: &Global, user: &str, vectors: bool, out: Option<&Path>) -> Result<()> {
    let mem = open(&cli.store, &cli.embedder)?;
    let n = match out {
        Some(path) => mem.export_user_to(user, vectors, path),
        None => mem.export_user(user, vectors, &mut std::io::BufWriter::new(std::io::stdout().lock())),
    };
    mem.close()?;
    let n = n?;
    if out.is_some() {
        if cli.json {
            println!("{}", json!({ "exported": n }));
        } else {
            println!("exported {n} memories");
        }
    }
    Ok(())
}

pub(crate) fn import(cli: &Global, file: &Path, batch: usize) -> Result<()> {
    if batch == 0 {
        bail!("--batch must be positive");
    }
    let total = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let mut reader: Box<dyn BufRead> = if file == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    let bar = if std::io::stderr().is_terminal() && total > 0 {
        let b = ProgressBar::new_spinner();
        b.set_message("importing");
        b
    } else {
        ProgressBar::hidden()
    };
    let mem = open(&cli.store, &cli.embedder)?;
    let report =
        mem.import_jsonl(&mut reader, batch, &mut |lines| bar.set_message(format!("{lines} lines read")));
    bar.finish_and_clear();
    mem.close()?;
    let report = report?;
    std::io::stdout().flush()?;
    if cli.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("imported {} memories", report.imported);
    }
    Ok(())
}
