//! Error mapping: every core error becomes a JS `Error` whose `code` is the core's stable code
//! name (`ErrorCode::name()`, e.g. `"EMPTY_TEXT"`) and whose message is the core's message.

use memorable_core as core;
use napi::{Env, JsError};

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
