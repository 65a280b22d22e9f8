//! Operations: metrics, health, alert callbacks (a JS function called through a
//! ThreadsafeFunction), backup / verify / restore, per-user point-in-time restore, JSONL
//! export / import. Reports are the core's serde shapes with camelCase keys.

use memorable_core as core;
use napi::bindgen_prelude::{AsyncTask, ToNapiValue, TypeName, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, Status, ValueType};
use napi_derive::napi;
use serde::Serialize;
use serde_json::Value;

use crate::error::sync_error;
use crate::handle::Memorable;
use crate::task::Job;
use crate::types::Date;

/// A core report as a plain JS object (keys in camelCase).
pub struct Json(Value);

impl Json {
    pub(crate) fn of(v: &impl Serialize) -> core::Result<Json> {
        Ok(Json(camel_keys(serde_json::to_value(v)?)))
    }
}

impl TypeName for Json {
    fn type_name() -> &'static str {
        "object"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for Json {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        unsafe { Value::to_napi_value(env, val.0) }
    }
}

/// snake_case keys (`checked_at`) → camelCase (`checkedAt`); other keys (error code names,
/// user ids) stay as they are.
fn camel_keys(v: Value) -> Value {
    fn camel(k: String) -> String {
        if !k.contains('_') || !k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return k;
        }
        let mut out = String::with_capacity(k.len());
        let mut up = false;
        for c in k.chars() {
            match (c, up) {
                ('_', _) => up = true,
                (c, true) => {
                    out.push(c.to_ascii_uppercase());
                    up = false
                }
                (c, false) => out.push(c),
            }
        }
        out
    }
    match v {
        Value::Object(map) => {
            // Map-like objects keyed by data (errors by code) keep their keys.
            Value::Object(map.into_iter().map(|(k, v)| (camel(k), camel_keys(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(camel_keys).collect()),
        other => other,
    }
}

/// The JS alert callback, called on the JS thread; weak, so it never keeps Node running.
pub type AlertCallback = ThreadsafeFunction<Value, Unknown<'static>, Value, Status, false, true>;

#[napi]
impl Memorable {
    /// Counters, latency quantiles (ms) and gauges of the store (the core's MetricsSnapshot).
    #[napi(
        ts_return_type = "{ uptimeSeconds: number; counters: Record<string, number>; errorsByCode: Record<string, number>; latency: Record<'remember' | 'recall' | 'embed', { count: number; sumMs: number; meanMs: number; p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number }>; gauges: Record<string, any>; modelId: string; modelFallback: boolean; store: { backend: 'sqlite' | 'postgres'; syncPolls: number; syncChanges: number; syncErrors: number; reconnects: number; syncLagSeconds: number } }"
    )]
    pub fn metrics(&self) -> napi::Result<Json, &'static str> {
        self.inner.metrics().and_then(|m| Json::of(&m)).map_err(sync_error)
    }

    /// The metrics in the Prometheus text format (serve it on a `/metrics` route).
    #[napi]
    pub fn metrics_prometheus(&self) -> napi::Result<String, &'static str> {
        self.inner.metrics_prometheus().map_err(sync_error)
    }

    /// Run every health check (SQLite quick_check included) off the JS thread.
    #[napi(
        ts_return_type = "Promise<{ status: 'ok' | 'degraded' | 'failing'; checks: Array<{ name: string; status: 'ok' | 'degraded' | 'failing'; reason: string; details: unknown }>; checkedAt: string }>"
    )]
    pub fn health(&self) -> AsyncTask<Job<Json>> {
        let inner = self.inner.clone();
        AsyncTask::new(Job::new(move || Json::of(&inner.health()?)))
    }

    /// Call `callback(event)` for every alert that fires or resolves (on the JS thread);
    /// returns an id for `removeAlertCallback`. A callback that throws is counted in
    /// `metrics().counters.alertCallbackFailures` and otherwise ignored.
    #[napi(ts_args_type = "callback: (event: AlertEvent) => void")]
    pub fn on_alert(&self, callback: AlertCallback) -> i64 {
        let metrics = self.inner.clone();
        let id = self.inner.on_alert(move |e: &core::AlertEvent| {
            let Ok(Json(event)) = Json::of(e) else { return };
            let metrics = metrics.clone();
            let _ = callback.call_with_return_value(
                event,
                ThreadsafeFunctionCallMode::NonBlocking,
                move |ret, _env| {
                    if ret.is_err() {
                        metrics.metrics_registry().alert_callback_failures.inc();
                    }
                    Ok(())
                },
            );
        });
        id as i64
    }

    /// Stop calling a callback; returns whether `id` was registered.
    #[napi]
    pub fn remove_alert_callback(&self, id: i64) -> bool {
        u64::try_from(id).is_ok_and(|id| self.inner.remove_alert_callback(id))
    }

    /// Evaluate the alert rules now; returns what fired or resolved (callbacks get it too).
    #[napi(ts_return_type = "Array<AlertEvent>")]
    pub fn evaluate_alerts(&self) -> napi::Result<Json, &'static str> {
        self.inner.evaluate_alerts().and_then(|e| Json::of(&e)).map_err(sync_error)
    }

    /// Alerts firing now.
    #[napi(ts_return_type = "Array<AlertEvent>")]
    pub fn active_alerts(&self) -> napi::Result<Json, &'static str> {
        Json::of(&self.inner.active_alerts()).map_err(sync_error)
    }

    /// The alert rules in force.
    #[napi(ts_return_type = "Array<AlertRule>")]
    pub fn alert_rules(&self) -> napi::Result<Json, &'static str> {
        Json::of(&self.inner.alert_rules()).map_err(sync_error)
    }

    /// Replace the alert rules without reopening; invalid rules throw INVALID_CONFIG and
    /// change nothing.
    #[napi]
    pub fn set_alert_rules(
        &self,
        #[napi(ts_arg_type = "Array<AlertRule>")] rules: Value,
    ) -> napi::Result<(), &'static str> {
        crate::types::from_json::<Vec<core::AlertRule>>("rules", crate::types::snake_keys(rules))
            .and_then(|r| self.inner.set_alert_rules(r))
            .map_err(sync_error)
    }

    /// Write an online backup into the new file `path` (writers may keep writing).
    #[napi(
        ts_return_type = "Promise<{ path: string; bytes: number; schemaVersion: number; modelId: string | null; memories: number; users: number; vectors: number; indexFiles: number; durationMs: number }>"
    )]
    pub fn backup(&self, path: String) -> AsyncTask<Job<Json>> {
        let inner = self.inner.clone();
        AsyncTask::new(Job::new(move || Json::of(&inner.backup(&path)?)))
    }

    /// Bring `user`'s memories back to how they were at `at`; other users are untouched.
    #[napi(
        ts_return_type = "Promise<{ user: string; at: string; reverted: Array<number>; removed: Array<number>; unchanged: number; unrestorable: Array<number> }>"
    )]
    pub fn restore_user(&self, user: String, at: Date) -> AsyncTask<Job<Json>> {
        let inner = self.inner.clone();
        AsyncTask::new(Job::new(move || Json::of(&inner.restore_user(&user, at.0)?)))
    }

    /// Write `user`'s memories as JSON Lines into the new file `path`; resolves to how many.
    #[napi(
        ts_args_type = "user: string, path: string, options?: { vectors?: boolean }",
        ts_return_type = "Promise<number>"
    )]
    pub fn export_user(&self, user: String, path: String, options: Option<Value>) -> AsyncTask<Job<i64>> {
        let inner = self.inner.clone();
        let vectors =
            options.as_ref().and_then(|o| o.get("vectors")).and_then(Value::as_bool).unwrap_or(false);
        AsyncTask::new(Job::new(move || inner.export_user_to(&user, vectors, &path).map(|n| n as i64)))
    }

    /// Import JSON Lines of memories (`exportUser`'s output, or memory objects).
    #[napi(
        ts_args_type = "path: string, options?: { batch?: number }",
        ts_return_type = "Promise<{ imported: number; vectorsKept: number; reembedded: number }>"
    )]
    pub fn import_jsonl(&self, path: String, options: Option<Value>) -> AsyncTask<Job<Json>> {
        let inner = self.inner.clone();
        let batch =
            options.as_ref().and_then(|o| o.get("batch")).and_then(Value::as_u64).unwrap_or(1000) as usize;
        AsyncTask::new(Job::new(move || Json::of(&inner.import_jsonl_from(&path, batch, &mut |_| {})?)))
    }
}

