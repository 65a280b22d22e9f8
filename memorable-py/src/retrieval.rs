//! Retrieval options and the context frame: `window=` / `weights=` / `mood=` conversions and
//! `Memorable.context_frame`. No behaviour: conversion, one core call, conversion.

use memorable_core::TimeWindow;
use pyo3::prelude::*;
use pyo3::types::PyAny;

use crate::convert::serde_to_py;
use crate::errors::OrRaise;
use crate::handle::Memorable;

/// `"short" | "medium" | "long"` or a number of seconds → a `TimeWindow` (the core parses
/// and checks both).
pub fn window_from_py(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<TimeWindow>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    if let Ok(name) = obj.extract::<String>() {
        return name.parse().map(Some).or_raise(py);
    }
    TimeWindow::from_secs(obj.extract::<f64>()?).map(Some).or_raise(py)
}

#[pymethods]
impl Memorable {
    /// The who / what / when / where of the user's memories in `window` before now (all of
    /// them when None), as a dict; `emotion` is the current dominant emotion or None.
    #[pyo3(signature = (user, window=None))]
    fn context_frame<'py>(
        &self,
        py: Python<'py>,
        user: String,
        window: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let window = window_from_py(py, window)?;
        let frame = py.detach(|| self.inner.context_frame(&user, window)).or_raise(py)?;
        serde_to_py(py, &frame)
    }
}
