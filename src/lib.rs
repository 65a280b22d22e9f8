//! MemoRable: an embeddable long-term memory engine for AI agents.
//!
//! This crate re-exports [`memorable_core`] (the engine) and owns the `memorable` command
//! line, the examples, benchmarks and cross-cutting tests. See the README for a tour.

pub use memorable_core::*;

// The README's Rust snippets run as doc tests, so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

// docs/guide.md's Rust blocks too (its other blocks run in tests/guide.rs and the bindings' suites).
#[cfg(doctest)]
#[doc = include_str!("../docs/guide.md")]
struct UserGuideDoctests;
