//! Consolidation: turning a user's raw turns into one `summary` memory per conversation
//! (session) and `fact` memories, each linked to the memories it came from (`derived_from`),
//! in a background job — never on the write path.
//!
//! With a generator, each conversation is asked for a JSON summary and facts ([`prompt`]);
//! an answer that does not parse or fit (after the generator's one retry) and any generator
//! failure fall back to an extractive draft ([`extractive`]), so consolidation always writes
//! something and the report says which path each conversation took. Running it again on a
//! conversation replaces its summary as a new version (history kept) and its facts. Forgetting
//! every source of a derived memory forgets it too (the store's cascade).

mod draft;
mod extractive;
mod prompt;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use draft::{Draft, FactDraft};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::jobs::{JobId, JobRunner};
use crate::memory::{validate_user, Memory, MemoryId, MemoryUpdate, NewMemory};
use crate::models::llm;
use crate::store::{self, Filters};
use crate::time::to_ms;

/// Kind of the summary memories consolidation writes.
pub const SUMMARY_KIND: &str = "summary";
/// Kind of the fact memories consolidation writes.
pub const FACT_KIND: &str = "fact";
/// Turns sent to the generator at once (a longer conversation is summarized in parts).
const CHUNK: usize = 48;
/// Most turns one consolidation reads.
const MAX_TURNS: usize = 100_000;
/// Tokens a generator may write for one part: a summary's worth plus a fact's worth a turn,
/// at most 512 (a small model that rambles stops sooner on a short conversation).
fn answer_tokens(turns: usize) -> usize {
    (96 + 32 * turns).min(512)
}

/// What to consolidate: a user's memories, optionally one session and a time range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConsolidateRequest {
    pub user: String,
    #[serde(default)]
    pub session: Option<String>,
    /// Memories that occurred at or after this instant.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    /// Memories that occurred before this instant.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
}

impl ConsolidateRequest {
    pub fn new(user: impl Into<String>) -> ConsolidateRequest {
        ConsolidateRequest { user: user.into(), session: None, since: None, until: None }
    }
    pub fn session(mut self, session: impl Into<String>) -> Self {
        self.session = Some(session.into());
        self
    }
    pub fn since(mut self, t: OffsetDateTime) -> Self {
        self.since = Some(t);
        self
    }
    pub fn until(mut self, t: OffsetDateTime) -> Self {
        self.until = Some(t);
        self
    }
}

/// How a derived memory was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsolidationPath {
    /// By the generator, from its JSON answer.
    Generator,
    /// From the turns themselves (no generator, or its answer did not fit).
    Extractive,
}

crate::named::named_enum!(ConsolidationPath, "consolidation path", Error::InvalidInput, {
    Generator => "generator",
    Extractive => "extractive",
});

/// One memory consolidation wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConsolidatedMemory {
    pub id: MemoryId,
    pub kind: String,
    pub session: Option<String>,
    pub text: String,
    pub derived_from: Vec<MemoryId>,
    pub path: ConsolidationPath,
}

/// What a consolidation did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConsolidationReport {
    /// The job that ran it.
    pub job: JobId,
    pub user: String,
    /// `generator` when the generator wrote every conversation's summary, `extractive` when
    /// any was written without it (each memory's own `path` says who wrote it: facts a
    /// generator did not give are extracted; see `warnings`).
    pub path: ConsolidationPath,
    /// The generator used, when one was.
    pub model: Option<String>,
    /// Conversations (sessions) consolidated.
    pub sessions: usize,
    /// Memories read.
    pub source_memories: usize,
    pub summaries: Vec<ConsolidatedMemory>,
    pub facts: Vec<ConsolidatedMemory>,
    /// Why a conversation fell back to the extractive path, and other notes.
    pub warnings: Vec<String>,
    /// True when cancelled before the end (what was written so far stays).
    pub cancelled: bool,
    pub duration_ms: f64,
}

/// Progress of a consolidation, after each conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsolidationProgress {
    pub job: JobId,
    pub sessions_done: usize,
    pub sessions_total: usize,
    pub summaries: usize,
    pub facts: usize,
}

