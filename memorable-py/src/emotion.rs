//! The emotional layer in Python: `observe`, `observe_batch`, `emotional_state`,
//! `emotional_history`, `emotion_timeline_svg`, `contexts`, `close_context`, and the expression
//! catalog. States, histories and contexts are returned as the dicts their core serde form
//! describes (times as RFC 3339 strings), like `stats()`.

use memorable_core::emotion::{catalog, HistoryRange, Reading, Semantics, Source};
use memorable_core::{Error, TimelineOptions};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::convert::opt_datetime;
use crate::convert::serde_to_py;
use crate::errors::{to_py, OrRaise};
use crate::handle::Memorable;

/// A timezone-aware datetime, or an RFC 3339 string.
fn time_from_py(obj: &Bound<'_, PyAny>) -> PyResult<time::OffsetDateTime> {
    if let Ok(text) = obj.cast::<PyString>() {
        let text = text.to_str()?;
        return time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(
            |e| to_py(obj.py(), Error::InvalidInput(format!("{text:?} is not an RFC 3339 time: {e}"))),
        );
    }
    Ok(opt_datetime(Some(obj))?.expect("not None"))
}

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
        let mut o = TimelineOptions::default();
        // The dict first, then the keywords, which win.
        for (key, value) in options.map(|d| d.iter().collect::<Vec<_>>()).unwrap_or_default() {
            if value.is_none() {
                continue;
            }
            match key.extract::<String>()?.as_str() {
                "since" => o.since = Some(time_from_py(&value)?),
                "until" => o.until = Some(time_from_py(&value)?),
                "expressions" => o.expressions = value.extract()?,
                "top" => o.top = value.extract()?,
                "width" => o.width = value.extract()?,
                "height" => o.height = value.extract()?,
                "theme" => o.theme = value.extract::<String>()?.parse().or_raise(py)?,
                "title" => o.title = Some(value.extract()?),
                other => {
                    return Err(to_py(py, Error::InvalidInput(format!("unknown timeline option {other:?}"))))
                }
            }
        }
        if let Some(t) = since.filter(|t| !t.is_none()) {
            o.since = Some(time_from_py(t)?);
        }
        if let Some(t) = until.filter(|t| !t.is_none()) {
            o.until = Some(time_from_py(t)?);
        }
        o.expressions = expressions.unwrap_or(o.expressions);
        o.top = top.unwrap_or(o.top);
        o.width = width.unwrap_or(o.width);
        o.height = height.unwrap_or(o.height);
        if let Some(theme) = theme {
            o.theme = theme.parse().or_raise(py)?;
        }
        o.title = title.or(o.title);
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
