//! JS-facing shapes of the API and their conversions to and from the core's types. Nothing
//! here decides anything: absent options become the core's `None` / defaults.

use memorable_core as core;
use napi_derive::napi;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

use crate::values::{date, f32_map, f32s, js_id};
pub(crate) use crate::values::{js_f32, memory_id, Date};

/// Options of `remember`.
#[napi(object)]
pub struct RememberOptions {
    /// The user the memory belongs to (required, not blank).
    pub user: String,
    pub session: Option<String>,
    /// Who said or did it.
    pub speaker: Option<String>,
    /// When it happened (default: now).
    pub occurred_at: Option<Date>,
    /// Where it happened, as a place name.
    pub place: Option<String>,
    pub tags: Option<Vec<String>>,
    /// A JSON object.
    pub metadata: Option<Value>,
    /// In [0, 1] (default 0.5).
    pub importance: Option<f64>,
    /// Default "message".
    pub kind: Option<String>,
    pub topics: Option<Vec<String>>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// A precomputed embedding of the text (length = the embedder's dimension).
    pub embedding: Option<Vec<f64>>,
    /// Ids of the same user's memories this one is derived from (forgetting all of them
    /// forgets this one too).
    pub derived_from: Option<Vec<i64>>,
    /// The caller's key for this write (1-200 characters), unique per user: a retry with
    /// the same key answers the first one's id and stores nothing.
    pub client_key: Option<String>,
}

/// Ids from JS (a negative one can match no memory: the core refuses it).
fn ids(v: Option<Vec<i64>>) -> Vec<core::MemoryId> {
    v.unwrap_or_default().into_iter().map(|i| u64::try_from(i).unwrap_or(u64::MAX)).collect()
}

impl RememberOptions {
    pub fn into_core(self, text: String) -> core::NewMemory {
        core::NewMemory {
            user: self.user,
            text,
            kind: self.kind,
            session: self.session,
            speaker: self.speaker,
            topics: self.topics.unwrap_or_default(),
            occurred_at: date(self.occurred_at),
            place: self.place,
            lat: self.lat,
            lon: self.lon,
            tags: self.tags.unwrap_or_default(),
            metadata: self.metadata,
            importance: self.importance.map(|i| i as f32),
            embedding: self.embedding.map(f32s),
            emotion: None,
            derived_from: ids(self.derived_from),
            client_key: self.client_key,
        }
    }
}

/// One item of `rememberBatch`: the options of `remember` plus the text.
#[napi(object)]
pub struct RememberItem {
    pub text: String,
    pub user: String,
    pub session: Option<String>,
    pub speaker: Option<String>,
    pub occurred_at: Option<Date>,
    pub place: Option<String>,
    pub tags: Option<Vec<String>>,
    pub metadata: Option<Value>,
    pub importance: Option<f64>,
    pub kind: Option<String>,
    pub topics: Option<Vec<String>>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub embedding: Option<Vec<f64>>,
    pub derived_from: Option<Vec<i64>>,
    pub client_key: Option<String>,
}

impl From<RememberItem> for core::NewMemory {
    fn from(i: RememberItem) -> Self {
        core::NewMemory {
            user: i.user,
            text: i.text,
            kind: i.kind,
            session: i.session,
            speaker: i.speaker,
            topics: i.topics.unwrap_or_default(),
            occurred_at: date(i.occurred_at),
            place: i.place,
            lat: i.lat,
            lon: i.lon,
            tags: i.tags.unwrap_or_default(),
            metadata: i.metadata,
            importance: i.importance.map(|i| i as f32),
            embedding: i.embedding.map(f32s),
            emotion: None,
            derived_from: ids(i.derived_from),
            client_key: i.client_key,
        }
    }
}

