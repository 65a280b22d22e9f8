//! Operations over the C ABI: metrics (JSON and Prometheus text), health, alert callbacks
//! (a function pointer + user data), backup, verify, restore and per-user point-in-time
//! restore. Reports are JSON strings released with `memorable_string_free`.

use std::ffi::{c_char, c_void};

use memorable_core::{self as core, AlertEvent};

use crate::convert::{cstr, out_ptr, utf8};
use crate::error::{ffi_try, memorable_error};
use crate::handle::{handle, memorable, owned_string};

/// Metrics of the store as JSON (the core's `MetricsSnapshot`: uptime_seconds, counters
/// (calls, memories_written, memories_updated, memories_forgotten, recalls, errors,
/// fallbacks_taken, readings_fused, backups, alert_callback_failures), errors_by_code,
/// latency (remember, recall, embed: count, sum_ms, mean_ms, p50_ms, p95_ms, p99_ms, max_ms),
/// gauges, model_id, model_fallback). `*json_out` is released with `memorable_string_free`.
#[no_mangle]
pub unsafe extern "C" fn memorable_metrics(
    m: *mut memorable,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let json_out = out_ptr(json_out, "json_out")?;
        let json = serde_json::to_string(&m.metrics()?)?;
        *json_out = owned_string(json)?;
        Ok(())
    })
}

/// Metrics in the Prometheus text format (what a `/metrics` route serves). `*text_out` is
/// released with `memorable_string_free`.
#[no_mangle]
pub unsafe extern "C" fn memorable_metrics_prometheus(
    m: *mut memorable,
    text_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let text_out = out_ptr(text_out, "text_out")?;
        *text_out = owned_string(m.metrics_prometheus()?)?;
        Ok(())
    })
}

/// Run every health check; `*json_out` is the core's `HealthReport` as JSON: status ("ok",
/// "degraded" or "failing"), checks (name, status, reason, details), checked_at.
#[no_mangle]
pub unsafe extern "C" fn memorable_health(
    m: *mut memorable,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let json_out = out_ptr(json_out, "json_out")?;
        let json = serde_json::to_string(&m.health()?)?;
        *json_out = owned_string(json)?;
        Ok(())
    })
}

/// Alert callback: `event_json` (NUL-terminated, `event_len` bytes, valid only during the
/// call) is the core's `AlertEvent` (rule, metric, state "firing" / "resolved", value,
/// threshold, condition, for_ms, duration_ms, at, message); `user_data` is what was given to
/// `memorable_on_alert`. It runs on the thread evaluating alerts (the store's operations
/// thread, or the caller of `memorable_evaluate_alerts`), must be thread-safe, and must not
/// unwind (no C++ exception or longjmp out of it).
pub type memorable_alert_fn =
    Option<unsafe extern "C" fn(event_json: *const c_char, event_len: usize, user_data: *mut c_void)>;

/// `user_data` crosses threads with the callback: the caller promises it may.
struct UserData(*mut c_void);
// SAFETY: the C caller registers user_data for a callback that runs on other threads, and
// documents that it is safe to use there.
unsafe impl Send for UserData {}
unsafe impl Sync for UserData {}

/// Call `callback(event_json, len, user_data)` for every alert that fires or resolves, until
/// `memorable_remove_alert_callback(m, *id_out)` or the handle is freed.
#[no_mangle]
pub unsafe extern "C" fn memorable_on_alert(
    m: *mut memorable,
    callback: memorable_alert_fn,
    user_data: *mut c_void,
    id_out: *mut u64,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let id_out = out_ptr(id_out, "id_out")?;
        let Some(f) = callback else {
            return Err(memorable_core::Error::NullPointer { what: "callback" });
        };
        let data = UserData(user_data);
        let id = m.on_alert(move |e: &AlertEvent| {
            let data = &data;
            if let Ok(json) = serde_json::to_string(e) {
                let len = json.len();
                if let Ok(c) = std::ffi::CString::new(json) {
                    // SAFETY: `f` is the caller's callback, `c` lives for the call.
                    unsafe { f(c.as_ptr(), len, data.0) };
                }
            }
        });
        *id_out = id;
        Ok(())
    })
}

/// Stop calling the callback registered as `id`; `*removed_out` (may be NULL) tells whether
/// it was registered.
#[no_mangle]
pub unsafe extern "C" fn memorable_remove_alert_callback(
    m: *mut memorable,
    id: u64,
    removed_out: *mut bool,
) -> *mut memorable_error {
    ffi_try!({
        let removed = handle(m)?.remove_alert_callback(id);
        if !removed_out.is_null() {
            *removed_out = removed;
        }
        Ok(())
    })
}

