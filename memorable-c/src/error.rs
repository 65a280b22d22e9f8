//! Errors across the ABI: the `memorable_error` object (the wasmtime shape: NULL means
//! success, else code + message, freed by the caller) and the macros that wrap every exported
//! body in `catch_unwind`, so a Rust panic becomes a PANIC error and never unwinds into C.

use std::any::Any;
use std::ffi::{c_char, CString};

use memorable_core::Error;

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

// Stable error codes (`memorable_error_code`), the core's `ErrorCode` numbers; they never
// change meaning. Literals, so cbindgen can emit them as `#define`s; a test checks them.

/// Input rejected for a reason not covered by a more specific code.
pub const MEMORABLE_ERROR_INVALID_INPUT: u32 = 1;
/// Text was empty or whitespace only.
pub const MEMORABLE_ERROR_EMPTY_TEXT: u32 = 2;
/// Text longer than the configured limit (`max_text_chars`).
pub const MEMORABLE_ERROR_TEXT_TOO_LONG: u32 = 3;
/// The user id was missing or blank.
pub const MEMORABLE_ERROR_MISSING_USER: u32 = 4;
/// A vector had NaN/inf values or the wrong length.
pub const MEMORABLE_ERROR_INVALID_VECTOR: u32 = 5;
/// Metadata was not a JSON object.
pub const MEMORABLE_ERROR_INVALID_METADATA: u32 = 6;
/// The configuration did not validate.
pub const MEMORABLE_ERROR_INVALID_CONFIG: u32 = 7;
/// Text was not valid UTF-8.
pub const MEMORABLE_ERROR_INVALID_UTF8: u32 = 8;
/// A required pointer argument was NULL.
pub const MEMORABLE_ERROR_NULL_POINTER: u32 = 9;
/// No memory with that id.
pub const MEMORABLE_ERROR_NOT_FOUND: u32 = 10;
/// A batch carried more items than `limits.max_batch`; nothing was written.
pub const MEMORABLE_ERROR_BATCH_TOO_LARGE: u32 = 11;
/// A memory's metadata was larger than `limits.max_metadata_bytes`; nothing was written.
pub const MEMORABLE_ERROR_METADATA_TOO_LARGE: u32 = 12;
/// SQLite or the file system failed.
pub const MEMORABLE_ERROR_STORAGE: u32 = 20;
/// The store directory is already open (in this or another process).
pub const MEMORABLE_ERROR_LOCKED: u32 = 21;
/// The store directory cannot be created or written.
pub const MEMORABLE_ERROR_NOT_WRITABLE: u32 = 22;
/// The store was written by a newer MemoRable.
pub const MEMORABLE_ERROR_NEWER_VERSION: u32 = 23;
/// On-disk data failed an integrity check (also: a damaged backup).
pub const MEMORABLE_ERROR_CORRUPT: u32 = 24;
/// A backup or restore target already exists (nothing is ever overwritten).
pub const MEMORABLE_ERROR_DESTINATION_EXISTS: u32 = 25;
/// A schema migration failed and was rolled back (the store is unchanged).
pub const MEMORABLE_ERROR_MIGRATION_FAILED: u32 = 26;
/// The write would take a user over a per-user quota (`limits.*`); nothing was written.
pub const MEMORABLE_ERROR_USER_QUOTA_EXCEEDED: u32 = 27;
/// The store is at its size limit (`limits.max_store_bytes`); nothing was written.
pub const MEMORABLE_ERROR_STORE_FULL: u32 = 28;
/// An encrypted store or file was opened without its key or with another key (or a plain
/// store with a key); nothing was read or changed.
pub const MEMORABLE_ERROR_WRONG_KEY: u32 = 29;
/// The embedding model failed or is missing.
pub const MEMORABLE_ERROR_MODEL: u32 = 30;
/// The store's vectors were made by a different embedding model.
pub const MEMORABLE_ERROR_MODEL_MISMATCH: u32 = 31;
/// No installed model version has that name and version (model registry).
pub const MEMORABLE_ERROR_MODEL_VERSION_NOT_FOUND: u32 = 32;
/// A model version failed its verification or activation; the active version is unchanged.
pub const MEMORABLE_ERROR_MODEL_VERIFICATION_FAILED: u32 = 33;
/// `rollback` found no previous version; nothing changed.
pub const MEMORABLE_ERROR_NO_PREVIOUS_VERSION: u32 = 34;
/// No emotion classifier is available (the message says why).
pub const MEMORABLE_ERROR_CLASSIFIER_UNAVAILABLE: u32 = 35;
/// An emotion classifier was paired with an encoder other than the one it was trained on.
pub const MEMORABLE_ERROR_CLASSIFIER_MISMATCH: u32 = 36;
/// A generator's answer did not have the form asked for (JSON mode), even after a retry.
pub const MEMORABLE_ERROR_INVALID_OUTPUT: u32 = 37;
/// No generator is configured or available.
pub const MEMORABLE_ERROR_NO_GENERATOR: u32 = 38;
/// The handle was closed (`memorable_close`).
pub const MEMORABLE_ERROR_CLOSED: u32 = 40;
/// A Rust panic was caught inside the library.
pub const MEMORABLE_ERROR_PANIC: u32 = 50;
/// A bug: an invariant did not hold.
pub const MEMORABLE_ERROR_INTERNAL: u32 = 60;
/// Hume rejected the credentials (HTTP 401/403), or no API key was configured.
pub const MEMORABLE_ERROR_HUME_AUTH: u32 = 70;
/// Hume could not be reached (network, TLS, timeout), after the retries allowed.
pub const MEMORABLE_ERROR_HUME_CONNECTION: u32 = 71;
/// Hume rejected a request or ended a session with an error that needs a change by the caller.
pub const MEMORABLE_ERROR_HUME_REJECTED: u32 = 72;
/// Hume kept answering HTTP 429 after every retry.
pub const MEMORABLE_ERROR_HUME_RATE_LIMITED: u32 = 73;
/// Input over one of Hume's limits, refused before anything was sent.
pub const MEMORABLE_ERROR_HUME_LIMIT: u32 = 74;
/// The Hume session already ended.
pub const MEMORABLE_ERROR_HUME_SESSION_CLOSED: u32 = 75;
/// A model server could not be reached, timed out, or kept failing.
pub const MEMORABLE_ERROR_SERVER_UNAVAILABLE: u32 = 76;
/// A model server refused the request (unknown model, bad request, credentials).
pub const MEMORABLE_ERROR_SERVER_REJECTED: u32 = 77;
/// A model server answered with something that is not its protocol.
pub const MEMORABLE_ERROR_SERVER_PROTOCOL: u32 = 78;
/// `memorable serve` only: no API key or an unknown one (HTTP 401).
pub const MEMORABLE_ERROR_UNAUTHORIZED: u32 = 80;
/// `memorable serve` only: the key may not act for that user (HTTP 403).
pub const MEMORABLE_ERROR_FORBIDDEN: u32 = 81;
/// `memorable serve` only: the key's rate limit was reached (HTTP 429).
pub const MEMORABLE_ERROR_RATE_LIMITED: u32 = 82;
/// `memorable serve` only: the request body was over the server's limit (HTTP 413).
pub const MEMORABLE_ERROR_PAYLOAD_TOO_LARGE: u32 = 83;
/// `memorable serve` only: too many requests in flight (HTTP 503).
pub const MEMORABLE_ERROR_OVERLOADED: u32 = 84;
/// `memorable serve` only: the request timed out (HTTP 503).
pub const MEMORABLE_ERROR_TIMEOUT: u32 = 85;
/// The store's database server (PostgreSQL) is unreachable; nothing was written. Retry.
pub const MEMORABLE_ERROR_STORE_UNAVAILABLE: u32 = 86;
/// The operation does not exist on this kind of store; nothing changed.
pub const MEMORABLE_ERROR_UNSUPPORTED: u32 = 87;

