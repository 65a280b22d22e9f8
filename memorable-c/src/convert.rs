//! C inputs to core types: pointer checks, UTF-8 checks, and the `#[repr(C)]` option structs
//! (`memorable_options`, `memorable_memory_options`, `memorable_recall_options`) turned into
//! `Config`, `NewMemory` and `Recall`. No behaviour: only conversion and error mapping.
//!
//! Strings passed as the main arguments of a call are `(const char *utf8, size_t len)`;
//! strings inside option structs are NUL-terminated UTF-8 (NULL = not set).

use std::ffi::{c_char, CStr};

use memorable_core::{Config, Error, NewMemory, Recall, RecallMode};
use time::OffsetDateTime;

use crate::error::Result;

/// Default `limit` of a recall when the options say 0.
const DEFAULT_LIMIT: usize = 10;

/// Options of `memorable_open` / `memorable_open_in_memory` (NULL options = defaults).
/// A zeroed struct means defaults. Fields may be added at the end in later versions.
#[repr(C)]
pub struct memorable_options {
    /// Longest text accepted, in Unicode scalar values; 0 keeps the default (or the value in
    /// `config_json`).
    pub max_text_chars: usize,
    /// NUL-terminated JSON object of the core configuration (see docs/c.md), or NULL for the
    /// defaults. Unknown keys are an INVALID_CONFIG error.
    pub config_json: *const c_char,
    /// NUL-terminated embedding model: "auto", "hashing" or a catalog name such as "minilm".
    /// NULL keeps the default ("auto", or the `embedder` key of `config_json`).
    pub embedder: *const c_char,
}

/// Per-memory options of `memorable_remember` / `memorable_remember_batch` (NULL = defaults).
/// Start from `memorable_memory_options_default()`: a zeroed struct means importance 0.0.
/// Strings are NUL-terminated UTF-8; NULL means not set.
#[repr(C)]
pub struct memorable_memory_options {
    /// Conversation or session id.
    pub session: *const c_char,
    /// Who said or did it.
    pub speaker: *const c_char,
    /// Kind of memory (default "message").
    pub kind: *const c_char,
    /// When true, `occurred_at_ms` is when it happened; otherwise the time of the call.
    pub has_occurred_at: bool,
    /// Unix time in milliseconds (read only when `has_occurred_at`).
    pub occurred_at_ms: i64,
    /// Importance in [0, 1]; NAN = not set (the default, 0.5).
    pub importance: f64,
    /// Array of `tags_len` NUL-terminated tags (may be NULL when `tags_len` is 0).
    pub tags: *const *const c_char,
    pub tags_len: usize,
    /// NUL-terminated JSON object attached to the memory, or NULL.
    pub metadata_json: *const c_char,
    /// Ids of the same user's memories this one is derived from (`derived_from_len` of them;
    /// may be NULL when 0). Forgetting all of them forgets this one too.
    pub derived_from: *const u64,
    pub derived_from_len: usize,
    /// The caller's key for this write (1-200 characters; NULL: none), unique per user: a
    /// retry with the same key answers the first one's id and stores nothing.
    pub client_key: *const c_char,
}

/// Candidate sources of a recall (`memorable_recall_options.mode`): one of the
/// `MEMORABLE_RECALL_*` values. A plain integer rather than a C enum, so that any value a
/// caller stores is defined behaviour; an unknown value is INVALID_INPUT.
pub type memorable_recall_mode = u32;

/// Semantic (vector) and keyword (BM25) candidates, fused (the default; 0).
pub const MEMORABLE_RECALL_HYBRID: memorable_recall_mode = 0;
/// Semantic (vector) candidates only.
pub const MEMORABLE_RECALL_SEMANTIC: memorable_recall_mode = 1;
/// Keyword (BM25) candidates only.
pub const MEMORABLE_RECALL_KEYWORD: memorable_recall_mode = 2;

