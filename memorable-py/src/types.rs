//! Read-only Python views of the core's results: [`Memory`], [`MemoryVersion`],
//! [`Recalled`] and its [`ScoreBreakdown`]. Fields convert on access (datetimes become
//! timezone-aware UTC `datetime`s, metadata a fresh `dict`).

use memorable_core as core;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{datetime_to_py, map_to_py};

/// A stored memory.
#[pyclass(frozen, eq, module = "memorable")]
#[derive(PartialEq)]
pub struct Memory(pub core::Memory);

#[pymethods]
impl Memory {
    #[getter]
    fn id(&self) -> u64 {
        self.0.id
    }
    #[getter]
    fn user(&self) -> &str {
        &self.0.user
    }
    #[getter]
    fn text(&self) -> &str {
        &self.0.text
    }
    #[getter]
    fn kind(&self) -> &str {
        &self.0.kind
    }
    #[getter]
    fn session(&self) -> Option<&str> {
        self.0.session.as_deref()
    }
    #[getter]
    fn speaker(&self) -> Option<&str> {
        self.0.context.speaker.as_deref()
    }
    #[getter]
    fn topics(&self) -> Vec<String> {
        self.0.context.topics.clone()
    }
    #[getter]
    fn occurred_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime_to_py(py, self.0.context.occurred_at)
    }
    #[getter]
    fn place(&self) -> Option<&str> {
        self.0.context.place.as_deref()
    }
    #[getter]
    fn lat(&self) -> Option<f64> {
        self.0.context.lat
    }
    #[getter]
    fn lon(&self) -> Option<f64> {
        self.0.context.lon
    }
    #[getter]
    fn tags(&self) -> Vec<String> {
        self.0.tags.clone()
    }
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        map_to_py(py, &self.0.metadata)
    }
    #[getter]
    fn importance(&self) -> f32 {
        self.0.importance
    }
    #[getter]
    fn created_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime_to_py(py, self.0.created_at)
    }
    #[getter]
    fn updated_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime_to_py(py, self.0.updated_at)
    }
    #[getter]
    fn version(&self) -> u32 {
        self.0.version
    }
    /// The emotional snapshot stored with the memory (scores, dominant, valence, arousal,
    /// confidence), or None.
    #[getter]
    fn emotion<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.0.emotion.as_ref().map(|e| crate::convert::serde_to_py(py, e)).transpose()
    }
    /// Ids of the memories this one was derived from (a consolidation's summary or fact).
    #[getter]
    fn derived_from(&self) -> Vec<u64> {
        self.0.derived_from.clone()
    }

    fn __repr__(&self) -> String {
        let m = &self.0;
        format!(
            "Memory(id={}, user={:?}, text={:?}, kind={:?}, version={})",
            m.id, m.user, m.text, m.kind, m.version
        )
    }
}

/// One version of a memory, from `history()`.
#[pyclass(frozen, eq, module = "memorable")]
#[derive(PartialEq)]
pub struct MemoryVersion(pub core::MemoryVersion);

#[pymethods]
impl MemoryVersion {
    #[getter]
    fn version(&self) -> u32 {
        self.0.version
    }
    #[getter]
    fn text(&self) -> &str {
        &self.0.text
    }
    #[getter]
    fn kind(&self) -> &str {
        &self.0.kind
    }
    #[getter]
    fn speaker(&self) -> Option<&str> {
        self.0.speaker.as_deref()
    }
    #[getter]
    fn tags(&self) -> Vec<String> {
        self.0.tags.clone()
    }
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        map_to_py(py, &self.0.metadata)
    }
    #[getter]
    fn importance(&self) -> f32 {
        self.0.importance
    }
    #[getter]
    fn valid_from<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime_to_py(py, self.0.valid_from)
    }
    #[getter]
    fn valid_to<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.0.valid_to.map(|t| datetime_to_py(py, t)).transpose()
    }

    fn __repr__(&self) -> String {
        format!("MemoryVersion(version={}, text={:?})", self.0.version, self.0.text)
    }
}

/// How a recall hit's score came about.
#[pyclass(frozen, eq, get_all, module = "memorable")]
#[derive(PartialEq)]
pub struct ScoreBreakdown {
    semantic: Option<f32>,
    semantic_rank: Option<u32>,
    keyword: Option<f32>,
    keyword_rank: Option<u32>,
    fused: f32,
    context: f32,
    recency: f32,
    importance: f32,
    arousal: f32,
    access: f32,
    mood: f32,
    who: f32,
    date: f32,
}

#[pymethods]
impl ScoreBreakdown {
    fn __repr__(&self) -> String {
        format!(
            "ScoreBreakdown(semantic={}, semantic_rank={}, keyword={}, keyword_rank={}, fused={}, \
             context={}, recency={}, importance={}, arousal={}, access={}, mood={}, who={}, date={})",
            py_opt(self.semantic),
            py_opt(self.semantic_rank),
            py_opt(self.keyword),
            py_opt(self.keyword_rank),
            self.fused,
            self.context,
            self.recency,
            self.importance,
            self.arousal,
            self.access,
            self.mood,
            self.who,
            self.date
        )
    }
}

/// An optional value as Python prints it.
fn py_opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "None".to_owned(), |v| v.to_string())
}

/// One recall hit: the memory, its score and the score's breakdown.
#[pyclass(frozen, get_all, module = "memorable")]
pub struct Recalled {
    memory: Py<Memory>,
    score: f32,
    breakdown: Py<ScoreBreakdown>,
}

#[pymethods]
impl Recalled {
    fn __repr__(&self) -> String {
        format!("Recalled(score={}, memory={})", self.score, self.memory.get().__repr__())
    }
}

impl Recalled {
    pub fn new(py: Python<'_>, hit: core::Recalled) -> PyResult<Self> {
        let b = hit.breakdown;
        Ok(Recalled {
            memory: Py::new(py, Memory(hit.memory))?,
            score: hit.score,
            breakdown: Py::new(
                py,
                ScoreBreakdown {
                    semantic: b.semantic,
                    semantic_rank: b.semantic_rank,
                    keyword: b.keyword,
                    keyword_rank: b.keyword_rank,
                    fused: b.fused,
                    context: b.context,
                    recency: b.recency,
                    importance: b.importance,
                    arousal: b.arousal,
                    access: b.access,
                    mood: b.mood,
                    who: b.who,
                    date: b.date,
                },
            )?,
        })
    }
}
