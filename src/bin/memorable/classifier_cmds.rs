//! Custom classifiers from the shell: `classifiers list|show|create`, `examples
//! import|add|correct|stats|export`, `train emotion --classifier`, and the training side of
//! `jobs` (pause, resume).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use memorable::{DeployPolicy, JobInfo, Memorable, Preset, TrainOptions, TrainingProgress};
use serde_json::json;

use crate::global::Global;

#[derive(Subcommand)]
pub(crate) enum ClassifiersCommand {
    /// Every classifier: labels, deployed version, examples.
    List,
    /// One classifier.
    Show { name: String },
    /// Create a classifier with its label set.
    Create {
        name: String,
        /// Labels, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        labels: Vec<String>,
        /// Map a label to a catalog expression: --map label=expression (repeatable).
        #[arg(long = "map")]
        map: Vec<String>,
    },
}

#[derive(Subcommand)]
pub(crate) enum ExamplesCommand {
    /// Import labelled examples from a JSONL ({"text", "labels"} a line) or TSV
    /// (text<TAB>labels) file, all or nothing; creates the classifier if needed.
    Import {
        #[arg(long)]
        classifier: String,
        file: PathBuf,
    },
    /// Add one example.
    Add {
        #[arg(long)]
        classifier: String,
        /// Labels, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        labels: Vec<String>,
        /// The user the example belongs to (default: the application).
        #[arg(long)]
        user: Option<String>,
        text: String,
    },
    /// Record a user's correction of a memory's labels.
    Correct {
        memory_id: u64,
        #[arg(long)]
        classifier: String,
        #[arg(long, value_delimiter = ',', required = true)]
        labels: Vec<String>,
    },
    /// Counts of a classifier's examples, per label.
    Stats {
        #[arg(long)]
        classifier: String,
    },
    /// Write a classifier's examples as JSON Lines (stdout, or --out FILE).
    Export {
        #[arg(long)]
        classifier: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// `train emotion --classifier NAME`: options of a training job.
#[derive(Args, Clone)]
pub(crate) struct JobArgs {
    /// quick (a new head on the shipped adapted encoder) or full (LoRA + head).
    #[arg(long, default_value = "quick")]
    pub preset: String,
    /// Run the job here and wait for it (without: queue it and print its id).
    #[arg(long)]
    pub wait: bool,
    /// auto (deploy when it beats the deployed model by --margin), never, always.
    #[arg(long, default_value = "auto")]
    pub deploy: String,
    /// Macro-F1 gain over the deployed model that `auto` deploys on.
    #[arg(long, default_value_t = 0.01)]
    pub margin: f64,
    /// Train on users' examples and corrections too.
    #[arg(long)]
    pub include_user_examples: bool,
    /// Share of each label's examples held out for evaluation.
    #[arg(long, default_value_t = 0.2)]
    pub eval_fraction: f64,
}

fn open(g: &Global) -> Result<Memorable> {
    let mut config = g.config();
    config.log_content = crate::util::LOG_CONTENT.load(std::sync::atomic::Ordering::Relaxed);
    Memorable::builder(&g.store)
        .config(config)
        .open()
        .with_context(|| format!("cannot open store {}", crate::util::store_name(&g.store)))
}

fn print(g: &Global, value: serde_json::Value, text: String) {
    if g.json {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

pub(crate) fn classifiers(g: &Global, cmd: &ClassifiersCommand) -> Result<()> {
    let mem = open(g)?;
    match cmd {
        ClassifiersCommand::List => {
            let all = mem.classifiers()?;
            let text = all
                .iter()
                .map(|c| {
                    format!(
                        "{:<16} {:>3} labels  {:>7} examples  deployed {}",
                        c.name,
                        c.labels.len(),
                        c.examples,
                        c.deployed.as_deref().unwrap_or("-")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            print(g, serde_json::to_value(&all)?, text);
        }
        ClassifiersCommand::Show { name } => {
            let c = mem.classifier(name)?;
            print(g, serde_json::to_value(&c)?, serde_json::to_string_pretty(&c)?);
        }
        ClassifiersCommand::Create { name, labels, map } => {
            let mut mapping = BTreeMap::new();
            for m in map {
                let (l, e) =
                    m.split_once('=').with_context(|| format!("--map {m:?}: expected label=expression"))?;
                mapping.insert(l.trim().to_owned(), e.trim().to_owned());
            }
            let c = mem.create_classifier(name, labels, &mapping)?;
            let unmapped = if c.unmapped.is_empty() {
                String::new()
            } else {
                format!("; unmapped (kept as their own dimensions): {}", c.unmapped.join(", "))
            };
            print(
                g,
                serde_json::to_value(&c)?,
                format!("classifier {} with {} labels{unmapped}", c.name, c.labels.len()),
            );
        }
    }
    mem.close()?;
    Ok(())
}

pub(crate) fn examples(g: &Global, cmd: &ExamplesCommand) -> Result<()> {
    let mem = open(g)?;
    match cmd {
        ExamplesCommand::Import { classifier, file } => {
            let r = mem.import_examples(classifier, file)?;
            let created = if r.created { " (classifier created)" } else { "" };
            print(
                g,
                serde_json::to_value(&r)?,
                format!(
                    "{}: {} added, {} duplicates collapsed{created}",
                    r.classifier, r.added, r.duplicates
                ),
            );
        }
        ExamplesCommand::Add { classifier, labels, user, text } => {
            let r = mem.add_example(classifier, text, labels, "cli", user.as_deref())?;
            print(
                g,
                serde_json::to_value(&r)?,
                format!("{}: {} added, {} updated", r.classifier, r.added, r.duplicates),
            );
        }
        ExamplesCommand::Correct { memory_id, classifier, labels } => {
            let e = mem.correct(*memory_id, labels, classifier)?;
            print(
                g,
                serde_json::to_value(&e)?,
                format!("memory {memory_id}: {} (example {})", e.labels.join(", "), e.id),
            );
        }
        ExamplesCommand::Stats { classifier } => {
            let s = mem.example_stats(classifier)?;
            let mut text = format!(
                "{}: {} examples ({} application, {} of {} users, {} corrections, {} unlabelled)",
                s.classifier, s.total, s.application, s.user, s.users, s.corrections, s.unlabelled
            );
            for (label, n) in &s.per_label {
                text.push_str(&format!("\n  {label:<20} {n}"));
            }
            print(g, serde_json::to_value(&s)?, text);
        }
        ExamplesCommand::Export { classifier, out } => match out {
            Some(path) => {
                let n = mem.export_examples(classifier, path)?;
                print(
                    g,
                    json!({"examples": n, "path": path}),
                    format!("wrote {n} examples to {}", path.display()),
                );
            }
            None => {
                for e in mem.examples(classifier, None)? {
                    println!("{}", serde_json::to_string(&e)?);
                }
            }
        },
    }
    mem.close()?;
    Ok(())
}

/// `train emotion --classifier NAME`: queue a job, or with --wait run it here.
pub(crate) fn train(
    g: &Global,
    classifier: &str,
    a: &JobArgs,
    epochs: Option<usize>,
    threads: Option<usize>,
    seed: Option<u64>,
) -> Result<()> {
    let mut opts = TrainOptions {
        preset: a.preset.parse::<Preset>()?,
        deploy: a.deploy.parse::<DeployPolicy>()?,
        margin: a.margin,
        include_user_examples: a.include_user_examples,
        eval_fraction: a.eval_fraction,
        epochs,
        ..TrainOptions::default()
    };
    // A job run here, waited for, has the machine to itself: every core unless told
    // otherwise. A queued one keeps the library's default (one thread) for when an
    // application runs it beside its own work.
    match threads {
        Some(t) => opts.threads = t,
        None if a.wait => opts.threads = std::thread::available_parallelism().map_or(1, |n| n.get()),
        None => {}
    }
    if let Some(s) = seed {
        opts.seed = s;
    }
    let mem = open(g)?;
    if !a.wait {
        let id = mem.train(classifier, &opts)?;
        print(
            g,
            json!({"job": id, "state": "queued"}),
            format!("job {id} queued; run it with `memorable jobs resume {id}` (an application that opens the store runs it too)"),
        );
        mem.close()?;
        return Ok(());
    }
    single_thread_elementwise();
    let job = mem.train_and_wait(classifier, &opts, &mut progress_printer(g.json))?;
    report(g, &job)?;
    mem.close()?;
    Ok(())
}

/// `jobs pause|resume ID` (resume runs the job here until it ends).
pub(crate) fn pause(g: &Global, id: u64) -> Result<()> {
    let mem = open(g)?;
    let j = mem.pause_job(id)?;
    print(g, json!({"id": j.id, "state": j.state}), format!("job {}: {}", j.id, j.state));
    mem.close()?;
    Ok(())
}

pub(crate) fn resume(g: &Global, id: u64) -> Result<()> {
    let mem = open(g)?;
    single_thread_elementwise();
    let job = mem.run_job(id, &mut progress_printer(g.json))?;
    report(g, &job)?;
    mem.close()?;
    Ok(())
}

/// candle's element-wise kernels spin on a barrier; at training's sizes one thread is faster
/// (see `train emotion --data`). Matrix products use the job's threads.
fn single_thread_elementwise() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

fn progress_printer(as_json: bool) -> impl FnMut(&TrainingProgress) -> bool + Send {
    let show = !as_json && std::io::stderr().is_terminal();
    let bar = if show { ProgressBar::new(0) } else { ProgressBar::hidden() };
    let mut phase = String::new();
    let mut last_line = std::time::Instant::now();
    move |p: &TrainingProgress| {
        if p.phase != phase {
            phase = p.phase.clone();
            let template = match p.phase.as_str() {
                "features" => "features {bar:30} {pos}/{len} texts (eta {eta})",
                "train" => "training {bar:30} {pos}/{len} steps, loss {msg} (eta {eta})",
                _ => "evaluating {bar:30} {pos}/{len} texts",
            };
            bar.set_style(
                ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.reset();
        }
        bar.set_length(p.total);
        bar.set_position(p.done);
        if let Some(l) = p.loss {
            bar.set_message(format!("{l:.4}"));
        }
        if let Some(m) = &p.message {
            if show {
                bar.println(m);
            } else if !as_json {
                eprintln!("{m}");
            }
        } else if !show && !as_json && last_line.elapsed().as_secs() >= 30 {
            last_line = std::time::Instant::now();
            eprintln!("{}: {}/{}", p.phase, p.done, p.total);
        }
        if p.phase == "evaluate" && p.done == p.total {
            bar.finish_and_clear();
        }
        true
    }
}

/// Print a job as it ended: with --json the job object; otherwise the evaluation report.
fn report(g: &Global, job: &JobInfo) -> Result<()> {
    if g.json {
        println!("{}", serde_json::to_string(job)?);
        return Ok(());
    }
    let Some(r) = &job.result else {
        match &job.error {
            Some(e) if job.state == memorable::JobState::Failed => bail!("job {} failed: {e}", job.id),
            _ => {
                println!("job {}: {}", job.id, job.state);
                return Ok(());
            }
        }
    };
    println!("job {}: {} — {}", job.id, job.state, r["decision"].as_str().unwrap_or(""));
    let line = |name: &str, rep: &serde_json::Value| {
        if rep.is_null() {
            return;
        }
        println!(
            "{name:<8} {:<34} macro-F1 {:.4}  micro-F1 {:.4}  ECE {:.4}  ({} texts)",
            rep["model"].as_str().unwrap_or("-"),
            rep["macro_f1"].as_f64().unwrap_or(0.0),
            rep["micro_f1"].as_f64().unwrap_or(0.0),
            rep["ece"].as_f64().unwrap_or(0.0),
            rep["texts"]
        );
    };
    line("new", &r["new"]);
    line("deployed", &r["current"]);
    println!("{:<20} {:>7} {:>9} {:>7} {:>8}", "label", "F1", "precision", "recall", "support");
    for l in r["new"]["per_label"].as_array().into_iter().flatten() {
        println!(
            "{:<20} {:>7.4} {:>9.4} {:>7.4} {:>8}",
            l["label"].as_str().unwrap_or(""),
            l["f1"].as_f64().unwrap_or(0.0),
            l["precision"].as_f64().unwrap_or(0.0),
            l["recall"].as_f64().unwrap_or(0.0),
            l["support"]
        );
    }
    let confusions: Vec<String> = r["new"]["confusions"]
        .as_array()
        .into_iter()
        .flatten()
        .take(5)
        .map(|c| {
            format!(
                "{} → {} ({})",
                c["gold"].as_str().unwrap_or(""),
                c["predicted"].as_str().unwrap_or(""),
                c["count"]
            )
        })
        .collect();
    if !confusions.is_empty() {
        println!("most confused: {}", confusions.join(", "));
    }
    Ok(())
}
