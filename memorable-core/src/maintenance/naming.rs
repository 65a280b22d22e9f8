//! Names of backup files: where automatic backups go, the extension, and the sortable UTC
//! stamp in scheduled backups' names.

use time::OffsetDateTime;

/// Folder (inside a store directory) of the automatic pre-migration backups.
pub const AUTO_BACKUP_DIR: &str = "backups";
/// Extension of backup files.
pub const BACKUP_EXTENSION: &str = "mrbak";
/// File name prefix of scheduled backups (`memorable-<UTC stamp>.mrbak`).
pub(crate) const SCHEDULED_PREFIX: &str = "memorable-";

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

pub(crate) fn parse_stamp(s: &str) -> Option<OffsetDateTime> {
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