fn check(req: &ConsolidateRequest) -> Result<Value> {
    validate_user(&req.user)?;
    if let (Some(a), Some(b)) = (req.since, req.until) {
        if b < a {
            return Err(Error::InvalidInput("until is before since".into()));
        }
    }
    Ok(serde_json::to_value(req)?)
}

/// Run a consolidation as a job of `runner` on the calling thread, calling `progress` after
/// each conversation (returning `false` cancels before the next one).
pub(crate) fn consolidate(
    engine: &Engine,
    runner: &JobRunner,
    req: &ConsolidateRequest,
    progress: &mut dyn FnMut(&ConsolidationProgress) -> bool,
) -> Result<ConsolidationReport> {
    let params = check(req)?;
    let job = runner.create(engine, "consolidate", Some(&req.user), &params)?;
    run_job(engine, runner, job, req, progress)
}

/// Start a consolidation on a thread of its own; returns its job id at once (follow it with
/// the job functions).
pub(crate) fn start(engine: Arc<Engine>, runner: Arc<JobRunner>, req: ConsolidateRequest) -> Result<JobId> {
    let params = check(&req)?;
    let job = runner.create(&engine, "consolidate", Some(&req.user), &params)?;
    std::thread::Builder::new()
        .name(format!("memorable-job-{job}"))
        .spawn(move || {
            if let Err(e) = run_job(&engine, &runner, job, &req, &mut |_| true) {
                tracing::warn!(job, error = %e, "consolidation failed");
            }
        })
        .map_err(|e| Error::Internal(format!("cannot start the job's thread: {e}")))?;
    Ok(job)
}

fn run_job(
    engine: &Engine,
    runner: &JobRunner,
    job: JobId,
    req: &ConsolidateRequest,
    progress: &mut dyn FnMut(&ConsolidationProgress) -> bool,
) -> Result<ConsolidationReport> {
    let mut full = None;
    runner.run_created(engine, job, &mut |handle| {
        let mut on_progress = |p: &ConsolidationProgress| {
            let _ = handle.progress(&json!(p));
            // A stop asked for after the last session changes nothing: the work is done.
            if !progress(p) && p.sessions_done < p.sessions_total {
                handle.cancel();
            }
            !handle.cancelled()
        };
        let report = run(engine, handle.id, req, &mut on_progress, &|line| handle.log(line))?;
        let stored = without_texts(&report)?;
        full = Some(report);
        Ok(stored)
    })?;
    full.ok_or_else(|| Error::Internal("the consolidation job ended without its report".into()))
}

/// The report as the job table keeps it: ids, kinds, paths and sources, but no memory text,
/// so a forgotten memory's words do not outlive it in the job's result.
fn without_texts(report: &ConsolidationReport) -> Result<Value> {
    let mut v = serde_json::to_value(report)?;
    for list in ["summaries", "facts"] {
        if let Some(items) = v[list].as_array_mut() {
            for item in items {
                if let Some(m) = item.as_object_mut() {
                    m.remove("text");
                }
            }
        }
    }
    Ok(v)
}

/// Read the user's turns, grouped by session, each in time order.
fn conversations(engine: &Engine, req: &ConsolidateRequest) -> Result<Vec<(Option<String>, Vec<Memory>)>> {
    let Some(user_key) = engine.store.read(|c| store::user_key(c, &req.user))? else {
        return Ok(Vec::new());
    };
    let filters = Filters {
        session: req.session.clone(),
        since: req.since.map(to_ms),
        until: req.until.map(to_ms),
        ..Default::default()
    };
    let mut all = engine.store.read(|c| store::list_memories(c, user_key, &filters, MAX_TURNS, 0))?;
    all.retain(|m| m.kind != SUMMARY_KIND && m.kind != FACT_KIND);
    all.reverse();
    let mut groups: BTreeMap<Option<String>, Vec<Memory>> = BTreeMap::new();
    for m in all {
        groups.entry(m.session.clone()).or_default().push(m);
    }
    Ok(groups.into_iter().collect())
}

