//! The C ABI of MemoRable: `libmemorable.so` / `libmemorable.a` and `include/memorable.h`
//! (generated from this crate by the cbindgen CLI; see `docs/c.md`).
//!
//! Each exported function is: check pointers and UTF-8, one core call, convert the result.
//! Conventions (the wasmtime / rustls-ffi shape):
//! - an opaque `memorable` handle from `memorable_open`, released by `memorable_free`;
//! - fallible calls return `memorable_error*`, NULL on success; handle first, inputs, outputs
//!   last; nothing is written to an output on failure;
//! - text goes in as `(const char *utf8, size_t len)`; invalid UTF-8 is INVALID_UTF8 (8), a
//!   NULL required pointer NULL_POINTER (9);
//! - every body runs under `catch_unwind` (`ffi_try!` / `ffi_or!`): a panic is a PANIC (50)
//!   error, never an abort.
//!
//! Safety contract of every function (stated once here, and in the header): pointers are
//! NULL or valid for the stated length, objects are those this library returned and not yet
//! freed, strings without a length are NUL-terminated.

#![allow(non_camel_case_types, clippy::missing_safety_doc)]

use std::ffi::{c_char, c_void, CString};

use memorable_core::{Builder, Memorable, MemoryUpdate, NewMemory, ReembedProgress};

#[cfg(test)]
mod abi_fuzz;
mod classifiers;
mod classify;
mod convert;
mod emotion;
mod error;
mod generation;
mod handle;
mod hume;
mod models;
mod ops;
mod options;
mod results;
mod retrieval;

pub use classify::memorable_classification;
pub use convert::{
    memorable_memory_options, memorable_options, memorable_recall_mode, memorable_recall_options,
    MEMORABLE_RECALL_HYBRID, MEMORABLE_RECALL_KEYWORD, MEMORABLE_RECALL_SEMANTIC,
};
pub use emotion::{memorable_reading, MEMORABLE_TIME_UNSET};
pub use error::*;
pub use generation::*;
pub use handle::memorable;
use handle::{handle, owned_string};
pub use models::*;
pub use ops::*;
pub use options::*;
pub use results::memorable_results;
pub use retrieval::*;

use convert::{array, out_ptr, utf8};
use error::{ffi_or, ffi_try};

/// Major version of this library (the header's version; compare with `memorable_version()`).
pub const MEMORABLE_VERSION_MAJOR: u32 = 0;
/// Minor version of this library.
pub const MEMORABLE_VERSION_MINOR: u32 = 1;
/// Patch version of this library.
pub const MEMORABLE_VERSION_PATCH: u32 = 0;

/// Version of the library, e.g. "0.1.0" (static; do not free).
#[no_mangle]
pub extern "C" fn memorable_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
}

/// Open (or create) the store in directory `path` (NUL-terminated UTF-8). `opts` may be NULL
/// for defaults. On success `*out` is the new handle. A directory already open (in this or
/// another process) gives LOCKED (21).
#[no_mangle]
pub unsafe extern "C" fn memorable_open(
    path: *const c_char,
    opts: *const memorable_options,
    out: *mut *mut memorable,
) -> *mut memorable_error {
    ffi_try!({
        let path = convert::cstr(path, "path")?;
        let out = out_ptr(out, "out")?;
        let config = convert::config(opts)?;
        let inner = Memorable::builder(path).config(config).open()?;
        *out = memorable::boxed(inner);
        Ok(())
    })
}

/// Open a store that lives in memory and vanishes with the handle.
#[no_mangle]
pub unsafe extern "C" fn memorable_open_in_memory(
    opts: *const memorable_options,
    out: *mut *mut memorable,
) -> *mut memorable_error {
    ffi_try!({
        let out = out_ptr(out, "out")?;
        let config = convert::config(opts)?;
        let inner = Builder::in_memory().config(config).open()?;
        *out = memorable::boxed(inner);
        Ok(())
    })
}

/// Persist everything and release the store (its directory lock too). Later calls on the
/// handle fail with CLOSED (40); `memorable_free` is still needed. Closing twice is fine.
#[no_mangle]
pub unsafe extern "C" fn memorable_close(m: *mut memorable) -> *mut memorable_error {
    ffi_try!({ handle(m)?.close() })
}

/// Release a handle (persisting the store if it was not closed). NULL is a no-op. No other
/// thread may be using the handle.
#[no_mangle]
pub unsafe extern "C" fn memorable_free(m: *mut memorable) {
    ffi_or!((), {
        if !m.is_null() {
            drop(Box::from_raw(m));
        }
    })
}

/// Store one memory of `user`; `opts` may be NULL. On success `*id_out` is its id. Empty
/// text is EMPTY_TEXT (2), a blank user MISSING_USER (4).
#[no_mangle]
pub unsafe extern "C" fn memorable_remember(
    m: *mut memorable,
    user: *const c_char,
    user_len: usize,
    text: *const c_char,
    text_len: usize,
    opts: *const memorable_memory_options,
    id_out: *mut u64,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let user = utf8(user, user_len, "user")?;
        let body = utf8(text, text_len, "text")?;
        let id_out = out_ptr(id_out, "id_out")?;
        let id = m.remember(convert::new_memory(user, body, opts)?)?;
        *id_out = id;
        Ok(())
    })
}

