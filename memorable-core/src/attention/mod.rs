//! Attention: the 4W context frame — who / what / when / where of a user's recent memories,
//! and the current dominant emotion of the user's active session.
//!
//! [`crate::Memorable::context_frame`] reads the memories in a time window before now
//! (at most [`FRAME_MEMORIES`], newest first) and summarizes them. Extraction is
//! deterministic and needs no network or model ([`extract`] documents the rules).

mod extract;
mod frame;

use time::OffsetDateTime;

pub use crate::config::AttentionConfig;
pub use frame::{ContextFrame, FrameWhen, Mention, FRAME_MEMORIES, FRAME_TOP};

use crate::engine::Engine;
use crate::error::Result;
use crate::memory::validate_user;
use crate::retrieval::{self, Recall, TimeWindow};
use crate::store;
use crate::time::to_ms;

/// Summarize who / what / when / where of `user`'s memories in `window` before `at` (`None`:
/// all of them), with the current dominant emotion (see [`crate::Memorable::context_frame`]).
pub(crate) fn context_frame(
    engine: &Engine,
    user: &str,
    window: Option<TimeWindow>,
    at: OffsetDateTime,
) -> Result<ContextFrame> {
    validate_user(user)?;
    let mut r = Recall::new(user, "").limit(FRAME_MEMORIES).at(at);
    r.window = window;
    if window.is_none() {
        // Everything up to the anchor (inclusive), as a window would.
        r.until = Some(crate::time::from_ms(to_ms(at) + 1));
    }
    let memories = retrieval::recent_matching(engine, &r)?;
    let known = match engine.store.read(|c| store::user_key(c, user))? {
        Some(k) => engine.recall_cache.speakers(&engine.store, k)?.to_vec(),
        None => Vec::new(),
    };
    let counts = |w: TimeWindow| -> Result<u32> {
        let (since, until) = w.bounds(at, &engine.config.windows)?;
        Ok(memories.iter().filter(|m| (since..until).contains(&to_ms(m.context.occurred_at))).count() as u32)
    };
    let when = FrameWhen {
        first: memories.iter().map(|m| m.context.occurred_at).min(),
        last: memories.iter().map(|m| m.context.occurred_at).max(),
        short: counts(TimeWindow::Short)?,
        medium: counts(TimeWindow::Medium)?,
        long: counts(TimeWindow::Long)?,
    };
    let summary = extract::summarize(&memories, &known, &engine.config.attention, FRAME_TOP);
    Ok(ContextFrame {
        user: user.to_owned(),
        window,
        at,
        memories: memories.len() as u32,
        who: summary.who,
        what: summary.what,
        when,
        r#where: summary.places,
        emotion: retrieval::current_mood(engine, user).and_then(|m| dominant(&m.scores)),
    })
}

fn dominant(scores: &std::collections::BTreeMap<String, f32>) -> Option<String> {
    scores.iter().filter(|(_, v)| **v > 0.0).max_by(|a, b| a.1.total_cmp(b.1)).map(|(k, _)| k.clone())
}
