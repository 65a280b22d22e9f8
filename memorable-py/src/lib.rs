//! `memorable._memorable`: the Python binding of MemoRable, built by maturin.
//!
//! Each method extracts its arguments, makes one call on the core [`core::Memorable`]
//! handle with the GIL released (`py.detach`), and converts the result. Behaviour lives in
//! memorable-core; conversions in [`convert`], error mapping in [`errors`].
//!
//! Thread safety: the handle wraps the core's `Send + Sync` handle, so one `Memorable`
//! object may be shared by Python threads; calls run in parallel outside the GIL.

mod callback;
mod classifiers;
mod classify;
mod convert;
mod emotion;
mod errors;
mod generation;
mod handle;
mod hume;
mod models;
mod ops;
mod retrieval;
mod types;

use std::path::PathBuf;

use memorable_core::{self as core, Config, Error, MemoryUpdate, NewMemory, Recall, ReembedProgress};
use pyo3::prelude::*;
use pyo3::types::{PyAny, PyDict, PyString};

use crate::callback::ProgressCallback;
use crate::convert::{json_from_py, metadata_from_py, new_memory_from_dict, opt_datetime, serde_to_py};
use crate::errors::{to_py, OrRaise};
use crate::handle::Memorable;
use crate::types::{Memory, MemoryVersion, Recalled, ScoreBreakdown};

/// `**config` keyword arguments → the core `Config` (validated by the core).
fn config_from_kwargs(py: Python<'_>, config: Option<&Bound<'_, PyDict>>) -> PyResult<Config> {
    let Some(config) = config else {
        return Ok(Config::default());
    };
    // `model_dir` may be an `os.PathLike` (e.g. a `pathlib.Path`), as `path` may.
    let mut config = config.clone();
    if let Some(dir) = config.get_item("model_dir")?.filter(|d| !d.is_instance_of::<PyString>()) {
        if let Some(dir) = dir.extract::<PathBuf>().ok().and_then(|p| p.to_str().map(str::to_owned)) {
            config = config.copy()?;
            config.set_item("model_dir", dir)?;
        }
    }
    let json = json_from_py(config.as_any()).map_err(|e| to_py(py, Error::InvalidConfig(e)))?;
    Config::from_json(&json.to_string()).or_raise(py)
}

#[pymethods]
#[allow(clippy::too_many_arguments)]
impl Memorable {
    /// Open (or create) the store in directory `path`.
    #[staticmethod]
    #[pyo3(signature = (path, **config))]
    fn open(py: Python<'_>, path: PathBuf, config: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let config = config_from_kwargs(py, config)?;
        let inner = py.detach(|| core::Memorable::builder(path).config(config).open()).or_raise(py)?;
        Ok(Memorable { inner })
    }

    /// A store that lives in memory and vanishes with the handle.
    #[staticmethod]
    #[pyo3(signature = (**config))]
    fn in_memory(py: Python<'_>, config: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let config = config_from_kwargs(py, config)?;
        let inner = py.detach(|| core::Builder::in_memory().config(config).open()).or_raise(py)?;
        Ok(Memorable { inner })
    }

