//! `memorable_classify`: text emotion readings, returned as a `memorable_classification`
//! handle with index accessors. Strings are converted once, when the handle is built, so
//! accessors only borrow. An index out of range (or a NULL handle) gives 0 / NULL / NAN.

use std::ffi::{c_char, CString};

use memorable_core::{Classified, Error};

use crate::convert::{array, out_ptr, utf8};
use crate::error::{ffi_or, ffi_try, memorable_error};
use crate::handle::{handle, memorable};

/// Emotion readings of a batch of texts (from `memorable_classify`). Labels are numbered
/// 0..`memorable_classification_label_count` in the order of `memorable_classification_label`
/// (alphabetical). Owned by the caller; release with `memorable_classification_free`. Not
/// thread-safe: use one handle from one thread at a time.
pub struct memorable_classification {
    labels: Vec<CString>,
    /// `scores[text][label]`.
    scores: Vec<Vec<f32>>,
    /// Per text: the labels over their thresholds, most probable first (label numbers).
    over: Vec<Vec<usize>>,
}

impl memorable_classification {
    pub(crate) fn new(readings: Vec<Classified>) -> Result<memorable_classification, Error> {
        let names: Vec<String> =
            readings.first().map(|r| r.scores.keys().cloned().collect()).unwrap_or_default();
        let labels = names
            .iter()
            .map(|n| CString::new(n.as_str()).map_err(|e| Error::Internal(e.to_string())))
            .collect::<Result<_, _>>()?;
        let index = |name: &str| names.iter().position(|n| n == name);
        Ok(memorable_classification {
            labels,
            scores: readings.iter().map(|r| r.scores.values().copied().collect()).collect(),
            over: readings.iter().map(|r| r.labels.iter().filter_map(|l| index(l)).collect()).collect(),
        })
    }
}

/// Classify `count` texts (`(texts[i], text_lens[i])`, UTF-8) with the store's emotion
/// classifier (the shipped GoEmotions classifier when the store embeds with MiniLM). On
/// success `*out` is a new `memorable_classification`. Blank text is EMPTY_TEXT (2); without a
/// usable classifier the call fails with CLASSIFIER_UNAVAILABLE (35), its message saying why
/// (`memorable_stats` tells ahead of time, under "classifier"). With `count` 0 the arrays may
/// be NULL and the result is empty.
#[no_mangle]
pub unsafe extern "C" fn memorable_classify(
    m: *mut memorable,
    count: usize,
    texts: *const *const c_char,
    text_lens: *const usize,
    out: *mut *mut memorable_classification,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let texts = array(texts, count, "texts")?;
        let text_lens = array(text_lens, count, "text_lens")?;
        let out = out_ptr(out, "out")?;
        let refs = (0..count).map(|i| utf8(texts[i], text_lens[i], "text")).collect::<Result<Vec<_>, _>>()?;
        let result = memorable_classification::new(m.classify(&refs)?)?;
        *out = Box::into_raw(Box::new(result));
        Ok(())
    })
}

/// Number of texts classified (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn memorable_classification_len(c: *const memorable_classification) -> usize {
    ffi_or!(0, { c.as_ref().map_or(0, |c| c.scores.len()) })
}

/// Number of labels (28 for the GoEmotions classifier; 0 for NULL or an empty result).
#[no_mangle]
pub unsafe extern "C" fn memorable_classification_label_count(c: *const memorable_classification) -> usize {
    ffi_or!(0, { c.as_ref().map_or(0, |c| c.labels.len()) })
}

/// Name of label `label`: borrowed, NUL-terminated, valid until
/// `memorable_classification_free`; NULL if out of range.
#[no_mangle]
pub unsafe extern "C" fn memorable_classification_label(
    c: *const memorable_classification,
    label: usize,
) -> *const c_char {
    ffi_or!(std::ptr::null(), {
        c.as_ref().and_then(|c| c.labels.get(label)).map_or(std::ptr::null(), |s| s.as_ptr())
    })
}

/// Probability (0..1) of label `label` for text `text`; NAN if either is out of range.
#[no_mangle]
pub unsafe extern "C" fn memorable_classification_score(
    c: *const memorable_classification,
    text: usize,
    label: usize,
) -> f32 {
    ffi_or!(f32::NAN, {
        c.as_ref().and_then(|c| c.scores.get(text)).and_then(|s| s.get(label)).copied().unwrap_or(f32::NAN)
    })
}

/// Number of labels of text `text` at or above their thresholds (0 if out of range).
#[no_mangle]
pub unsafe extern "C" fn memorable_classification_present_len(
    c: *const memorable_classification,
    text: usize,
) -> usize {
    ffi_or!(0, { c.as_ref().and_then(|c| c.over.get(text)).map_or(0, Vec::len) })
}

/// The `k`-th label of text `text` over its threshold, most probable first, as a label
/// number (for `memorable_classification_label` / `_score`); `SIZE_MAX` if out of range.
#[no_mangle]
pub unsafe extern "C" fn memorable_classification_present(
    c: *const memorable_classification,
    text: usize,
    k: usize,
) -> usize {
    ffi_or!(usize::MAX, {
        c.as_ref().and_then(|c| c.over.get(text)).and_then(|o| o.get(k)).copied().unwrap_or(usize::MAX)
    })
}

/// Release a classification and every string borrowed from it. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn memorable_classification_free(c: *mut memorable_classification) {
    ffi_or!((), {
        if !c.is_null() {
            drop(Box::from_raw(c));
        }
    })
}