/// Check a backup file, a store directory or a PostgreSQL store (its URL); `ok` is true
/// only when it is sound. An encrypted
/// one needs its key (`options.key`, else `MEMORABLE_KEY`): WRONG_KEY otherwise.
// Exported to JavaScript by #[napi]; the Rust unit tests do not call it.
#[cfg_attr(test, allow(dead_code))]
#[napi(
    ts_return_type = "Promise<{ path: string; kind: 'backup' | 'store'; ok: boolean; problems: Array<string>; warnings: Array<string>; schemaVersion: number | null; modelId: string | null; memories: number; users: number; vectors: number; bytes: number; manifest: unknown }>"
)]
pub fn verify(path: String, options: Option<KeyOptions>) -> AsyncTask<Job<Json>> {
    let key = options.and_then(|o| o.key);
    AsyncTask::new(Job::new(move || {
        let key = core::EncryptionKey::given_or_env(key)?;
        Json::of(&core::verify_with_key(&path, key.as_ref(), &mut |_, _| {})?)
    }))
}

/// The key of an encrypted store or backup (`verify`, `restore`); else `MEMORABLE_KEY`.
#[napi(object)]
pub struct KeyOptions {
    pub key: Option<String>,
}

/// Give the encrypted store in `path` (open nowhere) the key `newKey`: WRONG_KEY when `oldKey`
/// does not open it, LOCKED while it is open. Crash-safe: one of the two keys always opens it.
// Exported to JavaScript by #[napi]; the Rust unit tests do not call it.
#[cfg_attr(test, allow(dead_code))]
#[napi(ts_return_type = "Promise<void>")]
pub fn rekey(path: String, old_key: String, new_key: String) -> AsyncTask<Job<()>> {
    AsyncTask::new(Job::new(move || {
        let (old, new) = (core::EncryptionKey::new(old_key)?, core::EncryptionKey::new(new_key)?);
        core::rekey(&path, &old, &new)
    }))
}