/// The alert rules in force as a JSON array (`[{"name", "metric", "above"|"below",
/// "for_ms"}]`) in `*json_out` (free with `memorable_string_free`).
#[no_mangle]
pub unsafe extern "C" fn memorable_alert_rules(
    m: *mut memorable,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let rules = handle(m)?.alert_rules();
        let out = out_ptr(json_out, "json_out")?;
        *out = owned_string(serde_json::to_string(&rules)?)?;
        Ok(())
    })
}

/// Replace the alert rules without reopening: `rules_json` (NUL-terminated UTF-8) is a JSON
/// array of rules as `Config.alerts.rules` takes them. Invalid rules: INVALID_CONFIG (7) or
/// INVALID_INPUT (1), and nothing changes.
#[no_mangle]
pub unsafe extern "C" fn memorable_set_alert_rules(
    m: *mut memorable,
    rules_json: *const c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let text = cstr(rules_json, "rules_json")?;
        let rules: Vec<core::AlertRule> =
            serde_json::from_str(text).map_err(|e| core::Error::InvalidInput(format!("rules_json: {e}")))?;
        m.set_alert_rules(rules)
    })
}

/// Evaluate the alert rules now; callbacks get what fires or resolves, and `*json_out` (may
/// be NULL) is the array of those events.
#[no_mangle]
pub unsafe extern "C" fn memorable_evaluate_alerts(
    m: *mut memorable,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let events = handle(m)?.evaluate_alerts()?;
        if !json_out.is_null() {
            *json_out = owned_string(serde_json::to_string(&events)?)?;
        }
        Ok(())
    })
}

/// Write an online backup of the store into the new file `path` (NUL-terminated UTF-8; it
/// must not exist: DESTINATION_EXISTS (25)). Writers may keep writing meanwhile.
/// `*report_json_out` (may be NULL) is the core's `BackupReport` (path, bytes,
/// schema_version, model_id, memories, users, vectors, index_files, duration_ms).
#[no_mangle]
pub unsafe extern "C" fn memorable_backup(
    m: *mut memorable,
    path: *const c_char,
    report_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let path = cstr(path, "path")?;
        let report = m.backup(path)?;
        if !report_json_out.is_null() {
            *report_json_out = owned_string(serde_json::to_string(&report)?)?;
        }
        Ok(())
    })
}

/// Write `user`'s memories (NUL-terminated) as JSON Lines into the new file `path` (it must
/// not exist: DESTINATION_EXISTS (25)); with `vectors`, each line carries its embedding and
/// model id. `*count_out` (may be NULL) receives how many memories were written.
#[no_mangle]
pub unsafe extern "C" fn memorable_export_user(
    m: *mut memorable,
    user: *const c_char,
    path: *const c_char,
    vectors: bool,
    count_out: *mut u64,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let user = cstr(user, "user")?;
        let path = cstr(path, "path")?;
        let n = m.export_user_to(user, vectors, path)?;
        if !count_out.is_null() {
            *count_out = n;
        }
        Ok(())
    })
}

/// Import the JSON Lines file `path` (`memorable_export_user`'s output, or memory objects),
/// `batch` memories per transaction (0: 1,000). A bad line fails the import with its line
/// number; earlier batches stay imported. `*report_json_out` (may be NULL) is the core's
/// `ImportReport` (imported, lines, ...).
#[no_mangle]
pub unsafe extern "C" fn memorable_import_jsonl(
    m: *mut memorable,
    path: *const c_char,
    batch: usize,
    report_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let path = cstr(path, "path")?;
        let batch = if batch == 0 { 1000 } else { batch };
        let report = m.import_jsonl_from(path, batch, &mut |_| {})?;
        if !report_json_out.is_null() {
            *report_json_out = owned_string(serde_json::to_string(&report)?)?;
        }
        Ok(())
    })
}

/// Verify a backup file, a store directory or a PostgreSQL store (a `postgres://` URL) at
/// `path`. `*sound_out` is true only when it
/// is sound; `*report_json_out` (may be NULL) is the core's `VerifyReport` (kind, ok,
/// problems, warnings, counts). An unreadable path is an error; an unsound one is not. An
/// encrypted store or backup is opened with the key in `MEMORABLE_KEY` (see
/// `memorable_verify_with_key`).
#[no_mangle]
pub unsafe extern "C" fn memorable_verify(
    path: *const c_char,
    sound_out: *mut bool,
    report_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    memorable_verify_with_key(path, std::ptr::null(), sound_out, report_json_out)
}

