//! Retrieval options and the context frame: `window=` / `weights=` / `mood=` conversions and
//! `Memorable.context_frame`. No behaviour: conversion, one core call, conversion.

use memorable_core::{Error, TimeWindow};
use pyo3::prelude::*;
use pyo3::types::PyAny;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::convert::json_from_py;
use crate::errors::{to_py, OrRaise};
use crate::Memorable;

/// `"short" | "medium" | "long"` or a number of seconds → a `TimeWindow`.
pub fn window_from_py(py: Python<'_>, obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<TimeWindow>> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else { return Ok(None) };
    if let Ok(secs) = obj.extract::<i64>() {
        if secs <= 0 {
            return Err(to_py(
                py,
                Error::InvalidInput(format!("time window must be positive, got {secs} seconds")),
            ));
        }
        return Ok(Some(TimeWindow::Seconds(secs as u64)));
    }
    let s: String = obj.extract()?;
    TimeWindow::parse(&s).map(Some).or_raise(py)
}

/// A dict (e.g. `weights=`, `mood=`) → a core value by its serde form.
pub fn serde_from_py<T: DeserializeOwned>(py: Python<'_>, what: &str, obj: &Bound<'_, PyAny>) -> PyResult<T> {
    let json = json_from_py(obj).map_err(|e| to_py(py, Error::InvalidInput(format!("{what}: {e}"))))?;
    serde_json::from_value(json).map_err(|e| to_py(py, Error::InvalidInput(format!("{what}: {e}"))))
}

/// A name (e.g. `fusion="rrf"`) → a core enum by its serde name.
pub fn serde_from_str<T: DeserializeOwned>(py: Python<'_>, what: &str, s: &str) -> PyResult<T> {
    serde_json::from_value(Value::String(s.to_owned()))
        .map_err(|e| to_py(py, Error::InvalidInput(format!("{what}: {e}"))))
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
        crate::serde_to_py(py, &frame)
    }
}
