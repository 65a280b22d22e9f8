//! Python callbacks called from inside GIL-free core calls (progress, streamed text).

use pyo3::prelude::*;
use serde::Serialize;

use crate::convert::serde_to_py;

/// Calls a Python progress callback from inside a GIL-free core call. An exception it
/// raises pauses the work (the core sees `false`) and is kept to be raised afterwards.
pub(crate) struct ProgressCallback {
    pub callback: Option<Py<PyAny>>,
    pub raised: Option<PyErr>,
}

impl ProgressCallback {
    /// `True`, `None` or any truthy value continues; `False` (or another falsy value) pauses.
    pub fn call(&mut self, value: &impl Serialize) -> bool {
        let Some(callback) = &self.callback else {
            return true;
        };
        Python::attach(|py| {
            let outcome = serde_to_py(py, value)
                .and_then(|arg| callback.bind(py).call1((arg,)))
                .and_then(|ret| if ret.is_none() { Ok(true) } else { ret.is_truthy() });
            outcome.unwrap_or_else(|e| {
                self.raised = Some(e);
                false
            })
        })
    }
}

impl ProgressCallback {
    /// A callback from an optional Python argument, refused unless callable.
    pub fn from_arg(arg: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<ProgressCallback> {
        let callback = arg.filter(|p| !p.is_none());
        if let Some(p) = callback {
            if !p.is_callable() {
                let name = p.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
                return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                    "{what} must be callable or None, not {name}"
                )));
            }
        }
        Ok(ProgressCallback { callback: callback.map(|p| p.clone().unbind()), raised: None })
    }

    /// Raise what the callback raised, if it did.
    pub fn check(self) -> PyResult<()> {
        match self.raised {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
