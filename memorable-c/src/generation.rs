//! Generation, consolidation and jobs over the C ABI. Requests and reports cross as JSON (the
//! core's serde shapes, documented in docs/c.md); streamed text and progress reach C
//! callbacks on the calling thread.

use std::ffi::{c_char, c_void};

use memorable_core::{ConsolidateRequest, ConsolidationProgress, Error, GenerateRequest};

use crate::convert::{opt_cstr, out_ptr, utf8};
use crate::error::{ffi_try, memorable_error, Result};
use crate::handle::{handle, memorable, owned_string};

/// Receives generated text as it comes: `len` bytes of UTF-8 at `piece` (not NUL-terminated,
/// valid during the call), and the caller's `user_data`. Return true to go on, false to stop
/// (the text so far is the answer). It must not unwind.
pub type memorable_text_fn =
    Option<unsafe extern "C" fn(piece: *const c_char, len: usize, user_data: *mut c_void) -> bool>;

/// Receives progress as a NUL-terminated JSON object, valid during the call: a
/// consolidation's (`job`, `sessions_done`, `sessions_total`, `summaries`, `facts`) or a
/// training job's (`job`, `phase`, `done`, `total`, `step`, `epoch`, `loss`, `eta_seconds`,
/// `message`). Return true to go on, false to cancel (consolidation: before the next
/// session). It runs on the calling thread and must not unwind.
pub type memorable_json_fn =
    Option<unsafe extern "C" fn(json: *const c_char, user_data: *mut c_void) -> bool>;

fn consolidate_request(user: &str, options_json: Option<&str>) -> Result<ConsolidateRequest> {
    let mut v = match options_json {
        Some(j) => serde_json::from_str::<serde_json::Value>(j)
            .map_err(|e| Error::InvalidInput(format!("options_json is not JSON: {e}")))?,
        None => serde_json::json!({}),
    };
    if !v.is_object() {
        return Err(Error::InvalidInput("options_json must be a JSON object".into()));
    }
    v["user"] = serde_json::json!(user);
    serde_json::from_value(v).map_err(|e| Error::InvalidInput(format!("options_json: {e}")))
}

/// Generate text with the store's generator. `request_json` (NUL-terminated) is
/// `{"prompt": "...", "raw": true|false, "system": "..."}` or `{"messages": [{"role":
/// "user", "content": "..."}]}` (or the core's own `{"prompt": {"chat": [...]}}` /
/// `{"prompt": {"raw": "..."}}`), with optional `max_tokens`, `temperature`, `top_p`, `seed`,
/// `stop`, `json`, `answer_prefix`. `on_text` (may be NULL) receives the text as it is generated. On success
/// `*generation_json_out` receives `{"text", "tokens", "prompt_tokens", "completion_tokens",
/// "finish_reason", "model"}` (free with `memorable_string_free`). Without a generator:
/// NO_GENERATOR (38). Blocks the calling thread.
#[no_mangle]
pub unsafe extern "C" fn memorable_generate(
    m: *mut memorable,
    request_json: *const c_char,
    on_text: memorable_text_fn,
    user_data: *mut c_void,
    generation_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let json =
            opt_cstr(request_json, "request_json")?.ok_or(Error::NullPointer { what: "request_json" })?;
        let out = out_ptr(generation_json_out, "generation_json_out")?;
        let request = GenerateRequest::from_json(json)?;
        let mut stream = |piece: &str| match on_text {
            Some(f) => f(piece.as_ptr().cast(), piece.len(), user_data),
            None => true,
        };
        let generation = m.generate_stream(&request, &mut stream)?;
        *out = owned_string(serde_json::to_string(&generation)?)?;
        Ok(())
    })
}

/// How the generator was chosen, as a JSON object (the core's `SelectionReport`: requested,
/// chosen, model_id, fallback, fallback_reason, decisions (model, outcome, reason), ...;
/// `fallback` turns true once a local model answered for an unavailable server). `*json_out`
/// is released with `memorable_string_free`.
#[no_mangle]
pub unsafe extern "C" fn memorable_generator_report(
    m: *mut memorable,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let json_out = out_ptr(json_out, "json_out")?;
        *json_out = owned_string(serde_json::to_string(&m.generator_report()?)?)?;
        Ok(())
    })
}

/// Consolidate the memories of `(user, user_len)` into summaries and facts, with the
/// generator or extractively. `options_json` (NUL-terminated, or NULL) may carry `session`,
/// `since`, `until` (RFC 3339). `on_progress` (may be NULL) after each session. On success
/// `*report_json_out` receives the report (`job`, `path`, `model`, `summaries`, `facts`,
/// `warnings`, ...; free with `memorable_string_free`). Blocks the calling thread.
#[no_mangle]
pub unsafe extern "C" fn memorable_consolidate(
    m: *mut memorable,
    user: *const c_char,
    user_len: usize,
    options_json: *const c_char,
    on_progress: memorable_json_fn,
    user_data: *mut c_void,
    report_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let request =
            consolidate_request(utf8(user, user_len, "user")?, opt_cstr(options_json, "options_json")?)?;
        let out = out_ptr(report_json_out, "report_json_out")?;
        let mut progress = |p: &ConsolidationProgress| match on_progress {
            Some(f) => match serde_json::to_string(p).ok().and_then(|s| std::ffi::CString::new(s).ok()) {
                Some(s) => f(s.as_ptr(), user_data),
                None => true,
            },
            None => true,
        };
        let report = m.consolidate_with_progress(&request, &mut progress)?;
        *out = owned_string(serde_json::to_string(&report)?)?;
        Ok(())
    })
}

/// Start a consolidation in the background; `*job_out` receives its job id.
#[no_mangle]
pub unsafe extern "C" fn memorable_consolidate_in_background(
    m: *mut memorable,
    user: *const c_char,
    user_len: usize,
    options_json: *const c_char,
    job_out: *mut u64,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let request =
            consolidate_request(utf8(user, user_len, "user")?, opt_cstr(options_json, "options_json")?)?;
        let out = out_ptr(job_out, "job_out")?;
        *out = m.consolidate_in_background(&request)?;
        Ok(())
    })
}

/// The job `id` as JSON (`id`, `kind`, `state`, `user`, `params`, `progress`, `result`,
/// `error`, `log`, `created_at`, `updated_at`). NOT_FOUND for an unknown id.
#[no_mangle]
pub unsafe extern "C" fn memorable_job(
    m: *mut memorable,
    id: u64,
    job_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let out = out_ptr(job_json_out, "job_json_out")?;
        *out = owned_string(serde_json::to_string(&m.job(id)?)?)?;
        Ok(())
    })
}

/// The newest jobs as a JSON array.
#[no_mangle]
pub unsafe extern "C" fn memorable_jobs(
    m: *mut memorable,
    jobs_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let out = out_ptr(jobs_json_out, "jobs_json_out")?;
        *out = owned_string(serde_json::to_string(&m.jobs()?)?)?;
        Ok(())
    })
}

/// Ask job `id` to stop (what it wrote stays); `*job_json_out` (may be NULL) receives the job.
#[no_mangle]
pub unsafe extern "C" fn memorable_cancel_job(
    m: *mut memorable,
    id: u64,
    job_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let job = m.cancel_job(id)?;
        if !job_json_out.is_null() {
            *job_json_out = owned_string(serde_json::to_string(&job)?)?;
        }
        Ok(())
    })
}
