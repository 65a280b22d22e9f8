//! Custom classifiers: label sets, examples and corrections, training jobs, deployment, named
//! classification and per-user calibration. Reports are the core's serde shapes (snake_case
//! keys, like jobs); training options are a plain object with the core's `TrainOptions` keys.
//! Training runs off the JS thread; its progress reaches the JS callback on the JS thread.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use memorable_core as core;
use napi::bindgen_prelude::{AsyncTask, ToNapiValue, TypeName};
use napi::{sys, Env, Task, ValueType};
use napi_derive::napi;
use serde_json::Value;

use crate::classify::Classified;
use crate::error::{async_error, panic_message, sync_error};
use crate::generation::{call_js, to_json, JsonCallback};
use crate::handle::Memorable;
use crate::ops::Json;
use crate::task::Job;

type Code = &'static str;

/// Options of a training job (`train`, `trainAndWait`): the core's `TrainOptions`, keys as
/// the core spells them; every key is optional. Bad values throw `INVALID_INPUT`.
// Declares the TypeScript type only: the object crosses as JSON through serde.
#[allow(dead_code)]
#[napi(object)]
pub struct TrainOptions {
    /// `'quick'` (default: a new head on the frozen encoder) or `'full'` (LoRA + head).
    #[napi(ts_type = "'quick' | 'full'")]
    pub preset: Option<String>,
    /// Passes over the training rows (default: 12 for quick, 2 for full).
    pub epochs: Option<u32>,
    /// Threads the job computes on (default 1).
    pub threads: Option<u32>,
    /// Default 42: the same seed and data train the same model.
    pub seed: Option<i64>,
    /// Share of each label's examples held out for evaluation (default 0.2).
    #[napi(js_name = "eval_fraction")]
    pub eval_fraction: Option<f64>,
    /// Share of the rest that tunes thresholds (default 0.1).
    #[napi(js_name = "holdout_fraction")]
    pub holdout_fraction: Option<f64>,
    /// `'auto'` (default: deploy when it beats the deployed model by `margin`), `'never'`
    /// (keep it as a candidate) or `'always'`.
    #[napi(ts_type = "'auto' | 'never' | 'always'")]
    pub deploy: Option<String>,
    /// Macro-F1 gain needed to deploy with `'auto'` (default 0.01).
    pub margin: Option<f64>,
    /// Train on users' examples and corrections too (default false).
    #[napi(js_name = "include_user_examples")]
    pub include_user_examples: Option<bool>,
    /// Steps between checkpoints (default 200).
    #[napi(js_name = "checkpoint_every")]
    pub checkpoint_every: Option<u32>,
}

/// Where a training job is (`trainAndWait` / `runJob` progress, `job(id).progress`).
#[allow(dead_code)]
#[napi(object, use_nullable = true)]
pub struct TrainingProgress {
    pub job: i64,
    #[napi(ts_type = "'features' | 'train' | 'evaluate' | 'deploy'")]
    pub phase: String,
    pub done: i64,
    pub total: i64,
    /// Training steps done (in `train`).
    pub step: i64,
    /// Epochs done (fractional).
    pub epoch: f64,
    pub loss: Option<f64>,
    /// Seconds left in this phase at the current pace.
    #[napi(js_name = "eta_seconds")]
    pub eta_seconds: Option<f64>,
    pub message: Option<String>,
}

/// A classifier: its labels and how they map onto the emotion catalog.
#[allow(dead_code)]
#[napi(object, use_nullable = true)]
pub struct ClassifierInfo {
    pub name: String,
    pub labels: Vec<String>,
    /// Label → catalog expression id.
    pub mapping: BTreeMap<String, String>,
    /// Labels with no catalog expression (kept as extra dimensions).
    pub unmapped: Vec<String>,
    /// The shipped classifier (`goemotions`).
    pub builtin: bool,
    /// The deployed version (null: nothing deployed yet).
    pub deployed: Option<String>,
    pub examples: i64,
}

/// What an add or an import did.
#[allow(dead_code)]
#[napi(object)]
pub struct ExampleImport {
    pub classifier: String,
    pub added: i64,
    /// Texts already there (the last labels win).
    pub duplicates: i64,
    /// The classifier was created with the labels the input uses.
    pub created: bool,
}

