//! Maintenance: backup, verify, restore, per-user point-in-time restore, export / import,
//! scheduled backups with retention, and the automatic backup taken before a schema
//! migration. See docs/operations.md for procedures.
//!
//! - [`crate::Memorable::backup`]: online backup of a live store into one file;
//! - [`verify`]: checks a backup file or a store directory;
//! - [`restore`]: a backup into a new directory (never over an existing store);
//! - [`crate::Memorable::restore_user`]: one user back to an instant, from the history;
//! - [`crate::Memorable::export_user`] / [`crate::Memorable::import_jsonl`]: JSON Lines;
//! - [`prune_backups`]: retention (keep the newest N, drop older than D).

mod archive;
mod backup;
mod export;
mod pitr;
mod restore;
mod verify;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use archive::{BackupEntry, BackupManifest};
pub(crate) use backup::pre_migration_backup;
pub use backup::BackupReport;
pub use export::{ExportedMemory, ImportReport};
pub use pitr::RestoreUserReport;
pub use restore::{restore, restore_with_progress, RestoreReport};
pub use verify::{verify, verify_with_progress, VerifyReport};

use crate::error::{Error, Result};
use crate::Memorable;

/// Folder (inside a store directory) of the automatic pre-migration backups.
pub const AUTO_BACKUP_DIR: &str = "backups";
/// Extension of backup files.
pub const BACKUP_EXTENSION: &str = "mrbak";
/// File name prefix of scheduled backups (`memorable-<UTC stamp>.mrbak`).
const SCHEDULED_PREFIX: &str = "memorable-";

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

/// Which backups [`prune_backups`] keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Retention {
    pub keep_last: Option<usize>,
    pub max_age_secs: Option<u64>,
}

/// `20240501T091200123Z`: sortable, file-name safe, UTC, milliseconds.
pub(crate) fn stamp(t: OffsetDateTime) -> String {
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

fn parse_stamp(s: &str) -> Option<OffsetDateTime> {
    let b = s.as_bytes();
    if b.len() != 19 || b[8] != b'T' || b[18] != b'Z' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let date = time::Date::from_calendar_date(
        n(0..4)? as i32,
        time::Month::try_from(n(4..6)? as u8).ok()?,
        n(6..8)? as u8,
    )
    .ok()?;
    let t =
        time::Time::from_hms_milli(n(9..11)? as u8, n(11..13)? as u8, n(13..15)? as u8, n(15..18)? as u16)
            .ok()?;
    Some(date.with_time(t).assume_utc())
}

/// Delete the scheduled backups (`memorable-<stamp>.mrbak`) in `dir` that `retention` does
/// not keep, judging age by the time in their name; the newest is always kept. Other files
/// are never touched. Returns the deleted paths.
pub fn prune_backups(dir: impl AsRef<Path>, retention: &Retention) -> Result<Vec<PathBuf>> {
    prune_at(dir.as_ref(), retention, OffsetDateTime::now_utc())
}

fn prune_at(dir: &Path, retention: &Retention, now: OffsetDateTime) -> Result<Vec<PathBuf>> {
    let mut backups: Vec<(OffsetDateTime, PathBuf)> = std::fs::read_dir(dir)?
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            let stamp = name.strip_prefix(SCHEDULED_PREFIX)?.strip_suffix(&format!(".{BACKUP_EXTENSION}"))?;
            Some((parse_stamp(stamp)?, e.path()))
        })
        .collect();
    backups.sort_by_key(|b| std::cmp::Reverse(b.0));
    let mut deleted = Vec::new();
    for (i, (at, path)) in backups.into_iter().enumerate() {
        let too_many = retention.keep_last.is_some_and(|k| i >= k.max(1));
        let too_old = i > 0 && retention.max_age_secs.is_some_and(|s| (now - at).whole_seconds() > s as i64);
        if too_many || too_old {
            std::fs::remove_file(&path)?;
            deleted.push(path);
        }
    }
    Ok(deleted)
}

/// One scheduled backup and its retention (called by the operations thread).
pub(crate) fn scheduled_backup(mem: &Memorable, s: &BackupSchedule) -> Result<PathBuf> {
    std::fs::create_dir_all(&s.dir)?;
    let path =
        s.dir.join(format!("{SCHEDULED_PREFIX}{}.{BACKUP_EXTENSION}", stamp(OffsetDateTime::now_utc())));
    mem.backup(&path)?;
    let deleted = prune_backups(&s.dir, &Retention { keep_last: s.keep_last, max_age_secs: s.max_age_secs })?;
    tracing::info!(path = %path.display(), pruned = deleted.len(), "scheduled backup written");
    Ok(path)
}

/// Test hooks. Not part of the API: they exist so tests can prove that a failed migration
/// rolls back.
#[doc(hidden)]
pub mod testing {
    use std::sync::atomic::{AtomicU32, Ordering};

    static FAIL_MIGRATION_TO: AtomicU32 = AtomicU32::new(0);

    /// Make the next migration to schema `version` fail after its statements ran, before
    /// it commits (one shot).
    pub fn fail_next_migration_to(version: u32) {
        FAIL_MIGRATION_TO.store(version, Ordering::SeqCst);
    }

    pub(crate) fn take_migration_failure(version: u32) -> bool {
        FAIL_MIGRATION_TO.compare_exchange(version, 0, Ordering::SeqCst, Ordering::SeqCst).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_and_sort() {
        let t = time::macros::datetime!(2024-05-01 09:12:00.123 UTC);
        assert_eq!(stamp(t), "20240501T091200123Z");
        assert_eq!(parse_stamp(&stamp(t)), Some(t));
        assert_eq!(parse_stamp("nope"), None);
    }

    #[test]
    fn retention_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let now = time::macros::datetime!(2024-05-10 00:00:00 UTC);
        for day in 1..=9 {
            let t = now - time::Duration::days(day);
            std::fs::write(dir.path().join(format!("memorable-{}.mrbak", stamp(t))), b"x").unwrap();
        }
        std::fs::write(dir.path().join("other.mrbak"), b"x").unwrap();
        let gone = prune_at(dir.path(), &Retention { keep_last: Some(5), max_age_secs: None }, now).unwrap();
        assert_eq!(gone.len(), 4);
        let gone = prune_at(dir.path(), &Retention { keep_last: None, max_age_secs: Some(3 * 86_400) }, now)
            .unwrap();
        assert_eq!(gone.len(), 2, "days 4 and 5 are older than 3 days");
        // Everything too old: the newest still stays.
        let gone = prune_at(dir.path(), &Retention { keep_last: None, max_age_secs: Some(1) }, now).unwrap();
        assert_eq!(gone.len(), 2);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "the newest backup and the unrelated file");
    }
}
