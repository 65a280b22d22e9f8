//! Recall options over the C ABI: time windows, fusion and ranking weights, as C constants and
//! a C struct, converted to the core's types (which check them).

use memorable_core::{Error, Fusion, RankWeights, TimeWindow};

use crate::error::Result;

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
        MEMORABLE_WINDOW_SECONDS => TimeWindow::from_secs(secs as f64).map(Some),
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