fn run(
    engine: &Engine,
    job: JobId,
    req: &ConsolidateRequest,
    progress: &mut dyn FnMut(&ConsolidationProgress) -> bool,
    log: &dyn Fn(&str),
) -> Result<ConsolidationReport> {
    let started = Instant::now();
    let groups = conversations(engine, req)?;
    let generator = match engine.generator.get() {
        Ok(g) => Some(g),
        Err(e) => {
            log(&format!("no generator ({e}): writing extractive summaries"));
            None
        }
    };
    let mut report = ConsolidationReport {
        job,
        user: req.user.clone(),
        path: if generator.is_some() { ConsolidationPath::Generator } else { ConsolidationPath::Extractive },
        model: generator.as_ref().map(|g| g.model_id().to_owned()),
        sessions: 0,
        source_memories: groups.iter().map(|g| g.1.len()).sum(),
        summaries: Vec::new(),
        facts: Vec::new(),
        warnings: Vec::new(),
        cancelled: false,
        duration_ms: 0.0,
    };
    if generator.is_none() {
        report.warnings.push("no generator available: every conversation was summarized extractively".into());
    }
    let total = groups.len();
    for (done, (session, turns)) in groups.into_iter().enumerate() {
        let name = session.as_deref().unwrap_or("(no session)").to_owned();
        // One draft per part of the conversation, merged.
        let mut summary = Vec::new();
        let mut facts: Vec<FactDraft> = Vec::new();
        let mut path = ConsolidationPath::Generator;
        for (part, chunk) in turns.chunks(CHUNK).enumerate() {
            let drafted = match &generator {
                Some(g) => {
                    let request = prompt::request(chunk, answer_tokens(chunk.len()));
                    llm::generate(g.as_ref(), &request, &mut |_| true).and_then(|answer| {
                        prompt::parse(&answer.text, chunk.len(), engine.config.max_text_chars)
                    })
                }
                None => Err(Error::NoGenerator("none".into())),
            };
            let draft = match drafted {
                Ok(mut d) if d.facts.is_empty() => {
                    // A summary but no facts (a small model often closes the object early):
                    // the facts are extracted, and say so.
                    let why =
                        format!("session {name}: the generator gave no facts; extractive facts instead");
                    log(&why);
                    report.warnings.push(why);
                    d.facts = extractive::draft(chunk).facts;
                    d
                }
                Ok(d) => d,
                Err(e) => {
                    if generator.is_some() {
                        let why = format!(
                            "session {name}: the generator's answer was not used ({e}); extractive instead"
                        );
                        log(&why);
                        report.warnings.push(why);
                    }
                    path = ConsolidationPath::Extractive;
                    extractive::draft(chunk)
                }
            };
            summary.push(draft.summary);
            facts.extend(draft.facts.into_iter().map(|mut f| {
                f.sources.iter_mut().for_each(|s| *s += part * CHUNK);
                if f.sources.is_empty() {
                    f.sources = (part * CHUNK..part * CHUNK + chunk.len()).collect();
                }
                f
            }));
        }
        if path == ConsolidationPath::Extractive {
            report.path = ConsolidationPath::Extractive;
        }
        let draft = Draft { summary: summary.join(" "), facts };
        let model = report.model.clone();
        write(engine, job, req, &session, &turns, draft, path, model.as_deref(), &mut report)?;
        report.sessions += 1;
        let p = ConsolidationProgress {
            job,
            sessions_done: done + 1,
            sessions_total: total,
            summaries: report.summaries.len(),
            facts: report.facts.len(),
        };
        log(&format!("session {name}: {} turns consolidated ({})", turns.len(), path.as_str()));
        if !progress(&p) && done + 1 < total {
            report.cancelled = true;
            log("cancelled");
            break;
        }
    }
    report.duration_ms = started.elapsed().as_secs_f64() * 1e3;
    Ok(report)
}

fn fact_path(f: &FactDraft) -> ConsolidationPath {
    if f.generated {
        ConsolidationPath::Generator
    } else {
        ConsolidationPath::Extractive
    }
}

/// A time a fact names (`2024-05-01`, RFC 3339), if it is one.
fn parse_when(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Some(t);
    }
    let d =
        time::Date::parse(s.get(..10)?, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    Some(d.midnight().assume_utc())
}

