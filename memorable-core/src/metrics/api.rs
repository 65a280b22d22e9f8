//! [`Memorable::metrics`] and [`Memorable::metrics_prometheus`]: the recorded counters and
//! latencies plus gauges read from the store, the indexes and the process.

use super::{process, Gauges, Latencies, MetricsSnapshot, UserMemories, MAX_USERS_LISTED};
use crate::error::Result;
use crate::models::select::Catalog;
use crate::store;
use crate::Memorable;

impl Memorable {
    /// Counters, latency quantiles and gauges of this store (see [`MetricsSnapshot`]).
    /// Gauges are computed now: a few SQLite aggregates and a read of /proc.
    pub fn metrics(&self) -> Result<MetricsSnapshot> {
        let engine = self.engine()?;
        let rec = self.metrics.recorded();
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
        })
    }

    /// [`Memorable::metrics`] in the Prometheus text format, ready to serve on `/metrics`.
    pub fn metrics_prometheus(&self) -> Result<String> {
        Ok(super::prometheus::render(&self.metrics()?))
    }

    /// The recording side of this store's metrics, for layers and hosts that record their
    /// own events (e.g. `metrics_registry().readings_fused.inc()`).
    pub fn metrics_registry(&self) -> &super::Metrics {
        &self.metrics
    }
}

fn memories_per_user(c: &rusqlite::Connection) -> Result<Vec<UserMemories>> {
    let mut stmt = c.prepare_cached(
        "SELECT u.name, count(*) AS n FROM memories m JOIN users u ON u.user_key = m.user_key
         GROUP BY m.user_key ORDER BY n DESC, u.name LIMIT ?1",
    )?;
    let rows = stmt.query_map([MAX_USERS_LISTED as i64], |r| {
        Ok(UserMemories { user: r.get(0)?, memories: r.get::<_, i64>(1)? as u64 })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
