//! The emotional layer in C: `memorable_observe`, `memorable_observe_batch`,
//! `memorable_emotional_state`, `memorable_emotional_history`, `memorable_contexts`,
//! `memorable_close_context`, `memorable_emotion_catalog`. Readings go in as
//! `memorable_reading` structs; states, histories and context lists come out as JSON (the
//! core's serde form), released with `memorable_string_free`.

use std::ffi::c_char;

use memorable_core::emotion::{catalog, HistoryRange, Reading, Semantics, Source};
use memorable_core::TimelineOptions;

use crate::convert::{array, non_null, opt_cstr, out_ptr, parse, time_ms, utf8};
use crate::error::{ffi_try, memorable_error, Result};
use crate::handle::{handle, memorable, owned_string};

/// "Not set" for the time arguments of the emotion calls: a reading's timestamp (then: now),
/// a state's evaluation time (now), a history bound (unbounded).
pub const MEMORABLE_TIME_UNSET: i64 = i64::MIN;

/// One reading for `memorable_observe` / `memorable_observe_batch`. Start from
/// `memorable_reading_default()` (a zeroed struct has confidence 0, which is valid but
/// weightless). Strings are `(pointer, length)` UTF-8 except `vocabulary`.
#[repr(C)]
pub struct memorable_reading {
    /// Context (conversation / session) id.
    pub context: *const c_char,
    pub context_len: usize,
    /// "text", "voice", "face", "evi" or "custom:<name>".
    pub source: *const c_char,
    pub source_len: usize,
    /// `count` scores: `names[i]` (`name_lens[i]` bytes of UTF-8) scored `scores[i]` in [0, 1].
    pub count: usize,
    pub names: *const *const c_char,
    pub name_lens: *const usize,
    pub scores: *const f32,
    /// In [0, 1] (1 in the default struct).
    pub confidence: f32,
    /// Unix milliseconds when it was measured, or `MEMORABLE_TIME_UNSET` for now.
    pub timestamp_ms: i64,
    /// False: dense intensities (a name missing from the reading was not measured). True:
    /// sparse thresholded probabilities (a missing covered name was below the cutoff and
    /// counts as `missing`); an empty score set is then allowed.
    pub sparse: bool,
    /// Sparse only: the value a missing name stands for, in [0, 1].
    pub missing: f32,
    /// Sparse only: NUL-terminated "hume", "hume_language" or "goemotions" (the names the
    /// producer could report), or NULL for the whole catalog.
    pub vocabulary: *const c_char,
}

/// A dense reading with confidence 1, timestamped now, and nothing else set.
#[no_mangle]
pub extern "C" fn memorable_reading_default() -> memorable_reading {
    memorable_reading {
        context: std::ptr::null(),
        context_len: 0,
        source: std::ptr::null(),
        source_len: 0,
        count: 0,
        names: std::ptr::null(),
        name_lens: std::ptr::null(),
        scores: std::ptr::null(),
        confidence: 1.0,
        timestamp_ms: MEMORABLE_TIME_UNSET,
        sparse: false,
        missing: 0.0,
        vocabulary: std::ptr::null(),
    }
}

fn opt_time(ms: i64, what: &'static str) -> Result<Option<time::OffsetDateTime>> {
    if ms == MEMORABLE_TIME_UNSET {
        Ok(None)
    } else {
        time_ms(ms, what).map(Some)
    }
}

unsafe fn reading(r: &memorable_reading) -> Result<Reading> {
    let context = utf8(r.context, r.context_len, "context")?;
    let source: Source = utf8(r.source, r.source_len, "source")?.parse()?;
    let names = array(r.names, r.count, "names")?;
    let lens = array(r.name_lens, r.count, "name_lens")?;
    let values = array(r.scores, r.count, "scores")?;
    let mut out = Reading::new(context, source).confidence(r.confidence);
    out.scores = (0..r.count)
        .map(|i| Ok((utf8(names[i], lens[i], "name")?.to_owned(), values[i])))
        .collect::<Result<_>>()?;
    out.timestamp = opt_time(r.timestamp_ms, "timestamp_ms")?;
    if r.sparse {
        out.semantics = Semantics::sparse(r.missing, opt_cstr(r.vocabulary, "vocabulary")?)?;
    }
    Ok(out)
}

/// Fold one reading into its context (created on its first reading). When `state_json_out`
/// is not NULL it receives the context's fused state right after, as JSON (the core's
/// `EmotionalState`: context, at, updated_at, scores (every catalog id), extras, dominant,
/// top, valence, arousal, confidence, sources, readings). Bad input (a score outside [0, 1]
/// or NaN, a negative confidence, no scores, a timestamp too far in the future, an unknown
/// source) is INVALID_INPUT (1) and changes nothing.
#[no_mangle]
pub unsafe extern "C" fn memorable_observe(
    m: *mut memorable,
    reading: *const memorable_reading,
    state_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let r = self::reading(non_null(reading, "reading")?)?;
        let state = m.observe(r)?;
        if !state_json_out.is_null() {
            *state_json_out = owned_string(serde_json::to_string(&state)?)?;
        }
        Ok(())
    })
}