/// Options of `recall`: whose memories, how many, which sources, and filters.
#[napi(object)]
pub struct RecallOptions {
    pub user: String,
    /// Number of results, 1..=1000 (default 10).
    pub limit: Option<u32>,
    /// Skip this many results first, for paging (0..=100000, default 0).
    pub offset: Option<u32>,
    pub session: Option<String>,
    pub speaker: Option<String>,
    /// Only memories carrying every one of these tags.
    pub tags: Option<Vec<String>>,
    /// Only memories of one of these kinds.
    pub kinds: Option<Vec<String>>,
    /// Occurred at or after (inclusive).
    pub since: Option<Date>,
    /// Occurred before (exclusive).
    pub until: Option<Date>,
    /// Candidate sources: "hybrid" (semantic and keyword, fused; the default), "semantic"
    /// or "keyword".
    #[napi(ts_type = "'hybrid' | 'semantic' | 'keyword'")]
    pub mode: Option<String>,
    /// Only memories in this window before `at` (both ends inclusive): "short" (20 min),
    /// "medium" (1 h), "long" (24 h) by default, or a number of seconds.
    #[napi(ts_type = "'short' | 'medium' | 'long' | number")]
    pub window: Option<Value>,
    /// Anchor of `window` and of recency (default: now).
    pub at: Option<Date>,
    /// Score fusion: "zscore" (default) or "rrf".
    #[napi(ts_type = "'zscore' | 'rrf'")]
    pub fusion: Option<String>,
    /// Weights of the ranking signals (snake_case keys of the core `RankWeights`, e.g.
    /// `{ recency: 0.5, recency_half_life_hours: 24, who: 0 }`); missing keys keep defaults.
    #[napi(ts_type = "RankWeights")]
    pub weights: Option<Value>,
    /// Rank memories whose emotional snapshot resembles this mood higher.
    #[napi(ts_type = "Mood")]
    pub mood: Option<Value>,
    /// Use the user's current emotional state as the mood (no effect until one exists).
    pub current_mood: Option<bool>,
    /// Count this recall in the hits' access statistics (default true).
    pub track_access: Option<bool>,
}

/// Weights of the ranking signals (0 turns a signal off).
// Declares the TypeScript type only: the values cross as JSON through serde.
#[allow(dead_code)]
#[napi(object)]
pub struct RankWeights {
    pub semantic: Option<f64>,
    pub keyword: Option<f64>,
    pub context: Option<f64>,
    pub context_turns: Option<u32>,
    pub recency: Option<f64>,
    pub recency_half_life_hours: Option<f64>,
    pub importance: Option<f64>,
    pub arousal: Option<f64>,
    pub access: Option<f64>,
    pub mood: Option<f64>,
    pub who: Option<f64>,
    pub date: Option<f64>,
}

/// An emotional state to rank by: expression scores in [0, 1], valence / arousal in [-1, 1].
// Declares the TypeScript type only: the values cross as JSON through serde.
#[allow(dead_code)]
#[napi(object)]
pub struct Mood {
    pub scores: Option<std::collections::HashMap<String, f64>>,
    pub valence: Option<f64>,
    pub arousal: Option<f64>,
}

/// A core value from its serde form (a JS object / string as JSON).
pub fn from_json<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> core::Result<T> {
    serde_json::from_value(v).map_err(|e| core::Error::InvalidInput(format!("{what}: {e}")))
}

/// `"short" | "medium" | "long"` or seconds → a core `TimeWindow` (the core parses and
/// checks both).
pub fn window(v: Option<Value>) -> core::Result<Option<core::TimeWindow>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s.parse().map(Some),
        Some(Value::Number(n)) => core::TimeWindow::from_secs(n.as_f64().unwrap_or(f64::NAN)).map(Some),
        Some(other) => {
            Err(core::Error::InvalidInput(format!("time window must be a name or seconds, got {other}")))
        }
    }
}

impl RecallOptions {
    pub fn into_core(self, query: String) -> core::Result<core::Recall> {
        let mode = self.mode.map(|m| m.parse::<core::RecallMode>()).transpose()?;
        let mut r = RecentOptions {
            user: self.user,
            limit: self.limit,
            offset: self.offset,
            session: self.session,
            speaker: self.speaker,
            tags: self.tags,
            kinds: self.kinds,
            since: self.since,
            until: self.until,
            window: self.window,
            at: self.at,
        }
        .into_core(query)?;
        if let Some(mode) = mode {
            r.mode = mode;
        }
        if let Some(f) = self.fusion {
            r.fusion = f.parse()?;
        }
        if let Some(w) = self.weights {
            r.weights = from_json("weights", w)?;
        }
        r.mood = self.mood.filter(|m| !m.is_null()).map(|m| from_json("mood", m)).transpose()?;
        r.current_mood = self.current_mood.unwrap_or(false);
        r.track_access = self.track_access.unwrap_or(true);
        Ok(r)
    }
}

