//! `memorable train emotion`: train the text emotion classifier (LoRA adapters on the top
//! MiniLM layers + a head) on GoEmotions and write its adapter file and manifest; with
//! `--classifier NAME`, a training job of one of the store's classifiers on its examples.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use memorable::models::bert_lora::Proj;
use memorable::models::cache::{self, Manifest};
use memorable::training::{train_emotion, EmotionTrainConfig, TrainProgress, TuneOn};

#[derive(Subcommand)]
pub(crate) enum TrainCommand {
    /// Train the GoEmotions text emotion classifier on the cached MiniLM.
    Emotion(Box<EmotionArgs>),
}

/// Unset options take the settings of the shipped classifier.
#[derive(Args)]
pub(crate) struct EmotionArgs {
    /// Train this classifier of the store on its examples, as a job: evaluated against the
    /// deployed version and deployed by policy (no --data / --out then).
    #[arg(long, conflicts_with_all = ["data", "out"])]
    classifier: Option<String>,
    #[command(flatten)]
    job: crate::classifier_cmds::JobArgs,
    /// GoEmotions folder (labels.txt, train.tsv, dev.tsv).
    #[arg(long, required_unless_present = "classifier")]
    data: Option<PathBuf>,
    /// Output folder for manifest.json and adapter.safetensors.
    #[arg(long, required_unless_present = "classifier")]
    out: Option<PathBuf>,
    /// Encoder folder (default: MiniLM in the model cache, verified against its manifest).
    #[arg(long)]
    encoder: Option<PathBuf>,
    /// Top encoder layers that get LoRA adapters (0 = head on the frozen embedding).
    #[arg(long)]
    adapt_layers: Option<usize>,
    #[arg(long)]
    rank: Option<usize>,
    #[arg(long)]
    alpha: Option<f64>,
    /// Adapted projections, comma-separated: query,key,value,attn_out,ffn_in,ffn_out.
    #[arg(long, value_delimiter = ',')]
    projections: Option<Vec<String>>,
    /// Hidden units of the head (0 = linear head).
    #[arg(long)]
    head_hidden: Option<usize>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    batch_size: Option<usize>,
    /// Peak learning rate of the adapters.
    #[arg(long)]
    lr: Option<f64>,
    /// Peak learning rate of the head.
    #[arg(long)]
    head_lr: Option<f64>,
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Share of steps spent warming up the learning rate.
    #[arg(long)]
    warmup: Option<f64>,
    #[arg(long)]
    dropout: Option<f32>,
    /// Positive weight per label = (negatives / positives)^power.
    #[arg(long)]
    pos_weight_power: Option<f64>,
    /// Rows that pick the best evaluation and the thresholds: train-holdout or dev.
    #[arg(long)]
    tune_on: Option<String>,
    /// Share of train held out when tuning on train-holdout.
    #[arg(long)]
    holdout_fraction: Option<f64>,
    #[arg(long)]
    evals_per_epoch: Option<usize>,
    /// Evaluations without improvement before stopping.
    #[arg(long)]
    patience: Option<usize>,
    #[arg(long)]
    seed: Option<u64>,
    #[arg(long)]
    threads: Option<usize>,
    /// Train on at most this many rows (quick experiments).
    #[arg(long)]
    max_train_rows: Option<usize>,
    /// Keep the frozen layers' token states here between runs (about 1.4 GB per setting).
    #[arg(long)]
    cache_dir: Option<PathBuf>,
}

