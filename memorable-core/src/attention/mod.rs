//! Attention: the 4W context frame — who / what / when / where of a user's recent memories,
//! and the current dominant emotion of the user's active session.
//!
//! [`crate::Memorable::context_frame`] reads the memories in a time window before now
//! (at most [`FRAME_MEMORIES`], newest first) and summarizes them. Extraction is
//! deterministic and needs no network or model ([`extract`] documents the rules).

mod extract;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::Result;
use crate::handle::{Engine, Memorable};
use crate::memory::validate_user;
use crate::retrieval::{Recall, TimeWindow};
use crate::store::{self, to_ms};

/// Most memories a frame reads (the newest ones of the window).
pub const FRAME_MEMORIES: usize = 1_000;
/// Entries kept in each of `who`, `what` and `where`.
pub const FRAME_TOP: usize = 10;

/// A name (person, keyword or place) and how many memories of the window carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mention {
    pub name: String,
    pub count: u32,
}

/// When the window's memories happened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameWhen {
    /// Earliest `occurred_at` among them.
    #[serde(with = "time::serde::rfc3339::option")]
    pub first: Option<OffsetDateTime>,
    /// Latest `occurred_at` among them.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last: Option<OffsetDateTime>,
    /// Memories in the short / medium / long windows before the frame's anchor.
    pub short: u32,
    pub medium: u32,
    pub long: u32,
}

/// The 4W summary of a window of a user's memories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContextFrame {
    pub user: String,
    /// The window summarized (`None`: all memories).
    pub window: Option<TimeWindow>,
    /// The window's end (the time the frame was made).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Memories summarized.
    pub memories: u32,
    /// Speakers and people mentioned, most frequent first (ties by name).
    pub who: Vec<Mention>,
    /// Topics and keywords, most frequent first (ties by name).
    pub what: Vec<Mention>,
    /// Time span and counts per window.
    pub when: FrameWhen,
    /// Places, most frequent first (ties by name).
    pub r#where: Vec<Mention>,
    /// Dominant expression of the user's current emotional state (`None` while there is
    /// none: the emotion layer supplies it).
    pub emotion: Option<String>,
}

impl Memorable {
    /// Summarize who / what / when / where of the user's memories in `window` before now
    /// (`None`: all of them), with the current dominant emotion.
    ///
    /// ```
    /// # let mem = memorable_core::Memorable::open_in_memory()?;
    /// use memorable_core::{NewMemory, TimeWindow};
    /// mem.remember(NewMemory::new("ann", "Lunch with Priya at Café Roma").speaker("ann"))?;
    /// let frame = mem.context_frame("ann", TimeWindow::Long)?;
    /// let who: Vec<&str> = frame.who.iter().map(|m| m.name.as_str()).collect();
    /// assert!(who.contains(&"ann") && who.contains(&"Priya"), "{who:?}");
    /// # Ok::<(), memorable_core::Error>(())
    /// ```
    pub fn context_frame(&self, user: &str, window: impl Into<Option<TimeWindow>>) -> Result<ContextFrame> {
        self.context_frame_at(user, window, OffsetDateTime::now_utc())
    }

    /// [`Memorable::context_frame`] for a window ending at `at` instead of now.
    pub fn context_frame_at(
        &self,
        user: &str,
        window: impl Into<Option<TimeWindow>>,
        at: OffsetDateTime,
    ) -> Result<ContextFrame> {
        self.engine()?.context_frame(user, window.into(), at)
    }
}

impl Engine {
    fn context_frame(
        &self,
        user: &str,
        window: Option<TimeWindow>,
        at: OffsetDateTime,
    ) -> Result<ContextFrame> {
        validate_user(user)?;
        let mut r = Recall::new(user, "").limit(FRAME_MEMORIES).at(at);
        r.window = window;
        if window.is_none() {
            // Everything up to the anchor (inclusive), as a window would.
            r.until = Some(crate::store::from_ms(to_ms(at) + 1));
        }
        let memories = self.recent_matching(&r)?;
        let known = match self.store.read(|c| store::user_key(c, user))? {
            Some(k) => self.recall_cache.speakers(&self.store, k)?.to_vec(),
            None => Vec::new(),
        };
        let counts = |w: TimeWindow| -> Result<u32> {
            let (since, until) = w.bounds(at, &self.config.windows)?;
            Ok(memories.iter().filter(|m| (since..until).contains(&to_ms(m.context.occurred_at))).count()
                as u32)
        };
        let when = FrameWhen {
            first: memories.iter().map(|m| m.context.occurred_at).min(),
            last: memories.iter().map(|m| m.context.occurred_at).max(),
            short: counts(TimeWindow::Short)?,
            medium: counts(TimeWindow::Medium)?,
            long: counts(TimeWindow::Long)?,
        };
        let summary = extract::summarize(&memories, &known, &self.config.attention, FRAME_TOP);
        Ok(ContextFrame {
            user: user.to_owned(),
            window,
            at,
            memories: memories.len() as u32,
            who: summary.who,
            what: summary.what,
            when,
            r#where: summary.places,
            emotion: self.current_mood(user).and_then(|m| dominant(&m.scores)),
        })
    }
}

fn dominant(scores: &std::collections::BTreeMap<String, f32>) -> Option<String> {
    scores.iter().filter(|(_, v)| **v > 0.0).max_by(|a, b| a.1.total_cmp(b.1)).map(|(k, _)| k.clone())
}

/// Entity lists for the context frame (a part of [`crate::Config`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttentionConfig {
    /// Names always counted as people when a memory mentions them (case-insensitive).
    pub people: Vec<String>,
    /// Names always counted as places when a memory mentions them (case-insensitive).
    pub places: Vec<String>,
}
