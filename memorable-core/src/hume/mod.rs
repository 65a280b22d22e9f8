//! Hume.ai integration: voice, face and EVI measurements into the emotional state.
//!
//! - [`parse()`] (always compiled, no network) reads any Hume JSON message — v1 Expression
//!   Measurement realtime and upload messages, legacy stream responses, EVI chat messages —
//!   into [`HumeReading`]s. An app that already talks to Hume itself forwards its messages
//!   through it.
//! - [`crate::Memorable::ingest_hume`] (always compiled) parses a message and fuses its
//!   readings into a context's emotional state ([`IngestReport`] says what it did).
//! - The realtime and upload client (cargo feature `hume`): [`HumeClient`] streams audio
//!   ([`AudioSession`]) and video ([`VideoSession`]) to Hume's v1 API with the pacing, rate
//!   limiting and reconnect rules of Hume's own SDKs, and uploads recordings and images.
//!
//! The protocol reference is `docs/hume.md` (and the research notes it cites).

mod ingest;
pub mod parse;
pub mod wav;

#[cfg(feature = "hume")]
mod audio;
#[cfg(feature = "hume")]
mod client;
#[cfg(feature = "hume")]
mod config;
#[cfg(feature = "hume")]
pub mod policy;
#[cfg(feature = "hume")]
mod upload;
#[cfg(feature = "hume")]
mod video;

pub use ingest::IngestReport;
pub(crate) use ingest::{ingest_json, ingest_lines, ingest_message};
pub use parse::{
    parse, FaceRef, Family, HumeMessage, HumeModel, HumeReading, HumeSource, Notice, Score, Semantics,
    Severity, TimeWindow,
};

#[cfg(feature = "hume")]
pub use audio::{
    check_frame, AudioOptions, AudioSession, SessionSummary, FRAME_BYTES, MAX_FRAME_BYTES, MAX_MESSAGE_BYTES,
};
#[cfg(feature = "hume")]
pub use client::{EventCallback, Events, HumeClient, HumeEvent, AUDIO_PATH, VIDEO_PATH};
#[cfg(feature = "hume")]
pub use config::{ApiKey, HumeConfig, ReconnectPolicy, API_KEY_ENV, DEFAULT_BASE_URL};
#[cfg(feature = "hume")]
pub use upload::{UploadResult, AUDIO_UPLOAD_PATH, IMAGE_UPLOAD_PATH, MAX_IMAGE_BYTES, MAX_UPLOAD_BYTES};
#[cfg(feature = "hume")]
pub use video::{VideoOptions, VideoSession};
