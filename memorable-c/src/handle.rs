//! The opaque `memorable` handle and what every exported function needs of it.

use std::ffi::{c_char, CString};

use memorable_core::{Error, Memorable};

use crate::convert::non_null;
use crate::error::Result;

/// An open MemoRable store. Thread-safe: one handle may be used from many threads at once
/// (writes are serialized inside, reads run in parallel). Release with `memorable_free`.
pub struct memorable {
    pub(crate) inner: Memorable,
}

impl memorable {
    pub(crate) fn boxed(inner: Memorable) -> *mut memorable {
        Box::into_raw(Box::new(memorable { inner }))
    }
}

pub(crate) unsafe fn handle<'a>(m: *const memorable) -> Result<&'a Memorable> {
    Ok(&non_null(m, "memorable handle")?.inner)
}

/// A heap string for the caller, released by `memorable_string_free`.
pub(crate) fn owned_string(s: String) -> Result<*mut c_char> {
    CString::new(s).map(CString::into_raw).map_err(|e| Error::Internal(e.to_string()))
}
