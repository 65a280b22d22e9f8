//! Training jobs: queued in the store, run one at a time (on a background worker, or on
//! the caller's thread), paused, resumed and cancelled; checkpointed into the store so a job
//! interrupted by a crash or a close resumes where it was on the next open (or `resume`).
//!
//! A finished job evaluates the new model and the deployed one on the same evaluation
//! split, installs the new one in the model registry, and deploys it when the policy says
//! so (see [`super::deploy`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::collect::{examples, require};
use super::deploy::{self, Decision};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::jobs::{self, JobId, JobInfo, JobState};
use crate::store::{self, examples as rows, jobs::RESUMABLE_KIND};
use crate::time::now_ms;
use crate::training::custom::{self, Control, Outcome, StepReport};
use crate::training::split::{split, Dataset};
use crate::training::TrainOptions;

/// Where a training job is, as progress callbacks and `job().progress` report it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrainingProgress {
    pub job: JobId,
    /// `features`, `train`, `evaluate` or `deploy`.
    pub phase: String,
    pub done: u64,
    pub total: u64,
    /// Training steps done (in `train`), and epochs done (fractional).
    pub step: u64,
    pub epoch: f64,
    pub loss: Option<f64>,
    /// Seconds left in this phase at the current pace.
    pub eta_seconds: Option<f64>,
    pub message: Option<String>,
}

const NONE: u8 = 0;
const PAUSE: u8 = 1;
const CANCEL: u8 = 2;
/// Pause for a close: the job goes back to `queued` and resumes at the next open.
const CLOSE: u8 = 3;

/// This process's training: the one-at-a-time lock, the control flag of the running job,
/// and the background worker.
#[derive(Debug, Default)]
pub struct TrainingRuntime {
    one_at_a_time: Mutex<()>,
    running: Mutex<HashMap<JobId, Arc<AtomicU8>>>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
    worker_busy: Arc<AtomicBool>,
    stopping: AtomicBool,
}

impl TrainingRuntime {
    fn request(&self, id: JobId, what: u8) -> bool {
        match self.running.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
            Some(flag) => {
                flag.store(what, Ordering::Release);
                true
            }
            None => false,
        }
    }

    /// Stop for a close: the running job checkpoints and goes back to `queued`; the worker
    /// ends.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        for flag in self.running.lock().unwrap_or_else(|e| e.into_inner()).values() {
            flag.store(CLOSE, Ordering::Release);
        }
        if let Some(w) = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = w.join();
        }
    }
}

/// Queue a training job for `classifier`.
pub(crate) fn queue(engine: &Engine, classifier: &str, opts: &TrainOptions) -> Result<JobId> {
    require(engine, classifier)?;
    opts.validate()?;
    let params = json!({"classifier": classifier, "options": opts});
    store::jobs::insert_job(&engine.store.locked(), RESUMABLE_KIND, "queued", None, &params, now_ms())
}

/// Run queued jobs on a background thread until none is left (one worker per process).
pub(crate) fn start_worker(rt: &Arc<TrainingRuntime>, engine: Arc<Engine>) -> Result<()> {
    if rt.stopping.load(Ordering::Acquire) || rt.worker_busy.swap(true, Ordering::AcqRel) {
        return Ok(());
    }
    let rt2 = rt.clone();
    let busy = rt.worker_busy.clone();
    let handle = std::thread::Builder::new()
        .name("memorable-training".into())
        .spawn(move || {
            loop {
                if rt2.stopping.load(Ordering::Acquire) {
                    break;
                }
                let next = store::jobs::next_queued(&engine.store.locked(), RESUMABLE_KIND);
                let Ok(Some(id)) = next else { break };
                if let Err(e) = run(&engine, &rt2, id, &mut |_| true) {
                    tracing::warn!(job = id, error = %e, "training job failed");
                }
            }
            busy.store(false, Ordering::Release);
        })
        .map_err(|e| Error::Internal(format!("cannot start the training worker: {e}")))?;
    let mut slot = rt.worker.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(old) = slot.take() {
        if old.is_finished() {
            let _ = old.join();
        }
    }
    *slot = Some(handle);
    Ok(())
}

/// Start the worker when jobs are queued (at open: interrupted jobs went back to the queue).
pub(crate) fn start_worker_if_queued(rt: &Arc<TrainingRuntime>, engine: &Arc<Engine>) -> Result<()> {
    if store::jobs::next_queued(&engine.store.locked(), RESUMABLE_KIND)?.is_some() {
        start_worker(rt, engine.clone())?;
    }
    Ok(())
}

fn check_kind(job: &JobInfo) -> Result<()> {
    if job.kind != RESUMABLE_KIND {
        return Err(Error::InvalidInput(format!("job {} is a {} job, not a training job", job.id, job.kind)));
    }
    Ok(())
}