/// An error returned by a fallible call. Owned by the caller: read it with
/// `memorable_error_code` / `memorable_error_message`, release it with `memorable_error_free`.
pub struct memorable_error {
    code: u32,
    message: CString,
}

impl memorable_error {
    fn new(e: &Error) -> memorable_error {
        let text = e.to_string().replace('\0', "\\0");
        let message = CString::new(text).unwrap_or_default();
        memorable_error { code: e.code() as u32, message }
    }
}

/// Box an error for the caller (the pointer a fallible call returns).
pub(crate) fn to_raw(e: Error) -> *mut memorable_error {
    Box::into_raw(Box::new(memorable_error::new(&e)))
}

/// The PANIC error for a caught panic, with the panic's message when it has one.
pub(crate) fn panic_error(payload: Box<dyn Any + Send>) -> Error {
    let msg = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_owned()
    };
    // Dropping a payload can itself panic; leak it rather than risk unwinding into C.
    std::mem::forget(payload);
    Error::Panic(msg)
}

/// Body of a fallible exported function: a block returning `Result<()>` (use `?` freely).
/// Evaluates to NULL on success, else a new `memorable_error` (PANIC for a caught panic).
macro_rules! ffi_try {
    ($body:block) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| -> $crate::error::Result<()> {
            $body
        })) {
            Ok(Ok(())) => ::std::ptr::null_mut(),
            Ok(Err(e)) => $crate::error::to_raw(e),
            Err(payload) => $crate::error::to_raw($crate::error::panic_error(payload)),
        }
    };
}