/// Options of `recent`: whose memories, how many, and filters (those of `recall`).
#[napi(object)]
pub struct RecentOptions {
    pub user: String,
    /// Number of results, 1..=1000 (default 10).
    pub limit: Option<u32>,
    /// Skip this many results first, for paging (0..=100000, default 0).
    pub offset: Option<u32>,
    pub session: Option<String>,
    pub speaker: Option<String>,
    /// Only memories carrying every one of these tags.
    pub tags: Option<Vec<String>>,
    /// Only memories of one of these kinds.
    pub kinds: Option<Vec<String>>,
    /// Occurred at or after (inclusive).
    pub since: Option<Date>,
    /// Occurred before (exclusive).
    pub until: Option<Date>,
    /// Only memories in this window before `at` (both ends inclusive).
    #[napi(ts_type = "'short' | 'medium' | 'long' | number")]
    pub window: Option<Value>,
    /// Anchor of `window` (default: now).
    pub at: Option<Date>,
}

impl RecentOptions {
    pub fn into_core(self, query: String) -> core::Result<core::Recall> {
        // Assigned field by field so fields the core adds keep their defaults.
        let mut r = core::Recall::new(self.user, query);
        if let Some(limit) = self.limit {
            r.limit = limit as usize;
        }
        r.offset = self.offset.unwrap_or(0) as usize;
        r.session = self.session;
        r.speaker = self.speaker;
        r.tags = self.tags.unwrap_or_default();
        r.kinds = self.kinds.unwrap_or_default();
        r.since = date(self.since);
        r.until = date(self.until);
        r.window = window(self.window)?;
        r.at = date(self.at);
        Ok(r)
    }
}

/// Changes of `update`; absent fields stay as they are.
#[napi(object)]
pub struct UpdateOptions {
    /// A new text is re-embedded; the previous version is kept in the history.
    pub text: Option<String>,
    pub kind: Option<String>,
    pub speaker: Option<String>,
    pub topics: Option<Vec<String>>,
    pub place: Option<String>,
    pub tags: Option<Vec<String>>,
    pub metadata: Option<Value>,
    pub importance: Option<f64>,
}

impl From<UpdateOptions> for core::MemoryUpdate {
    fn from(u: UpdateOptions) -> Self {
        core::MemoryUpdate {
            text: u.text,
            kind: u.kind,
            speaker: u.speaker,
            topics: u.topics,
            place: u.place,
            tags: u.tags,
            metadata: u.metadata,
            importance: u.importance.map(|i| i as f32),
        }
    }
}

/// A stored memory.
#[napi(object, use_nullable = true)]
pub struct Memory {
    /// Unique in the store, increasing, never reused (exact as a JS number below 2^53).
    pub id: i64,
    pub user: String,
    pub text: String,
    pub kind: String,
    pub session: Option<String>,
    pub speaker: Option<String>,
    pub topics: Vec<String>,
    pub occurred_at: Date,
    pub place: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub tags: Vec<String>,
    pub metadata: Map<String, Value>,
    pub importance: f64,
    pub created_at: Date,
    pub updated_at: Date,
    /// 1 when created, +1 on every update.
    pub version: u32,
    /// The emotional snapshot stored with the memory (null when none was taken).
    pub emotion: Option<EmotionSnapshot>,
    /// Ids of the memories this one was derived from (a consolidation's summary or fact).
    pub derived_from: Vec<i64>,
}

