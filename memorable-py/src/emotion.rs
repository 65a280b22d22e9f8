//! The emotional layer in Python: `observe`, `observe_batch`, `emotional_state`,
//! `emotional_history`, `emotion_timeline_svg`, `contexts`, `close_context`, and the expression
//! catalog. States, histories and contexts are returned as the dicts their core serde form
//! describes (times as RFC 3339 strings), like `stats()`.

use memorable_core::emotion::{catalog, HistoryRange, Reading, Semantics, Source};
use memorable_core::{Error, TimelineOptions};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use time::format_description::well_known::Rfc3339;

use crate::convert::opt_datetime;
use crate::convert::{serde_from_py, serde_to_py};
use crate::errors::{to_py, OrRaise};
use crate::handle::Memorable;

/// `scores`: a mapping name → score, or an iterable of (name, score) pairs.
fn scores_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Vec<(String, f32)>> {
    if let Ok(d) = obj.cast::<PyDict>() {
        return d.iter().map(|(k, v)| Ok((k.extract::<String>()?, v.extract::<f32>()?))).collect();
    }
    obj.try_iter()?.map(|item| item?.extract::<(String, f32)>()).collect()
}

/// `semantics`: None / "dense" / "sparse", or a dict like the core's serde form
/// (`{"kind": "sparse", "missing": 0.0, "vocabulary": "hume"}`).
fn semantics_from_py(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Semantics> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(Semantics::Dense);
    };
    let py = obj.py();
    if let Ok(kind) = obj.cast::<PyString>() {
        return kind.to_str()?.parse().or_raise(py);
    }
    // A dict: {"kind": ..., "missing": ..., "vocabulary": ...}.
    let dict = obj.cast::<PyDict>()?;
    let kind: String =
        dict.get_item("kind")?.map(|k| k.extract()).transpose()?.unwrap_or_else(|| "dense".into());
    let missing: Option<f32> =
        dict.get_item("missing")?.filter(|v| !v.is_none()).map(|v| v.extract()).transpose()?;
    let vocabulary: Option<String> =
        dict.get_item("vocabulary")?.filter(|v| !v.is_none()).map(|v| v.extract()).transpose()?;
    Semantics::from_parts(&kind, missing, vocabulary.as_deref()).or_raise(py)
}

fn source_from_py(py: Python<'_>, source: &str) -> PyResult<Source> {
    source.parse().or_raise(py)
}

/// One reading of `observe_batch`: a dict with `context`, `source`, `scores` and optionally
/// `confidence`, `timestamp`, `semantics`. Unknown keys are rejected.
fn reading_from_dict(obj: &Bound<'_, PyAny>) -> PyResult<Reading> {
    let py = obj.py();
    let dict = obj.cast::<PyDict>()?;
    let get = |k: &str| dict.get_item(k);
    for key in dict.keys() {
        let key: String = key.extract()?;
        if !["context", "source", "scores", "confidence", "timestamp", "semantics"].contains(&key.as_str()) {
            return Err(to_py(py, Error::InvalidInput(format!("unknown reading field {key:?}"))));
        }
    }
    let context: String = get("context")?.map(|v| v.extract()).transpose()?.unwrap_or_default();
    let source: String = get("source")?.map(|v| v.extract()).transpose()?.unwrap_or_default();
    let mut r = Reading::new(context, source_from_py(py, &source)?);
    if let Some(scores) = get("scores")? {
        r.scores = scores_from_py(&scores)?;
    }
    if let Some(c) = get("confidence")?.filter(|c| !c.is_none()) {
        r.confidence = c.extract()?;
    }
    r.timestamp = opt_datetime(get("timestamp")?.as_ref())?;
    r.semantics = semantics_from_py(get("semantics")?.as_ref())?;
    Ok(r)
}

