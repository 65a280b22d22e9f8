//! The model registry: `models_list`, `models_update`, `models_rollback`, `models_gc`
//! (module functions: they work on the model cache, not on one store).

use std::path::PathBuf;

use memorable_core as core;
use pyo3::prelude::*;
use pyo3::types::PyAny;

use crate::convert::serde_to_py;
use crate::errors::OrRaise;

/// Every installed model version (a list of dicts: role, name, version, state, source,
/// files, verification, ...). `model_dir` overrides the cache location.
#[pyfunction]
#[pyo3(signature = (*, model_dir=None))]
pub(crate) fn models_list<'py>(py: Python<'py>, model_dir: Option<PathBuf>) -> PyResult<Bound<'py, PyAny>> {
    let versions = py.detach(|| core::models_list(model_dir.as_deref())).or_raise(py)?;
    serde_to_py(py, &versions)
}

/// Install, verify and activate the newest version of `name` (or of every installed model
/// with one) from the shipped manifest and `source` (a folder holding index.json, or an
/// index file). Returns the versions activated (empty: up to date).
#[pyfunction]
#[pyo3(signature = (name=None, *, source=None, model_dir=None))]
pub(crate) fn models_update<'py>(
    py: Python<'py>,
    name: Option<String>,
    source: Option<PathBuf>,
    model_dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let activated = py
        .detach(|| core::models_update(model_dir.as_deref(), name.as_deref(), source.as_deref()))
        .or_raise(py)?;
    serde_to_py(py, &activated)
}

/// Make the previous version of `name` active again; ModelError NO_PREVIOUS_VERSION when
/// there is none (nothing changes).
#[pyfunction]
#[pyo3(signature = (name, *, model_dir=None))]
pub(crate) fn models_rollback<'py>(
    py: Python<'py>,
    name: String,
    model_dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let v = py.detach(|| core::models_rollback(model_dir.as_deref(), &name)).or_raise(py)?;
    serde_to_py(py, &v)
}

/// Remove the versions nothing needs (never the active, previous or one an open store
/// uses). Returns the report: removed, in_use, partial, freed_bytes, cache_bytes, over_limit.
#[pyfunction]
#[pyo3(signature = (*, model_dir=None, limit_mb=None))]
pub(crate) fn models_gc<'py>(
    py: Python<'py>,
    model_dir: Option<PathBuf>,
    limit_mb: Option<u64>,
) -> PyResult<Bound<'py, PyAny>> {
    let report = py.detach(|| core::models_gc(model_dir.as_deref(), limit_mb)).or_raise(py)?;
    serde_to_py(py, &report)
}
