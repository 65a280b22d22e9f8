//! Health: is this store sound and able to serve? [`crate::Memorable::health`] runs every
//! check and rolls them up into one [`HealthReport`]: `ok`, `degraded` (serving, but
//! something needs attention) or `failing` (data at risk or calls will fail), each check
//! with its reason.
//!
//! Checks: `store` (SQLite `quick_check`, schema version), `index` (loaded indexes hold
//! exactly the store's vectors, dumps usable), `model` (which embedder, fallback and why),
//! `disk` (free space), `memory` (available memory, resident size against a budget), and any
//! probe registered with [`crate::Memorable::add_health_probe`] (the Hume client reports its
//! connection state through one).

mod checks;
mod report;

pub use crate::config::HealthConfig;
pub(crate) use report::Probes;
pub use report::{HealthCheck, HealthProbe, HealthReport, HealthStatus};

use crate::engine::Engine;

/// Run every check of `engine` and every probe; with `full`, SQLite's `quick_check` too
/// (it reads the whole database: milliseconds for small stores, seconds for gigabytes).
pub(crate) fn report(engine: &Engine, probes: &Probes, full: bool) -> HealthReport {
    let mut checks = vec![
        checks::store(engine, full),
        checks::index(engine),
        checks::model(engine),
        checks::disk(engine),
        checks::memory(&engine.config.health),
    ];
    for (name, probe) in probes.all() {
        let check = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| probe()))
            .unwrap_or_else(|_| HealthCheck::new(&name, HealthStatus::Failing, "the health probe panicked"));
        checks.push(check);
    }
    HealthReport::from_checks(checks)
}