impl From<core::Memory> for Memory {
    fn from(m: core::Memory) -> Self {
        Memory {
            id: js_id(m.id),
            user: m.user,
            text: m.text,
            kind: m.kind,
            session: m.session,
            speaker: m.context.speaker,
            topics: m.context.topics,
            occurred_at: Date(m.context.occurred_at),
            place: m.context.place,
            lat: m.context.lat,
            lon: m.context.lon,
            tags: m.tags,
            metadata: m.metadata,
            importance: js_f32(m.importance),
            created_at: Date(m.created_at),
            updated_at: Date(m.updated_at),
            version: m.version,
            emotion: m.emotion.map(Into::into),
            derived_from: m.derived_from.into_iter().map(js_id).collect(),
        }
    }
}

/// How a recall hit's score came about.
#[napi(object, use_nullable = true)]
pub struct ScoreBreakdown {
    /// Cosine similarity to the query, when the memory was a semantic candidate.
    pub semantic: Option<f64>,
    /// 1-based rank among semantic candidates.
    pub semantic_rank: Option<u32>,
    /// BM25 score (higher is better), when the memory matched the query's keywords.
    pub keyword: Option<f64>,
    /// 1-based rank among keyword candidates.
    pub keyword_rank: Option<u32>,
    /// Relevance of the memory itself: fused semantic and keyword scores.
    pub fused: f64,
    /// Weighted relevance of its session neighbours.
    pub context: f64,
    pub recency: f64,
    pub importance: f64,
    pub arousal: f64,
    pub access: f64,
    pub mood: f64,
    pub who: f64,
    pub date: f64,
}

/// One recall hit.
#[napi(object)]
pub struct Recalled {
    pub memory: Memory,
    pub score: f64,
    pub breakdown: ScoreBreakdown,
}

impl From<core::Recalled> for Recalled {
    fn from(r: core::Recalled) -> Self {
        let b = r.breakdown;
        Recalled {
            memory: r.memory.into(),
            score: js_f32(r.score),
            breakdown: ScoreBreakdown {
                semantic: b.semantic.map(js_f32),
                semantic_rank: b.semantic_rank,
                keyword: b.keyword.map(js_f32),
                keyword_rank: b.keyword_rank,
                fused: js_f32(b.fused),
                context: js_f32(b.context),
                recency: js_f32(b.recency),
                importance: js_f32(b.importance),
                arousal: js_f32(b.arousal),
                access: js_f32(b.access),
                mood: js_f32(b.mood),
                who: js_f32(b.who),
                date: js_f32(b.date),
            },
        }
    }
}

/// One version of a memory, from `history`.
#[napi(object, use_nullable = true)]
pub struct MemoryVersion {
    pub version: u32,
    pub text: String,
    pub kind: String,
    pub speaker: Option<String>,
    pub tags: Vec<String>,
    pub metadata: Map<String, Value>,
    pub importance: f64,
    /// When this version was written.
    pub valid_from: Date,
    /// When it was replaced (null for the current version).
    pub valid_to: Option<Date>,
}

impl From<core::MemoryVersion> for MemoryVersion {
    fn from(v: core::MemoryVersion) -> Self {
        MemoryVersion {
            version: v.version,
            text: v.text,
            kind: v.kind,
            speaker: v.speaker,
            tags: v.tags,
            metadata: v.metadata,
            importance: js_f32(v.importance),
            valid_from: Date(v.valid_from),
            valid_to: v.valid_to.map(Date),
        }
    }
}

