//! Helpers shared by the commands: opening a store, times, and printing memories.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context as _, Result};
use clap::Args;
use memorable::{Config, Memorable, Memory, Recall, Recalled};
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `--log-content`: let log records carry memory text, queries and user ids.
pub(crate) static LOG_CONTENT: AtomicBool = AtomicBool::new(false);

/// Replaces the process's log filter (set once logging is up; `memorable serve` reloads).
pub(crate) type SetLogFilter = Box<dyn Fn(&str) -> Result<()> + Send + Sync>;
pub(crate) static SET_LOG_FILTER: std::sync::OnceLock<SetLogFilter> = std::sync::OnceLock::new();

/// A store location as messages show it: a directory's path, or a PostgreSQL URL without
/// its password.
pub(crate) fn store_name(store: &Path) -> String {
    memorable::redact_store_url(&store.to_string_lossy())
}

pub(crate) fn open(dir: &Path, embedder: &str) -> Result<Memorable> {
    let mut config = Config::default();
    config.embedder = embedder.to_owned();
    config.log_content = LOG_CONTENT.load(Ordering::Relaxed);
    Memorable::builder(dir)
        .config(config)
        .open()
        .with_context(|| format!("cannot open store {}", store_name(dir)))
}

/// The texts of a command: one a line from `file` (`-` for stdin), else the arguments.
pub(crate) fn input_lines(file: Option<&Path>, texts: &[String]) -> Result<Vec<String>> {
    use std::io::BufRead;
    Ok(match file {
        Some(p) if p == Path::new("-") => std::io::stdin().lock().lines().collect::<std::io::Result<_>>()?,
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read {}", p.display()))?
            .lines()
            .map(str::to_owned)
            .collect(),
        None => texts.to_vec(),
    })
}

pub(crate) fn parse_time(s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).with_context(|| format!("{s:?} is not an RFC 3339 time"))
}

pub(crate) fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

pub(crate) fn to_recall(f: &Filters, query: &str) -> Result<Recall> {
    let mut r = Recall::new(&f.user, query)
        .limit(f.limit)
        .offset(f.offset)
        .tags(f.tags.clone())
        .kinds(f.kinds.clone());
    r.session = f.session.clone();
    r.speaker = f.speaker.clone();
    r.since = f.since.as_deref().map(parse_time).transpose()?;
    r.until = f.until.as_deref().map(parse_time).transpose()?;
    Ok(r)
}

/// A memory as one flat JSON object (context fields at the top level).
pub(crate) fn memory_json(m: &Memory) -> Value {
    let mut v = serde_json::to_value(m).unwrap_or(Value::Null);
    if let Some(obj) = v.as_object_mut() {
        if let Some(Value::Object(ctx)) = obj.remove("context") {
            obj.extend(ctx);
        }
    }
    v
}

/// A recall hit as one flat JSON object: the memory, `score` and `breakdown` (the shape of
/// `recall --json`, `POST /v1/recall` and the MCP `recall` tool).
pub(crate) fn hit_json(h: &Recalled) -> Value {
    let mut v = memory_json(&h.memory);
    v["score"] = json!(h.score);
    v["breakdown"] = serde_json::to_value(&h.breakdown).unwrap_or(Value::Null);
    v
}

pub(crate) fn print_hits(hits: &[Recalled], as_json: bool) -> Result<()> {
    if as_json {
        let arr: Vec<Value> = hits.iter().map(hit_json).collect();
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

pub(crate) fn describe(m: &Memory) -> String {
    let who = m.context.speaker.as_deref().map(|s| format!("{s}: ")).unwrap_or_default();
    format!("#{} [{}] {who}{}", m.id, fmt_time(m.context.occurred_at), m.text)
}

pub(crate) fn indent(s: &str) -> String {
    s.lines().map(|l| format!("  {l}\n")).collect()
}

/// The filters of `recall` and `recent`.
#[derive(Args)]
pub(crate) struct Filters {
    #[arg(long)]
    pub user: String,
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// Skip this many results first (paging).
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    #[arg(long)]
    pub session: Option<String>,
    #[arg(long)]
    pub speaker: Option<String>,
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    #[arg(long = "kind")]
    pub kinds: Vec<String>,
    /// Only memories at or after this instant (RFC 3339).
    #[arg(long)]
    pub since: Option<String>,
    /// Only memories before this instant (RFC 3339).
    #[arg(long)]
    pub until: Option<String>,
}
