//! Background jobs: persisted in the store (state, progress, result, a log), cancellable
//! while they run. Consolidation runs as one; training will too. A job left `running` by a
//! process that ended is marked `failed` ("interrupted") when the store opens again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::store::{self, jobs::JobRow};
use crate::time::{from_ms, now_ms};

/// A job's id (never reused).
pub type JobId = u64;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Paused,
    Cancelled,
    Failed,
    Succeeded,
}

crate::named::named_enum!(JobState, "job state", Error::InvalidInput, {
    Queued => "queued",
    Running => "running",
    Paused => "paused",
    Cancelled => "cancelled",
    Failed => "failed",
    Succeeded => "succeeded",
});

impl JobState {
    /// Whether the job has ended (it will not change again).
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Cancelled | JobState::Failed | JobState::Succeeded)
    }
}

/// A job as the store records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JobInfo {
    pub id: JobId,
    /// `consolidate`, ...
    pub kind: String,
    pub state: JobState,
    /// The user the job works for.
    pub user: Option<String>,
    pub params: Value,
    /// Kind-specific progress (`{"done": 3, "total": 7, ...}`).
    pub progress: Value,
    pub result: Option<Value>,
    pub error: Option<String>,
    pub log: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl JobInfo {
    fn from_row(r: JobRow) -> Result<JobInfo> {
        Ok(JobInfo {
            id: r.id,
            state: r
                .state
                .parse()
                .map_err(|_| Error::Corrupt(format!("job {} has state {:?}", r.id, r.state)))?,
            kind: r.kind,
            user: r.user,
            params: r.params,
            progress: r.progress,
            result: r.result,
            error: r.error,
            log: r.log,
            created_at: from_ms(r.created_at),
            updated_at: from_ms(r.updated_at),
        })
    }
}

/// The jobs this process runs, with their cancel flags (shared by every clone of a handle).
#[derive(Debug, Default)]
pub(crate) struct JobRunner {
    cancels: Mutex<HashMap<JobId, Arc<AtomicBool>>>,
}

/// A running job, as its work sees it: record progress, log, check for cancellation.
pub(crate) struct JobHandle<'a> {
    pub id: JobId,
    engine: &'a Engine,
    cancel: Arc<AtomicBool>,
}

impl JobHandle<'_> {
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Acquire)
    }

    /// Mark the job cancelled from inside (its caller's progress callback said stop).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Release);
    }

    pub fn progress(&self, progress: &Value) -> Result<()> {
        store::jobs::set_progress(&self.engine.store.locked(), self.id, progress, now_ms())
    }

    pub fn log(&self, line: &str) {
        tracing::info!(job = self.id, "{line}");
        if let Err(e) = store::jobs::log_line(&self.engine.store.locked(), self.id, line, now_ms()) {
            tracing::warn!(job = self.id, error = %e, "could not write the job's log");
        }
    }
}

impl JobRunner {
    /// Record a new job in state `running`.
    pub fn create(&self, engine: &Engine, kind: &str, user: Option<&str>, params: &Value) -> Result<JobId> {
        let user_key = match user {
            Some(u) => engine.store.read(|c| store::user_key(c, u))?,
            None => None,
        };
        let id =
            store::jobs::insert_job(&engine.store.locked(), kind, "running", user_key, params, now_ms())?;
        self.cancels.lock().unwrap_or_else(|e| e.into_inner()).insert(id, Arc::new(AtomicBool::new(false)));
        Ok(id)
    }

    /// Run the work of a job created by [`JobRunner::create`].
    pub fn run_created(
        &self,
        engine: &Engine,
        id: JobId,
        work: &mut dyn FnMut(&JobHandle<'_>) -> Result<Value>,
    ) -> Result<Value> {
        let cancel =
            self.cancels.lock().unwrap_or_else(|e| e.into_inner()).get(&id).cloned().unwrap_or_default();
        let handle = JobHandle { id, engine, cancel };
        let outcome = work(&handle);
        let conn = engine.store.locked();
        let ended = match &outcome {
            Ok(result) if handle.cancelled() => {
                store::jobs::finish_job(&conn, id, "cancelled", Some(result), None, now_ms())
            }
            Ok(result) => store::jobs::finish_job(&conn, id, "succeeded", Some(result), None, now_ms()),
            Err(e) => store::jobs::finish_job(&conn, id, "failed", None, Some(&e.to_string()), now_ms()),
        };
        drop(conn);
        self.cancels.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        if let Err(e) = ended {
            tracing::warn!(job = id, error = %e, "could not record how the job ended");
        }
        outcome
    }

    /// Ask a running job to stop; false when this process runs no job `id`.
    pub fn cancel(&self, id: JobId) -> bool {
        match self.cancels.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
            Some(flag) => {
                flag.store(true, Ordering::Release);
                true
            }
            None => false,
        }
    }
}

/// The job `id`.
pub(crate) fn get(engine: &Engine, id: JobId) -> Result<JobInfo> {
    let row = engine.store.read(|c| store::jobs::get_job(c, id))?;
    JobInfo::from_row(row.ok_or(Error::JobNotFound(id))?)
}

/// The newest jobs, at most `limit`.
pub(crate) fn list(engine: &Engine, limit: usize) -> Result<Vec<JobInfo>> {
    engine.store.read(|c| store::jobs::list_jobs(c, limit))?.into_iter().map(JobInfo::from_row).collect()
}

/// Cancel job `id`: a running one stops at its next check; one that already ended is left
/// as it is. Returns the job as it stands.
pub(crate) fn cancel(engine: &Engine, runner: &JobRunner, id: JobId) -> Result<JobInfo> {
    let job = get(engine, id)?;
    if !job.state.is_final() && !runner.cancel(id) {
        // Not this process's: it was interrupted (and is marked so at the next open).
        store::jobs::finish_job(&engine.store.locked(), id, "cancelled", None, Some("cancelled"), now_ms())?;
    }
    get(engine, id)
}
