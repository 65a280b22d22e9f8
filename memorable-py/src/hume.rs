//! `Memorable.ingest_hume`: a Hume message (as JSON text, or already decoded into a dict)
//! fused into a context; the report comes back as a dict.

use memorable_core::Error;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::convert::json_from_py;
use crate::convert::serde_to_py;
use crate::errors::{to_py, OrRaise};
use crate::handle::Memorable;

#[pymethods]
impl Memorable {
    /// Parse one Hume message (any family: v1 realtime or upload, legacy stream, EVI chat)
    /// and fuse its readings into `context`. `message` is the JSON text or a dict.
    fn ingest_hume<'py>(
        &self,
        py: Python<'py>,
        context: String,
        message: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let json = if let Ok(s) = message.cast::<PyString>() {
            s.to_str()?.to_owned()
        } else {
            json_from_py(message)
                .map_err(|e| to_py(py, Error::InvalidInput(format!("Hume message: {e}"))))?
                .to_string()
        };
        let report = py.detach(|| self.inner.ingest_hume(&context, &json)).or_raise(py)?;
        serde_to_py(py, &report)
    }

    /// A recorded session (JSON Lines: one Hume message a line, blank lines skipped) fused
    /// into `context` in one transaction; a bad line fails the whole call with its number.
    fn ingest_hume_lines<'py>(
        &self,
        py: Python<'py>,
        context: String,
        jsonl: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let report = py.detach(|| self.inner.ingest_hume_lines(&context, &jsonl)).or_raise(py)?;
        serde_to_py(py, &report)
    }
}