/// The serde name of a core enum value (e.g. `IndexOrigin::Dump` → "dump").
macro_rules! serde_name {
    ($v:expr) => {
        serde_json::to_value($v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
    };
}

/// The embedder in use.
#[napi(object, use_nullable = true)]
pub struct EmbedderInfo {
    pub model_id: String,
    pub dim: u32,
    /// True when the hashing fallback is in use (no sentence-embedding model).
    pub fallback: bool,
    /// Why the fallback is in use (null when it is not, or was asked for explicitly).
    pub fallback_reason: Option<String>,
}

/// Health of one loaded index.
#[napi(object)]
pub struct IndexStats {
    pub user: String,
    /// Points in the graph, tombstones included.
    pub points: i64,
    /// Live vectors (in the graph or pending).
    pub live: i64,
    /// Committed vectors not yet in the graph (searched exactly meanwhile; includes a large dump loading in the background).
    pub pending: i64,
    pub tombstones: i64,
    /// "dump" or "rebuilt".
    pub origin: String,
    /// True when it changed since its last dump.
    pub dirty: bool,
    /// True when its vectors are sparse (the hashing embedder's) and searched exactly through per-dimension postings; false: the graph is walked.
    pub sparse: bool,
    /// Estimated memory it holds, in bytes (what `maxIndexMemoryMb` counts).
    pub approx_bytes: i64,
}

/// Threads and batch size the chosen model may use.
#[napi(object)]
pub struct ResourceLimits {
    pub threads: u32,
    pub batch_size: u32,
}

/// The facts about the machine that model selection depends on.
#[napi(object)]
pub struct Environment {
    /// "local", "server", ... (the core's `Profile`).
    pub profile: String,
    pub cuda: bool,
    pub metal: bool,
    pub total_memory_mb: i64,
    pub available_memory_mb: i64,
    pub cpus: u32,
    /// This build can run candle models.
    pub candle: bool,
}

/// One model considered while selecting, and why it was or was not used.
#[napi(object)]
pub struct Decision {
    pub model: String,
    /// "chosen", "candidate", "skipped" or "failed".
    pub outcome: String,
    pub reason: String,
}

/// How the embedding model was chosen, from `selectionReport()` and `stats().selection`.
#[napi(object, use_nullable = true)]
pub struct SelectionReport {
    /// "embedding".
    pub role: String,
    /// What was asked for ("auto", a catalog name, or "custom").
    pub requested: String,
    /// Catalog name of the model in use.
    pub chosen: String,
    pub model_id: String,
    /// "cpu", "cuda" or "metal".
    pub device: String,
    /// True when the hashing fallback is in use.
    pub fallback: bool,
    /// Why the fallback is in use (null when it is not, or was asked for explicitly).
    pub fallback_reason: Option<String>,
    pub limits: ResourceLimits,
    pub environment: Option<Environment>,
    /// Model cache directory.
    pub model_dir: Option<String>,
    pub decisions: Vec<Decision>,
    pub notes: Vec<String>,
    /// Time to load the chosen model, in milliseconds.
    pub load_ms: f64,
    /// Time to embed one warm-up text, in milliseconds.
    pub warm_up_ms: f64,
}

impl From<core::SelectionReport> for SelectionReport {
    fn from(r: core::SelectionReport) -> Self {
        SelectionReport {
            role: serde_name!(r.role),
            requested: r.requested,
            chosen: r.chosen,
            model_id: r.model_id,
            device: serde_name!(r.device),
            fallback: r.fallback,
            fallback_reason: r.fallback_reason,
            limits: ResourceLimits {
                threads: r.limits.threads as u32,
                batch_size: r.limits.batch_size as u32,
            },
            environment: r.environment.map(|e| Environment {
                profile: serde_name!(e.profile),
                cuda: e.cuda,
                metal: e.metal,
                total_memory_mb: e.total_memory_mb as i64,
                available_memory_mb: e.available_memory_mb as i64,
                cpus: e.cpus as u32,
                candle: e.candle,
            }),
            model_dir: r.model_dir.map(|d| d.display().to_string()),
            decisions: r
                .decisions
                .into_iter()
                .map(|d| Decision { model: d.model, outcome: serde_name!(d.outcome), reason: d.reason })
                .collect(),
            notes: r.notes,
            load_ms: r.load_ms,
            warm_up_ms: r.warm_up_ms,
        }
    }
}

/// Progress of `reembed` (passed to its callback; also `stats().reembed`).
#[napi(object)]
pub struct ReembedProgress {
    /// Model id the store is migrating to.
    pub target_model_id: String,
    /// Memories whose vectors are made by the target model.
    pub done: i64,
    /// Memories in the store.
    pub total: i64,
}

impl From<core::ReembedProgress> for ReembedProgress {
    fn from(p: core::ReembedProgress) -> Self {
        ReembedProgress { target_model_id: p.target_model_id, done: p.done as i64, total: p.total as i64 }
    }
}

/// Result of `reembed`.
#[napi(object)]
pub struct ReembedReport {
    pub previous_model_id: String,
    /// The store's model id after the call (the target once completed).
    pub model_id: String,
    /// Vectors re-embedded by this call.
    pub reembedded: i64,
    /// True when the store now uses the target model; false when the callback paused it.
    pub completed: bool,
}

impl From<core::ReembedReport> for ReembedReport {
    fn from(r: core::ReembedReport) -> Self {
        ReembedReport {
            previous_model_id: r.previous_model_id,
            model_id: r.model_id,
            reembedded: r.reembedded as i64,
            completed: r.completed,
        }
    }
}

/// Counts and health of a store, from `stats()`.
#[napi(object, use_nullable = true)]
pub struct Stats {
    pub memories: i64,
    pub users: i64,
    /// Previous versions kept in history.
    pub versions: i64,
    pub embedder: EmbedderInfo,
    pub schema_version: u32,
    /// Directory of the store (null in memory).
    pub path: Option<String>,
    /// Database + WAL size on disk in bytes.
    pub store_bytes: i64,
    /// Indexes loaded right now.
    pub loaded_indexes: Vec<IndexStats>,
    /// How the embedding model was chosen.
    pub selection: SelectionReport,
    /// A re-embedding in progress (null when none is).
    pub reembed: Option<ReembedProgress>,
    /// The emotional layer: contexts, readings, unknown names, text classification.
    pub emotion: EmotionStats,
    /// Whether text emotion classification is available, and if not, why.
    pub classifier: ClassifierStatus,
    /// The model versions in use (the model registry): embedder, generator, classifier.
    pub models: Vec<ModelInUse>,
}

/// One model version a store uses (`stats().models`).
#[napi(object)]
pub struct ModelInUse {
    /// 'embedding', 'emotion' or 'generation'.
    pub role: String,
    pub name: String,
    pub version: String,
}

impl From<core::Stats> for Stats {
    fn from(s: core::Stats) -> Self {
        Stats {
            memories: s.memories as i64,
            users: s.users as i64,
            versions: s.versions as i64,
            embedder: EmbedderInfo {
                model_id: s.embedder.model_id,
                dim: s.embedder.dim as u32,
                fallback: s.embedder.fallback,
                fallback_reason: s.embedder.fallback_reason,
            },
            schema_version: s.schema_version,
            path: s.path,
            store_bytes: s.store_bytes as i64,
            loaded_indexes: s
                .loaded_indexes
                .into_iter()
                .map(|i| IndexStats {
                    user: i.user,
                    points: i.points as i64,
                    live: i.live as i64,
                    pending: i.pending as i64,
                    tombstones: i.tombstones as i64,
                    origin: serde_name!(i.origin),
                    dirty: i.dirty,
                    sparse: i.sparse,
                    approx_bytes: i.approx_bytes as i64,
                })
                .collect(),
            selection: s.selection.into(),
            reembed: s.reembed.map(Into::into),
            emotion: s.emotion.into(),
            classifier: s.classifier.into(),
            models: s
                .models
                .into_iter()
                .map(|m| ModelInUse { role: serde_name!(m.role), name: m.name, version: m.version })
                .collect(),
        }
    }
}

/// Open options → the JSON `Config::from_json` reads: keys may be camelCase (`maxTextChars`)
/// or the core's own snake_case (`max_text_chars`); values pass through untouched.
pub fn config_json(options: Option<Value>) -> String {
    match options {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(v) => snake_keys(v).to_string(),
    }
}

/// Every object key of `v` in snake_case (`forMs` → `for_ms`), at any depth.
pub fn snake_keys(v: Value) -> Value {
    fn snake(key: &str) -> String {
        let mut out = String::with_capacity(key.len() + 4);
        for c in key.chars() {
            if c.is_ascii_uppercase() {
                out.push('_');
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    }
    match v {
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (snake(&k), snake_keys(v))).collect())
        }
        // e.g. `alerts.rules`: a list of objects.
        Value::Array(items) => Value::Array(items.into_iter().map(snake_keys).collect()),
        other => other,
    }
}

