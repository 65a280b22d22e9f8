//! The emotional layer: how the user felt, fused from every source.
//!
//! - [`catalog`]: the 62 named expressions (Hume's 48 + its language model's 5 + the
//!   GoEmotions labels), their colours, valence / arousal, and the aliases of every source
//!   vocabulary.
//! - [`Reading`]: one measurement (context, [`Source`], scores by name, confidence, time,
//!   [`Semantics`]: dense intensities or sparse thresholded probabilities).
//! - fusion: per-context, per-source time-decayed state fused across sources with
//!   configurable weights × confidence ([`Fusion`] runs it without a store).
//! - On a store, [`crate::Memorable::observe`] / `observe_batch` / `emotional_state` /
//!   `emotional_history` / `contexts` / `close_context`, with state and history
//!   persisted in SQLite; `remember` attaches an [`crate::EmotionSnapshot`] to each memory.
//!
//! ```
//! use memorable_core::emotion::{Reading, Source};
//! use memorable_core::Memorable;
//!
//! let mem = Memorable::open_in_memory()?;
//! mem.observe(Reading::new("call-42", Source::Evi).score("Joy", 0.7).score("Excitement", 0.4))?;
//! mem.observe(Reading::new("call-42", Source::Face).score("joy", 0.5).confidence(0.8))?;
//! let state = mem.emotional_state("call-42")?;
//! assert_eq!(state.dominant.as_deref(), Some("joy"));
//! assert!(state.valence > 0.5);
//! # Ok::<(), memorable_core::Error>(())
//! ```

pub mod catalog;
mod config;
pub(crate) mod engine;
mod fusion;
mod persist;
mod reading;
mod state;

pub use catalog::{Expression, Vocabulary};
pub use config::{EmotionConfig, SourceWeights};
pub use fusion::Fusion;
pub(crate) use reading::validate_context;
pub use reading::{user_context, Reading, Semantics, Source};
pub use state::{ContextInfo, EmotionStats, EmotionalState, ExpressionScore, HistoryRange, SourceBreakdown};
