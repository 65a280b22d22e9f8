//! The `memorable` command line: a store directory driven from the shell, with `--json`
//! output on every command so scripts and other languages can use it.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use memorable::{Memorable, Memory, MemoryUpdate, NewMemory, Recall, Recalled};
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
        Command::Demo => demo(cli.json),
        Command::Remember(a) => {
            let mem = open(&cli.store)?;
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
            let mem = open(&cli.store)?;
            let hits = mem.recall(&to_recall(&a.filters, &a.query)?)?;
            mem.close()?;
            print_hits(&hits, cli.json)
        }
        Command::Recent(a) => {
            let mem = open(&cli.store)?;
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
            let mem = open(&cli.store)?;
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
            let mem = open(&cli.store)?;
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
            let mem = open(&cli.store)?;
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
            let mem = open(&cli.store)?;
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
            let mem = open(&cli.store)?;
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
                println!("schema:     v{}", stats.schema_version);
                println!("disk:       {} bytes", stats.store_bytes);
            }
            Ok(())
        }
        Command::Import { file, batch } => import(&cli.store, file, *batch, cli.json),
    }
}

fn open(dir: &Path) -> Result<Memorable> {
    Memorable::open(dir).with_context(|| format!("cannot open store {}", dir.display()))
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

fn import(store: &Path, file: &Path, batch: usize, as_json: bool) -> Result<()> {
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
    let mem = open(store)?;
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

fn demo(as_json: bool) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mem = Memorable::open(dir.path())?;
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