/// A name and how many memories of the window carry it (context frame).
// Declares the TypeScript type only: the values cross as JSON through serde.
#[allow(dead_code)]
#[napi(object)]
pub struct Mention {
    pub name: String,
    pub count: u32,
}

/// When the window's memories happened (context frame; times are RFC 3339 strings).
// Declares the TypeScript type only: the values cross as JSON through serde.
#[allow(dead_code)]
#[napi(object, use_nullable = true)]
pub struct FrameWhen {
    pub first: Option<String>,
    pub last: Option<String>,
    pub short: u32,
    pub medium: u32,
    pub long: u32,
}

/// The 4W summary returned by `contextFrame` (the core's serde form).
// Declares the TypeScript type only: the values cross as JSON through serde.
#[allow(dead_code)]
#[napi(object, use_nullable = true)]
pub struct ContextFrame {
    pub user: String,
    #[napi(ts_type = "'short' | 'medium' | 'long' | { seconds: number } | null")]
    pub window: Option<Value>,
    pub at: String,
    pub memories: u32,
    pub who: Vec<Mention>,
    pub what: Vec<Mention>,
    pub when: FrameWhen,
    #[napi(js_name = "where")]
    pub where_: Vec<Mention>,
    pub emotion: Option<String>,
}

/// The emotional snapshot stored with a memory.
#[napi(object, use_nullable = true)]
pub struct EmotionSnapshot {
    /// Catalog id → score (non-zero ones).
    pub scores: BTreeMap<String, f64>,
    pub dominant: Option<String>,
    /// In [-1, 1].
    pub valence: f64,
    /// In [-1, 1].
    pub arousal: f64,
    /// In [0, 1].
    pub confidence: f64,
}

