//! Error mapping: every core error becomes a JS `Error` whose `code` is the core's stable code
//! name (`ErrorCode::name()`, e.g. `"EMPTY_TEXT"`) and whose message is the core's message.

use memorable_core as core;
use napi::{Env, JsError};
use napi_derive::napi;

/// A thrown error of a synchronous method (`code` = the stable code name).
pub type SyncError = napi::Error<&'static str>;

/// Error of a synchronous method.
pub fn sync_error(e: core::Error) -> SyncError {
    napi::Error::new(e.code().name(), e.to_string())
}

/// Error of an `AsyncTask`: its rejection must be built on the JS thread, because the task
/// trait only carries `napi::Status` codes; a retained JS error object keeps our `code`.
pub fn async_error(env: &Env, e: core::Error) -> napi::Error {
    napi::Error::from(JsError::from(sync_error(e)).into_unknown(*env))
}

/// The message of a caught panic payload.
pub fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// One stable error code (`errorCodes()`).
#[napi(object)]
pub struct ErrorCodeInfo {
    /// The number (`docs/errors.md`).
    pub number: u32,
    /// The name, as in `error.code` (e.g. `"EMPTY_TEXT"`).
    pub name: String,
    /// The family: "invalid input", "not found", "storage", "model", "remote" or "other".
    pub family: String,
}

/// Every stable error code, from the core's one table: what `error.code` can be.
#[napi]
pub fn error_codes() -> Vec<ErrorCodeInfo> {
    core::ErrorCode::ALL
        .iter()
        .map(|&c| ErrorCodeInfo {
            number: c as u32,
            name: c.name().to_owned(),
            family: c.category().label().to_owned(),
        })
        .collect()
}