/// Restore the backup file into the new directory `newDir`, or into an empty PostgreSQL
/// database given as a `postgres://` URL (never over an existing store); a
/// damaged backup rejects with code CORRUPT and writes nothing. The backup of an encrypted
/// store needs its key (`options.key`, else `MEMORABLE_KEY`) and stays encrypted.
// Exported to JavaScript by #[napi]; the Rust unit tests do not call it.
#[cfg_attr(test, allow(dead_code))]
#[napi(
    ts_return_type = "Promise<{ path: string; schemaVersion: number; modelId: string | null; memories: number; users: number; indexFiles: number }>"
)]
pub fn restore(backup: String, new_dir: String, options: Option<KeyOptions>) -> AsyncTask<Job<Json>> {
    let key = options.and_then(|o| o.key);
    AsyncTask::new(Job::new(move || {
        let key = core::EncryptionKey::given_or_env(key)?;
        Json::of(&core::restore_with_key(&backup, &new_dir, key.as_ref(), &mut |_, _| {})?)
    }))
}

/// Every installed model version (the model registry): role, name, version, modelId, source,
/// files, installedAt, verification, state ('active', 'previous', 'candidate', 'failed').
// Exported to JavaScript by #[napi]; the Rust unit tests do not call it.
#[cfg_attr(test, allow(dead_code))]
#[napi(ts_args_type = "options?: { modelDir?: string }", ts_return_type = "Promise<Array<ModelVersion>>")]
pub fn models_list(options: Option<ModelsOptions>) -> AsyncTask<Job<Json>> {
    let dir = options.and_then(|o| o.model_dir);
    AsyncTask::new(Job::new(move || Json::of(&core::models_list(dir.as_deref().map(std::path::Path::new))?)))
}

