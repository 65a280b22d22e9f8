//! Custom classifiers: label sets, examples and corrections, training jobs, deployment and
//! calibration. Results are plain dicts (the core's serde form).

use std::collections::BTreeMap;
use std::path::PathBuf;

use memorable_core::{NewExample, TrainOptions};
use pyo3::prelude::*;
use pyo3::types::{PyAny, PyDict};

use crate::callback::ProgressCallback;
use crate::convert::{serde_from_py, serde_to_py};
use crate::errors::OrRaise;
use crate::handle::Memorable;

fn options(py: Python<'_>, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<TrainOptions> {
    match kwargs {
        Some(k) => serde_from_py(py, "training options", k.as_any()),
        None => Ok(TrainOptions::default()),
    }
}

#[pymethods]
impl Memorable {
    /// Create a classifier with its label set; `mapping` maps labels to catalog expressions
    /// (others map to the expression of their own name, if any; the rest are `unmapped`).
    #[pyo3(signature = (name, labels, mapping=None))]
    fn create_classifier<'py>(
        &self,
        py: Python<'py>,
        name: String,
        labels: Vec<String>,
        mapping: Option<BTreeMap<String, String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mapping = mapping.unwrap_or_default();
        serde_to_py(py, &py.detach(|| self.inner.create_classifier(&name, &labels, &mapping)).or_raise(py)?)
    }

    /// One classifier: name, labels, mapping, unmapped, builtin, deployed, examples.
    fn classifier<'py>(&self, py: Python<'py>, name: String) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &py.detach(|| self.inner.classifier(&name)).or_raise(py)?)
    }

    /// Every classifier, goemotions first.
    fn classifiers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &py.detach(|| self.inner.classifiers()).or_raise(py)?)
    }

    /// Add one labelled example to an existing classifier (the application's, or `user`'s).
    #[pyo3(signature = (classifier, text, labels, *, source="api", user=None))]
    fn add_example<'py>(
        &self,
        py: Python<'py>,
        classifier: String,
        text: String,
        labels: Vec<String>,
        source: &str,
        user: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let r = py.detach(|| self.inner.add_example(&classifier, &text, &labels, source, user.as_deref()));
        serde_to_py(py, &r.or_raise(py)?)
    }

    /// Add many examples (`[{"text": ..., "labels": [...]}]`), all or nothing; creates the
    /// classifier with the labels used when it does not exist.
    #[pyo3(signature = (classifier, examples, *, source="api", user=None))]
    fn add_examples<'py>(
        &self,
        py: Python<'py>,
        classifier: String,
        examples: &Bound<'py, PyAny>,
        source: &str,
        user: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let examples: Vec<NewExample> = serde_from_py(py, "examples", examples)?;
        let r = py.detach(|| self.inner.add_examples(&classifier, &examples, source, user.as_deref()));
        serde_to_py(py, &r.or_raise(py)?)
    }

    /// Import examples from a JSON Lines or TSV file, all or nothing (errors name the line).
    fn import_examples<'py>(
        &self,
        py: Python<'py>,
        classifier: String,
        path: PathBuf,
    ) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &py.detach(|| self.inner.import_examples(&classifier, &path)).or_raise(py)?)
    }

    /// Write the classifier's examples as JSON Lines into the new file `path`; returns how many.
    fn export_examples(&self, py: Python<'_>, classifier: String, path: PathBuf) -> PyResult<u64> {
        py.detach(|| self.inner.export_examples(&classifier, &path)).or_raise(py)
    }

    /// The classifier's examples (with `user`: that user's only).
    #[pyo3(signature = (classifier, *, user=None))]
    fn examples<'py>(
        &self,
        py: Python<'py>,
        classifier: String,
        user: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &py.detach(|| self.inner.examples(&classifier, user.as_deref())).or_raise(py)?)
    }

    /// Counts of the classifier's examples, per label.
    fn example_stats<'py>(&self, py: Python<'py>, classifier: String) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &py.detach(|| self.inner.example_stats(&classifier)).or_raise(py)?)
    }

    /// Record the owner's correction of what `classifier` says about memory `memory_id`.
    fn correct<'py>(
        &self,
        py: Python<'py>,
        memory_id: u64,
        labels: Vec<String>,
        classifier: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &py.detach(|| self.inner.correct(memory_id, &labels, &classifier)).or_raise(py)?)
    }

    /// Queue a training job; returns its id. Options as keywords: preset ("quick" | "full"),
    /// epochs, threads, seed, eval_fraction, holdout_fraction, deploy ("auto" | "never" |
    /// "always"), margin, include_user_examples, checkpoint_every.
    #[pyo3(signature = (classifier, **options))]
    fn train(
        &self,
        py: Python<'_>,
        classifier: String,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<u64> {
        let opts = self::options(py, options)?;
        py.detach(|| self.inner.train(&classifier, &opts)).or_raise(py)
    }

    /// Train here and wait; `on_progress(progress)` at every step (returning False
    /// cancels). Returns the job dict (its `result` holds the evaluation and the decision).
    #[pyo3(signature = (classifier, *, on_progress=None, **options))]
    fn train_and_wait<'py>(
        &self,
        py: Python<'py>,
        classifier: String,
        on_progress: Option<&Bound<'py, PyAny>>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let opts = self::options(py, options)?;
        let mut progress = ProgressCallback::from_arg(on_progress, "on_progress")?;
        let job = py.detach(|| self.inner.train_and_wait(&classifier, &opts, &mut |p| progress.call(p)));
        progress.check()?;
        serde_to_py(py, &job.or_raise(py)?)
    }

    /// Run a queued, paused or interrupted training job here until it ends.
    #[pyo3(signature = (id, *, on_progress=None))]
    fn run_job<'py>(
        &self,
        py: Python<'py>,
        id: u64,
        on_progress: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut progress = ProgressCallback::from_arg(on_progress, "on_progress")?;
        let job = py.detach(|| self.inner.run_job(id, &mut |p| progress.call(p)));
        progress.check()?;
        serde_to_py(py, &job.or_raise(py)?)
    }

    /// Pause a training job (it keeps its checkpoint); returns the job.
    fn pause_job<'py>(&self, py: Python<'py>, id: u64) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &py.detach(|| self.inner.pause_job(id)).or_raise(py)?)
    }

    /// Queue a paused or interrupted training job again; returns the job.
    fn resume_job<'py>(&self, py: Python<'py>, id: u64) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &py.detach(|| self.inner.resume_job(id)).or_raise(py)?)
    }

    /// Deploy a version of the classifier (default: its newest candidate).
    #[pyo3(signature = (classifier, version=None))]
    fn deploy_classifier<'py>(
        &self,
        py: Python<'py>,
        classifier: String,
        version: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(
            py,
            &py.detach(|| self.inner.deploy_classifier(&classifier, version.as_deref())).or_raise(py)?,
        )
    }

    /// Make the previously deployed version of the classifier active again.
    fn rollback_classifier<'py>(&self, py: Python<'py>, classifier: String) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &py.detach(|| self.inner.rollback_classifier(&classifier)).or_raise(py)?)
    }

    /// Tune `user`'s thresholds on their corrections now; None below
    /// `classifiers.personalize_min_corrections`.
    fn calibrate<'py>(
        &self,
        py: Python<'py>,
        classifier: String,
        user: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &py.detach(|| self.inner.calibrate(&classifier, &user)).or_raise(py)?)
    }
}
