//! Consolidation and the background jobs that run it.

use super::Memorable;
use crate::consolidate::{self, ConsolidateRequest, ConsolidationProgress, ConsolidationReport};
use crate::error::Result;
use crate::jobs::{self, JobId, JobInfo};

/// Most jobs [`Memorable::jobs`] lists.
pub const JOBS_LIMIT: usize = 1_000;

impl Memorable {
    /// Consolidate a user's memories (one session, a time range, or all): one `summary`
    /// memory per conversation and `fact` memories, linked to their sources, written by the
    /// generator or, without one, extractively. Runs as a job on the calling thread; the
    /// report says what was written and how.
    pub fn consolidate(&self, request: &ConsolidateRequest) -> Result<ConsolidationReport> {
        self.consolidate_with_progress(request, &mut |_| true)
    }

    /// [`Memorable::consolidate`], calling `progress` after each conversation; returning
    /// `false` cancels the job before the next one (what was written stays).
    pub fn consolidate_with_progress(
        &self,
        request: &ConsolidateRequest,
        progress: &mut dyn FnMut(&ConsolidationProgress) -> bool,
    ) -> Result<ConsolidationReport> {
        self.metrics.track(
            self.engine().and_then(|e| consolidate::consolidate(&e, &self.ops.jobs, request, progress)),
        )
    }

    /// Start a consolidation on a background thread; returns its job id at once (see
    /// [`Memorable::job`] and [`Memorable::cancel_job`]).
    pub fn consolidate_in_background(&self, request: &ConsolidateRequest) -> Result<JobId> {
        self.metrics
            .track(self.engine().and_then(|e| consolidate::start(e, self.ops.jobs.clone(), request.clone())))
    }

    /// The job with this id: state, progress, result or error, log.
    pub fn job(&self, id: JobId) -> Result<JobInfo> {
        jobs::get(&*self.engine()?, id)
    }

    /// The newest jobs, at most [`JOBS_LIMIT`].
    pub fn jobs(&self) -> Result<Vec<JobInfo>> {
        jobs::list(&*self.engine()?, JOBS_LIMIT)
    }

    /// Cancel a job: a running one stops at its next step (what it wrote stays), one that
    /// ended is left as it is. Returns the job.
    pub fn cancel_job(&self, id: JobId) -> Result<JobInfo> {
        let engine = self.engine()?;
        #[cfg(feature = "candle")]
        if jobs::get(&engine, id)?.kind == crate::classifiers::TRAINING_KIND {
            return crate::classifiers::train::cancel(&engine, &self.ops.training, id);
        }
        jobs::cancel(&engine, &self.ops.jobs, id)
    }
}
