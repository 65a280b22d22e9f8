//! The model registry over the C ABI: list, update, rollback and gc of the model cache's
//! versions, and `memorable_reload_models` for an open handle. Reports cross as JSON (the
//! core's serde shapes); `model_dir` NULL means the cache every store finds (environment).

use std::ffi::c_char;
use std::path::Path;

use memorable_core as core;

use crate::convert::{cstr, opt_cstr, out_ptr};
use crate::error::{ffi_try, memorable_error};
use crate::handle::{handle, memorable, owned_string};

/// Every installed model version as a JSON array (role, name, version, model_id, source,
/// files, installed_at, verification, state: "active" | "previous" | "candidate" |
/// "failed", failure). `*json_out` is released with `memorable_string_free`.
#[no_mangle]
pub unsafe extern "C" fn memorable_models_list(
    model_dir: *const c_char,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let dir = opt_cstr(model_dir, "model_dir")?.map(Path::new);
        let json_out = out_ptr(json_out, "json_out")?;
        *json_out = owned_string(serde_json::to_string(&core::models_list(dir)?)?)?;
        Ok(())
    })
}

/// Install, verify and activate the newest version of `name` (NULL: every installed model
/// with a newer one) from the shipped manifest and `source` (NULL, a folder holding
/// index.json, or an index file). `*json_out` (may be NULL) is the JSON array of the versions
/// activated (empty: up to date). A version failing verification returns
/// `MEMORABLE_ERROR_MODEL_VERIFICATION_FAILED` and the active version stays.
#[no_mangle]
pub unsafe extern "C" fn memorable_models_update(
    name: *const c_char,
    source: *const c_char,
    model_dir: *const c_char,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let name = opt_cstr(name, "name")?;
        let source = opt_cstr(source, "source")?.map(Path::new);
        let dir = opt_cstr(model_dir, "model_dir")?.map(Path::new);
        let activated = core::models_update(dir, name, source)?;
        if !json_out.is_null() {
            *json_out = owned_string(serde_json::to_string(&activated)?)?;
        }
        Ok(())
    })
}

/// Make the previous version of `name` active again; with none,
/// `MEMORABLE_ERROR_NO_PREVIOUS_VERSION` and nothing changes. `*json_out` (may be NULL) is
/// the version now active.
#[no_mangle]
pub unsafe extern "C" fn memorable_models_rollback(
    name: *const c_char,
    model_dir: *const c_char,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let name = cstr(name, "name")?;
        let dir = opt_cstr(model_dir, "model_dir")?.map(Path::new);
        let v = core::models_rollback(dir, name)?;
        if !json_out.is_null() {
            *json_out = owned_string(serde_json::to_string(&v)?)?;
        }
        Ok(())
    })
}

/// Remove the versions nothing needs (never the active, previous or one an open store of any
/// process uses). `limit_mb` 0: no limit. `*json_out` (may be NULL) is the report (removed,
/// in_use, partial, freed_bytes, cache_bytes, over_limit).
#[no_mangle]
pub unsafe extern "C" fn memorable_models_gc(
    model_dir: *const c_char,
    limit_mb: u64,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let dir = opt_cstr(model_dir, "model_dir")?.map(Path::new);
        let report = core::models_gc(dir, (limit_mb > 0).then_some(limit_mb))?;
        if !json_out.is_null() {
            *json_out = owned_string(serde_json::to_string(&report)?)?;
        }
        Ok(())
    })
}

/// Take the model registry's active versions without closing the handle (models given at
/// open stay).
#[no_mangle]
pub unsafe extern "C" fn memorable_reload_models(m: *mut memorable) -> *mut memorable_error {
    ffi_try!({
        handle(m)?.reload_models()?;
        Ok(())
    })
}
