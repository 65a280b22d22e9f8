//! `generate`, `consolidate` and jobs: conversion, one core call with the GIL released,
//! conversion. Streamed text and progress reach Python callbacks (the GIL taken per call).

use memorable_core::{ChatMessage, ConsolidateRequest, Error, GenerateRequest};
use pyo3::prelude::*;
use pyo3::types::{PyAny, PyDict};

use crate::callback::ProgressCallback;
use crate::convert::{opt_datetime, serde_to_py};
use crate::errors::{to_py, OrRaise};
use crate::handle::Memorable;

/// Chat messages from `[{"role": ..., "content": ...}, ...]` (roles parsed by the core).
fn messages(py: Python<'_>, list: &Bound<'_, PyAny>) -> PyResult<Vec<ChatMessage>> {
    let mut out = Vec::new();
    for item in list.try_iter()? {
        let item = item?;
        let d = item.cast::<PyDict>()?;
        let get = |k: &str| -> PyResult<String> {
            d.get_item(k)?
                .ok_or_else(|| to_py(py, Error::InvalidInput(format!("a message needs a {k:?}"))))?
                .extract()
        };
        out.push(ChatMessage::new(get("role")?.parse().or_raise(py)?, get("content")?));
    }
    Ok(out)
}

#[pymethods]
#[allow(clippy::too_many_arguments)]
impl Memorable {
    /// Generate text with the store's generator: a chat (`prompt` as the user's message, or
    /// `messages`) or, with `raw=True`, a plain completion. `on_text(piece)` receives the text
    /// as it is generated (returning False stops). Returns the generation as a dict: text,
    /// tokens, prompt_tokens, completion_tokens, finish_reason, model.
    #[pyo3(signature = (
        prompt=None, *, messages=None, raw=false, system=None, max_tokens=256, temperature=0.0,
        top_p=1.0, seed=0, stop=Vec::new(), json=false, answer_prefix=None, on_text=None
    ))]
    fn generate<'py>(
        &self,
        py: Python<'py>,
        prompt: Option<String>,
        messages: Option<&Bound<'py, PyAny>>,
        raw: bool,
        system: Option<String>,
        max_tokens: usize,
        temperature: f32,
        top_p: f32,
        seed: u64,
        stop: Vec<String>,
        json: bool,
        answer_prefix: Option<String>,
        on_text: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let messages = messages.filter(|m| !m.is_none()).map(|m| self::messages(py, m)).transpose()?;
        let mut request = GenerateRequest::from_parts(prompt, messages, raw, system)
            .or_raise(py)?
            .max_tokens(max_tokens)
            .temperature(temperature)
            .top_p(top_p)
            .seed(seed)
            .stop(stop)
            .json(json);
        request.answer_prefix = answer_prefix;
        let mut callback = ProgressCallback::from_arg(on_text, "on_text")?;
        let generation =
            py.detach(|| self.inner.generate_stream(&request, &mut |piece: &str| callback.call(&piece)));
        callback.check()?;
        serde_to_py(py, &generation.or_raise(py)?)
    }

    /// How the generator was chosen (a dict: requested, chosen, decisions, ...).
    fn generator_report<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &self.inner.generator_report().or_raise(py)?)
    }

    /// Take the model registry's active versions (after an update, activate or rollback)
    /// without closing the handle; models given to the constructor stay.
    fn reload_models(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.reload_models()).or_raise(py)
    }

    /// Consolidate a user's memories into summaries and facts (one session, a time range, or
    /// all). `on_progress(progress)` after each conversation (returning False cancels).
    /// Returns the report as a dict: job, path, model, summaries, facts, warnings, ...
    #[pyo3(signature = (user, *, session=None, since=None, until=None, on_progress=None))]
    fn consolidate<'py>(
        &self,
        py: Python<'py>,
        user: String,
        session: Option<String>,
        since: Option<&Bound<'py, PyAny>>,
        until: Option<&Bound<'py, PyAny>>,
        on_progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut request = ConsolidateRequest::new(user);
        request.session = session;
        request.since = opt_datetime(since)?;
        request.until = opt_datetime(until)?;
        let mut progress = ProgressCallback::from_arg(on_progress, "on_progress")?;
        let report = py.detach(|| self.inner.consolidate_with_progress(&request, &mut |p| progress.call(p)));
        progress.check()?;
        serde_to_py(py, &report.or_raise(py)?)
    }

    /// Start a consolidation in the background; returns its job id.
    #[pyo3(signature = (user, *, session=None, since=None, until=None))]
    fn consolidate_in_background(
        &self,
        py: Python<'_>,
        user: String,
        session: Option<String>,
        since: Option<&Bound<'_, PyAny>>,
        until: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<u64> {
        let mut request = ConsolidateRequest::new(user);
        request.session = session;
        request.since = opt_datetime(since)?;
        request.until = opt_datetime(until)?;
        py.detach(|| self.inner.consolidate_in_background(&request)).or_raise(py)
    }

    /// A job as a dict: id, kind, state, user, params, progress, result, error, log, times.
    fn job<'py>(&self, py: Python<'py>, id: u64) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &py.detach(|| self.inner.job(id)).or_raise(py)?)
    }

    /// The newest jobs.
    fn jobs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &py.detach(|| self.inner.jobs()).or_raise(py)?)
    }

    /// Ask a running job to stop; returns the job.
    fn cancel_job<'py>(&self, py: Python<'py>, id: u64) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &py.detach(|| self.inner.cancel_job(id)).or_raise(py)?)
    }
}