/// Install, verify and activate the newest version of `name` (or of every installed model
/// with one) from the shipped manifest and `options.source`; resolves to the versions
/// activated (empty: up to date). A version failing verification rejects with
/// MODEL_VERIFICATION_FAILED and the active version stays.
#[cfg_attr(test, allow(dead_code))]
#[napi(
    ts_args_type = "name?: string | null, options?: { source?: string; modelDir?: string }",
    ts_return_type = "Promise<Array<ModelVersion>>"
)]
pub fn models_update(name: Option<String>, options: Option<ModelsOptions>) -> AsyncTask<Job<Json>> {
    let (dir, source) = options.map_or((None, None), |o| (o.model_dir, o.source));
    AsyncTask::new(Job::new(move || {
        let (dir, source) =
            (dir.as_deref().map(std::path::Path::new), source.as_deref().map(std::path::Path::new));
        Json::of(&core::models_update(dir, name.as_deref(), source)?)
    }))
}

/// Make the previous version of `name` active again (rejects with NO_PREVIOUS_VERSION when
/// there is none; nothing changes).
#[cfg_attr(test, allow(dead_code))]
#[napi(
    ts_args_type = "name: string, options?: { modelDir?: string }",
    ts_return_type = "Promise<ModelVersion>"
)]
pub fn models_rollback(name: String, options: Option<ModelsOptions>) -> AsyncTask<Job<Json>> {
    let dir = options.and_then(|o| o.model_dir);
    AsyncTask::new(Job::new(move || {
        Json::of(&core::models_rollback(dir.as_deref().map(std::path::Path::new), &name)?)
    }))
}

/// Remove the versions nothing needs (never the active, previous or one an open store uses).
#[cfg_attr(test, allow(dead_code))]
#[napi(
    ts_args_type = "options?: { modelDir?: string; limitMb?: number }",
    ts_return_type = "Promise<{ removed: Array<string>; inUse: Array<string>; partial: Array<string>; freedBytes: number; cacheBytes: number; overLimit: boolean }>"
)]
pub fn models_gc(options: Option<ModelsOptions>) -> AsyncTask<Job<Json>> {
    let (dir, limit) = options.map_or((None, None), |o| (o.model_dir, o.limit_mb));
    AsyncTask::new(Job::new(move || {
        Json::of(&core::models_gc(dir.as_deref().map(std::path::Path::new), limit.map(|l| l.max(0) as u64))?)
    }))
}

/// Options of the model registry functions.
#[napi(object)]
pub struct ModelsOptions {
    pub model_dir: Option<String>,
    pub source: Option<String>,
    pub limit_mb: Option<i64>,
}

/// One installed model version (`modelsList`).
#[napi(object)]
#[allow(dead_code)]
pub struct ModelVersion {
    pub role: String,
    pub name: String,
    pub version: String,
    pub model_id: String,
    pub backend: String,
    pub state: String,
    pub folder: String,
    pub installed_at: i64,
    pub source: Value,
    pub files: Vec<Value>,
    pub verification: Option<Value>,
    pub failure: Option<String>,
}

/// An alert rule (`alertRules()`, `setAlertRules()`): exactly one of `above` / `below`;
/// `forMs` is how long the condition must hold before the alert fires (default 0).
#[napi(object)]
#[allow(dead_code)]
pub struct AlertRule {
    pub name: String,
    /// e.g. `recall_p95_ms`, `disk_free_mb`, `error_rate` (docs/operations.md).
    pub metric: String,
    pub above: Option<f64>,
    pub below: Option<f64>,
    pub for_ms: Option<f64>,
}

/// An alert that fired or resolved (TypeScript shape of the events `onAlert` receives;
/// they arrive as plain objects converted from the core's `AlertEvent`).
#[napi(object)]
#[allow(dead_code)]
pub struct AlertEvent {
    pub rule: String,
    pub metric: String,
    #[napi(ts_type = "'firing' | 'resolved'")]
    pub state: String,
    pub value: f64,
    pub threshold: f64,
    #[napi(ts_type = "'above' | 'below'")]
    pub condition: String,
    pub for_ms: f64,
    pub duration_ms: f64,
    pub at: String,
    pub message: String,
}