pub(crate) fn train(g: &crate::global::Global, cmd: &TrainCommand) -> Result<()> {
    let as_json = g.json;
    let TrainCommand::Emotion(a) = cmd;
    if let Some(classifier) = &a.classifier {
        return crate::classifier_cmds::train(g, classifier, &a.job, a.epochs, a.threads, a.seed);
    }
    let cfg = emotion_config(a)?;
    // candle runs element-wise kernels on a thread pool whose barrier spins; at training's
    // tensor sizes that costs more than it gains (measured: a step took 1.7x the CPU time).
    // Matrix products still use `--threads`. Set before candle's pool is first used.
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
    let show = !as_json && std::io::stderr().is_terminal();
    let bar = if show { ProgressBar::new(0) } else { ProgressBar::hidden() };
    let mut phase = "";
    // Without a terminal (a background run writing a log), one line every 30 s instead.
    let mut last_line = std::time::Instant::now();
    let mut on_progress = |p: TrainProgress| {
        if !show && !as_json && last_line.elapsed().as_secs() >= 30 {
            last_line = std::time::Instant::now();
            let loss = p.loss.map(|l| format!(", loss {l:.4}")).unwrap_or_default();
            eprintln!("{}: {}/{}{loss}", p.phase, p.done, p.total);
        }
        if p.phase != phase {
            phase = p.phase;
            let template = match p.phase {
                "cache" => "frozen layers {bar:30} {pos}/{len} texts ({per_sec}, eta {eta})",
                "train" => "training {bar:30} {pos}/{len} steps, loss {msg} (eta {eta})",
                _ => "scoring {bar:30} {pos}/{len} texts",
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
        if let Some(m) = p.message {
            if show {
                bar.println(m);
            } else if !as_json {
                eprintln!("{m}");
            }
        }
    };
    let manifest = train_emotion(&cfg, &mut on_progress)?;
    bar.finish_and_clear();
    if as_json {
        println!("{}", serde_json::to_string(&manifest)?);
        return Ok(());
    }
    let m = &manifest.metrics;
    println!("wrote {} and manifest.json to {}", manifest.adapter.file, cfg.out_dir.display());
    println!(
        "dev ({} texts, thresholds tuned on {}): macro-F1 {:.4}, micro-F1 {:.4}; one global threshold {:.2}: macro-F1 {:.4}",
        m.dev_texts, m.thresholds_tuned_on, m.dev.macro_f1, m.dev.micro_f1, m.dev_global_threshold, m.dev_global_macro_f1
    );
    println!(
        "adapter {} bytes; best epoch {:.2}; time: {:.0} s caching, {:.0} s training, {:.0} s in total",
        manifest.adapter.bytes,
        manifest.training.best_epoch,
        manifest.training.cache_seconds,
        manifest.training.train_seconds,
        manifest.training.total_seconds
    );
    Ok(())
}

fn emotion_config(a: &EmotionArgs) -> Result<EmotionTrainConfig> {
    let mut c = EmotionTrainConfig::default();
    c.data_dir = a.data.clone().context("--data is required without --classifier")?;
    c.out_dir = a.out.clone().context("--out is required without --classifier")?;
    c.encoder_dir = match &a.encoder {
        Some(d) => d.clone(),
        None => {
            let dir = cache::cache_dir(None).context("no model cache directory: set MEMORABLE_HOME")?;
            let minilm =
                Manifest::builtin().get("minilm").context("minilm is in the model manifest")?.clone();
            let folder = dir.join("minilm");
            if let Err(reason) = cache::verify(&folder, &minilm) {
                bail!(
                    "MiniLM is not usable in the model cache: {reason}; run `memorable models fetch minilm`"
                );
            }
            c.encoder_model_id = minilm.model_id;
            folder
        }
    };
    macro_rules! set {
        ($($field:ident),*) => { $( if let Some(v) = a.$field.clone() { c.$field = v; } )* };
    }
    set!(adapt_layers, rank, alpha, head_hidden, epochs, batch_size, lr, head_lr, weight_decay, warmup);
    set!(dropout, pos_weight_power, holdout_fraction, evals_per_epoch, patience, seed, threads);
    c.max_train_rows = a.max_train_rows;
    c.cache_dir = a.cache_dir.clone();
    if let Some(p) = &a.projections {
        c.projections = p
            .iter()
            .map(|n| Proj::parse(n.trim()).with_context(|| format!("unknown projection {n:?}")))
            .collect::<Result<_>>()?;
    }
    if let Some(t) = &a.tune_on {
        c.tune_on = match t.as_str() {
            "train-holdout" => TuneOn::TrainHoldout,
            "dev" => TuneOn::Dev,
            other => bail!("--tune-on must be train-holdout or dev, not {other:?}"),
        };
    }
    // The command as typed (program name normalized), recorded in the manifest.
    let args: Vec<String> = std::env::args().skip(1).collect();
    c.command = std::iter::once("memorable".to_owned()).chain(args).collect::<Vec<_>>().join(" ");
    Ok(c)
}
