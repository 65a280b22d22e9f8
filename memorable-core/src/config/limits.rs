//! Quotas and limits for multi-tenant use (a part of [`crate::Config`]).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Per-user quotas, a store-wide size limit, and limits on one call's input. A write over a
/// quota or limit is refused whole with its own error code; nothing of it is written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Most memories one `remember_batch` (or import batch) may carry (default 100,000).
    pub max_batch: usize,
    /// Largest `metadata` of one memory, as JSON, in bytes (default 65,536).
    pub max_metadata_bytes: usize,
    /// Most memories one user may hold (default: no limit).
    pub max_memories_per_user: Option<u64>,
    /// Most bytes of text and metadata one user may hold (default: no limit).
    pub max_bytes_per_user: Option<u64>,
    /// Largest store on disk, database and write-ahead log, in bytes (default: no limit). A
    /// write is refused when the store is over it or the write's text, metadata and vectors
    /// would take it over (an estimate: SQLite's page overhead comes on top).
    pub max_store_bytes: Option<u64>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_batch: 100_000,
            max_metadata_bytes: 65_536,
            max_memories_per_user: None,
            max_bytes_per_user: None,
            max_store_bytes: None,
        }
    }
}

impl LimitsConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(Error::InvalidConfig(format!("limits.{m} must be positive")));
        if self.max_batch == 0 {
            return bad("max_batch");
        }
        if self.max_metadata_bytes == 0 {
            return bad("max_metadata_bytes");
        }
        if self.max_memories_per_user == Some(0) {
            return bad("max_memories_per_user");
        }
        if self.max_bytes_per_user == Some(0) {
            return bad("max_bytes_per_user");
        }
        if self.max_store_bytes == Some(0) {
            return bad("max_store_bytes");
        }
        Ok(())
    }

    /// Whether any per-user quota is set (the write path then reads the users' usage).
    pub(crate) fn per_user(&self) -> bool {
        self.max_memories_per_user.is_some() || self.max_bytes_per_user.is_some()
    }
}
