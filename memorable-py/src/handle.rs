//! The Python `Memorable` class: a handle on the core's. Its methods live in the file of
//! their area (lib.rs: memories and the store; emotion.rs, ops.rs, ...), each importing the
//! class from here, so no file imports the crate root.

use memorable_core as core;
use pyo3::prelude::*;

/// A MemoRable store: open one per directory and share it between threads.
#[pyclass(frozen, module = "memorable")]
pub(crate) struct Memorable {
    pub(crate) inner: core::Memorable,
}
