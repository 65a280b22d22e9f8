//! Pictures drawn by the core, so every binding, the CLI and the server's inspector show the
//! same thing: an emotion timeline of a context's history as a standalone SVG.
//!
//! The SVG is written by a small writer of our own ([`svg`]) rather than a plotting crate:
//! the picture needs catalog colours, a legend, source markers and date axes in UTC with the
//! `time` crate, and its output must be byte-identical for the same data (golden tests). The
//! whole drawing is ~400 lines; `plotters`' date axes are `chrono`-based and its text layout
//! needs a font backend for sizes.

mod axis;
mod svg;
mod timeline;

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};

pub(crate) use timeline::render_timeline;

/// Most expressions one timeline draws.
pub const TIMELINE_MAX_EXPRESSIONS: usize = 12;

/// Light or dark colours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    Light,
    Dark,
}

impl FromStr for Theme {
    type Err = Error;

    fn from_str(s: &str) -> Result<Theme> {
        match s {
            "light" => Ok(Theme::Light),
            "dark" => Ok(Theme::Dark),
            other => Err(Error::InvalidInput(format!("theme must be `light` or `dark`, not {other:?}"))),
        }
    }
}

/// What [`crate::Memorable::emotion_timeline_svg`] draws. Every field has a default
/// (`TimelineOptions::default()`): the whole history, the top 5 expressions, 960 × 540, light.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimelineOptions {
    /// Only states at or after this instant (and the time axis starts here).
    #[serde(with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    /// Only states before this instant (and the time axis ends here).
    #[serde(with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
    /// The expressions to draw, by id or any catalog spelling; empty: the `top` ones.
    pub expressions: Vec<String>,
    /// With no `expressions`: draw the N expressions with the highest peak over the range
    /// (1..=12, default 5).
    pub top: usize,
    /// Picture size in pixels (320..=4096 wide, 240..=4096 high).
    pub width: u32,
    pub height: u32,
    pub theme: Theme,
    /// The title (default `Emotion timeline — <context>`).
    pub title: Option<String>,
}

impl Default for TimelineOptions {
    fn default() -> Self {
        TimelineOptions {
            since: None,
            until: None,
            expressions: Vec::new(),
            top: 5,
            width: 960,
            height: 540,
            theme: Theme::Light,
            title: None,
        }
    }
}

impl TimelineOptions {
    /// `INVALID_INPUT` for sizes, counts or a range out of bounds, or an expression the
    /// catalog does not know.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidInput(m));
        if !(320..=4096).contains(&self.width) || !(240..=4096).contains(&self.height) {
            return bad(format!(
                "timeline size {}x{} is outside 320..=4096 x 240..=4096",
                self.width, self.height
            ));
        }
        if !(1..=TIMELINE_MAX_EXPRESSIONS).contains(&self.top) {
            return bad(format!("top must be in 1..={TIMELINE_MAX_EXPRESSIONS}, not {}", self.top));
        }
        if self.expressions.len() > TIMELINE_MAX_EXPRESSIONS {
            return bad(format!("at most {TIMELINE_MAX_EXPRESSIONS} expressions per timeline"));
        }
        for name in &self.expressions {
            if crate::emotion::catalog::resolve(name).is_none() {
                return bad(format!("{name:?} is not an expression of the catalog"));
            }
        }
        if let (Some(a), Some(b)) = (self.since, self.until) {
            if a >= b {
                return bad("the timeline's range starts after it ends".into());
            }
        }
        if self.title.as_ref().is_some_and(|t| t.len() > 1024) {
            return bad("the title is longer than 1024 bytes".into());
        }
        Ok(())
    }
}
