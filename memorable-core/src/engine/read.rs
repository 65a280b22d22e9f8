//! Reading one memory and its versions, and the users holding memories.

use super::Engine;
use crate::error::{Error, Result};
use crate::memory::{Memory, MemoryId, MemoryVersion};
use crate::metrics::UserMemories;
use crate::store;

impl Engine {
    /// The memory with this id.
    pub(crate) fn get(&self, id: MemoryId) -> Result<Memory> {
        self.store.read(|c| store::get_memory(c, id))?.map(|(m, _)| m).ok_or(Error::NotFound(id))
    }

    /// The memories derived from `id` (a consolidation's summaries and facts), by id.
    pub(crate) fn derived(&self, id: MemoryId) -> Result<Vec<Memory>> {
        self.store.read(|c| {
            store::get_memory(c, id)?.ok_or(Error::NotFound(id))?;
            let mut out = Vec::new();
            for d in store::derived::dependents(c, id)? {
                if let Some((m, _)) = store::get_memory(c, d)? {
                    out.push(m);
                }
            }
            Ok(out)
        })
    }

    /// Users holding memories (by prefix), by id, with their counts.
    pub(crate) fn users(&self, prefix: Option<&str>) -> Result<Vec<UserMemories>> {
        let rows = self.store.read(|c| store::users_with_counts(c, prefix))?;
        Ok(rows.into_iter().map(|(user, memories)| UserMemories { user, memories }).collect())
    }

    /// Every version of a memory, oldest first; the last one is current.
    pub(crate) fn history(&self, id: MemoryId) -> Result<Vec<MemoryVersion>> {
        self.store.read(|c| {
            let (current, _) = store::get_memory(c, id)?.ok_or(Error::NotFound(id))?;
            let mut versions = store::previous_versions(c, id)?;
            versions.push(MemoryVersion {
                version: current.version,
                text: current.text,
                kind: current.kind,
                speaker: current.context.speaker,
                tags: current.tags,
                metadata: current.metadata,
                importance: current.importance,
                valid_from: current.updated_at,
                valid_to: None,
            });
            Ok(versions)
        })
    }
}
