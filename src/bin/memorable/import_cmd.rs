//! `memorable import FILE.jsonl`: batched import of memories, with a progress bar.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};
use memorable::NewMemory;
use serde_json::json;

use crate::util::open;

pub(crate) fn import(store: &Path, embedder: &str, file: &Path, batch: usize, as_json: bool) -> Result<()> {
    if batch == 0 {
        bail!("--batch must be positive");
    }
    let reader: Box<dyn BufRead> = if file == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    let total_bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let bar = if std::io::stderr().is_terminal() && total_bytes > 0 {
        let b = ProgressBar::new(total_bytes);
        b.set_style(
            ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} eta {eta}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let mem = open(store, embedder)?;
    let mut pending = Vec::with_capacity(batch);
    let mut imported = 0usize;
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        bar.inc(line.len() as u64 + 1);
        if line.trim().is_empty() {
            continue;
        }
        let m: NewMemory =
            serde_json::from_str(&line).with_context(|| format!("line {}: not a memory object", n + 1))?;
        pending.push(m);
        if pending.len() == batch {
            imported += mem
                .remember_batch(std::mem::take(&mut pending))
                .with_context(|| format!("batch ending at line {}", n + 1))?
                .len();
            bar.set_message(format!("{imported} memories"));
        }
    }
    if !pending.is_empty() {
        imported += mem.remember_batch(pending)?.len();
    }
    mem.close()?;
    bar.finish_and_clear();
    if as_json {
        println!("{}", json!({ "imported": imported }));
    } else {
        println!("imported {imported} memories");
    }
    Ok(())
}