/// A stored example.
#[allow(dead_code)]
#[napi(object, use_nullable = true)]
pub struct Example {
    pub id: i64,
    pub text: String,
    pub labels: Vec<String>,
    /// `api`, `import:<file>`, `correction`, ...
    pub source: String,
    /// Its user (null: the application's).
    pub user: Option<String>,
    /// The memory a correction is about.
    #[napi(js_name = "memory_id")]
    pub memory_id: Option<i64>,
    /// RFC 3339.
    #[napi(js_name = "created_at")]
    pub created_at: String,
}

/// Counts of a classifier's examples.
#[allow(dead_code)]
#[napi(object)]
pub struct ExampleStats {
    pub classifier: String,
    pub total: i64,
    pub application: i64,
    pub user: i64,
    pub corrections: i64,
    pub users: i64,
    /// Every label of the set, zero included.
    #[napi(js_name = "per_label")]
    pub per_label: BTreeMap<String, i64>,
    pub unlabelled: i64,
}

/// A user's calibration of a classifier.
#[allow(dead_code)]
#[napi(object)]
pub struct Calibration {
    pub classifier: String,
    pub user: String,
    /// The deployed version it was tuned for (`name@version`).
    pub model: String,
    pub examples: i64,
    /// Label → the user's threshold (above 1: never predicted for this user).
    pub thresholds: BTreeMap<String, f64>,
    #[napi(js_name = "macro_f1_model")]
    pub macro_f1_model: f64,
    #[napi(js_name = "macro_f1_user")]
    pub macro_f1_user: f64,
}

/// A labelled text of `addExamples`.
#[napi(object)]
pub struct NewExample {
    pub text: String,
    pub labels: Vec<String>,
}

/// Options of `addExample` / `addExamples`.
#[napi(object)]
pub struct ExampleOptions {
    /// Where the examples come from (default `'api'`).
    pub source: Option<String>,
    /// The user they belong to (default: the application's).
    pub user: Option<String>,
}

/// A user option (`examples`, `classifyAs`).
#[napi(object)]
pub struct UserOptions {
    pub user: Option<String>,
}

/// A job as a plain JS object (the core's `JobInfo`, snake_case keys like `job(id)`).
pub struct JobJson(Value);

impl TypeName for JobJson {
    fn type_name() -> &'static str {
        "object"
    }
    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for JobJson {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        unsafe { Value::to_napi_value(env, val.0) }
    }
}

fn train_options(options: Option<Value>) -> core::Result<core::TrainOptions> {
    match options {
        None | Some(Value::Null) => Ok(core::TrainOptions::default()),
        Some(v) => {
            serde_json::from_value(v).map_err(|e| core::Error::InvalidInput(format!("training options: {e}")))
        }
    }
}

fn job_id(id: i64) -> core::JobId {
    id.max(0) as core::JobId
}

/// What a training task runs.
enum Training {
    New { classifier: String, options: core::Result<core::TrainOptions> },
    Run(core::JobId),
}

/// `trainAndWait` / `runJob` off the JS thread. Each progress report blocks the worker until
/// the JS callback has returned; a callback that throws cancels the job, and its exception
/// rejects the Promise.
pub struct Train {
    inner: core::Memorable,
    work: Option<Training>,
    on_progress: Option<JsonCallback>,
}

impl Task for Train {
    type Output = (core::Result<core::JobInfo>, Option<napi::Error>);
    type JsValue = JobJson;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let on_progress = self.on_progress.take();
        let work = self.work.take().ok_or_else(|| napi::Error::from_reason("task already ran"))?;
        let mut thrown = None;
        let mut progress = |p: &core::TrainingProgress| match &on_progress {
            None => true,
            Some(cb) => call_js(cb, serde_json::to_value(p).unwrap_or(Value::Null)).unwrap_or_else(|e| {
                thrown = Some(e);
                false
            }),
        };
        let result = catch_unwind(AssertUnwindSafe(|| match work {
            Training::New { classifier, options } => {
                self.inner.train_and_wait(&classifier, &options?, &mut progress)
            }
            Training::Run(id) => self.inner.run_job(id, &mut progress),
        }))
        .unwrap_or_else(|p| Err(core::Error::Panic(panic_message(p))));
        Ok((result, thrown))
    }

    fn resolve(&mut self, env: Env, (result, thrown): Self::Output) -> napi::Result<JobJson> {
        if let Some(thrown) = thrown {
            return Err(thrown);
        }
        let job = result.map_err(|e| async_error(&env, e))?;
        serde_json::to_value(job).map(JobJson).map_err(|e| async_error(&env, e.into()))
    }
}