/// Store `count` memories in one transaction (all or nothing). Item `i` is
/// `(users[i], user_lens[i])`, `(texts[i], text_lens[i])` and, when `opts` is not NULL,
/// `opts[i]`. On success `ids_out[0..count]` are their ids (the caller sizes `ids_out`).
/// With `count` 0 the arrays may be NULL and nothing happens.
#[no_mangle]
pub unsafe extern "C" fn memorable_remember_batch(
    m: *mut memorable,
    count: usize,
    users: *const *const c_char,
    user_lens: *const usize,
    texts: *const *const c_char,
    text_lens: *const usize,
    opts: *const memorable_memory_options,
    ids_out: *mut u64,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let users = array(users, count, "users")?;
        let user_lens = array(user_lens, count, "user_lens")?;
        let texts = array(texts, count, "texts")?;
        let text_lens = array(text_lens, count, "text_lens")?;
        if count > 0 {
            out_ptr(ids_out, "ids_out")?;
        }
        let mut batch: Vec<NewMemory> = Vec::with_capacity(count);
        for i in 0..count {
            let user = utf8(users[i], user_lens[i], "user")?;
            let body = utf8(texts[i], text_lens[i], "text")?;
            let item_opts = if opts.is_null() { opts } else { opts.add(i) };
            batch.push(convert::new_memory(user, body, item_opts)?);
        }
        let ids = m.remember_batch(batch)?;
        if !ids.is_empty() {
            std::ptr::copy_nonoverlapping(ids.as_ptr(), ids_out, ids.len());
        }
        Ok(())
    })
}

/// Find `user`'s memories by meaning and keywords, best first; `opts` may be NULL (10
/// results, no filters, hybrid mode; `opts->mode` restricts the sources). On success `*out`
/// is a new results list (possibly empty).
#[no_mangle]
pub unsafe extern "C" fn memorable_recall(
    m: *mut memorable,
    user: *const c_char,
    user_len: usize,
    query: *const c_char,
    query_len: usize,
    opts: *const memorable_recall_options,
    out: *mut *mut memorable_results,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let user = utf8(user, user_len, "user")?;
        let query = utf8(query, query_len, "query")?;
        let out = out_ptr(out, "out")?;
        let hits = m.recall(&convert::recall(user, query, opts)?)?;
        *out = Box::into_raw(Box::new(memorable_results::recalled(&hits)));
        Ok(())
    })
}

/// `user`'s memories newest first (by when they occurred), after the filters of `opts`
/// (may be NULL). Scores are NAN.
#[no_mangle]
pub unsafe extern "C" fn memorable_recent(
    m: *mut memorable,
    user: *const c_char,
    user_len: usize,
    opts: *const memorable_recall_options,
    out: *mut *mut memorable_results,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let user = utf8(user, user_len, "user")?;
        let out = out_ptr(out, "out")?;
        let memories = m.recent_matching(&convert::recall(user, "", opts)?)?;
        *out = Box::into_raw(Box::new(memorable_results::memories(&memories)));
        Ok(())
    })
}

/// The memory with this id, as a results list of length 1 (score NAN). Unknown ids are
/// NOT_FOUND (10).
#[no_mangle]
pub unsafe extern "C" fn memorable_get(
    m: *mut memorable,
    id: u64,
    out: *mut *mut memorable_results,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let out = out_ptr(out, "out")?;
        let memory = m.get(id)?;
        *out = Box::into_raw(Box::new(memorable_results::memories(std::slice::from_ref(&memory))));
        Ok(())
    })
}

/// Replace the text of a memory (re-embedded; the previous version is kept in its history).
#[no_mangle]
pub unsafe extern "C" fn memorable_update(
    m: *mut memorable,
    id: u64,
    text: *const c_char,
    text_len: usize,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let body = utf8(text, text_len, "text")?;
        m.update(id, MemoryUpdate::default().text(body))?;
        Ok(())
    })
}

/// Every version of a memory, oldest first, as a JSON array (the core's `MemoryVersion`:
/// version, text, kind, speaker, tags, metadata, importance, valid_from, valid_to as
/// RFC 3339). `*json_out` is released with `memorable_string_free`.
#[no_mangle]
pub unsafe extern "C" fn memorable_history(
    m: *mut memorable,
    id: u64,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let json_out = out_ptr(json_out, "json_out")?;
        let json = serde_json::to_string(&m.history(id)?)?;
        *json_out = owned_string(json)?;
        Ok(())
    })
}

/// The memories derived from memory `id` (a consolidation's summaries and facts), by id, as a
/// new results list (scores NAN). Unknown ids are NOT_FOUND (10).
#[no_mangle]
pub unsafe extern "C" fn memorable_derived(
    m: *mut memorable,
    id: u64,
    out: *mut *mut memorable_results,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let out = out_ptr(out, "out")?;
        let memories = m.derived(id)?;
        *out = Box::into_raw(Box::new(memorable_results::memories(&memories)));
        Ok(())
    })
}

