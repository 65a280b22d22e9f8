//! Custom classifiers over the C ABI: label sets, examples and corrections, training jobs,
//! deployment, named classification and per-user calibration. Inputs and reports cross as
//! JSON (the core's serde shapes, documented in docs/c.md); training progress reaches a C
//! callback on the calling thread.

use std::collections::BTreeMap;
use std::ffi::{c_char, c_void, CString};
use std::path::Path;

use memorable_core::{Memorable, NewExample, TrainOptions, TrainingProgress};

use crate::classify::memorable_classification;
use crate::convert::{array, cstr, opt_cstr, out_ptr, parse, utf8};
use crate::error::{ffi_try, memorable_error, Result};
use crate::generation::memorable_json_fn;
use crate::handle::{handle, memorable, owned_string};

/// Training options from JSON (NULL: the defaults).
fn train_options(json: Option<&str>) -> Result<TrainOptions> {
    json.map_or_else(|| Ok(TrainOptions::default()), |j| parse(j, "training options"))
}

/// `value` as a JSON string for the caller.
fn json_string(value: &impl serde::Serialize) -> Result<*mut c_char> {
    owned_string(serde_json::to_string(value)?)
}

/// The options of `memorable_add_examples`.
#[derive(serde::Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ExampleOptions {
    source: Option<String>,
    user: Option<String>,
}

/// Run a training call with `on_progress` turned into a Rust callback.
fn with_progress<T>(
    on_progress: memorable_json_fn,
    user_data: *mut c_void,
    run: impl FnOnce(&mut (dyn FnMut(&TrainingProgress) -> bool + Send)) -> Result<T>,
) -> Result<T> {
    // The caller vouches for `user_data` on this thread; the callback runs on it too.
    struct UserData(*mut c_void);
    unsafe impl Send for UserData {}
    let data = UserData(user_data);
    let mut progress = move |p: &TrainingProgress| {
        let data = &data;
        match on_progress {
            Some(f) => match serde_json::to_string(p).ok().and_then(|s| CString::new(s).ok()) {
                // SAFETY: the caller's callback, called on the calling thread with its data.
                Some(s) => unsafe { f(s.as_ptr(), data.0) },
                None => true,
            },
            None => true,
        }
    };
    run(&mut progress)
}

/// Create a classifier `(name, name_len)` with its label set: `labels_json` (NUL-terminated)
/// is a JSON array of label names; `mapping_json` (NUL-terminated, or NULL) a JSON object of
/// label → catalog expression id (labels it leaves out map to the expression of the same
/// name, if any; the rest are kept and listed as `unmapped`). Creating it again with the same
/// labels changes the mapping only; other labels are INVALID_INPUT (1). On success
/// `*info_json_out` receives the classifier (`name`, `labels`, `mapping`, `unmapped`,
/// `builtin`, `deployed`, `examples`; free with `memorable_string_free`).
#[no_mangle]
pub unsafe extern "C" fn memorable_create_classifier(
    m: *mut memorable,
    name: *const c_char,
    name_len: usize,
    labels_json: *const c_char,
    mapping_json: *const c_char,
    info_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let name = utf8(name, name_len, "name")?;
        let labels: Vec<String> = parse(cstr(labels_json, "labels_json")?, "labels_json")?;
        let mapping: BTreeMap<String, String> = match opt_cstr(mapping_json, "mapping_json")? {
            Some(j) => parse(j, "mapping_json")?,
            None => BTreeMap::new(),
        };
        let out = out_ptr(info_json_out, "info_json_out")?;
        *out = json_string(&m.create_classifier(name, &labels, &mapping)?)?;
        Ok(())
    })
}

/// The classifier `(name, name_len)` as JSON (as `memorable_create_classifier` returns it).
/// NOT_FOUND (10) when there is none.
#[no_mangle]
pub unsafe extern "C" fn memorable_classifier(
    m: *mut memorable,
    name: *const c_char,
    name_len: usize,
    info_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let name = utf8(name, name_len, "name")?;
        let out = out_ptr(info_json_out, "info_json_out")?;
        *out = json_string(&m.classifier(name)?)?;
        Ok(())
    })
}

/// Every classifier as a JSON array, `goemotions` (the shipped one) first.
#[no_mangle]
pub unsafe extern "C" fn memorable_classifiers(
    m: *mut memorable,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let out = out_ptr(json_out, "json_out")?;
        *out = json_string(&m.classifiers()?)?;
        Ok(())
    })
}