#[napi]
impl Memorable {
    /// Create a classifier with its label set; `mapping` maps labels to catalog expressions
    /// (labels it leaves out map to the expression of the same name, if any; the rest are kept
    /// and listed as `unmapped`). Creating it again with the same labels changes the mapping
    /// only; other labels throw `INVALID_INPUT`.
    #[napi(ts_return_type = "ClassifierInfo")]
    pub fn create_classifier(
        &self,
        name: String,
        labels: Vec<String>,
        mapping: Option<BTreeMap<String, String>>,
    ) -> napi::Result<Value, Code> {
        let mapping = mapping.unwrap_or_default();
        to_json(self.inner.create_classifier(&name, &labels, &mapping).map_err(sync_error)?)
    }

    /// One classifier (`NOT_FOUND` if there is none).
    #[napi(ts_return_type = "ClassifierInfo")]
    pub fn classifier(&self, name: String) -> napi::Result<Value, Code> {
        to_json(self.inner.classifier(&name).map_err(sync_error)?)
    }

    /// Every classifier, `goemotions` first.
    #[napi(ts_return_type = "Array<ClassifierInfo>")]
    pub fn classifiers(&self) -> napi::Result<Value, Code> {
        to_json(self.inner.classifiers().map_err(sync_error)?)
    }

    /// Add one labelled example to an existing classifier (the application's, or with
    /// `options.user` that user's). A text already there gets the new labels.
    #[napi(ts_return_type = "ExampleImport")]
    pub fn add_example(
        &self,
        classifier: String,
        text: String,
        labels: Vec<String>,
        options: Option<ExampleOptions>,
    ) -> napi::Result<Value, Code> {
        let (source, user) = example_options(options);
        to_json(
            self.inner
                .add_example(&classifier, &text, &labels, &source, user.as_deref())
                .map_err(sync_error)?,
        )
    }

    /// Add many examples, all or nothing (an error names the 1-based position as `line`); a
    /// classifier that does not exist is created with the labels they use.
    #[napi(ts_return_type = "ExampleImport")]
    pub fn add_examples(
        &self,
        classifier: String,
        examples: Vec<NewExample>,
        options: Option<ExampleOptions>,
    ) -> napi::Result<Value, Code> {
        let (source, user) = example_options(options);
        let examples: Vec<core::NewExample> =
            examples.into_iter().map(|e| core::NewExample { text: e.text, labels: e.labels }).collect();
        to_json(
            self.inner.add_examples(&classifier, &examples, &source, user.as_deref()).map_err(sync_error)?,
        )
    }

    /// Import examples from a JSON Lines or TSV file, all or nothing (errors name the line);
    /// creates the classifier when it does not exist.
    #[napi(ts_return_type = "ExampleImport")]
    pub fn import_examples(&self, classifier: String, path: String) -> napi::Result<Value, Code> {
        to_json(self.inner.import_examples(&classifier, Path::new(&path)).map_err(sync_error)?)
    }

    /// Write the examples of `classifier` as JSON Lines into the new file `path`
    /// (`DESTINATION_EXISTS` if it exists); returns how many.
    #[napi]
    pub fn export_examples(&self, classifier: String, path: String) -> napi::Result<i64, Code> {
        self.inner.export_examples(&classifier, Path::new(&path)).map(|n| n as i64).map_err(sync_error)
    }

    /// The examples of `classifier` (with `options.user`: that user's only).
    #[napi(ts_return_type = "Array<Example>")]
    pub fn examples(&self, classifier: String, options: Option<UserOptions>) -> napi::Result<Value, Code> {
        let user = options.and_then(|o| o.user);
        to_json(self.inner.examples(&classifier, user.as_deref()).map_err(sync_error)?)
    }

    /// Counts of `classifier`'s examples, per label.
    #[napi(ts_return_type = "ExampleStats")]
    pub fn example_stats(&self, classifier: String) -> napi::Result<Value, Code> {
        to_json(self.inner.example_stats(&classifier).map_err(sync_error)?)
    }

    /// Record that `labels` (of `classifier`) are what memory `memoryId` expresses, as its
    /// owner's correction; with enough of them the owner gets their own thresholds.
    #[napi(ts_return_type = "Example")]
    pub fn correct(
        &self,
        memory_id: i64,
        labels: Vec<String>,
        classifier: String,
    ) -> napi::Result<Value, Code> {
        let id = crate::values::memory_id(memory_id).map_err(sync_error)?;
        to_json(self.inner.correct(id, &labels, &classifier).map_err(sync_error)?)
    }

