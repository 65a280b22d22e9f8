//! `memorable consolidate` and `memorable jobs`: summaries and facts from a user's turns,
//! written by the generator (or extractively), and the background jobs that do it.

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use memorable::{ConsolidateRequest, Memorable};
use serde_json::json;

use crate::global::Global;
use crate::util::parse_time;

#[derive(Args)]
pub(crate) struct ConsolidateArgs {
    #[arg(long)]
    user: String,
    /// Only this session.
    #[arg(long)]
    session: Option<String>,
    /// Only memories at or after this instant (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Only memories before this instant (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// Start it as a background job and print its id instead of waiting.
    #[arg(long)]
    background: bool,
}

#[derive(Subcommand)]
pub(crate) enum JobsCommand {
    /// The newest jobs.
    List,
    /// One job: state, progress, result or error, log.
    Show { id: u64 },
    /// Ask a running job to stop (a queued or paused training job ends at once).
    Cancel { id: u64 },
    /// Pause a training job (it keeps its checkpoint).
    Pause { id: u64 },
    /// Resume a paused, queued or interrupted training job from its checkpoint, here, until
    /// it ends.
    Resume { id: u64 },
}

fn open(g: &Global) -> Result<Memorable> {
    let mut config = g.config();
    config.log_content = crate::util::LOG_CONTENT.load(std::sync::atomic::Ordering::Relaxed);
    Memorable::builder(&g.store)
        .config(config)
        .open()
        .with_context(|| format!("cannot open store {}", crate::util::store_name(&g.store)))
}

pub(crate) fn consolidate(g: &Global, a: &ConsolidateArgs) -> Result<()> {
    let mut req = ConsolidateRequest::new(&a.user);
    req.session = a.session.clone();
    req.since = a.since.as_deref().map(parse_time).transpose()?;
    req.until = a.until.as_deref().map(parse_time).transpose()?;
    let mem = open(g)?;
    if a.background {
        let job = mem.consolidate_in_background(&req)?;
        // The job runs in this process: wait for it, so closing does not cut it short.
        let info = loop {
            let info = mem.job(job)?;
            if info.state.is_final() {
                break info;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        println!(
            "{}",
            if g.json { serde_json::to_string(&info)? } else { format!("job {job}: {}", info.state) }
        );
        mem.close()?;
        return Ok(());
    }
    let bar = (!g.json).then(|| {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} conversations {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let report = mem.consolidate_with_progress(&req, &mut |p| {
        if let Some(b) = &bar {
            b.set_length(p.sessions_total as u64);
            b.set_position(p.sessions_done as u64);
        }
        true
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if g.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "job {}: {} conversations, {} summaries and {} facts ({}{})",
            report.job,
            report.sessions,
            report.summaries.len(),
            report.facts.len(),
            report.path,
            report.model.as_deref().map(|m| format!(", {m}")).unwrap_or_default()
        );
        for s in &report.summaries {
            println!("  summary {} [{}]: {}", s.id, s.session.as_deref().unwrap_or("-"), s.text);
        }
        for f in &report.facts {
            println!("  fact {}: {}", f.id, f.text);
        }
        for w in &report.warnings {
            println!("  note: {w}");
        }
    }
    mem.close()?;
    Ok(())
}

pub(crate) fn jobs(g: &Global, command: &JobsCommand) -> Result<()> {
    match command {
        JobsCommand::Pause { id } => return crate::classifier_cmds::pause(g, *id),
        JobsCommand::Resume { id } => return crate::classifier_cmds::resume(g, *id),
        _ => {}
    }
    let mem = open(g)?;
    let out = match command {
        JobsCommand::List => {
            let jobs = mem.jobs()?;
            if g.json {
                serde_json::to_string(&jobs)?
            } else {
                jobs.iter()
                    .map(|j| {
                        format!(
                            "{:>6}  {:<12} {:<10} {}",
                            j.id,
                            j.kind,
                            j.state.as_str(),
                            j.user.as_deref().unwrap_or("-")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }
        }
        JobsCommand::Show { id } => {
            let j = mem.job(*id)?;
            if g.json {
                serde_json::to_string(&j)?
            } else {
                serde_json::to_string_pretty(&j)?
            }
        }
        JobsCommand::Cancel { id } => {
            let j = mem.cancel_job(*id)?;
            if g.json {
                serde_json::to_string(&json!({"id": j.id, "state": j.state}))?
            } else {
                format!("job {}: {}", j.id, j.state)
            }
        }
        JobsCommand::Pause { .. } | JobsCommand::Resume { .. } => unreachable!("handled above"),
    };
    println!("{out}");
    mem.close()?;
    Ok(())
}