/// Add labelled examples to `(classifier, classifier_len)`, all or nothing: `examples_json`
/// (NUL-terminated) is a JSON array of `{"text": "...", "labels": ["..."]}`; an error names
/// the 1-based position of the bad example as its `line`. A classifier that does not exist is
/// created with the labels they use. `options_json` (NUL-terminated, or NULL) may carry
/// `source` (default `"api"`) and `user` (the user they belong to; default the
/// application's). A text already there gets the new labels. On success `*report_json_out`
/// receives `{"classifier", "added", "duplicates", "created"}`.
#[no_mangle]
pub unsafe extern "C" fn memorable_add_examples(
    m: *mut memorable,
    classifier: *const c_char,
    classifier_len: usize,
    examples_json: *const c_char,
    options_json: *const c_char,
    report_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let classifier = utf8(classifier, classifier_len, "classifier")?;
        let examples: Vec<NewExample> = parse(cstr(examples_json, "examples_json")?, "examples_json")?;
        let options: ExampleOptions = match opt_cstr(options_json, "options_json")? {
            Some(j) => parse(j, "options_json")?,
            None => ExampleOptions::default(),
        };
        let out = out_ptr(report_json_out, "report_json_out")?;
        let source = options.source.as_deref().unwrap_or("api");
        *out = json_string(&m.add_examples(classifier, &examples, source, options.user.as_deref())?)?;
        Ok(())
    })
}

/// Import examples into `(classifier, classifier_len)` from the JSON Lines or TSV file `path`
/// (NUL-terminated), all or nothing: a bad line is INVALID_INPUT (1) naming its line number,
/// and nothing is added. Creates the classifier when it does not exist. On success
/// `*report_json_out` receives `{"classifier", "added", "duplicates", "created"}`.
#[no_mangle]
pub unsafe extern "C" fn memorable_import_examples(
    m: *mut memorable,
    classifier: *const c_char,
    classifier_len: usize,
    path: *const c_char,
    report_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let classifier = utf8(classifier, classifier_len, "classifier")?;
        let path = cstr(path, "path")?;
        let out = out_ptr(report_json_out, "report_json_out")?;
        *out = json_string(&m.import_examples(classifier, Path::new(path))?)?;
        Ok(())
    })
}

/// Write the examples of `(classifier, classifier_len)` as JSON Lines into the new file
/// `path` (NUL-terminated; DESTINATION_EXISTS if it exists); `*count_out` receives how many.
#[no_mangle]
pub unsafe extern "C" fn memorable_export_examples(
    m: *mut memorable,
    classifier: *const c_char,
    classifier_len: usize,
    path: *const c_char,
    count_out: *mut u64,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let classifier = utf8(classifier, classifier_len, "classifier")?;
        let path = cstr(path, "path")?;
        let out = out_ptr(count_out, "count_out")?;
        *out = m.export_examples(classifier, Path::new(path))?;
        Ok(())
    })
}

/// The examples of `(classifier, classifier_len)` as a JSON array (`id`, `text`, `labels`,
/// `source`, `user`, `memory_id`, `created_at`); with `user` (NUL-terminated, or NULL for
/// all), that user's only.
#[no_mangle]
pub unsafe extern "C" fn memorable_examples(
    m: *mut memorable,
    classifier: *const c_char,
    classifier_len: usize,
    user: *const c_char,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let classifier = utf8(classifier, classifier_len, "classifier")?;
        let user = opt_cstr(user, "user")?;
        let out = out_ptr(json_out, "json_out")?;
        *out = json_string(&m.examples(classifier, user)?)?;
        Ok(())
    })
}

/// Counts of the examples of `(classifier, classifier_len)` as JSON (`total`,
/// `application`, `user`, `corrections`, `users`, `per_label`, `unlabelled`).
#[no_mangle]
pub unsafe extern "C" fn memorable_example_stats(
    m: *mut memorable,
    classifier: *const c_char,
    classifier_len: usize,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let classifier = utf8(classifier, classifier_len, "classifier")?;
        let out = out_ptr(json_out, "json_out")?;
        *out = json_string(&m.example_stats(classifier)?)?;
        Ok(())
    })
}

