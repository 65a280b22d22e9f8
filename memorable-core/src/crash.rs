//! Crash points for the kill tests: with `MEMORABLE_CRASH_AT=<point>` the process aborts at
//! that point (no unwinding, no destructors), as a `kill -9` there would.

/// Abort here when `MEMORABLE_CRASH_AT` names `point`.
pub(crate) fn crash_point(point: &str) {
    if std::env::var("MEMORABLE_CRASH_AT").is_ok_and(|p| p == point) {
        std::process::abort();
    }
}