/// Filters of `memorable_recall` / `memorable_recent` (NULL = defaults). A zeroed struct
/// means defaults. Strings are NUL-terminated UTF-8; NULL means no filter.
#[repr(C)]
pub struct memorable_recall_options {
    /// Number of results, 1..=1000; 0 means 10.
    pub limit: usize,
    /// Only memories of this session.
    pub session: *const c_char,
    /// Only memories with this speaker.
    pub speaker: *const c_char,
    /// Only memories carrying every one of these `tags_len` tags.
    pub tags: *const *const c_char,
    pub tags_len: usize,
    /// When true, only memories that occurred at or after `since_ms` (unix ms, inclusive).
    pub has_since: bool,
    pub since_ms: i64,
    /// When true, only memories that occurred before `until_ms` (unix ms, exclusive).
    pub has_until: bool,
    pub until_ms: i64,
    /// Candidate sources: `MEMORABLE_RECALL_HYBRID` (0, the default), `_SEMANTIC` or
    /// `_KEYWORD`. Ignored by `memorable_recent`.
    pub mode: memorable_recall_mode,
    /// Only memories in a window before `at_ms` (or now), both ends inclusive:
    /// `MEMORABLE_WINDOW_NONE` (0), `_SHORT`, `_MEDIUM`, `_LONG` or `_SECONDS`
    /// (`window_secs` long).
    pub window: crate::options::memorable_window,
    pub window_secs: u64,
    /// When true, `at_ms` (unix ms) anchors the window and recency instead of now.
    pub has_at: bool,
    pub at_ms: i64,
    /// Score fusion: `MEMORABLE_FUSION_ZSCORE` (0, the default) or `_RRF`.
    pub fusion: crate::options::memorable_fusion,
    /// Weights of the ranking signals; NULL = defaults (`memorable_rank_weights_default`).
    pub weights: *const crate::options::memorable_rank_weights,
    /// Mood to rank by: valence / arousal in [-1, 1] when the `has_` flag is set.
    pub has_mood_valence: bool,
    pub mood_valence: f64,
    pub has_mood_arousal: bool,
    pub mood_arousal: f64,
    /// Use the user's current emotional state as the mood (no effect until one exists).
    pub current_mood: bool,
    /// When true, this recall is not counted in the hits' access statistics.
    pub no_track_access: bool,
    /// Skip this many results first, for paging (0..=100000; 0 = none).
    pub offset: usize,
}

/// `memorable_memory_options` with nothing set (importance NAN, no occurred_at).
#[no_mangle]
pub extern "C" fn memorable_memory_options_default() -> memorable_memory_options {
    memorable_memory_options {
        session: std::ptr::null(),
        speaker: std::ptr::null(),
        kind: std::ptr::null(),
        has_occurred_at: false,
        occurred_at_ms: 0,
        importance: f64::NAN,
        tags: std::ptr::null(),
        tags_len: 0,
        metadata_json: std::ptr::null(),
        derived_from: std::ptr::null(),
        derived_from_len: 0,
        client_key: std::ptr::null(),
    }
}

/// `memorable_recall_options` with nothing set (limit 10, no filters).
#[no_mangle]
pub extern "C" fn memorable_recall_options_default() -> memorable_recall_options {
    memorable_recall_options {
        limit: 0,
        session: std::ptr::null(),
        speaker: std::ptr::null(),
        tags: std::ptr::null(),
        tags_len: 0,
        has_since: false,
        since_ms: 0,
        has_until: false,
        until_ms: 0,
        mode: MEMORABLE_RECALL_HYBRID,
        window: crate::options::MEMORABLE_WINDOW_NONE,
        window_secs: 0,
        has_at: false,
        at_ms: 0,
        fusion: crate::options::MEMORABLE_FUSION_ZSCORE,
        weights: std::ptr::null(),
        has_mood_valence: false,
        mood_valence: 0.0,
        has_mood_arousal: false,
        mood_arousal: 0.0,
        current_mood: false,
        no_track_access: false,
        offset: 0,
    }
}

/// Parse the JSON input `what` (INVALID_INPUT naming it when malformed).
pub(crate) fn parse<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::InvalidInput(format!("{what}: {e}")))
}

/// A required pointer as a reference.
pub(crate) unsafe fn non_null<'a, T>(p: *const T, what: &'static str) -> Result<&'a T> {
    p.as_ref().ok_or(Error::NullPointer { what })
}

/// A required output pointer.
pub(crate) fn out_ptr<T>(p: *mut T, what: &'static str) -> Result<*mut T> {
    if p.is_null() {
        Err(Error::NullPointer { what })
    } else {
        Ok(p)
    }
}

/// `(utf8, len)` text; NULL is rejected even with `len` 0.
pub(crate) unsafe fn utf8<'a>(ptr: *const c_char, len: usize, what: &'static str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(Error::NullPointer { what });
    }
    let bytes = std::slice::from_raw_parts(ptr.cast::<u8>(), len);
    std::str::from_utf8(bytes).map_err(|_| Error::InvalidUtf8 { what })
}

/// A NUL-terminated string that may be NULL.
pub(crate) unsafe fn opt_cstr<'a>(ptr: *const c_char, what: &'static str) -> Result<Option<&'a str>> {
    if ptr.is_null() {
        return Ok(None);
    }
    CStr::from_ptr(ptr).to_str().map(Some).map_err(|_| Error::InvalidUtf8 { what })
}

/// A required NUL-terminated string.
pub(crate) unsafe fn cstr<'a>(ptr: *const c_char, what: &'static str) -> Result<&'a str> {
    opt_cstr(ptr, what)?.ok_or(Error::NullPointer { what })
}

/// An array of `len` pointers (NULL allowed when `len` is 0).
pub(crate) unsafe fn array<'a, T>(ptr: *const T, len: usize, what: &'static str) -> Result<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::NullPointer { what });
    }
    Ok(std::slice::from_raw_parts(ptr, len))
}