/// Fold `count` readings in one transaction: all or nothing (the error names the first bad
/// reading). With `count` 0, `readings` may be NULL and nothing happens.
#[no_mangle]
pub unsafe extern "C" fn memorable_observe_batch(
    m: *mut memorable,
    readings: *const memorable_reading,
    count: usize,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let batch = array(readings, count, "readings")?
            .iter()
            .enumerate()
            .map(|(i, r)| self::reading(r).map_err(|e| e.in_item("reading", i)))
            .collect::<Result<Vec<_>>>()?;
        m.observe_batch(batch)?;
        Ok(())
    })
}

/// A context's fused state as JSON (see `memorable_observe`), evaluated at `at_ms` (unix
/// ms) or now with `MEMORABLE_TIME_UNSET`. A context that never had a reading is NOT_FOUND
/// (10).
#[no_mangle]
pub unsafe extern "C" fn memorable_emotional_state(
    m: *mut memorable,
    context: *const c_char,
    context_len: usize,
    at_ms: i64,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let context = utf8(context, context_len, "context")?;
        let json_out = out_ptr(json_out, "json_out")?;
        let state = match opt_time(at_ms, "at_ms")? {
            Some(at) => m.emotional_state_at(context, at)?,
            None => m.emotional_state(context)?,
        };
        *json_out = owned_string(serde_json::to_string(&state)?)?;
        Ok(())
    })
}

/// Past fused states of a context as a JSON array, oldest first: the newest `limit` (0 means
/// 100) evaluated in `[since_ms, until_ms)` (`MEMORABLE_TIME_UNSET` = unbounded). History
/// states have an empty `sources` and name the `source` of the reading that produced them.
#[no_mangle]
pub unsafe extern "C" fn memorable_emotional_history(
    m: *mut memorable,
    context: *const c_char,
    context_len: usize,
    limit: usize,
    since_ms: i64,
    until_ms: i64,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let context = utf8(context, context_len, "context")?;
        let json_out = out_ptr(json_out, "json_out")?;
        let mut range = HistoryRange::default();
        if limit != 0 {
            range.limit = limit;
        }
        range.since = opt_time(since_ms, "since_ms")?;
        range.until = opt_time(until_ms, "until_ms")?;
        *json_out = owned_string(serde_json::to_string(&m.emotional_history(context, &range)?)?)?;
        Ok(())
    })
}

/// A context's history drawn as a standalone SVG, written to `*svg_out` (free it with
/// `memorable_string_free`). `options_json` (NUL-terminated, or NULL for the defaults) is a
/// JSON object with any of `since`, `until` (RFC 3339), `expressions` (names), `top` (1..=12,
/// default 5), `width` (default 960), `height` (default 540), `theme` (`"light"` or
/// `"dark"`), `title`. Unknown contexts are NOT_FOUND (10); bad options INVALID_INPUT (1).
#[no_mangle]
pub unsafe extern "C" fn memorable_emotion_timeline_svg(
    m: *mut memorable,
    context: *const c_char,
    context_len: usize,
    options_json: *const c_char,
    svg_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let context = utf8(context, context_len, "context")?;
        let options: TimelineOptions = match opt_cstr(options_json, "options_json")? {
            Some(j) => parse(j, "options_json")?,
            None => TimelineOptions::default(),
        };
        let svg_out = out_ptr(svg_out, "svg_out")?;
        *svg_out = owned_string(m.emotion_timeline_svg(context, &options)?)?;
        Ok(())
    })
}

/// Every context with readings as a JSON array (context, created_at, updated_at, readings,
/// sources, open, closed_at).
#[no_mangle]
pub unsafe extern "C" fn memorable_contexts(
    m: *mut memorable,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let json_out = out_ptr(json_out, "json_out")?;
        *json_out = owned_string(serde_json::to_string(&m.contexts()?)?)?;
        Ok(())
    })
}

/// Close a context: its state and history are kept, and a new reading reopens it. Unknown
/// contexts are NOT_FOUND (10).
#[no_mangle]
pub unsafe extern "C" fn memorable_close_context(
    m: *mut memorable,
    context: *const c_char,
    context_len: usize,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let context = utf8(context, context_len, "context")?;
        m.close_context(context)
    })
}

/// The expression catalog as a JSON array (id, name, color, valence, arousal, vocabularies,
/// aliases), in catalog order. Needs no store.
#[no_mangle]
pub unsafe extern "C" fn memorable_emotion_catalog(json_out: *mut *mut c_char) -> *mut memorable_error {
    ffi_try!({
        let json_out = out_ptr(json_out, "json_out")?;
        *json_out = owned_string(serde_json::to_string(catalog::expressions().as_slice())?)?;
        Ok(())
    })
}

/// The id of `user`'s own emotion context `context` (`"@5:alice/s1"`): the context a memory
/// with session `context` feeds under `emotion.per_user_sessions`, and every context of
/// `memorable serve`. Written to `*context_out` (free it with `memorable_string_free`).
#[no_mangle]
pub unsafe extern "C" fn memorable_user_context(
    user: *const c_char,
    user_len: usize,
    context: *const c_char,
    context_len: usize,
    context_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let user = utf8(user, user_len, "user")?;
        let context = utf8(context, context_len, "context")?;
        let context_out = out_ptr(context_out, "context_out")?;
        *context_out = owned_string(memorable_core::user_context(user, context))?;
        Ok(())
    })
}