    /// Queue a training job for `classifier`; returns its id at once. It runs on the store's
    /// background worker (config `classifiers.run_jobs`), or with `runJob`.
    #[napi(ts_args_type = "classifier: string, options?: TrainOptions")]
    pub fn train(&self, classifier: String, options: Option<Value>) -> napi::Result<i64, Code> {
        let options = train_options(options).map_err(sync_error)?;
        self.inner.train(&classifier, &options).map(|id| id as i64).map_err(sync_error)
    }

    /// Train off the JS thread and resolve to the job as it ended (`state`, `result` with
    /// `deployed`, `version`, `new`, `current`, `decision`, ...). `onProgress(progress)` is
    /// called on the JS thread at every step; returning `false` cancels.
    #[napi(
        ts_args_type = "classifier: string, options?: TrainOptions | null, onProgress?: (progress: TrainingProgress) => boolean | void",
        ts_return_type = "Promise<Record<string, any>>"
    )]
    pub fn train_and_wait(
        &self,
        classifier: String,
        options: Option<Value>,
        on_progress: Option<JsonCallback>,
    ) -> AsyncTask<Train> {
        let work = Training::New { classifier, options: train_options(options) };
        AsyncTask::new(Train { inner: self.inner.clone(), work: Some(work), on_progress })
    }

    /// Run a queued, paused or interrupted training job off the JS thread until it ends;
    /// resolves to the job.
    #[napi(
        ts_args_type = "id: number, onProgress?: (progress: TrainingProgress) => boolean | void",
        ts_return_type = "Promise<Record<string, any>>"
    )]
    pub fn run_job(&self, id: i64, on_progress: Option<JsonCallback>) -> AsyncTask<Train> {
        AsyncTask::new(Train {
            inner: self.inner.clone(),
            work: Some(Training::Run(job_id(id))),
            on_progress,
        })
    }

    /// Pause a training job (a running one checkpoints first); returns the job.
    #[napi(ts_return_type = "Record<string, any>")]
    pub fn pause_job(&self, id: i64) -> napi::Result<Value, Code> {
        to_json(self.inner.pause_job(job_id(id)).map_err(sync_error)?)
    }

    /// Queue a paused or interrupted training job again (it resumes from its checkpoint);
    /// returns the job.
    #[napi(ts_return_type = "Record<string, any>")]
    pub fn resume_job(&self, id: i64) -> napi::Result<Value, Code> {
        to_json(self.inner.resume_job(job_id(id)).map_err(sync_error)?)
    }

    /// Deploy a version of `classifier` (default: its newest candidate); `classifyAs` uses it
    /// from the next call.
    #[napi(ts_return_type = "ModelVersion")]
    pub fn deploy_classifier(&self, classifier: String, version: Option<String>) -> napi::Result<Json, Code> {
        self.inner
            .deploy_classifier(&classifier, version.as_deref())
            .and_then(|v| Json::of(&v))
            .map_err(sync_error)
    }

    /// Make the previously deployed version of `classifier` active again.
    #[napi(ts_return_type = "ModelVersion")]
    pub fn rollback_classifier(&self, classifier: String) -> napi::Result<Json, Code> {
        self.inner.rollback_classifier(&classifier).and_then(|v| Json::of(&v)).map_err(sync_error)
    }

    /// Readings of `texts` by the named classifier as deployed now; with `options.user`,
    /// labels follow that user's calibration when they have one.
    #[napi(ts_return_type = "Promise<Array<Classified>>")]
    pub fn classify_as(
        &self,
        texts: Vec<String>,
        classifier: String,
        options: Option<UserOptions>,
    ) -> AsyncTask<Job<Vec<Classified>>> {
        let inner = self.inner.clone();
        let user = options.and_then(|o| o.user);
        AsyncTask::new(Job::new(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            inner
                .classify_as(&refs, &classifier, user.as_deref())
                .map(|v| v.into_iter().map(Into::into).collect())
        }))
    }

    /// Tune `user`'s thresholds for `classifier` on their corrections now; null when they
    /// have fewer than `classifiers.personalize_min_corrections`.
    #[napi(ts_return_type = "Calibration | null")]
    pub fn calibrate(&self, classifier: String, user: String) -> napi::Result<Value, Code> {
        to_json(self.inner.calibrate(&classifier, &user).map_err(sync_error)?)
    }
}

fn example_options(options: Option<ExampleOptions>) -> (String, Option<String>) {
    match options {
        Some(o) => (o.source.unwrap_or_else(|| "api".to_owned()), o.user),
        None => ("api".to_owned(), None),
    }
}
