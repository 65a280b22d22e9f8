//! The 4W frame's shape: names with counts, the time span, and the frame itself.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::retrieval::TimeWindow;

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