impl From<core::EmotionSnapshot> for EmotionSnapshot {
    fn from(e: core::EmotionSnapshot) -> Self {
        EmotionSnapshot {
            scores: f32_map(e.scores),
            dominant: e.dominant,
            valence: js_f32(e.valence),
            arousal: js_f32(e.arousal),
            confidence: js_f32(e.confidence),
        }
    }
}

/// The emotional layer's part of `stats()`.
#[napi(object, use_nullable = true)]
pub struct EmotionStats {
    pub enabled: bool,
    /// Whether remembered texts are classified.
    pub classification: bool,
    pub classifier: Option<String>,
    pub classification_off_reason: Option<String>,
    pub contexts: i64,
    pub open_contexts: i64,
    pub readings: i64,
    /// Names outside the catalog → readings that carried them.
    pub unknown_names: BTreeMap<String, i64>,
}

impl From<core::emotion::EmotionStats> for EmotionStats {
    fn from(s: core::emotion::EmotionStats) -> Self {
        EmotionStats {
            enabled: s.enabled,
            classification: s.classification,
            classifier: s.classifier,
            classification_off_reason: s.classification_off_reason,
            contexts: s.contexts as i64,
            open_contexts: s.open_contexts as i64,
            readings: s.readings as i64,
            unknown_names: s.unknown_names.into_iter().map(|(k, v)| (k, v as i64)).collect(),
        }
    }
}

/// Whether text emotion classification is available (`stats().classifier`).
#[napi(object, use_nullable = true)]
pub struct ClassifierStatus {
    /// True when `classify` can run (checksums are verified on first use).
    pub available: bool,
    /// True once the classifier is loaded.
    pub loaded: bool,
    pub model_id: Option<String>,
    /// Why classification is off (null when it is available).
    pub reason: Option<String>,
    /// True when the loaded classifier runs on the store's own embedder: a remembered text's
    /// vector and emotion scores come from one encoder pass.
    pub shared_pass: bool,
}

impl From<core::ClassifierStatus> for ClassifierStatus {
    fn from(s: core::ClassifierStatus) -> Self {
        ClassifierStatus {
            available: s.available,
            loaded: s.loaded,
            model_id: s.model_id,
            reason: s.reason,
            shared_pass: s.shared_pass,
        }
    }
}