/// `memorable_verify` with the key (NUL-terminated) of an encrypted store or backup; NULL
/// reads `MEMORABLE_KEY`. Without the right key: WRONG_KEY (29).
#[no_mangle]
pub unsafe extern "C" fn memorable_verify_with_key(
    path: *const c_char,
    key: *const c_char,
    sound_out: *mut bool,
    report_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let path = cstr(path, "path")?;
        let sound_out = out_ptr(sound_out, "sound_out")?;
        let key =
            core::EncryptionKey::given_or_env(crate::convert::opt_cstr(key, "key")?.map(str::to_owned))?;
        let report = core::verify_with_key(path, key.as_ref(), &mut |_, _| {})?;
        let json = if report_json_out.is_null() {
            None
        } else {
            Some(owned_string(serde_json::to_string(&report)?)?)
        };
        *sound_out = report.ok;
        if let Some(json) = json {
            *report_json_out = json;
        }
        Ok(())
    })
}

/// Restore the backup file `backup_path` into the new directory `new_dir` (must not exist
/// or be empty: DESTINATION_EXISTS (25)), or into the empty PostgreSQL database `new_dir`
/// names as a `postgres://` URL. A backup that fails verification is CORRUPT (24);
/// in both cases nothing is written. `*report_json_out` (may be NULL) is the core's
/// `RestoreReport`. The backup of an encrypted store is opened with the key in
/// `MEMORABLE_KEY` (see `memorable_restore_with_key`).
#[no_mangle]
pub unsafe extern "C" fn memorable_restore(
    backup_path: *const c_char,
    new_dir: *const c_char,
    report_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    memorable_restore_with_key(backup_path, new_dir, std::ptr::null(), report_json_out)
}

/// `memorable_restore` with the key (NUL-terminated) of an encrypted store's backup; NULL
/// reads `MEMORABLE_KEY`. The restored store stays encrypted with that key.
#[no_mangle]
pub unsafe extern "C" fn memorable_restore_with_key(
    backup_path: *const c_char,
    new_dir: *const c_char,
    key: *const c_char,
    report_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let backup = cstr(backup_path, "backup_path")?;
        let new_dir = cstr(new_dir, "new_dir")?;
        let key =
            core::EncryptionKey::given_or_env(crate::convert::opt_cstr(key, "key")?.map(str::to_owned))?;
        let report = core::restore_with_key(backup, new_dir, key.as_ref(), &mut |_, _| {})?;
        if !report_json_out.is_null() {
            *report_json_out = owned_string(serde_json::to_string(&report)?)?;
        }
        Ok(())
    })
}

/// Give the encrypted store in `path` (open nowhere) the key `new_key` (both keys
/// NUL-terminated): WRONG_KEY (29) when `old_key` does not open it, LOCKED (21) while it is
/// open; nothing changes then. Crash-safe: one of the two keys always opens the store.
#[no_mangle]
pub unsafe extern "C" fn memorable_rekey(
    path: *const c_char,
    old_key: *const c_char,
    new_key: *const c_char,
) -> *mut memorable_error {
    ffi_try!({
        let path = cstr(path, "path")?;
        let old = core::EncryptionKey::new(cstr(old_key, "old_key")?)?;
        let new = core::EncryptionKey::new(cstr(new_key, "new_key")?)?;
        core::rekey(path, &old, &new)
    })
}

/// Bring `user`'s memories back to how they were at `at_ms` (Unix milliseconds, UTC), from
/// the version history; other users are untouched. `*report_json_out` (may be NULL) is the
/// core's `RestoreUserReport` (user, at, reverted, removed, unchanged, unrestorable).
#[no_mangle]
pub unsafe extern "C" fn memorable_restore_user(
    m: *mut memorable,
    user: *const c_char,
    user_len: usize,
    at_ms: i64,
    report_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let user = utf8(user, user_len, "user")?;
        let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
            .map_err(|e| memorable_core::Error::InvalidInput(format!("at_ms: {e}")))?;
        let report = m.restore_user(user, at)?;
        if !report_json_out.is_null() {
            *report_json_out = owned_string(serde_json::to_string(&report)?)?;
        }
        Ok(())
    })
}
