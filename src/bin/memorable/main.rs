//! The `memorable` command line: a store directory driven from the shell, with `--json`
//! output on every command so scripts and other languages can use it.
//!
//! One module per command family; a new capability adds its module, one `Command` variant
//! and one line in `run`.

mod classifier_cmds;
mod classify_cmd;
mod consolidate_cmd;
mod demo;
mod emotion_cmds;
mod generate_cmd;
mod global;
mod hume_cmds;
mod lifecycle_cmds;
mod memory_cmds;
mod models_cmds;
mod ops_cmds;
mod server;
mod train_cmds;
mod util;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;

use global::Global;
use memory_cmds::{RecallArgs, RecentArgs, RememberArgs};

#[derive(Parser)]
#[command(name = "memorable", version, about = "MemoRable: an embeddable memory engine for AI agents")]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: Global,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors in the log.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Log record format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "MEMORABLE_LOG_FORMAT")]
    log_format: LogFormat,
    /// Let log records carry memory text, queries and user ids (off by default).
    #[arg(long, global = true)]
    log_content: bool,
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
    /// Show the memories derived from one (consolidation's summaries and facts).
    Derived { id: u64 },
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
    /// Every user holding memories, with how many each holds.
    Users {
        /// Only users whose id starts with this.
        #[arg(long)]
        prefix: Option<String>,
    },
    /// Counts, embedder and index health.
    Stats,
    /// Import memories from a JSONL file (one memory object per line, e.g. from `export`;
    /// `-` for stdin). Exported vectors of the store's model are kept, others re-embedded.
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
        /// A classifier of the store by name (its deployed version), or a trained classifier
        /// directory; default: the shipped goemotions.
        #[arg(long)]
        classifier: Option<String>,
        /// Decide labels with this user's calibrated thresholds (named classifiers).
        #[arg(long, requires = "classifier")]
        user: Option<String>,
        /// Read texts from this file, one a line (`-` for stdin).
        #[arg(long, conflicts_with = "texts")]
        file: Option<PathBuf>,
        #[arg(required_unless_present = "file")]
        texts: Vec<String>,
    },
    /// Summaries and facts from a user's turns (the generator, else extractive); with --json
    /// one report: summaries, facts (each with id and derived_from), path, model, ...
    Consolidate(consolidate_cmd::ConsolidateArgs),
    /// Custom classifiers: label sets, deployed versions.
    Classifiers {
        #[command(subcommand)]
        command: classifier_cmds::ClassifiersCommand,
    },
    /// Labelled examples (and corrections) that classifiers train on.
    Examples {
        #[command(subcommand)]
        command: classifier_cmds::ExamplesCommand,
    },
    /// Background jobs (consolidation, training).
    Jobs {
        #[command(subcommand)]
        command: consolidate_cmd::JobsCommand,
    },
    /// Generate text with the generator role; with --json one object: text, tokens,
    /// prompt_tokens, completion_tokens, finish_reason, model.
    Generate(generate_cmd::GenerateArgs),
    /// The model catalog, the model cache, and what selection picks on this machine.
    Models {
        #[command(subcommand)]
        command: models_cmds::ModelsCommand,
    },
    /// Emotional contexts: observe readings, show fused states and their history.
    Emotion {
        #[command(subcommand)]
        command: emotion_cmds::EmotionCommand,
    },
    /// Train a model: the text emotion classifier from a labelled data set, or a classifier
    /// of the store on its examples (--classifier).
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
    /// Counters, latency quantiles and gauges of the store.
    Metrics {
        /// Print the Prometheus text format.
        #[arg(long)]
        prometheus: bool,
    },
    /// Check the store: integrity, indexes, model, disk, memory. Exits 1 when failing.
    Health,
    /// Write an online backup of the store (a directory or a PostgreSQL database) into FILE
    /// (which must not exist).
    Backup { file: PathBuf },
    /// Check a backup file, a store directory or a PostgreSQL store (its URL). Exits 0 only
    /// when sound.
    Verify { path: PathBuf },
    /// Restore the backup FILE into NEW_DIR (which must not exist or be empty), or into an
    /// empty PostgreSQL database given as a postgres:// URL.
    Restore { file: PathBuf, new_dir: PathBuf },
    /// Bring one user's memories back to how they were at an instant (from the history).
    RestoreUser {
        user: String,
        /// The instant (RFC 3339, e.g. 2024-05-08T13:56:00Z).
        #[arg(long)]
        at: String,
    },
    /// Give an encrypted store a new key (the store must not be open elsewhere). The current
    /// key comes from MEMORABLE_KEY, the new one from MEMORABLE_NEW_KEY (or, with
    /// --new-key-stdin, the first line of stdin): keys never go on the command line.
    Rekey {
        /// Read the new key from the first line of stdin.
        #[arg(long)]
        new_key_stdin: bool,
    },
    /// Write one user's memories as JSON Lines (to stdout, or --out FILE).
    Export {
        #[arg(long)]
        user: String,
        /// Include each memory's embedding and the model that made it.
        #[arg(long)]
        vectors: bool,
        /// Write to this new file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Hume: stream or upload audio / images, feed recorded Hume messages into a context.
    Hume {
        #[command(subcommand)]
        command: hume_cmds::HumeCommand,
    },
    /// Serve the store over HTTP (`/v1`, OpenAPI at /v1/openapi.json) and MCP (`/mcp`),
    /// with API keys from --config; prints "listening on http://ADDR" once ready.
    Serve(server::ServeArgs),
    /// Serve the MCP tools (remember, recall, recent, get_memory, forget, emotional_state,
    /// context_frame, consolidate) on stdin / stdout for one user.
    Mcp(server::McpArgs),
    /// API keys of `memorable serve`.
    Keys {
        #[command(subcommand)]
        command: server::KeysCommand,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet, cli.log_format, cli.log_content);
    util::LOG_CONTENT.store(cli.log_content, std::sync::atomic::Ordering::Relaxed);
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The report was printed; its verdict is the exit code.
        Err(e) if e.is::<ops_cmds::Unsound>() => ExitCode::FAILURE,
        Err(e) => {
            if cli.global.json {
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

fn init_logging(verbose: u8, quiet: bool, format: LogFormat, log_content: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{fmt, reload, EnvFilter};
    let filter = EnvFilter::try_from_env("MEMORABLE_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    // rmcp logs whole MCP requests and results (memory texts) at debug.
    let filter =
        if log_content { filter } else { filter.add_directive("rmcp=info".parse().expect("a directive")) };
    // The filter sits behind a reload handle so `memorable serve` can change the log level
    // when its settings file does.
    let (filter, handle) = reload::Layer::new(filter);
    let registry = tracing_subscriber::registry().with(filter);
    // Colours only on a terminal: a server's log file or a pipe gets plain records.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let layer = fmt::layer().with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Text => registry.with(layer).init(),
        // One JSON object a line, span fields included: for log shippers.
        LogFormat::Json => registry.with(layer.json().with_current_span(true).with_span_list(true)).init(),
    }
    let _ = util::SET_LOG_FILTER.set(Box::new(move |spec: &str| {
        handle.reload(EnvFilter::try_new(spec)?)?;
        Ok(())
    }));
}

fn run(cli: &Cli) -> Result<()> {
    let g = &cli.global;
    match &cli.command {
        Command::Demo => demo::demo(&g.embedder, g.json),
        Command::Remember(a) => memory_cmds::remember(g, a),
        Command::Recall(a) => memory_cmds::recall(g, a),
        Command::Recent(a) => memory_cmds::recent(g, a),
        Command::Get { id } => memory_cmds::get(g, *id),
        Command::History { id } => memory_cmds::history(g, *id),
        Command::Derived { id } => memory_cmds::derived(g, *id),
        Command::Update { id, text } => memory_cmds::update(g, *id, text),
        Command::Forget { id, user } => memory_cmds::forget(g, *id, user.as_deref()),
        Command::Users { prefix } => memory_cmds::users(g, prefix.as_deref()),
        Command::Stats => memory_cmds::stats(g),
        Command::Import { file, batch } => ops_cmds::import(g, file, *batch),
        Command::Embed { model, file, texts } => models_cmds::embed(model, file.as_deref(), texts),
        Command::Classify { classifier, user, file, texts } => {
            classify_cmd::classify(g, classifier.as_deref(), user.as_deref(), file.as_deref(), texts)
        }
        Command::Classifiers { command } => classifier_cmds::classifiers(g, command),
        Command::Examples { command } => classifier_cmds::examples(g, command),
        Command::Generate(a) => generate_cmd::generate(g, a),
        Command::Consolidate(a) => consolidate_cmd::consolidate(g, a),
        Command::Jobs { command } => consolidate_cmd::jobs(g, command),
        Command::Models { command } => models_cmds::run(command, g.json),
        Command::Emotion { command } => emotion_cmds::run(g, command),
        Command::Reembed { model } => models_cmds::reembed(&g.store, model, g.json),
        Command::Metrics { prometheus } => ops_cmds::metrics(g, *prometheus),
        Command::Health => ops_cmds::health(g),
        Command::Backup { file } => ops_cmds::backup(g, file),
        Command::Verify { path } => ops_cmds::verify(g, path),
        Command::Restore { file, new_dir } => ops_cmds::restore(g, file, new_dir),
        Command::RestoreUser { user, at } => ops_cmds::restore_user(g, user, at),
        Command::Rekey { new_key_stdin } => ops_cmds::rekey(g, *new_key_stdin),
        Command::Export { user, vectors, out } => ops_cmds::export(g, user, *vectors, out.as_deref()),
        Command::Hume { command } => hume_cmds::run(g, command),
        Command::Train { command } => train_cmds::train(g, command),
        Command::Serve(a) => server::serve(g, a),
        Command::Mcp(a) => server::mcp_stdio(g, a),
        Command::Keys { command } => server::keys(command),
    }
}
