//! `Memorable.classify`: text emotion readings from the engine's emotion classifier.

use pyo3::prelude::*;
use pyo3::types::PyAny;

use crate::convert::serde_to_py;
use crate::errors::OrRaise;
use crate::handle::Memorable;

#[pymethods]
impl Memorable {
    /// Emotion readings of `texts`: one dict per text with `text`, `scores` (label →
    /// probability) and `labels` (the labels over their thresholds, most probable first).
    fn classify<'py>(&self, py: Python<'py>, texts: Vec<String>) -> PyResult<Bound<'py, PyAny>> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let readings = py.detach(|| self.inner.classify(&refs)).or_raise(py)?;
        serde_to_py(py, &readings)
    }
}
