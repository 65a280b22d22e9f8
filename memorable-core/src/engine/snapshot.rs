//! A metrics snapshot: the recorded counters and latencies plus gauges read from the store,
//! the indexes and the process (behind `metrics()` and `metrics_prometheus()`).

use super::Engine;
use crate::error::Result;
use crate::metrics::{process, Gauges, Latencies, MetricsSnapshot, UserMemories, MAX_USERS_LISTED};
use crate::models::select::Catalog;
use crate::store;

/// Counters, latency quantiles and gauges of `engine`'s store (see
/// [`crate::Memorable::metrics`]).
pub(crate) fn metrics_snapshot(engine: &Engine) -> Result<MetricsSnapshot> {
    let rec = engine.metrics.recorded();
    let (counts, per_user) = engine.store.read(|c| Ok((store::counts(c)?, memories_per_user(c)?)))?;
    let mut g = Gauges {
        memories: counts.memories,
        users: counts.users,
        memories_per_user: per_user,
        store_bytes: engine.store.disk_bytes(),
        resident_memory_bytes: process::resident_bytes().unwrap_or(0),
        disk_free_bytes: engine.store.path().and_then(process::disk_free_bytes).unwrap_or(0),
        index_dump_bytes: engine.index_dir.as_deref().map_or(0, process::dir_bytes),
        ..Gauges::default()
    };
    for index in engine.indexes.all() {
        let s = index.stats();
        g.loaded_indexes += 1;
        g.index_points += s.points as u64;
        g.index_live += s.live as u64;
        g.index_pending += s.pending as u64;
        g.index_tombstones += s.tombstones as u64;
    }
    let catalog = Catalog::builtin(engine.config.hashing_dim);
    g.model_memory_bytes =
        catalog.get(&engine.selection.chosen).map_or(0, |e| e.memory_mb.saturating_mul(1024 * 1024));
    Ok(MetricsSnapshot {
        uptime_seconds: rec.uptime.as_secs_f64(),
        counters: rec.counters,
        errors_by_code: rec.errors_by_code,
        latency: Latencies {
            remember: rec.remember.summary(),
            recall: rec.recall.summary(),
            embed: rec.embed.summary(),
        },
        gauges: g,
        model_id: engine.model_id().to_owned(),
        model_fallback: engine.selection.fallback && engine.selection.fallback_reason.is_some(),
        store: engine.store.backend_metrics(),
    })
}

fn memories_per_user(c: &crate::store::db::Db) -> Result<Vec<UserMemories>> {
    let mut stmt = c.prepare_cached(
        "SELECT u.name, count(*) AS n FROM memories m JOIN users u ON u.user_key = m.user_key
         GROUP BY m.user_key, u.name ORDER BY n DESC, u.name LIMIT ?1",
    )?;
    let rows = stmt.query_map([MAX_USERS_LISTED as i64], |r| {
        Ok(UserMemories { user: r.get(0)?, memories: r.get::<_, i64>(1)? as u64 })
    })?;
    Ok(rows.collect::<crate::store::db::SqlResult<_>>()?)
}
