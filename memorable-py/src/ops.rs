//! Operations: metrics, health, alert callbacks, backup / verify / restore, per-user
//! point-in-time restore, JSONL export / import. Reports are the core's serde shapes as
//! dicts; long calls run with the GIL released.

use std::path::PathBuf;

use memorable_core::{self as core, AlertEvent, Error};
use pyo3::prelude::*;
use pyo3::types::PyAny;

use crate::convert::opt_datetime;
use crate::convert::{serde_from_py, serde_to_py};
use crate::errors::{to_py, OrRaise};
use crate::handle::Memorable;

/// Calls a Python alert callback from whichever thread evaluates alerts. An exception it
/// raises goes to `sys.unraisablehook` and counts as a failed callback in the metrics
/// (`alert_callback_failures`); the engine carries on. After interpreter shutdown began,
/// callbacks are skipped.
fn alert_callback(callback: Py<PyAny>) -> impl Fn(&AlertEvent) + Send + Sync + 'static {
    move |event: &AlertEvent| {
        let failed = Python::try_attach(|py| {
            let outcome = serde_to_py(py, event).and_then(|arg| callback.bind(py).call1((arg,)));
            match outcome {
                Ok(_) => false,
                Err(e) => {
                    e.write_unraisable(py, Some(callback.bind(py)));
                    true
                }
            }
        });
        if failed == Some(true) {
            // Reported above; unwinding (without the panic hook) lets the core count it.
            std::panic::resume_unwind(Box::new("the Python alert callback raised"));
        }
    }
}

#[pymethods]
impl Memorable {
    /// Counters, latency quantiles and gauges (the core's `MetricsSnapshot`) as a dict.
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let snapshot = py.detach(|| self.inner.metrics()).or_raise(py)?;
        serde_to_py(py, &snapshot)
    }

    /// The metrics in the Prometheus text format (serve it on a `/metrics` route).
    fn metrics_prometheus(&self, py: Python<'_>) -> PyResult<String> {
        py.detach(|| self.inner.metrics_prometheus()).or_raise(py)
    }

    /// Every health check (the core's `HealthReport`: status, checks, checked_at) as a dict.
    fn health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let report = py.detach(|| self.inner.health()).or_raise(py)?;
        serde_to_py(py, &report)
    }

    /// Call `callback(event: dict)` for every alert that fires or resolves; returns an id
    /// for `remove_alert_callback`. It runs on the thread evaluating alerts (the store's
    /// operations thread, or the caller of `evaluate_alerts`).
    fn on_alert(&self, callback: Bound<'_, PyAny>) -> PyResult<u64> {
        if !callback.is_callable() {
            let name = callback.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "callback must be callable, not {name}"
            )));
        }
        Ok(self.inner.on_alert(alert_callback(callback.unbind())))
    }

    /// Stop calling a callback; returns whether `id` was registered.
    fn remove_alert_callback(&self, id: u64) -> bool {
        self.inner.remove_alert_callback(id)
    }

    /// Evaluate the alert rules now; callbacks get what fires or resolves, which is also
    /// returned.
    fn evaluate_alerts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let events = py.detach(|| self.inner.evaluate_alerts()).or_raise(py)?;
        serde_to_py(py, &events)
    }

    /// Alerts firing now.
    fn active_alerts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &self.inner.active_alerts())
    }

    /// The alert rules in force (dicts: name, metric, above / below, for_ms).
    fn alert_rules<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        serde_to_py(py, &self.inner.alert_rules())
    }

    /// Replace the alert rules without reopening; invalid rules raise INVALID_CONFIG and
    /// change nothing.
    fn set_alert_rules(&self, py: Python<'_>, rules: &Bound<'_, PyAny>) -> PyResult<()> {
        let rules: Vec<core::AlertRule> = serde_from_py(py, "rules", rules)?;
        self.inner.set_alert_rules(rules).or_raise(py)
    }

    /// Write an online backup into the new file `path` (writers may keep writing).
    fn backup<'py>(&self, py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyAny>> {
        let report = py.detach(|| self.inner.backup(&path)).or_raise(py)?;
        serde_to_py(py, &report)
    }

    /// Bring `user`'s memories back to how they were at `at` (a datetime; naive means UTC).
    fn restore_user<'py>(
        &self,
        py: Python<'py>,
        user: String,
        at: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let at = opt_datetime(Some(at))?
            .ok_or_else(|| to_py(py, Error::InvalidInput("at must be a datetime".into())))?;
        let report = py.detach(|| self.inner.restore_user(&user, at)).or_raise(py)?;
        serde_to_py(py, &report)
    }

    /// Write `user`'s memories as JSON Lines into the new file `path`; returns how many.
    #[pyo3(signature = (user, path, *, vectors=false))]
    fn export_user(&self, py: Python<'_>, user: String, path: PathBuf, vectors: bool) -> PyResult<u64> {
        py.detach(|| self.inner.export_user_to(&user, vectors, &path)).or_raise(py)
    }

    /// Import JSON Lines of memories (`export_user`'s output, or `remember_batch` dicts).
    #[pyo3(signature = (path, *, batch=1000))]
    fn import_jsonl<'py>(&self, py: Python<'py>, path: PathBuf, batch: usize) -> PyResult<Bound<'py, PyAny>> {
        let report = py.detach(|| self.inner.import_jsonl_from(&path, batch, &mut |_| {})).or_raise(py)?;
        serde_to_py(py, &report)
    }
}

/// Check a backup file or a store directory; the report's `ok` is True only when sound.
#[pyfunction]
#[pyo3(signature = (path, *, key=None))]
pub(crate) fn verify<'py>(
    py: Python<'py>,
    path: PathBuf,
    key: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let key = core::EncryptionKey::given_or_env(key).or_raise(py)?;
    let report = py.detach(|| core::verify_with_key(&path, key.as_ref(), &mut |_, _| {})).or_raise(py)?;
    serde_to_py(py, &report)
}

/// Give the encrypted store in `path` (not open anywhere) the key `new_key`.
#[pyfunction]
pub(crate) fn rekey(py: Python<'_>, path: PathBuf, old_key: String, new_key: String) -> PyResult<()> {
    let old = core::EncryptionKey::new(old_key).or_raise(py)?;
    let new = core::EncryptionKey::new(new_key).or_raise(py)?;
    py.detach(|| core::rekey(&path, &old, &new)).or_raise(py)
}

/// Restore the backup file `backup` into the new directory `new_dir` (never over an existing
/// store); a damaged backup raises StorageError with code CORRUPT and writes nothing.
#[pyfunction]
#[pyo3(signature = (backup, new_dir, *, key=None))]
pub(crate) fn restore<'py>(
    py: Python<'py>,
    backup: PathBuf,
    new_dir: PathBuf,
    key: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let key = core::EncryptionKey::given_or_env(key).or_raise(py)?;
    let report =
        py.detach(|| core::restore_with_key(&backup, &new_dir, key.as_ref(), &mut |_, _| {})).or_raise(py)?;
    serde_to_py(py, &report)
}
