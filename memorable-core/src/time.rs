//! Time as the store keeps it: milliseconds since the Unix epoch (UTC) in an `i64`.
//! A leaf: every layer converts through here, none imports a store for it.

use time::OffsetDateTime;

/// Now, in milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    to_ms(OffsetDateTime::now_utc())
}

/// `t` in milliseconds since the epoch (sub-millisecond parts dropped).
pub(crate) fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The instant `ms` milliseconds after the epoch (the epoch itself if out of range).
pub(crate) fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
