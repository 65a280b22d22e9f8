//! The engine's behavioural tests: one test binary (`cargo test -p memorable-core`), one
//! module per area, with the fixtures they share in `common` (golden fixtures shared with the
//! Python, Node and C suites live once in the repository's `tests/fixtures/`). Tests of the
//! CLI, the crash harness and the benchmark harnesses live in the root crate's `tests/`.

#[macro_use]
mod common;

mod alerts;
mod architecture;
mod backup;
mod bad_input;
mod client_keys;
mod concurrency;
mod consolidation;
mod context_frame;
#[cfg(feature = "candle")]
mod custom_training;
mod emotion;
#[cfg(feature = "candle")]
mod emotion_classifier;
mod encryption;
mod erasure;
mod errors;
mod fuzz;
#[cfg(feature = "candle")]
mod generation;
#[cfg(feature = "hume")]
mod hume_client;
mod hume_replay;
mod index_dump;
mod index_memory;
#[cfg(feature = "candle")]
mod int8;
mod isolation;
#[cfg(all(feature = "candle", feature = "servers"))]
mod llm_server;
mod metrics;
mod migration;
#[cfg(feature = "candle")]
mod model_servers;
mod models;
mod native_bert;
mod paging;
mod parsing;
mod point_in_time;
mod postgres;
mod postgres_apis;
mod postgres_backup;
mod quotas;
mod ranking_golden;
mod recall_freshness;
mod roundtrip;
mod sparse_search;
mod time_windows;
mod timeline;
