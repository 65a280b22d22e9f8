//! Hume in C: `memorable_ingest_hume` fuses one Hume message (JSON text, any family) into a
//! context; the report comes out as JSON, released with `memorable_string_free`.

use std::ffi::c_char;

use crate::convert::utf8;
use crate::error::{ffi_try, memorable_error};
use crate::handle::{handle, memorable, owned_string};

/// Parse one Hume message (`json_len` bytes of UTF-8 JSON: a v1 realtime or upload message,
/// a legacy stream response, an EVI chat message) and fuse its readings into `context` in
/// one transaction. When `report_json_out` is not NULL it receives the report as JSON
/// (context, messages, readings (fused), sources, families, notices (Hume's warnings and
/// errors), warnings, state: the context's fused state afterwards or null). Text that is
/// not JSON, a message that is not an object, a known field with the wrong shape, or a bad
/// context is INVALID_INPUT (1) and changes nothing; messages without a measurement fuse
/// nothing and succeed.
#[no_mangle]
pub unsafe extern "C" fn memorable_ingest_hume(
    m: *mut memorable,
    context: *const c_char,
    context_len: usize,
    json: *const c_char,
    json_len: usize,
    report_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let context = utf8(context, context_len, "context")?;
        let json = utf8(json, json_len, "json")?;
        let report = m.ingest_hume(context, json)?;
        if !report_json_out.is_null() {
            *report_json_out = owned_string(serde_json::to_string(&report)?)?;
        }
        Ok(())
    })
}

/// [`memorable_ingest_hume`] for a recorded session: `jsonl_len` bytes of JSON Lines, one Hume
/// message a line (blank lines skipped), fused into `context` in one transaction. A bad line
/// is INVALID_INPUT (1) naming its line number, and nothing is fused.
#[no_mangle]
pub unsafe extern "C" fn memorable_ingest_hume_lines(
    m: *mut memorable,
    context: *const c_char,
    context_len: usize,
    jsonl: *const c_char,
    jsonl_len: usize,
    report_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let context = utf8(context, context_len, "context")?;
        let jsonl = utf8(jsonl, jsonl_len, "jsonl")?;
        let report = m.ingest_hume_lines(context, jsonl)?;
        if !report_json_out.is_null() {
            *report_json_out = owned_string(serde_json::to_string(&report)?)?;
        }
        Ok(())
    })
}
