//! The memory commands: `remember`, `recall`, `recent`, `get`, `history`, `derived`, `update`,
//! `forget`, `users`, `stats`.

use anyhow::{bail, Context as _, Result};
use clap::Args;
use memorable::{MemoryUpdate, NewMemory};
use serde_json::{json, Value};

use crate::global::Global;
use crate::util::{
    describe, fmt_time, indent, memory_json, open, parse_time, print_hits, to_recall, Filters,
};

#[derive(Args)]
pub(crate) struct RememberArgs {
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
    /// Idempotency key (unique per user): running the command again with the same key
    /// prints the first memory's id and stores nothing.
    #[arg(long)]
    client_key: Option<String>,
    text: String,
}

#[derive(Args)]
pub(crate) struct RecallArgs {
    #[command(flatten)]
    filters: Filters,
    query: String,
}

#[derive(Args)]
pub(crate) struct RecentArgs {
    #[command(flatten)]
    filters: Filters,
}

pub(crate) fn remember(cli: &Global, a: &RememberArgs) -> Result<()> {
    let mem = open(&cli.store, &cli.embedder)?;
    let mut m = NewMemory::new(&a.user, &a.text).tags(a.tags.clone());
    m.speaker = a.speaker.clone();
    m.session = a.session.clone();
    m.place = a.place.clone();
    m.kind = a.kind.clone();
    m.importance = a.importance;
    m.client_key = a.client_key.clone();
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

pub(crate) fn recall(cli: &Global, a: &RecallArgs) -> Result<()> {
    let mem = open(&cli.store, &cli.embedder)?;
    let hits = mem.recall(&to_recall(&a.filters, &a.query)?)?;
    mem.close()?;
    print_hits(&hits, cli.json)
}

pub(crate) fn recent(cli: &Global, a: &RecentArgs) -> Result<()> {
    let mem = open(&cli.store, &cli.embedder)?;
    let list = mem.recent_matching(&to_recall(&a.filters, "")?)?;
    mem.close()?;
    print_memories(&list, cli.json);
    Ok(())
}

pub(crate) fn derived(cli: &Global, id: u64) -> Result<()> {
    let mem = open(&cli.store, &cli.embedder)?;
    let list = mem.derived(id)?;
    mem.close()?;
    print_memories(&list, cli.json);
    Ok(())
}

fn print_memories(list: &[memorable::Memory], as_json: bool) {
    if as_json {
        let arr: Vec<Value> = list.iter().map(memory_json).collect();
        println!("{}", Value::Array(arr));
    } else {
        for m in list {
            println!("{}", describe(m));
        }
    }
}

pub(crate) fn users(cli: &Global, prefix: Option<&str>) -> Result<()> {
    let mem = open(&cli.store, &cli.embedder)?;
    let users = mem.users(prefix)?;
    mem.close()?;
    if cli.json {
        println!("{}", serde_json::to_string(&users)?);
    } else if users.is_empty() {
        println!("(no users)");
    } else {
        for u in &users {
            println!("{}  {} memories", u.user, u.memories);
        }
    }
    Ok(())
}

pub(crate) fn get(cli: &Global, id: u64) -> Result<()> {
    let mem = open(&cli.store, &cli.embedder)?;
    let m = mem.get(id)?;
    mem.close()?;
    if cli.json {
        println!("{}", memory_json(&m));
    } else {
        println!("{}", describe(&m));
    }
    Ok(())
}

pub(crate) fn history(cli: &Global, id: u64) -> Result<()> {
    let mem = open(&cli.store, &cli.embedder)?;
    let versions = mem.history(id)?;
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

pub(crate) fn update(cli: &Global, id: u64, text: &str) -> Result<()> {
    let mem = open(&cli.store, &cli.embedder)?;
    let m = mem.update(id, MemoryUpdate::default().text(text))?;
    mem.close()?;
    if cli.json {
        println!("{}", memory_json(&m));
    } else {
        println!("updated #{} to version {}", m.id, m.version);
    }
    Ok(())
}

pub(crate) fn forget(cli: &Global, id: Option<u64>, user: Option<&str>) -> Result<()> {
    let mem = open(&cli.store, &cli.embedder)?;
    let out = match (id, user) {
        (Some(id), _) => {
            mem.forget(id)?;
            json!({ "forgotten": 1 })
        }
        (None, Some(user)) => json!({ "forgotten": mem.forget_user(user)? }),
        (None, None) => bail!("give a memory id or --user"),
    };
    mem.close()?;
    if cli.json {
        println!("{out}");
    } else {
        let n = out["forgotten"].as_u64().unwrap_or(0);
        println!("forgot {n} {}", if n == 1 { "memory" } else { "memories" });
    }
    Ok(())
}

pub(crate) fn stats(cli: &Global) -> Result<()> {
    let mem = open(&cli.store, &cli.embedder)?;
    let stats = mem.stats()?;
    mem.close()?;
    if cli.json {
        println!("{}", serde_json::to_string(&stats)?);
        return Ok(());
    }
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
    let e = &stats.emotion;
    println!(
        "emotion:    {} contexts ({} open), {} readings, {} names outside the catalog",
        e.contexts,
        e.open_contexts,
        e.readings,
        e.unknown_names.len()
    );
    match (&e.classifier, &e.classification_off_reason) {
        (Some(c), _) => println!("            text classification by {c}"),
        (None, Some(why)) => println!("            text classification off: {why}"),
        (None, None) => {}
    }
    println!("schema:     v{}", stats.schema_version);
    println!("disk:       {} bytes", stats.store_bytes);
    println!("selection:");
    print!("{}", indent(&stats.selection.summary()));
    Ok(())
}