#[pymethods]
impl Memorable {
    /// Fold one reading into its context (created on its first reading); returns the
    /// context's fused state right after it.
    #[pyo3(signature = (context, source, scores, *, confidence=1.0, timestamp=None, semantics=None))]
    #[allow(clippy::too_many_arguments)]
    fn observe<'py>(
        &self,
        py: Python<'py>,
        context: String,
        source: String,
        scores: &Bound<'py, PyAny>,
        confidence: f32,
        timestamp: Option<&Bound<'py, PyAny>>,
        semantics: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut reading = Reading::new(context, source_from_py(py, &source)?).confidence(confidence);
        reading.scores = scores_from_py(scores)?;
        reading.timestamp = opt_datetime(timestamp)?;
        reading.semantics = semantics_from_py(semantics)?;
        let state = py.detach(|| self.inner.observe(reading)).or_raise(py)?;
        serde_to_py(py, &state)
    }

    /// Fold many readings (dicts with `observe`'s arguments as keys) in one transaction: all
    /// or nothing. Returns how many were observed.
    fn observe_batch(&self, py: Python<'_>, readings: &Bound<'_, PyAny>) -> PyResult<usize> {
        let readings: Vec<Reading> =
            readings.try_iter()?.map(|item| reading_from_dict(&item?)).collect::<PyResult<_>>()?;
        py.detach(|| self.inner.observe_batch(readings)).or_raise(py)
    }

    /// A context's fused emotional state now, or as of the timezone-aware datetime `at`.
    #[pyo3(signature = (context, *, at=None))]
    fn emotional_state<'py>(
        &self,
        py: Python<'py>,
        context: String,
        at: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let at = opt_datetime(at)?;
        let state = py
            .detach(|| match at {
                Some(at) => self.inner.emotional_state_at(&context, at),
                None => self.inner.emotional_state(&context),
            })
            .or_raise(py)?;
        serde_to_py(py, &state)
    }

    /// Past fused states of a context, oldest first: the newest `limit`, within
    /// `[since, until)`.
    #[pyo3(signature = (context, *, limit=100, since=None, until=None))]
    fn emotional_history<'py>(
        &self,
        py: Python<'py>,
        context: String,
        limit: usize,
        since: Option<&Bound<'py, PyAny>>,
        until: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let range = HistoryRange { since: opt_datetime(since)?, until: opt_datetime(until)?, limit };
        let states = py.detach(|| self.inner.emotional_history(&context, &range)).or_raise(py)?;
        serde_to_py(py, &states)
    }

    /// A context's history drawn as a standalone SVG (the text of the picture): the top
    /// expressions over time, the source of each reading, valence and arousal, a legend.
    /// Options as keywords, or as one dict (`options`) with the same keys; `since` / `until`
    /// are timezone-aware datetimes or RFC 3339 strings.
    #[pyo3(signature = (
        context, options=None, *, since=None, until=None, expressions=None, top=None, width=None,
        height=None, theme=None, title=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn emotion_timeline_svg(
        &self,
        py: Python<'_>,
        context: String,
        options: Option<&Bound<'_, PyDict>>,
        since: Option<&Bound<'_, PyAny>>,
        until: Option<&Bound<'_, PyAny>>,
        expressions: Option<Vec<String>>,
        top: Option<usize>,
        width: Option<u32>,
        height: Option<u32>,
        theme: Option<String>,
        title: Option<String>,
    ) -> PyResult<String> {
        // One dict in the core's serde form (the form C's JSON takes): the options dict, then
        // the keywords, which win; the core parses and checks it. `None` means "not given".
        let merged = PyDict::new(py);
        if let Some(d) = options {
            merged.update(d.as_mapping())?;
        }
        let keywords: [(&str, Option<Bound<'_, PyAny>>); 8] = [
            ("since", since.cloned()),
            ("until", until.cloned()),
            ("expressions", expressions.map(|v| v.into_pyobject(py)).transpose()?),
            ("top", top.map(|v| v.into_pyobject(py)).transpose()?.map(Bound::into_any)),
            ("width", width.map(|v| v.into_pyobject(py)).transpose()?.map(Bound::into_any)),
            ("height", height.map(|v| v.into_pyobject(py)).transpose()?.map(Bound::into_any)),
            ("theme", theme.map(|v| PyString::new(py, &v).into_any())),
            ("title", title.map(|v| PyString::new(py, &v).into_any())),
        ];
        for (key, value) in keywords {
            if let Some(value) = value {
                merged.set_item(key, value)?;
            }
        }
        for (key, value) in merged.copy()?.iter() {
            if value.is_none() {
                merged.del_item(&key)?;
            } else if !value.is_instance_of::<PyString>()
                && matches!(key.extract::<String>()?.as_str(), "since" | "until")
            {
                // A datetime (timezone-aware, as everywhere) as RFC 3339 text.
                let at = opt_datetime(Some(&value))?.expect("not None");
                let text = at.format(&Rfc3339).map_err(|e| to_py(py, Error::InvalidInput(e.to_string())))?;
                merged.set_item(key, text)?;
            }
        }
        let o: TimelineOptions = serde_from_py(py, "timeline options", merged.as_any())?;
        py.detach(|| self.inner.emotion_timeline_svg(&context, &o)).or_raise(py)
    }

    /// Every context with readings, open or closed.
    fn contexts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let list = py.detach(|| self.inner.contexts()).or_raise(py)?;
        serde_to_py(py, &list)
    }

    /// Close a context; its state and history are kept, and a new reading reopens it.
    fn close_context(&self, py: Python<'_>, context: String) -> PyResult<()> {
        py.detach(|| self.inner.close_context(&context)).or_raise(py)
    }

    /// The expression catalog: a list of dicts (id, name, color, valence, arousal,
    /// vocabularies, aliases), in catalog order.
    #[staticmethod]
    fn emotion_catalog(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        serde_to_py(py, &catalog::expressions().as_slice())
    }
}

/// The id of `user`'s own emotion context `context` (`"@5:alice/s1"`): the context a memory
/// with session `context` feeds under `emotion.per_user_sessions`, and every context of
/// `memorable serve`. Pass it to `emotional_state`, `emotional_history`, `observe`.
#[pyfunction]
pub(crate) fn user_context(user: &str, context: &str) -> String {
    memorable_core::user_context(user, context)
}
