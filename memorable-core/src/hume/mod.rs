//! Hume.ai integration: voice, face and EVI measurements into the emotional state.
//!
//! - [`parse`] (always compiled, no network) reads any Hume JSON message — v1 Expression
//!   Measurement realtime and upload messages, legacy stream responses, EVI chat messages —
//!   into [`HumeReading`]s. An app that already talks to Hume itself forwards its messages
//!   through it.
//! - The realtime and upload client (cargo feature `hume`) streams audio and video to
//!   Hume's v1 API with the pacing, rate limiting and reconnect rules of Hume's own SDKs.
//!
//! The protocol reference is `docs/hume.md` (and the research notes it cites).

pub mod parse;

pub use parse::{
    parse, FaceRef, Family, HumeMessage, HumeModel, HumeReading, HumeSource, Notice, Score, Semantics,
    Severity, TimeWindow,
};