/// Erase a memory (row, vector, keywords, history). Unknown ids are NOT_FOUND (10).
#[no_mangle]
pub unsafe extern "C" fn memorable_forget(m: *mut memorable, id: u64) -> *mut memorable_error {
    ffi_try!({ handle(m)?.forget(id) })
}

/// Erase everything of `user`; `*count_out` is how many memories were removed (0 for an
/// unknown user).
#[no_mangle]
pub unsafe extern "C" fn memorable_forget_user(
    m: *mut memorable,
    user: *const c_char,
    user_len: usize,
    count_out: *mut u64,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let user = utf8(user, user_len, "user")?;
        let count_out = out_ptr(count_out, "count_out")?;
        *count_out = m.forget_user(user)?;
        Ok(())
    })
}

/// Counts and health of the store as a JSON object (the core's `Stats`: memories, users,
/// versions, embedder, schema_version, path, store_bytes, loaded_indexes, selection (as
/// `memorable_selection_report`), reembed (a paused migration's target_model_id, done and
/// total, or null), classifier (available, loaded, model_id, reason: whether
/// `memorable_classify` can run, and if not, why)). `*json_out` is released with
/// `memorable_string_free`.
#[no_mangle]
pub unsafe extern "C" fn memorable_stats(
    m: *mut memorable,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let json_out = out_ptr(json_out, "json_out")?;
        let json = serde_json::to_string(&m.stats()?)?;
        *json_out = owned_string(json)?;
        Ok(())
    })
}

/// How the embedding model was chosen, as a JSON object (the core's `SelectionReport`:
/// requested, chosen, model_id, device, fallback, fallback_reason, limits, environment,
/// model_dir, decisions (model, outcome, reason), notes, load_ms, warm_up_ms). `*json_out` is
/// released with `memorable_string_free`.
#[no_mangle]
pub unsafe extern "C" fn memorable_selection_report(
    m: *mut memorable,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let json_out = out_ptr(json_out, "json_out")?;
        let json = serde_json::to_string(&m.selection_report()?)?;
        *json_out = owned_string(json)?;
        Ok(())
    })
}

/// Progress callback of `memorable_reembed`, called after each committed batch with the
/// memories migrated so far (`done`) out of `total`, and the caller's `user_data`. Return
/// true to continue, false to pause (the call then returns with `"completed":false`; calling
/// `memorable_reembed` again resumes). It runs on the thread that called `memorable_reembed`,
/// and must not unwind (no C++ exception or longjmp out of it).
pub type memorable_progress_fn =
    Option<unsafe extern "C" fn(done: u64, total: u64, user_data: *mut c_void) -> bool>;

/// Migrate the store's vectors to the embedding model `(model, model_len)` (e.g. "minilm",
/// "hashing"), in batches; each batch is one transaction, so a pause or a crash resumes where
/// it stopped on the next call. `progress` may be NULL (no callback, run to completion);
/// `user_data` is passed to it untouched. On success `*report_json_out` is the core's
/// `ReembedReport` as JSON (previous_model_id, model_id, reembedded, completed), released
/// with `memorable_string_free`. Once completed the handle uses the new model. An unknown or
/// uncached model is INVALID_CONFIG (7) or MODEL (30). Blocks the calling thread; other
/// threads may keep using the handle meanwhile.
#[no_mangle]
pub unsafe extern "C" fn memorable_reembed(
    m: *mut memorable,
    model: *const c_char,
    model_len: usize,
    progress: memorable_progress_fn,
    user_data: *mut c_void,
    report_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let model = utf8(model, model_len, "model")?;
        let report_json_out = out_ptr(report_json_out, "report_json_out")?;
        let mut callback = |p: &ReembedProgress| match progress {
            Some(f) => f(p.done, p.total, user_data),
            None => true,
        };
        let json = serde_json::to_string(&m.reembed(model, &mut callback)?)?;
        *report_json_out = owned_string(json)?;
        Ok(())
    })
}

/// Dump changed indexes and fold the write-ahead log into the database.
#[no_mangle]
pub unsafe extern "C" fn memorable_checkpoint(m: *mut memorable) -> *mut memorable_error {
    ffi_try!({ handle(m)?.checkpoint() })
}

/// Release a string returned by this library (`memorable_stats`, `memorable_history`,
/// `memorable_selection_report`, `memorable_reembed`, `memorable_context_frame`, and the
/// emotion calls' JSON).
/// NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn memorable_string_free(s: *mut c_char) {
    ffi_or!((), {
        if !s.is_null() {
            drop(CString::from_raw(s));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn version_constants_match_the_crate() {
        let v = format!("{MEMORABLE_VERSION_MAJOR}.{MEMORABLE_VERSION_MINOR}.{MEMORABLE_VERSION_PATCH}");
        assert_eq!(v, env!("CARGO_PKG_VERSION"), "update the MEMORABLE_VERSION_* constants");
        let c = unsafe { CStr::from_ptr(memorable_version()) };
        assert_eq!(c.to_str().unwrap(), memorable_core::VERSION);
    }
}
