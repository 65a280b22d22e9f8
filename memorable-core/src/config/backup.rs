//! `Config.backup`: the automatic backup before a migration and scheduled backups. A leaf,
//! so the configuration can name it without importing the maintenance code.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// `Config.backup`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    /// Take a backup (into `<store>/backups/`) before migrating a store to a newer schema
    /// (default true).
    pub before_migration: bool,
    /// Scheduled backups (default none).
    pub schedule: Option<BackupSchedule>,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig { before_migration: true, schedule: None }
    }
}

impl BackupConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        if let Some(s) = &self.schedule {
            if s.every_secs == 0 {
                return Err(Error::InvalidConfig("backup.schedule.every_secs must be positive".into()));
            }
            if s.keep_last == Some(0) {
                return Err(Error::InvalidConfig("backup.schedule.keep_last must be at least 1".into()));
            }
        }
        Ok(())
    }
}

/// Backups every `every_secs` into `dir`, then retention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSchedule {
    pub dir: PathBuf,
    pub every_secs: u64,
    /// Keep at most this many scheduled backups (newest first).
    #[serde(default)]
    pub keep_last: Option<usize>,
    /// Delete scheduled backups older than this many seconds (the newest is always kept).
    #[serde(default)]
    pub max_age_secs: Option<u64>,
}

/// Which backups [`crate::prune_backups`] keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Retention {
    pub keep_last: Option<usize>,
    pub max_age_secs: Option<u64>,
}