/// Body of an infallible exported function (accessors, frees): its value, or `$default`
/// if it panicked.
macro_rules! ffi_or {
    ($default:expr, $body:block) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body)) {
            Ok(v) => v,
            Err(payload) => {
                ::std::mem::forget(payload);
                $default
            }
        }
    };
}

pub(crate) use {ffi_or, ffi_try};

/// The stable code of an error (see `docs/c.md`; e.g. 8 = INVALID_UTF8, 9 = NULL_POINTER,
/// 10 = NOT_FOUND, 21 = LOCKED, 40 = CLOSED, 50 = PANIC). 0 if `e` is NULL.
#[no_mangle]
pub unsafe extern "C" fn memorable_error_code(e: *const memorable_error) -> u32 {
    ffi_or!(0, { e.as_ref().map_or(0, |e| e.code) })
}

/// The error's message, NUL-terminated UTF-8, borrowed: valid until `memorable_error_free(e)`.
/// NULL if `e` is NULL.
#[no_mangle]
pub unsafe extern "C" fn memorable_error_message(e: *const memorable_error) -> *const c_char {
    ffi_or!(std::ptr::null(), { e.as_ref().map_or(std::ptr::null(), |e| e.message.as_ptr()) })
}

/// Release an error. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn memorable_error_free(e: *mut memorable_error) {
    ffi_or!((), {
        if !e.is_null() {
            drop(Box::from_raw(e));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use memorable_core::ErrorCode;
    use std::ffi::CStr;

    fn fails() -> *mut memorable_error {
        ffi_try!({ Err(Error::EmptyText) })
    }

    fn panics() -> *mut memorable_error {
        ffi_try!({
            let v: Vec<u32> = Vec::new();
            if v.is_empty() {
                panic!("boom {}", v.len());
            }
            Ok(())
        })
    }

    /// The header's `MEMORABLE_ERROR_*` constants are exactly the core's table (numbers and
    /// names): the header is generated from this crate's constants (and checked for drift),
    /// so a code added to the core without its constant, or a constant with a wrong
    /// number, fails here.
    #[test]
    fn header_constants_are_the_core_table() {
        let header =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/memorable.h")).unwrap();
        let mut found: Vec<(String, u32)> = header
            .lines()
            .filter_map(|l| {
                let rest = l.trim().strip_prefix("#define MEMORABLE_ERROR_")?;
                let mut parts = rest.split_whitespace();
                let name = parts.next()?.to_owned();
                let value = parts.next()?.trim_end_matches('u').parse().ok()?;
                Some((name, value))
            })
            .collect();
        found.sort_by_key(|(_, v)| *v);
        let expected: Vec<(String, u32)> =
            ErrorCode::ALL.iter().map(|c| (c.name().to_owned(), *c as u32)).collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn errors_and_panics_become_error_objects() {
        let ok: *mut memorable_error = ffi_try!({ Ok(()) });
        assert!(ok.is_null());
        unsafe {
            let e = fails();
            assert_eq!(memorable_error_code(e), 2);
            let msg = CStr::from_ptr(memorable_error_message(e)).to_str().unwrap();
            assert!(msg.contains("empty"), "{msg}");
            memorable_error_free(e);

            let e = panics();
            assert_eq!(memorable_error_code(e), 50);
            let msg = CStr::from_ptr(memorable_error_message(e)).to_str().unwrap();
            assert_eq!(msg, "panic: boom 0");
            memorable_error_free(e);

            let v: u32 = ffi_or!(7, { panic!("x") });
            assert_eq!(v, 7);
            assert_eq!(memorable_error_code(std::ptr::null()), 0);
            assert!(memorable_error_message(std::ptr::null()).is_null());
            memorable_error_free(std::ptr::null_mut());
        }
    }
}
