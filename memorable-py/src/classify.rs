//! `Memorable.classify`: text emotion readings from the engine's emotion classifier, or from
//! a named classifier (its deployed version; with `user`, that user's thresholds).

use pyo3::prelude::*;
use pyo3::types::PyAny;

use crate::convert::serde_to_py;
use crate::errors::OrRaise;
use crate::handle::Memorable;

#[pymethods]
impl Memorable {
    /// Emotion readings of `texts`: one dict per text with `text`, `scores` (label →
    /// probability) and `labels` (the labels over their thresholds, most probable first).
    /// `classifier` names one of the store's classifiers (default: the shipped goemotions);
    /// `user` decides labels with that user's calibrated thresholds.
    #[pyo3(signature = (texts, *, classifier=None, user=None))]
    fn classify<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        classifier: Option<String>,
        user: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let readings = py
            .detach(|| match &classifier {
                Some(name) => self.inner.classify_as(&refs, name, user.as_deref()),
                None if user.is_some() => {
                    self.inner.classify_as(&refs, memorable_core::GOEMOTIONS, user.as_deref())
                }
                None => self.inner.classify(&refs),
            })
            .or_raise(py)?;
        serde_to_py(py, &readings)
    }
}