/// Pause a job: a running one checkpoints at its next step; a queued one waits.
pub(crate) fn pause(engine: &Engine, rt: &TrainingRuntime, id: JobId) -> Result<JobInfo> {
    let job = jobs::get(engine, id)?;
    check_kind(&job)?;
    match job.state {
        JobState::Running if rt.request(id, PAUSE) => {}
        JobState::Queued | JobState::Running => {
            store::jobs::set_state(&engine.store.locked(), id, "paused", now_ms())?;
        }
        JobState::Paused => {}
        s => {
            return Err(Error::InvalidInput(format!("job {id} is {s}; only a queued or running job pauses")))
        }
    }
    jobs::get(engine, id)
}

/// Queue a paused (or interrupted) job again; the caller runs it or starts the worker.
pub(crate) fn resume(engine: &Engine, id: JobId) -> Result<JobInfo> {
    let job = jobs::get(engine, id)?;
    check_kind(&job)?;
    match job.state {
        JobState::Paused | JobState::Queued => {
            store::jobs::set_state(&engine.store.locked(), id, "queued", now_ms())?;
        }
        JobState::Running => {}
        s => return Err(Error::InvalidInput(format!("job {id} is {s}; it cannot resume"))),
    }
    jobs::get(engine, id)
}

/// Cancel a training job: a running one stops at its next step; a queued or paused one
/// ends at once. Nothing is deployed; the checkpoint goes.
pub(crate) fn cancel(engine: &Engine, rt: &TrainingRuntime, id: JobId) -> Result<JobInfo> {
    let job = jobs::get(engine, id)?;
    check_kind(&job)?;
    if job.state.is_final() {
        return Ok(job);
    }
    if !(job.state == JobState::Running && rt.request(id, CANCEL)) {
        let conn = engine.store.locked();
        store::jobs::finish_job(&conn, id, "cancelled", None, Some("cancelled"), now_ms())?;
        rows::delete_checkpoint(&conn, id)?;
    }
    jobs::get(engine, id)
}

/// Run job `id` (queued, paused, or left running by a process that ended) on this thread
/// until it ends or pauses; `progress` hears every step and returning false cancels.
pub(crate) fn run(
    engine: &Engine,
    rt: &TrainingRuntime,
    id: JobId,
    progress: &mut (dyn FnMut(&TrainingProgress) -> bool + Send),
) -> Result<JobInfo> {
    let _one = rt.one_at_a_time.lock().unwrap_or_else(|e| e.into_inner());
    let job = jobs::get(engine, id)?;
    check_kind(&job)?;
    if job.state.is_final() {
        return Err(Error::InvalidInput(format!(
            "job {id} has ended ({}); train again for a new one",
            job.state
        )));
    }
    if !store::jobs::claim(&engine.store.locked(), id, now_ms())? {
        return Err(Error::InvalidInput(format!("job {id} is running in another process")));
    }
    let flag = Arc::new(AtomicU8::new(NONE));
    rt.running.lock().unwrap_or_else(|e| e.into_inner()).insert(id, flag.clone());
    let outcome = work(engine, id, &job.params, &flag, progress);
    rt.running.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
    let conn = engine.store.locked();
    let now = now_ms();
    match &outcome {
        Ok(Some(result)) => {
            store::jobs::finish_job(&conn, id, "succeeded", Some(result), None, now)?;
            rows::delete_checkpoint(&conn, id)?;
        }
        Ok(None) => match flag.load(Ordering::Acquire) {
            CANCEL => {
                store::jobs::finish_job(&conn, id, "cancelled", None, Some("cancelled"), now)?;
                rows::delete_checkpoint(&conn, id)?;
            }
            CLOSE => store::jobs::set_state(&conn, id, "queued", now)?,
            _ => store::jobs::set_state(&conn, id, "paused", now)?,
        },
        Err(e) => {
            store::jobs::finish_job(&conn, id, "failed", None, Some(&e.to_string()), now)?;
            rows::delete_checkpoint(&conn, id)?;
        }
    }
    drop(conn);
    outcome?;
    jobs::get(engine, id)
}

fn log(engine: &Engine, id: JobId, line: &str) {
    tracing::info!(job = id, "{line}");
    if let Err(e) = store::jobs::log_line(&engine.store.locked(), id, line, now_ms()) {
        tracing::warn!(job = id, error = %e, "could not write the job's log");
    }
}

