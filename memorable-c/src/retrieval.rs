//! Retrieval over the C ABI: time windows, fusion, ranking weights, the score breakdown of a
//! hit, and the 4W context frame (as JSON). Conversion only; behaviour is in the core.

use std::ffi::c_char;

use memorable_core::{Error, Fusion, RankWeights, ScoreBreakdown, TimeWindow};

use crate::convert::{out_ptr, utf8};
use crate::error::{ffi_or, ffi_try, Result};
use crate::results::{breakdown, memorable_results};
use crate::{handle, memorable, memorable_error, owned_string};

/// A time window (`memorable_recall_options.window`, `memorable_context_frame`): one of the
/// `MEMORABLE_WINDOW_*` constants.
#[allow(non_camel_case_types)]
pub type memorable_window = u32;
/// No window (all memories).
pub const MEMORABLE_WINDOW_NONE: memorable_window = 0;
/// The short window (20 minutes by default).
pub const MEMORABLE_WINDOW_SHORT: memorable_window = 1;
/// The medium window (1 hour by default).
pub const MEMORABLE_WINDOW_MEDIUM: memorable_window = 2;
/// The long window (24 hours by default).
pub const MEMORABLE_WINDOW_LONG: memorable_window = 3;
/// A window of `window_secs` seconds.
pub const MEMORABLE_WINDOW_SECONDS: memorable_window = 4;

/// Score fusion (`memorable_recall_options.fusion`).
#[allow(non_camel_case_types)]
pub type memorable_fusion = u32;
/// z-scored semantic and keyword scores, weighted (the default).
pub const MEMORABLE_FUSION_ZSCORE: memorable_fusion = 0;
/// Reciprocal rank fusion.
pub const MEMORABLE_FUSION_RRF: memorable_fusion = 1;

pub(crate) fn window(w: memorable_window, secs: u64) -> Result<Option<TimeWindow>> {
    match w {
        MEMORABLE_WINDOW_NONE => Ok(None),
        MEMORABLE_WINDOW_SHORT => Ok(Some(TimeWindow::Short)),
        MEMORABLE_WINDOW_MEDIUM => Ok(Some(TimeWindow::Medium)),
        MEMORABLE_WINDOW_LONG => Ok(Some(TimeWindow::Long)),
        MEMORABLE_WINDOW_SECONDS if secs > 0 => Ok(Some(TimeWindow::Seconds(secs))),
        MEMORABLE_WINDOW_SECONDS => Err(Error::InvalidInput("window_secs must be positive".into())),
        other => Err(Error::InvalidInput(format!("unknown time window {other}"))),
    }
}

pub(crate) fn fusion(f: memorable_fusion) -> Result<Fusion> {
    match f {
        MEMORABLE_FUSION_ZSCORE => Ok(Fusion::Zscore),
        MEMORABLE_FUSION_RRF => Ok(Fusion::Rrf),
        other => Err(Error::InvalidInput(format!("unknown fusion {other}"))),
    }
}

/// Weights of the ranking signals (0 turns a signal off). Start from
/// `memorable_rank_weights_default()`; the core validates them (INVALID_INPUT).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct memorable_rank_weights {
    pub semantic: f64,
    pub keyword: f64,
    pub context: f64,
    pub context_turns: usize,
    pub recency: f64,
    pub recency_half_life_hours: f64,
    pub importance: f64,
    pub arousal: f64,
    pub access: f64,
    pub mood: f64,
    pub who: f64,
    pub date: f64,
}

impl memorable_rank_weights {
    pub(crate) fn to_core(self) -> RankWeights {
        RankWeights {
            semantic: self.semantic as f32,
            keyword: self.keyword as f32,
            context: self.context as f32,
            context_turns: self.context_turns,
            recency: self.recency as f32,
            recency_half_life_hours: self.recency_half_life_hours as f32,
            importance: self.importance as f32,
            arousal: self.arousal as f32,
            access: self.access as f32,
            mood: self.mood as f32,
            who: self.who as f32,
            date: self.date as f32,
        }
    }
}

/// The default weights (those of a recall with `weights` NULL).
#[no_mangle]
pub extern "C" fn memorable_rank_weights_default() -> memorable_rank_weights {
    let w = RankWeights::default();
    memorable_rank_weights {
        semantic: w.semantic.into(),
        keyword: w.keyword.into(),
        context: w.context.into(),
        context_turns: w.context_turns,
        recency: w.recency.into(),
        recency_half_life_hours: w.recency_half_life_hours.into(),
        importance: w.importance.into(),
        arousal: w.arousal.into(),
        access: w.access.into(),
        mood: w.mood.into(),
        who: w.who.into(),
        date: w.date.into(),
    }
}

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
