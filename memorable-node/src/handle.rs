//! The JS `Memorable` class: a handle on the core's. Its methods live in the file of their
//! area (lib.rs: memories and the store; emotion.rs, ops.rs, ...), each importing the class
//! from here, so no file imports the crate root.

use memorable_core as core;
use napi_derive::napi;

/// A MemoRable store. Open one with `await Memorable.open(dir)` or `Memorable.openInMemory()`.
/// One process at a time may hold a store directory; `close()` releases it.
#[napi]
pub struct Memorable {
    pub(crate) inner: core::Memorable,
}
