//! Retrieval over the C ABI: time windows, fusion, ranking weights, the score breakdown of a
//! hit, the 4W context frame and the users holding memories (as JSON). Conversion only;
//! behaviour is in the core.

use std::ffi::c_char;

use memorable_core::ScoreBreakdown;

use crate::convert::{opt_cstr, out_ptr, utf8};
use crate::error::memorable_error;
use crate::error::{ffi_or, ffi_try};
use crate::handle::{handle, memorable, owned_string};
use crate::options::{memorable_window, window};
use crate::results::{breakdown, memorable_results};

/// How a hit's score came about: the score is the sum of `fused`, `context`, `recency`,
/// `importance`, `arousal`, `access`, `mood`, `who` and `date` (each term already
/// weighted). `semantic` / `keyword` are NAN and their ranks 0 when the source did not
/// score the memory.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct memorable_score_breakdown {
    pub semantic: f64,
    pub semantic_rank: u32,
    pub keyword: f64,
    pub keyword_rank: u32,
    pub fused: f64,
    pub context: f64,
    pub recency: f64,
    pub importance: f64,
    pub arousal: f64,
    pub access: f64,
    pub mood: f64,
    pub who: f64,
    pub date: f64,
}

fn to_c(b: &ScoreBreakdown) -> memorable_score_breakdown {
    memorable_score_breakdown {
        semantic: b.semantic.map_or(f64::NAN, f64::from),
        semantic_rank: b.semantic_rank.unwrap_or(0),
        keyword: b.keyword.map_or(f64::NAN, f64::from),
        keyword_rank: b.keyword_rank.unwrap_or(0),
        fused: b.fused.into(),
        context: b.context.into(),
        recency: b.recency.into(),
        importance: b.importance.into(),
        arousal: b.arousal.into(),
        access: b.access.into(),
        mood: b.mood.into(),
        who: b.who.into(),
        date: b.date.into(),
    }
}

/// Write the score breakdown of hit `i` of a recall's results to `*out`; returns false (and
/// writes nothing) for an index out of range, results of `recent` / `get`, or NULL pointers.
#[no_mangle]
pub unsafe extern "C" fn memorable_results_breakdown(
    r: *const memorable_results,
    i: usize,
    out: *mut memorable_score_breakdown,
) -> bool {
    ffi_or!(false, {
        match (breakdown(r, i), out.as_mut()) {
            (Some(b), Some(out)) => {
                *out = to_c(b);
                true
            }
            _ => false,
        }
    })
}

/// Who / what / when / where of `user`'s memories in a window before now (`window` one of
/// `MEMORABLE_WINDOW_*`, `window_secs` for `_SECONDS`), as a JSON object (the core's
/// `ContextFrame`: user, window, at, memories, who, what, when {first, last, short, medium,
/// long}, where, emotion). `*json_out` is released with `memorable_string_free`.
#[no_mangle]
pub unsafe extern "C" fn memorable_context_frame(
    m: *mut memorable,
    user: *const c_char,
    user_len: usize,
    window_kind: memorable_window,
    window_secs: u64,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let user = utf8(user, user_len, "user")?;
        let window = window(window_kind, window_secs)?;
        let json_out = out_ptr(json_out, "json_out")?;
        let frame = m.context_frame(user, window)?;
        *json_out = owned_string(serde_json::to_string(&frame)?)?;
        Ok(())
    })
}

/// Every user holding memories — those whose id starts with `prefix` (NUL-terminated, or NULL
/// for all) — by id, as a JSON array of `{"user", "memories"}`. `*json_out` is released with
/// `memorable_string_free`.
#[no_mangle]
pub unsafe extern "C" fn memorable_users(
    m: *mut memorable,
    prefix: *const c_char,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let prefix = opt_cstr(prefix, "prefix")?;
        let json_out = out_ptr(json_out, "json_out")?;
        *json_out = owned_string(serde_json::to_string(&m.users(prefix)?)?)?;
        Ok(())
    })
}