/// Record that `labels_json` (NUL-terminated JSON array of labels of `(classifier,
/// classifier_len)`) are what memory `memory_id` expresses, as its owner's correction; with
/// enough of them the owner gets their own thresholds. `*example_json_out` receives the
/// stored example.
#[no_mangle]
pub unsafe extern "C" fn memorable_correct(
    m: *mut memorable,
    memory_id: u64,
    labels_json: *const c_char,
    classifier: *const c_char,
    classifier_len: usize,
    example_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let labels: Vec<String> = parse(cstr(labels_json, "labels_json")?, "labels_json")?;
        let classifier = utf8(classifier, classifier_len, "classifier")?;
        let out = out_ptr(example_json_out, "example_json_out")?;
        *out = json_string(&m.correct(memory_id, &labels, classifier)?)?;
        Ok(())
    })
}

/// Queue a training job for `(classifier, classifier_len)`; `*job_out` receives its id at
/// once. `options_json` (NUL-terminated, or NULL for the defaults) is the core's
/// `TrainOptions` as a JSON object, every key optional: `preset` (`"quick"` | `"full"`),
/// `epochs`, `threads` (1), `seed` (42), `eval_fraction` (0.2), `holdout_fraction` (0.1),
/// `deploy` (`"auto"` | `"never"` | `"always"`), `margin` (0.01), `include_user_examples`
/// (false), `checkpoint_every` (200); unknown keys and bad values are INVALID_INPUT (1). The
/// job runs on the store's background worker (config `classifiers.run_jobs`) or with
/// `memorable_run_job`; `memorable_job` reports it, `memorable_cancel_job` cancels it.
#[no_mangle]
pub unsafe extern "C" fn memorable_train(
    m: *mut memorable,
    classifier: *const c_char,
    classifier_len: usize,
    options_json: *const c_char,
    job_out: *mut u64,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let classifier = utf8(classifier, classifier_len, "classifier")?;
        let options = train_options(opt_cstr(options_json, "options_json")?)?;
        let out = out_ptr(job_out, "job_out")?;
        *out = m.train(classifier, &options)?;
        Ok(())
    })
}

/// Train `(classifier, classifier_len)` on the calling thread and wait: `options_json` as for
/// `memorable_train`. `on_progress` (may be NULL) receives the progress as a JSON object
/// (`job`, `phase`: `"features"` | `"train"` | `"evaluate"` | `"deploy"`, `done`, `total`,
/// `step`, `epoch`, `loss`, `eta_seconds`, `message`) at every step; returning false cancels.
/// On success `*job_json_out` receives the job as it ended (as `memorable_job`: `state`,
/// `result` with `deployed`, `version`, `new`, `current`, `decision`, ...).
#[no_mangle]
pub unsafe extern "C" fn memorable_train_and_wait(
    m: *mut memorable,
    classifier: *const c_char,
    classifier_len: usize,
    options_json: *const c_char,
    on_progress: memorable_json_fn,
    user_data: *mut c_void,
    job_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m: &Memorable = handle(m)?;
        let classifier = utf8(classifier, classifier_len, "classifier")?;
        let options = train_options(opt_cstr(options_json, "options_json")?)?;
        let out = out_ptr(job_json_out, "job_json_out")?;
        let job = with_progress(on_progress, user_data, |p| m.train_and_wait(classifier, &options, p))?;
        *out = json_string(&job)?;
        Ok(())
    })
}

/// Run the queued, paused or interrupted training job `id` on the calling thread until it
/// ends; `on_progress` as for `memorable_train_and_wait`. `*job_json_out` receives the job.
#[no_mangle]
pub unsafe extern "C" fn memorable_run_job(
    m: *mut memorable,
    id: u64,
    on_progress: memorable_json_fn,
    user_data: *mut c_void,
    job_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m: &Memorable = handle(m)?;
        let out = out_ptr(job_json_out, "job_json_out")?;
        let job = with_progress(on_progress, user_data, |p| m.run_job(id, p))?;
        *out = json_string(&job)?;
        Ok(())
    })
}

/// Pause the training job `id` (a running one checkpoints first); `*job_json_out` (may be
/// NULL) receives the job.
#[no_mangle]
pub unsafe extern "C" fn memorable_pause_job(
    m: *mut memorable,
    id: u64,
    job_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let job = handle(m)?.pause_job(id)?;
        if !job_json_out.is_null() {
            *job_json_out = json_string(&job)?;
        }
        Ok(())
    })
}