    #[pyo3(signature = (
        text, *, user, session=None, speaker=None, occurred_at=None, place=None, tags=Vec::new(),
        metadata=None, importance=None, kind=None, topics=Vec::new(), lat=None, lon=None,
        embedding=None, derived_from=Vec::new(), client_key=None
    ))]
    fn remember(
        &self,
        py: Python<'_>,
        text: String,
        user: String,
        session: Option<String>,
        speaker: Option<String>,
        occurred_at: Option<&Bound<'_, PyAny>>,
        place: Option<String>,
        tags: Vec<String>,
        metadata: Option<&Bound<'_, PyAny>>,
        importance: Option<f32>,
        kind: Option<String>,
        topics: Vec<String>,
        lat: Option<f64>,
        lon: Option<f64>,
        embedding: Option<Vec<f32>>,
        derived_from: Vec<u64>,
        client_key: Option<String>,
    ) -> PyResult<u64> {
        let memory = NewMemory {
            user,
            text,
            kind,
            session,
            speaker,
            topics,
            occurred_at: opt_datetime(occurred_at)?,
            place,
            lat,
            lon,
            tags,
            metadata: metadata.filter(|m| !m.is_none()).map(metadata_from_py).transpose()?,
            importance,
            embedding,
            emotion: None,
            derived_from,
            client_key,
        };
        py.detach(|| self.inner.remember(memory)).or_raise(py)
    }

    /// Store many memories in one transaction (all or nothing).
    fn remember_batch(&self, py: Python<'_>, memories: &Bound<'_, PyAny>) -> PyResult<Vec<u64>> {
        let memories: Vec<NewMemory> =
            memories.try_iter()?.map(|item| new_memory_from_dict(&item?)).collect::<PyResult<_>>()?;
        py.detach(|| self.inner.remember_batch(memories)).or_raise(py)
    }

    #[pyo3(signature = (
        query, *, user, limit=10, offset=0, session=None, speaker=None, tags=Vec::new(), kinds=Vec::new(),
        since=None, until=None, mode=String::from("hybrid"), window=None, at=None,
        fusion=String::from("zscore"), weights=None, mood=None, current_mood=false, track_access=true
    ))]
    fn recall(
        &self,
        py: Python<'_>,
        query: String,
        user: String,
        limit: usize,
        offset: usize,
        session: Option<String>,
        speaker: Option<String>,
        tags: Vec<String>,
        kinds: Vec<String>,
        since: Option<&Bound<'_, PyAny>>,
        until: Option<&Bound<'_, PyAny>>,
        mode: String,
        window: Option<&Bound<'_, PyAny>>,
        at: Option<&Bound<'_, PyAny>>,
        fusion: String,
        weights: Option<&Bound<'_, PyAny>>,
        mood: Option<&Bound<'_, PyAny>>,
        current_mood: bool,
        track_access: bool,
    ) -> PyResult<Vec<Recalled>> {
        let mut request = Recall::new(user, query).limit(limit).offset(offset);
        request.session = session;
        request.speaker = speaker;
        request.tags = tags;
        request.kinds = kinds;
        request.since = opt_datetime(since)?;
        request.until = opt_datetime(until)?;
        request.mode = mode.parse().or_raise(py)?;
        request.window = retrieval::window_from_py(py, window)?;
        request.at = opt_datetime(at)?;
        request.fusion = fusion.parse().or_raise(py)?;
        if let Some(w) = weights {
            request.weights = crate::convert::serde_from_py(py, "weights", w)?;
        }
        request.mood = mood.map(|m| crate::convert::serde_from_py(py, "mood", m)).transpose()?;
        request.current_mood = current_mood;
        request.track_access = track_access;
        let hits = py.detach(|| self.inner.recall(&request)).or_raise(py)?;
        hits.into_iter().map(|hit| Recalled::new(py, hit)).collect()
    }

    /// `recent(user, window=None)`: memories in the window before now (or `at`), newest first.
    #[pyo3(signature = (
        user, window=None, *, limit=10, offset=0, session=None, speaker=None, tags=Vec::new(), kinds=Vec::new(),
        since=None, until=None, at=None
    ))]
    fn recent(
        &self,
        py: Python<'_>,
        user: String,
        window: Option<&Bound<'_, PyAny>>,
        limit: usize,
        offset: usize,
        session: Option<String>,
        speaker: Option<String>,
        tags: Vec<String>,
        kinds: Vec<String>,
        since: Option<&Bound<'_, PyAny>>,
        until: Option<&Bound<'_, PyAny>>,
        at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<Memory>> {
        let mut request = Recall::new(user, String::new()).limit(limit).offset(offset);
        request.session = session;
        request.speaker = speaker;
        request.tags = tags;
        request.kinds = kinds;
        request.since = opt_datetime(since)?;
        request.until = opt_datetime(until)?;
        request.window = retrieval::window_from_py(py, window)?;
        request.at = opt_datetime(at)?;
        let memories = py.detach(|| self.inner.recent_matching(&request)).or_raise(py)?;
        Ok(memories.into_iter().map(Memory).collect())
    }

    /// Every user holding memories (those whose id starts with `prefix`, if given), by id:
    /// a list of `{"user", "memories"}` dicts.
    #[pyo3(signature = (*, prefix=None))]
    fn users<'py>(&self, py: Python<'py>, prefix: Option<String>) -> PyResult<Bound<'py, PyAny>> {
        let users = py.detach(|| self.inner.users(prefix.as_deref())).or_raise(py)?;
        crate::convert::serde_to_py(py, &users)
    }

    /// The memories derived from memory `id` (a consolidation's summaries and facts), by id.
    fn derived(&self, py: Python<'_>, id: u64) -> PyResult<Vec<Memory>> {
        let memories = py.detach(|| self.inner.derived(id)).or_raise(py)?;
        Ok(memories.into_iter().map(Memory).collect())
    }

    fn get(&self, py: Python<'_>, id: u64) -> PyResult<Memory> {
        py.detach(|| self.inner.get(id)).or_raise(py).map(Memory)
    }

    #[pyo3(signature = (
        id, *, text=None, kind=None, speaker=None, topics=None, place=None, tags=None,
        metadata=None, importance=None
    ))]
    fn update(
        &self,
        py: Python<'_>,
        id: u64,
        text: Option<String>,
        kind: Option<String>,
        speaker: Option<String>,
        topics: Option<Vec<String>>,
        place: Option<String>,
        tags: Option<Vec<String>>,
        metadata: Option<&Bound<'_, PyAny>>,
        importance: Option<f32>,
    ) -> PyResult<Memory> {
        let update = MemoryUpdate {
            text,
            kind,
            speaker,
            topics,
            place,
            tags,
            metadata: metadata.filter(|m| !m.is_none()).map(metadata_from_py).transpose()?,
            importance,
        };
        py.detach(|| self.inner.update(id, update)).or_raise(py).map(Memory)
    }

    fn history(&self, py: Python<'_>, id: u64) -> PyResult<Vec<MemoryVersion>> {
        let versions = py.detach(|| self.inner.history(id)).or_raise(py)?;
        Ok(versions.into_iter().map(MemoryVersion).collect())
    }

    fn forget(&self, py: Python<'_>, id: u64) -> PyResult<()> {
        py.detach(|| self.inner.forget(id)).or_raise(py)
    }

    fn forget_user(&self, py: Python<'_>, user: String) -> PyResult<u64> {
        py.detach(|| self.inner.forget_user(&user)).or_raise(py)
    }

    /// The core `Stats`, as the dict its serde form describes.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let stats = py.detach(|| self.inner.stats()).or_raise(py)?;
        serde_to_py(py, &stats)
    }

    /// The core `SelectionReport` (how the embedding model was chosen), as a dict.
    fn selection_report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let report = py.detach(|| self.inner.selection_report()).or_raise(py)?;
        serde_to_py(py, &report)
    }

    /// Migrate the store's vectors to catalog model `model`; the GIL is held only while
    /// `progress` runs. An exception from `progress` pauses the migration and is raised
    /// once the core call has returned.
    #[pyo3(signature = (model, progress=None))]
    fn reembed<'py>(
        &self,
        py: Python<'py>,
        model: String,
        progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let callback = progress.filter(|p| !p.is_none());
        if let Some(p) = callback {
            if !p.is_callable() {
                let name = p.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "progress must be callable or None, not {name}"
                )));
            }
        }
        let mut progress = ProgressCallback { callback: callback.map(|p| p.clone().unbind()), raised: None };
        let report = py.detach(|| self.inner.reembed(&model, &mut |p: &ReembedProgress| progress.call(p)));
        if let Some(raised) = progress.raised {
            return Err(raised);
        }
        serde_to_py(py, &report.or_raise(py)?)
    }

    fn checkpoint(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.checkpoint()).or_raise(py)
    }

    /// Persist everything and release the store; later calls raise code CLOSED.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.close()).or_raise(py)
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: &Bound<'_, PyAny>,
        _exc: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }
}

#[pymodule]
fn _memorable(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Memorable>()?;
    m.add_class::<Memory>()?;
    m.add_class::<MemoryVersion>()?;
    m.add_class::<Recalled>()?;
    m.add_class::<ScoreBreakdown>()?;
    m.add_function(wrap_pyfunction!(ops::verify, m)?)?;
    m.add_function(wrap_pyfunction!(emotion::user_context, m)?)?;
    m.add_function(wrap_pyfunction!(ops::restore, m)?)?;
    m.add_function(wrap_pyfunction!(ops::rekey, m)?)?;
    m.add_function(wrap_pyfunction!(models::models_list, m)?)?;
    m.add_function(wrap_pyfunction!(models::models_update, m)?)?;
    m.add_function(wrap_pyfunction!(models::models_rollback, m)?)?;
    m.add_function(wrap_pyfunction!(models::models_gc, m)?)?;
    m.add("__version__", core::VERSION)?;
    m.add("ERROR_CODES", errors::error_codes())?;
    Ok(())
}