/// The previous consolidation's memories of this session (its summary and its facts).
fn previous(engine: &Engine, user: &str, session: &Option<String>) -> Result<(Option<Memory>, Vec<Memory>)> {
    let Some(user_key) = engine.store.read(|c| store::user_key(c, user))? else {
        return Ok((None, Vec::new()));
    };
    let filters = Filters {
        session: session.clone(),
        kinds: vec![SUMMARY_KIND.into(), FACT_KIND.into()],
        ..Default::default()
    };
    let found = engine.store.read(|c| store::list_memories(c, user_key, &filters, MAX_TURNS, 0))?;
    let ours = |m: &Memory| m.session == *session && !m.metadata["consolidation"].is_null();
    let summary = found.iter().find(|m| m.kind == SUMMARY_KIND && ours(m)).cloned();
    let facts = found.into_iter().filter(|m| m.kind == FACT_KIND && ours(m)).collect();
    Ok((summary, facts))
}

#[allow(clippy::too_many_arguments)]
fn write(
    engine: &Engine,
    job: JobId,
    req: &ConsolidateRequest,
    session: &Option<String>,
    turns: &[Memory],
    draft: Draft,
    path: ConsolidationPath,
    model: Option<&str>,
    report: &mut ConsolidationReport,
) -> Result<()> {
    let meta = |path: ConsolidationPath, extra: Value| {
        let model = if path == ConsolidationPath::Generator { model } else { None };
        let mut m = json!({ "consolidation": { "job": job, "path": path.as_str(), "model": model, "session": session } });
        if let Value::Object(e) = extra {
            m["consolidation"].as_object_mut().expect("an object").extend(e);
        }
        m
    };
    let ids: Vec<MemoryId> = turns.iter().map(|m| m.id).collect();
    let last = turns.iter().map(|m| m.context.occurred_at).max().unwrap_or_else(OffsetDateTime::now_utc);
    let (old_summary, old_facts) = previous(engine, &req.user, session)?;
    // The summary: a new version of the previous one, or a new memory.
    let summary_id = match old_summary {
        Some(old) => {
            engine.update(
                old.id,
                MemoryUpdate::default().text(draft.summary.clone()).metadata(meta(path, json!({}))),
            )?;
            let user_key = engine.store.read(|c| store::user_key(c, &req.user))?.unwrap_or_default();
            let writer = engine.store.writer();
            store::derived::set_sources(&writer, old.id, user_key, &ids)?;
            old.id
        }
        None => {
            let mut m = NewMemory::new(&req.user, &draft.summary)
                .kind(SUMMARY_KIND)
                .occurred_at(last)
                .tags(["consolidated"])
                .metadata(meta(path, json!({})))
                .derived_from(ids.clone());
            m.session = session.clone();
            engine.remember(vec![m], false)?[0]
        }
    };
    report.summaries.push(ConsolidatedMemory {
        id: summary_id,
        kind: SUMMARY_KIND.into(),
        session: session.clone(),
        text: draft.summary,
        derived_from: ids,
        path,
    });
    // The facts replace the previous consolidation's facts of this session.
    for f in old_facts {
        engine.forget(f.id)?;
    }
    let mut news = Vec::new();
    let mut sources = Vec::new();
    for f in &draft.facts {
        let from: Vec<MemoryId> = f.sources.iter().filter_map(|&i| turns.get(i).map(|m| m.id)).collect();
        let when = f.when.as_deref().and_then(parse_when).unwrap_or_else(|| {
            f.sources
                .iter()
                .filter_map(|&i| turns.get(i))
                .map(|m| m.context.occurred_at)
                .max()
                .unwrap_or(last)
        });
        let mut m = NewMemory::new(&req.user, &f.text)
            .kind(FACT_KIND)
            .occurred_at(when)
            .topics(f.topics.clone())
            .tags(["consolidated"])
            .metadata(meta(fact_path(f), json!({ "when": f.when })))
            .derived_from(from.clone());
        m.session = session.clone();
        m.speaker = f.who.clone();
        m.place = f.place.clone();
        news.push(m);
        sources.push(from);
    }
    if !news.is_empty() {
        let ids = engine.remember(news, true)?;
        for ((id, f), from) in ids.into_iter().zip(draft.facts).zip(sources) {
            report.facts.push(ConsolidatedMemory {
                id,
                kind: FACT_KIND.into(),
                session: session.clone(),
                path: fact_path(&f),
                text: f.text,
                derived_from: from,
            });
        }
    }
    Ok(())
}