/// Queue the paused or interrupted training job `id` again (it resumes from its checkpoint
/// on the background worker or with `memorable_run_job`); `*job_json_out` (may be NULL)
/// receives the job.
#[no_mangle]
pub unsafe extern "C" fn memorable_resume_job(
    m: *mut memorable,
    id: u64,
    job_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let job = handle(m)?.resume_job(id)?;
        if !job_json_out.is_null() {
            *job_json_out = json_string(&job)?;
        }
        Ok(())
    })
}

/// Deploy a version of `(classifier, classifier_len)`: `version` (NUL-terminated), or NULL
/// for its newest candidate. `memorable_classify_as` uses it from the next call, in every
/// process. `*version_json_out` (may be NULL) receives the registry's version (`name`,
/// `version`, `model_id`, `state`, ...).
#[no_mangle]
pub unsafe extern "C" fn memorable_deploy_classifier(
    m: *mut memorable,
    classifier: *const c_char,
    classifier_len: usize,
    version: *const c_char,
    version_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let classifier = utf8(classifier, classifier_len, "classifier")?;
        let version = opt_cstr(version, "version")?;
        let deployed = m.deploy_classifier(classifier, version)?;
        if !version_json_out.is_null() {
            *version_json_out = json_string(&deployed)?;
        }
        Ok(())
    })
}

/// Make the previously deployed version of `(classifier, classifier_len)` active again
/// (NO_PREVIOUS_VERSION when there is none); `*version_json_out` (may be NULL) receives it.
#[no_mangle]
pub unsafe extern "C" fn memorable_rollback_classifier(
    m: *mut memorable,
    classifier: *const c_char,
    classifier_len: usize,
    version_json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let classifier = utf8(classifier, classifier_len, "classifier")?;
        let version = m.rollback_classifier(classifier)?;
        if !version_json_out.is_null() {
            *version_json_out = json_string(&version)?;
        }
        Ok(())
    })
}

/// Classify `count` texts (`(texts[i], text_lens[i])`, UTF-8) with the classifier
/// `(classifier, classifier_len)` as deployed now, into a new `memorable_classification` (as
/// `memorable_classify`: labels are the classifier's, alphabetical). With `user`
/// (NUL-terminated, or NULL), labels follow that user's calibration when they have one. An
/// unknown classifier is NOT_FOUND (10); one with nothing deployed CLASSIFIER_UNAVAILABLE
/// (35). With `count` 0 the arrays may be NULL.
#[no_mangle]
pub unsafe extern "C" fn memorable_classify_as(
    m: *mut memorable,
    count: usize,
    texts: *const *const c_char,
    text_lens: *const usize,
    classifier: *const c_char,
    classifier_len: usize,
    user: *const c_char,
    out: *mut *mut memorable_classification,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let texts = array(texts, count, "texts")?;
        let text_lens = array(text_lens, count, "text_lens")?;
        let classifier = utf8(classifier, classifier_len, "classifier")?;
        let user = opt_cstr(user, "user")?;
        let out = out_ptr(out, "out")?;
        let refs = (0..count).map(|i| utf8(texts[i], text_lens[i], "text")).collect::<Result<Vec<_>, _>>()?;
        let result = memorable_classification::new(m.classify_as(&refs, classifier, user)?)?;
        *out = Box::into_raw(Box::new(result));
        Ok(())
    })
}

/// Tune the thresholds of `(user, user_len)` for `(classifier, classifier_len)` on their
/// corrections now. `*json_out` receives the calibration (`classifier`, `user`, `model`,
/// `examples`, `thresholds`, `macro_f1_model`, `macro_f1_user`), or `null` when the user has
/// fewer corrections than `classifiers.personalize_min_corrections`.
#[no_mangle]
pub unsafe extern "C" fn memorable_calibrate(
    m: *mut memorable,
    classifier: *const c_char,
    classifier_len: usize,
    user: *const c_char,
    user_len: usize,
    json_out: *mut *mut c_char,
) -> *mut memorable_error {
    ffi_try!({
        let m = handle(m)?;
        let classifier = utf8(classifier, classifier_len, "classifier")?;
        let user = utf8(user, user_len, "user")?;
        let out = out_ptr(json_out, "json_out")?;
        *out = json_string(&m.calibrate(classifier, user)?)?;
        Ok(())
    })
}
