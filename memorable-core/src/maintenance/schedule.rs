//! Scheduled backups (taken by the operations thread) and their retention.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::backup;
use super::naming::{parse_stamp, stamp, BACKUP_EXTENSION, SCHEDULED_PREFIX};
use crate::config::{BackupSchedule, Retention};
use crate::engine::Engine;
use crate::error::Result;

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
pub(crate) fn scheduled_backup(engine: &Engine, s: &BackupSchedule) -> Result<PathBuf> {
    std::fs::create_dir_all(&s.dir)?;
    let path =
        s.dir.join(format!("{SCHEDULED_PREFIX}{}.{BACKUP_EXTENSION}", stamp(OffsetDateTime::now_utc())));
    engine.metrics.track(backup::backup(engine, &path, &mut |_, _| {}))?;
    engine.metrics.backups.inc();
    let deleted = prune_backups(&s.dir, &Retention { keep_last: s.keep_last, max_age_secs: s.max_age_secs })?;
    tracing::info!(path = %path.display(), pruned = deleted.len(), "scheduled backup written");
    Ok(path)
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
