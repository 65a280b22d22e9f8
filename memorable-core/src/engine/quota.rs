//! Quotas and limits on the write path (`limits.*`): a batch's size and each memory's
//! metadata are checked with the rest of the input, the store's size before the transaction,
//! and per-user quotas inside it (under the writer lock, so two writers cannot both take the
//! last place). A write over any of them is refused whole: nothing of it is written.

use crate::store::db::Db;

use super::Engine;
use crate::error::{Error, Result};
use crate::memory::Metadata;
use crate::store::{self, PreparedMemory, UserKey};

/// Length of a memory's metadata as stored (JSON; `{}` when empty).
pub(crate) fn metadata_len(m: &Metadata) -> usize {
    if m.is_empty() {
        2
    } else {
        serde_json::to_string(m).map_or(0, |s| s.len())
    }
}

/// Bytes a prepared memory counts for against the per-user byte quota.
pub(crate) fn counted_bytes(p: &PreparedMemory) -> u64 {
    store::memory_bytes(&p.text, metadata_len(&p.metadata))
}

impl Engine {
    pub(crate) fn check_batch(&self, items: usize) -> Result<()> {
        let limit = self.config.limits.max_batch;
        if items > limit {
            return Err(Error::BatchTooLarge { items, limit });
        }
        Ok(())
    }

    pub(crate) fn check_metadata(&self, m: &Metadata) -> Result<()> {
        let limit = self.config.limits.max_metadata_bytes;
        if m.is_empty() {
            return Ok(());
        }
        let bytes = metadata_len(m);
        if bytes > limit {
            return Err(Error::MetadataTooLarge { bytes, limit });
        }
        Ok(())
    }

    /// Refuse a write of about `adding` bytes when the store is, or would be, over
    /// `limits.max_store_bytes`.
    pub(crate) fn check_store_room(&self, adding: u64) -> Result<()> {
        let Some(limit) = self.config.limits.max_store_bytes else { return Ok(()) };
        let bytes = self.store.disk_bytes();
        if bytes.saturating_add(adding) > limit {
            return Err(Error::StoreFull { bytes, limit });
        }
        Ok(())
    }

    /// Refuse the write when one of its users would pass a per-user quota; `adding` is
    /// (user, memories, bytes) per user (`UserKey` `None`: a user without memories yet).
    pub(crate) fn check_users(&self, conn: &Db, adding: &[(Option<UserKey>, u64, i64)]) -> Result<()> {
        let limits = &self.config.limits;
        if !limits.per_user() {
            return Ok(());
        }
        for &(key, n, bytes) in adding {
            let (held, held_bytes) = match key {
                Some(k) => store::user_usage(conn, k)?,
                None => (0, 0),
            };
            if let Some(max) = limits.max_memories_per_user {
                if n > 0 && held + n > max {
                    return Err(Error::UserQuotaExceeded(format!(
                        "the user holds {held} memories, {n} more would pass the limit of {max} (limits.max_memories_per_user)"
                    )));
                }
            }
            if let Some(max) = limits.max_bytes_per_user {
                let after = (held_bytes as i64).saturating_add(bytes);
                if bytes > 0 && after > max as i64 {
                    return Err(Error::UserQuotaExceeded(format!(
                        "the user holds {held_bytes} bytes of text and metadata, {bytes} more would pass the limit of {max} (limits.max_bytes_per_user)"
                    )));
                }
            }
        }
        Ok(())
    }
}