/// The job's work: `Some(result)` when it finished, `None` when it stopped (paused,
/// cancelled, closing: the flag says which).
fn work(
    engine: &Engine,
    id: JobId,
    params: &Value,
    flag: &AtomicU8,
    progress: &mut (dyn FnMut(&TrainingProgress) -> bool + Send),
) -> Result<Option<Value>> {
    let started = Instant::now();
    let classifier = params["classifier"]
        .as_str()
        .ok_or_else(|| Error::Corrupt(format!("job {id} names no classifier")))?;
    let opts: TrainOptions = serde_json::from_value(params["options"].clone())
        .map_err(|e| Error::Corrupt(format!("job {id} options: {e}")))?;
    let (labels, _) = require(engine, classifier)?;
    let mut ds = Dataset { labels: labels.clone(), texts: Vec::new(), gold: Vec::new() };
    for e in examples(engine, classifier, None)? {
        if e.user.is_some() && !opts.include_user_examples {
            continue;
        }
        ds.gold.push(e.labels.iter().filter_map(|l| labels.iter().position(|x| x == l)).collect());
        ds.texts.push(e.text);
    }
    let parts = split(&ds, opts.eval_fraction, opts.holdout_fraction, opts.seed);
    let resume = engine.store.read(|c| rows::get_checkpoint(c, id))?;
    match &resume {
        Some((state, _)) => log(engine, id, &format!("resuming from checkpoint {state}")),
        None => log(
            engine,
            id,
            &format!(
                "training {classifier} ({} preset) on {} examples: {} fitted, {} tuning, {} evaluation",
                opts.preset,
                ds.len(),
                parts.fit.len(),
                parts.tune.len(),
                parts.eval.len()
            ),
        ),
    }
    let encoder = deploy::encoder(engine)?;
    let out_dir = staging_dir(engine, id);
    let _ = std::fs::remove_dir_all(&out_dir);
    let registry_name = crate::deployed::registry_name(classifier);
    let model_id = format!("memorable/{classifier}-classifier");
    let target = custom::Target { out_dir: &out_dir, name: &registry_name, model_id: &model_id };
    let mut phase = (String::new(), Instant::now());
    let mut last_write = Instant::now() - std::time::Duration::from_secs(10);
    let mut on_step = |r: &StepReport| -> Control {
        if phase.0 != r.phase {
            phase = (r.phase.clone(), Instant::now());
        }
        let elapsed = phase.1.elapsed().as_secs_f64();
        let eta =
            (r.done > 0 && r.total >= r.done).then(|| elapsed / r.done as f64 * (r.total - r.done) as f64);
        let p = TrainingProgress {
            job: id,
            phase: r.phase.clone(),
            done: r.done,
            total: r.total,
            step: if r.phase == "train" { r.done } else { 0 },
            epoch: r.epoch,
            loss: r.loss,
            eta_seconds: eta,
            message: r.message.clone(),
        };
        if let Some(m) = &r.message {
            log(engine, id, m);
        }
        // The job row is updated at most twice a second (and at every evaluation).
        if r.message.is_some() || last_write.elapsed().as_millis() >= 500 || r.done == r.total {
            last_write = Instant::now();
            let _ = store::jobs::set_progress(&engine.store.locked(), id, &json!(p), now_ms());
        }
        if !progress(&p) {
            flag.store(CANCEL, Ordering::Release);
        }
        match flag.load(Ordering::Acquire) {
            NONE => Control::Continue,
            CANCEL => Control::Cancel,
            _ => Control::Pause,
        }
    };
    let mut save = |state: &str, data: &[u8]| {
        rows::put_checkpoint(&engine.store.locked(), id, state, data, now_ms())?;
        crate::crash::crash_point("train:after-checkpoint");
        Ok(())
    };
    let outcome = custom::train_classifier(
        &ds,
        &parts,
        &opts,
        &custom::Encoder { dir: &encoder.0, sha256: &encoder.1 },
        &target,
        resume.as_ref().map(|(s, d)| (s.as_str(), d.as_slice())),
        &mut on_step,
        &mut save,
    );
    let trained = match outcome {
        Err(e) => {
            let _ = std::fs::remove_dir_all(&out_dir);
            return Err(e);
        }
        Ok(Outcome::Stopped(c)) => {
            let _ = std::fs::remove_dir_all(&out_dir);
            log(engine, id, if c == Control::Cancel { "cancelled" } else { "paused (checkpoint saved)" });
            return Ok(None);
        }
        Ok(Outcome::Done(t)) => t,
    };
    let decision =
        deploy::evaluate_and_install(engine, classifier, id, &ds, &parts, &opts, &trained, &out_dir);
    let _ = std::fs::remove_dir_all(&out_dir);
    let Decision { version, deployed, reason, new, current } = decision?;
    log(engine, id, &reason);
    Ok(Some(json!({
        "classifier": classifier,
        "version": version,
        "deployed": deployed,
        "decision": reason,
        "margin": opts.margin,
        "preset": opts.preset,
        "new": new,
        "current": current,
        "examples": {"fit": parts.fit.len(), "tune": parts.tune.len(), "eval": parts.eval.len()},
        "steps": trained.steps,
        "seconds": started.elapsed().as_secs_f64(),
    })))
}

/// Where a job writes its model before the registry copies it in.
fn staging_dir(engine: &Engine, id: JobId) -> PathBuf {
    match engine.store.path() {
        Some(dir) => dir.join("training").join(format!("job-{id}")),
        None => std::env::temp_dir().join(format!("memorable-training-{}-{id}", std::process::id())),
    }
}
