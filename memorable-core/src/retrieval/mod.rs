//! Retrieval: finding the memories a person meant.
//!
//! [`Recall`] says what is asked (query, filters, time range or window, weights, mood);
//! the pipeline ([`pipeline`]) gathers candidates from the user's HNSW index and BM25
//! (`index::keyword`, an in-memory index per user),
//! adds their session neighbours, fuses the scores ([`Fusion`]) and re-ranks by recency,
//! salience, mood congruence, who-matching and date grounding ([`RankWeights`]); every hit
//! carries its [`ScoreBreakdown`]. Time windows live in [`window`].

mod fusion;
mod pipeline;
mod query;
mod request;
mod signals;
mod window;

pub use crate::config::WindowConfig;
pub use pipeline::MIN_POOL;
pub(crate) use pipeline::{current_mood, recall, recent, recent_matching};
pub use request::{
    Fusion, Mood, RankWeights, Recall, RecallMode, Recalled, ScoreBreakdown, MAX_LIMIT, MAX_OFFSET,
};
pub use window::TimeWindow;
