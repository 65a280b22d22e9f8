//! The `memorable` command line: a store directory driven from the shell, with `--json`
//! output on every command so scripts and other languages can use it.
//!
//! One module per command family; a new capability adds its module, one `Command` variant
//! and one line in `run`.

mod classify_cmd;
mod demo;
mod import_cmd;
mod memory_cmds;
mod models_cmds;
mod train_cmds;
mod util;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use serde_json::json;

use memory_cmds::{RecallArgs, RecentArgs, RememberArgs};
use models_cmds::ModelsCommand;

#[derive(Parser)]
#[command(name = "memorable", version, about = "MemoRable: an embeddable memory engine for AI agents")]
pub(crate) struct Cli {
    /// Store directory.
    #[arg(long, global = true, default_value = "./memorable-data", env = "MEMORABLE_STORE")]
    pub store: PathBuf,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors in the log.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Embedding model: auto (the store's own, else the best cached), hashing, or a catalog name.
    #[arg(long, global = true, default_value = "auto", env = "MEMORABLE_EMBEDDER")]
    pub embedder: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ingest a sample conversation into a temporary store and show what recall finds.
    Demo,
    /// Store a memory.
    Remember(RememberArgs),
    /// Find memories by meaning and keywords.
    Recall(RecallArgs),
    /// List a user's memories, newest first.
    Recent(RecentArgs),
    /// Show one memory.
    Get { id: u64 },
    /// Show every version of a memory.
    History { id: u64 },
    /// Change a memory's text (the previous version is kept in its history).
    Update { id: u64, text: String },
    /// Erase a memory, or with --user everything of a user.
    Forget {
        /// Memory id to erase.
        #[arg(required_unless_present = "user", conflicts_with = "user")]
        id: Option<u64>,
        /// Erase every memory of this user instead.
        #[arg(long)]
        user: Option<String>,
    },
    /// Counts, embedder and index health.
    Stats,
    /// Import memories from a JSONL file (one memory object per line; `-` for stdin).
    Import {
        file: PathBuf,
        /// Memories per transaction.
        #[arg(long, default_value_t = 1000)]
        batch: usize,
    },
    /// Embed texts; prints one JSON object a line: {"text": ..., "embedding": [...]}.
    Embed {
        /// Model: "auto", "hashing" or a catalog name such as "minilm".
        #[arg(long, default_value = "auto")]
        model: String,
        /// Read texts from this file, one a line (`-` for stdin).
        #[arg(long, conflicts_with = "texts")]
        file: Option<PathBuf>,
        #[arg(required_unless_present = "file")]
        texts: Vec<String>,
    },
    /// Emotion readings of texts; prints one JSON object a line:
    /// {"text": ..., "scores": {label: probability}, "labels": [labels over their thresholds]}.
    Classify {
        /// Use the trained classifier in this directory instead of the shipped one.
        #[arg(long)]
        classifier: Option<PathBuf>,
        /// Read texts from this file, one a line (`-` for stdin).
        #[arg(long, conflicts_with = "texts")]
        file: Option<PathBuf>,
        #[arg(required_unless_present = "file")]
        texts: Vec<String>,
    },
    /// The model catalog, the model cache, and what selection picks on this machine.
    Models {
        #[command(subcommand)]
        command: models_cmds::ModelsCommand,
    },
    /// Train a model (the text emotion classifier) from a labelled data set.
    Train {
        #[command(subcommand)]
        command: train_cmds::TrainCommand,
    },
    /// Migrate the store's vectors to another model (resumable; safe to interrupt).
    Reembed {
        /// Catalog name of the target model, e.g. "minilm".
        #[arg(long)]
        model: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if cli.json {
                let code = e.downcast_ref::<memorable::Error>().map(|m| m.code().name());
                let msg = format!("{e:#}");
                println!("{}", json!({"error": {"code": code, "message": msg}}));
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MEMORABLE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

fn run(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Demo => demo::demo(&cli.embedder, cli.json),
        Command::Remember(a) => memory_cmds::remember(cli, a),
        Command::Recall(a) => memory_cmds::recall(cli, a),
        Command::Recent(a) => memory_cmds::recent(cli, a),
        Command::Get { id } => memory_cmds::get(cli, *id),
        Command::History { id } => memory_cmds::history(cli, *id),
        Command::Update { id, text } => memory_cmds::update(cli, *id, text),
        Command::Forget { id, user } => memory_cmds::forget(cli, *id, user.as_deref()),
        Command::Stats => memory_cmds::stats(cli),
        Command::Import { file, batch } => {
            import_cmd::import(&cli.store, &cli.embedder, file, *batch, cli.json)
        }
        Command::Embed { model, file, texts } => models_cmds::embed(model, file.as_deref(), texts),
        Command::Classify { classifier, file, texts } => {
            classify_cmd::classify(classifier.as_deref(), file.as_deref(), texts)
        }
        Command::Models { command: ModelsCommand::List } => models_cmds::models_list(cli.json),
        Command::Models { command: ModelsCommand::Fetch { name } } => {
            models_cmds::models_fetch(name, cli.json)
        }
        Command::Reembed { model } => models_cmds::reembed(&cli.store, model, cli.json),
        Command::Train { command } => train_cmds::train(command, cli.json),
    }
}
