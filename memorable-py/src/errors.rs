//! The one place where core errors become Python exceptions.
//!
//! The class is chosen by [`ErrorCode::category`], never by message text; the exception
//! carries the stable code name (`.code`, e.g. `"EMPTY_TEXT"`) and number (`.code_number`).
//! The classes themselves live in `memorable/_errors.py` (Python multiple inheritance gives
//! `NotFoundError` both `MemorableError` and `KeyError` as bases).

use memorable_core::{Error, ErrorCategory, ErrorCode};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

const ERRORS_MODULE: &str = "memorable._errors";

static MEMORABLE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static INVALID_INPUT_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static NOT_FOUND_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static STORAGE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static MODEL_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static REMOTE_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// The exception class of a family of codes (and its cached type object).
fn class_of(category: ErrorCategory) -> (&'static PyOnceLock<Py<PyType>>, &'static str) {
    match category {
        ErrorCategory::InvalidInput => (&INVALID_INPUT_ERROR, "InvalidInputError"),
        ErrorCategory::NotFound => (&NOT_FOUND_ERROR, "NotFoundError"),
        ErrorCategory::Storage => (&STORAGE_ERROR, "StorageError"),
        ErrorCategory::Model => (&MODEL_ERROR, "ModelError"),
        ErrorCategory::Remote => (&REMOTE_ERROR, "RemoteError"),
        // CLOSED, PANIC, INTERNAL and any future family.
        ErrorCategory::Other => (&MEMORABLE_ERROR, "MemorableError"),
    }
}

/// `memorable.ERROR_CODES`: every code of the core's table as `(number, name, family,
/// exception class name)`, so Python code (and the drift test against docs/errors.md) reads
/// the list from its one source.
pub fn error_codes() -> Vec<(u32, &'static str, &'static str, &'static str)> {
    ErrorCode::ALL
        .iter()
        .map(|&c| (c as u32, c.name(), c.category().label(), class_of(c.category()).1))
        .collect()
}

/// Convert a core error into the matching Python exception.
pub fn to_py(py: Python<'_>, err: Error) -> PyErr {
    let code = err.code();
    let (cell, class) = class_of(code.category());
    match cell.import(py, ERRORS_MODULE, class) {
        Ok(ty) => PyErr::from_type(ty.clone(), (err.to_string(), code.name(), code as u32)),
        Err(import_failed) => import_failed,
    }
}

/// `Result<T, core::Error>` → `PyResult<T>`.
pub trait OrRaise<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> OrRaise<T> for memorable_core::Result<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, e))
    }
}
