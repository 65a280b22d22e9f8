//! A shared (PostgreSQL) store: bringing this instance's loaded indexes up to date with
//! what other instances wrote, forgot or edited (see `store::remote`). Run every
//! `sync_interval_ms` by the sync thread (`ops::start_sync`), so recall is at most that
//! stale; applying a change twice is harmless.

use super::Engine;
use crate::error::Result;
use crate::store::{self, RemoteChanges};

impl Engine {
    /// Poll the change log and apply it; returns how many users' loaded indexes caught up.
    pub(crate) fn sync_remote(&self) -> Result<usize> {
        // Serialized with index loads: a load reads its rows either before this poll's
        // horizon (and the changes after it are applied here, once it is published) or
        // after them.
        let _load = self.indexes.load_lock.lock();
        let users: Vec<(store::UserKey, bool)> = match self.store.poll_remote()? {
            None => return Ok(0),
            Some(RemoteChanges::Users(users)) => users.iter().map(|c| (c.user_key, c.removed)).collect(),
            Some(RemoteChanges::Everything) => {
                self.indexes.all().iter().map(|i| (i.user_key, true)).collect()
            }
        };
        let model = self.model_id();
        let mut caught_up = 0;
        for (user_key, removed) in users {
            let Some(index) = self.indexes.get(user_key) else { continue };
            // Under the writer lock, as a load's own catch-up: no local write slips between.
            let writer = self.store.locked();
            index.insert(store::vectors_after(&writer, user_key, model, index.watermark())?);
            if removed {
                index.reset_live(store::live_vector_ids(&writer, user_key, model)?);
            }
            caught_up += 1;
        }
        if caught_up > 0 {
            self.indexer.notify();
        }
        Ok(caught_up)
    }
}