unsafe fn tags(ptr: *const *const c_char, len: usize) -> Result<Vec<String>> {
    array(ptr, len, "tags")?.iter().map(|&t| cstr(t, "tag").map(str::to_owned)).collect()
}

pub(crate) fn time_ms(ms: i64, what: &'static str) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|_| Error::InvalidInput(format!("{what} {ms} ms is out of range")))
}

/// Unix milliseconds of a time.
pub(crate) fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The core configuration described by `opts` (NULL = defaults; validated at open).
pub(crate) unsafe fn config(opts: *const memorable_options) -> Result<Config> {
    let Some(opts) = opts.as_ref() else {
        return Ok(Config::default());
    };
    let mut config = match opt_cstr(opts.config_json, "config_json")? {
        Some(json) => Config::from_json(json)?,
        None => Config::default(),
    };
    if opts.max_text_chars != 0 {
        config.max_text_chars = opts.max_text_chars;
    }
    if let Some(embedder) = opt_cstr(opts.embedder, "embedder")? {
        config.embedder = embedder.to_owned();
    }
    Ok(config)
}

/// A `NewMemory` from `(user, text)` and optional options.
pub(crate) unsafe fn new_memory(
    user: &str,
    text: &str,
    opts: *const memorable_memory_options,
) -> Result<NewMemory> {
    let mut m = NewMemory::new(user, text);
    let Some(o) = opts.as_ref() else { return Ok(m) };
    m.session = opt_cstr(o.session, "session")?.map(str::to_owned);
    m.speaker = opt_cstr(o.speaker, "speaker")?.map(str::to_owned);
    m.kind = opt_cstr(o.kind, "kind")?.map(str::to_owned);
    if o.has_occurred_at {
        m.occurred_at = Some(time_ms(o.occurred_at_ms, "occurred_at_ms")?);
    }
    if !o.importance.is_nan() {
        m.importance = Some(o.importance as f32);
    }
    m.tags = tags(o.tags, o.tags_len)?;
    if let Some(json) = opt_cstr(o.metadata_json, "metadata_json")? {
        let value = serde_json::from_str(json)
            .map_err(|e| Error::InvalidMetadata(format!("metadata_json is not JSON: {e}")))?;
        m.metadata = Some(value);
    }
    m.derived_from = array(o.derived_from, o.derived_from_len, "derived_from")?.to_vec();
    m.client_key = opt_cstr(o.client_key, "client_key")?.map(str::to_owned);
    Ok(m)
}

fn recall_mode(mode: memorable_recall_mode) -> Result<RecallMode> {
    match mode {
        MEMORABLE_RECALL_HYBRID => Ok(RecallMode::Hybrid),
        MEMORABLE_RECALL_SEMANTIC => Ok(RecallMode::Semantic),
        MEMORABLE_RECALL_KEYWORD => Ok(RecallMode::Keyword),
        other => Err(Error::InvalidInput(format!(
            "mode must be MEMORABLE_RECALL_HYBRID (0), _SEMANTIC (1) or _KEYWORD (2), got {other}"
        ))),
    }
}

/// A `Recall` from `(user, query)` and optional filters.
pub(crate) unsafe fn recall(
    user: &str,
    query: &str,
    opts: *const memorable_recall_options,
) -> Result<Recall> {
    let mut r = Recall::new(user, query).limit(DEFAULT_LIMIT);
    let Some(o) = opts.as_ref() else { return Ok(r) };
    if o.limit != 0 {
        r.limit = o.limit;
    }
    r.session = opt_cstr(o.session, "session")?.map(str::to_owned);
    r.speaker = opt_cstr(o.speaker, "speaker")?.map(str::to_owned);
    r.tags = tags(o.tags, o.tags_len)?;
    if o.has_since {
        r.since = Some(time_ms(o.since_ms, "since_ms")?);
    }
    if o.has_until {
        r.until = Some(time_ms(o.until_ms, "until_ms")?);
    }
    r.mode = recall_mode(o.mode)?;
    r.window = crate::options::window(o.window, o.window_secs)?;
    if o.has_at {
        r.at = Some(time_ms(o.at_ms, "at_ms")?);
    }
    r.fusion = crate::options::fusion(o.fusion)?;
    if let Some(w) = o.weights.as_ref() {
        r.weights = w.to_core();
    }
    if o.has_mood_valence || o.has_mood_arousal {
        r.mood = Some(memorable_core::Mood {
            valence: o.has_mood_valence.then_some(o.mood_valence as f32),
            arousal: o.has_mood_arousal.then_some(o.mood_arousal as f32),
            ..Default::default()
        });
    }
    r.current_mood = o.current_mood;
    r.track_access = !o.no_track_access;
    r.offset = o.offset;
    Ok(r)
}
