//! Memories: remember, read, change, forget.

use super::Memorable;
use crate::error::Result;
use crate::memory::{Memory, MemoryId, MemoryUpdate, MemoryVersion, NewMemory};
use crate::metrics::UserMemories;
use crate::retrieval::{self, Recall, TimeWindow};

/// Most memories [`Memorable::recent`] returns (use `recent_matching` to page further).
pub const RECENT_LIMIT: usize = 1_000;

impl Memorable {
    /// Store one memory; returns its id once it is durable.
    pub fn remember(&self, memory: NewMemory) -> Result<MemoryId> {
        let start = self.metrics.start();
        let ids = self.metrics.track(self.engine().and_then(|e| e.remember(vec![memory], false)))?;
        self.metrics.finish(&self.metrics.remember_latency, start);
        self.metrics.memories_written.add(ids.len() as u64);
        Ok(ids[0])
    }

    /// Store many memories in one transaction (all or nothing), embedding them in parallel.
    pub fn remember_batch(&self, memories: Vec<NewMemory>) -> Result<Vec<MemoryId>> {
        let start = self.metrics.start();
        let ids = self.metrics.track(self.engine().and_then(|e| e.remember(memories, true)))?;
        self.metrics.finish(&self.metrics.remember_latency, start);
        self.metrics.memories_written.add(ids.len() as u64);
        Ok(ids)
    }

    /// A user's memories that occurred in `window` before now (`None`: all of them), newest
    /// first (by `occurred_at`, ties newest id first), at most [`RECENT_LIMIT`]. A window
    /// includes both its ends (see [`TimeWindow`]).
    ///
    /// ```
    /// # let mem = memorable_core::Memorable::open_in_memory()?;
    /// use memorable_core::TimeWindow;
    /// let last_20_minutes = mem.recent("alice", TimeWindow::Short)?;
    /// let everything = mem.recent("alice", None)?;
    /// # Ok::<(), memorable_core::Error>(())
    /// ```
    pub fn recent(&self, user: &str, window: impl Into<Option<TimeWindow>>) -> Result<Vec<Memory>> {
        self.metrics
            .track(self.engine().and_then(|e| retrieval::recent(&e, user, window.into(), RECENT_LIMIT)))
    }

    /// A user's memories after the request's filters (range, window, session, speaker, tags,
    /// kinds), newest first, at most `request.limit`; the query text is ignored.
    pub fn recent_matching(&self, request: &Recall) -> Result<Vec<Memory>> {
        self.metrics.track(self.engine().and_then(|e| retrieval::recent_matching(&e, request)))
    }

    /// Every user holding memories — those whose id starts with `prefix`, if given — by id,
    /// with how many memories each holds.
    pub fn users(&self, prefix: Option<&str>) -> Result<Vec<UserMemories>> {
        self.metrics.track(self.engine().and_then(|e| e.users(prefix)))
    }

    /// The memory with this id.
    pub fn get(&self, id: MemoryId) -> Result<Memory> {
        self.metrics.track(self.engine().and_then(|e| e.get(id)))
    }

    /// Change a memory; a new text is re-embedded and the previous version kept in history.
    pub fn update(&self, id: MemoryId, update: MemoryUpdate) -> Result<Memory> {
        let updated = self.metrics.track(self.engine().and_then(|e| e.update(id, update)))?;
        self.metrics.memories_updated.inc();
        Ok(updated)
    }

    /// The memories derived from this one (a consolidation's summaries and facts), by id.
    /// Unknown ids are `NotFound`.
    pub fn derived(&self, id: MemoryId) -> Result<Vec<Memory>> {
        self.metrics.track(self.engine().and_then(|e| e.derived(id)))
    }

    /// Every version of a memory, oldest first; the last one is current.
    pub fn history(&self, id: MemoryId) -> Result<Vec<MemoryVersion>> {
        self.metrics.track(self.engine().and_then(|e| e.history(id)))
    }

    /// Erase a memory: its row, vector, keywords and history, and every memory derived only
    /// from it (a consolidation's summary or facts). Unknown ids are `NotFound`.
    pub fn forget(&self, id: MemoryId) -> Result<()> {
        let n = self.metrics.track(self.engine().and_then(|e| e.forget(id)))?;
        self.metrics.memories_forgotten.add(n);
        Ok(())
    }

    /// Erase everything of a user (memories, vectors, history, index); returns how many
    /// memories were removed (0 for an unknown user).
    pub fn forget_user(&self, user: &str) -> Result<u64> {
        let n = self.metrics.track(self.engine().and_then(|e| e.forget_user(user)))?;
        self.metrics.memories_forgotten.add(n);
        Ok(n)
    }
}
