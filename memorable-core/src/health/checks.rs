//! The individual health checks over an engine. Each returns a [`HealthCheck`]; none fails
//! the call (an error while checking is itself the check's `failing` reason).

use std::collections::HashMap;

use serde_json::json;

use super::report::{HealthCheck, HealthStatus};
use crate::config::HealthConfig;
use crate::engine::Engine;
use crate::metrics::process;
use crate::store::META_REEMBED_TARGET;
use crate::store::{self, schema, UserKey};

const MB: u64 = 1024 * 1024;

/// SQLite integrity (`quick_check` when `full`) and schema version; on PostgreSQL, a round
/// trip to the server (the server checks its own pages) and the schema version.
pub(super) fn store(engine: &Engine, full: bool) -> HealthCheck {
    let backend = if engine.store.is_shared() { "postgres" } else { "sqlite" };
    let result = engine.store.read(|c| {
        let version = crate::store::stored_version(c)?;
        // Row-level security binds every role but a superuser or a BYPASSRLS one; standbys
        // streaming from this server, and how far the slowest lags (visible to a role with
        // pg_monitor; none otherwise).
        // And whether the server offers pgvector (reported; vectors are searched by each
        // instance's own index either way).
        let pg: Option<(bool, i64, Option<f64>, i64)> = match c.sqlite() {
            Some(_) => None,
            None => Some(c.query_row(
                "SELECT (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user),
                        (SELECT count(*) FROM pg_stat_replication),
                        (SELECT CAST(extract(epoch FROM max(replay_lag)) AS DOUBLE PRECISION) FROM pg_stat_replication),
                        (SELECT count(*) FROM pg_available_extensions WHERE name = 'vector')
                          + (SELECT count(*) FROM pg_extension WHERE extname = 'vector')",
                (),
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?),
        };
        let quick = if full && c.sqlite().is_some() {
            let mut stmt = c.prepare("PRAGMA quick_check")?;
            let rows: Vec<String> =
                stmt.query_map([], |r| r.get(0))?.collect::<crate::store::db::SqlResult<_>>()?;
            Some(rows)
        } else {
            None
        };
        Ok((version, quick, pg))
    });
    let (version, quick, pg) = match result {
        Ok(v) => v,
        Err(e) => {
            return HealthCheck::new("store", HealthStatus::Failing, format!("cannot read the store: {e}"))
        }
    };
    let details = json!({
        "backend": backend,
        "row_level_security": pg.map(|p| if p.0 { "bypassed: the role is a superuser or BYPASSRLS" } else { "enforced" }),
        "replicas": pg.map(|p| p.1),
        "replica_lag_secs": pg.and_then(|p| p.2),
        "vector_extension": pg.map(|p| match engine.store.searches_vectors_in_db() {
            true => "in use",
            false => ["absent", "available", "installed"][p.3.clamp(0, 2) as usize],
        }),
        "connections": engine.store.connection_state(),
        "schema_version": version,
        "supported_schema_version": schema::SCHEMA_VERSION,
        "quick_check": quick.as_ref().map(|q| q.join("; ")),
        "store_bytes": engine.store.disk_bytes(),
    });
    let check = match &quick {
        Some(rows) if rows.len() != 1 || rows[0] != "ok" => HealthCheck::new(
            "store",
            HealthStatus::Failing,
            format!(
                "SQLite quick_check found problems: {}",
                rows.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
            ),
        ),
        _ if version != schema::SCHEMA_VERSION => HealthCheck::new(
            "store",
            HealthStatus::Failing,
            format!("schema version {version}, this build expects {}", schema::SCHEMA_VERSION),
        ),
        Some(_) => {
            HealthCheck::new("store", HealthStatus::Ok, format!("quick_check ok, schema version {version}"))
        }
        None if backend == "postgres" => HealthCheck::new(
            "store",
            HealthStatus::Ok,
            format!("PostgreSQL answers, schema version {version}"),
        ),
        None => HealthCheck::new(
            "store",
            HealthStatus::Ok,
            format!("schema version {version} (quick_check skipped)"),
        ),
    };
    check.with_details(details)
}

/// Loaded indexes hold exactly the store's live vectors; dumps are usable; the graph keeps up.
pub(super) fn index(engine: &Engine) -> HealthCheck {
    let cfg: &HealthConfig = &engine.config.health;
    let model = engine.model_id();
    let loaded = engine.indexes.all();
    // Count under the writer lock: index updates happen under it, so no write is half-applied.
    let counts: Result<HashMap<UserKey, (u64, u64)>, crate::Error> = {
        let writer = engine.store.locked();
        vectors_per_user(&writer, model).map(|v| v.into_iter().map(|(k, n, max)| (k, (n, max))).collect())
    };
    let counts = match counts {
        Ok(c) => c,
        Err(e) => {
            return HealthCheck::new("index", HealthStatus::Failing, format!("cannot count vectors: {e}"))
        }
    };
    let mut problems = Vec::new();
    let mut pending = 0u64;
    for index in &loaded {
        let st = index.stats();
        pending += st.pending as u64;
        let want = counts.get(&index.user_key).map_or(0, |c| c.0);
        if st.live as u64 != want {
            problems.push(format!(
                "index of user key {} holds {} live vectors, the store {}",
                index.user_key, st.live, want
            ));
        }
    }
    let mut dump_problems = Vec::new();
    let mut dumps = 0;
    let mut dump_lag = 0u64;
    if let Some(dir) = &engine.index_dir {
        let (good, bad) = crate::index::dump_manifests(dir);
        dump_problems.extend(bad.into_iter().map(|n| format!("dump manifest {n} does not parse")));
        for (key, man) in good {
            dumps += 1;
            if man.model_id != model {
                dump_problems.push(format!("dump of user key {key} was made by model {:?}", man.model_id));
            } else if crate::index::dump_manifest_files(dir, &man).iter().any(|f| !f.exists()) {
                dump_problems.push(format!("dump of user key {key} is missing files"));
            }
            if let Some((_, max)) = counts.get(&key) {
                dump_lag += max.saturating_sub(man.watermark).min(1);
            }
        }
    }
    let details = json!({
        "loaded_indexes": loaded.len(),
        "users_with_vectors": counts.len(),
        "pending": pending,
        "dumps": dumps,
        "dumps_behind_store": dump_lag,
        "problems": problems,
        "dump_problems": dump_problems,
    });
    let check = if !problems.is_empty() {
        HealthCheck::new(
            "index",
            HealthStatus::Degraded,
            format!("{} (it will be rebuilt from the store)", problems[0]),
        )
    } else if !dump_problems.is_empty() {
        HealthCheck::new(
            "index",
            HealthStatus::Degraded,
            format!("{}; that index will be rebuilt from the store at its next load", dump_problems[0]),
        )
    } else if pending > cfg.index_pending_degraded {
        HealthCheck::new(
            "index",
            HealthStatus::Degraded,
            format!("{pending} vectors wait for the HNSW graph (searched exactly meanwhile)"),
        )
    } else {
        HealthCheck::new(
            "index",
            HealthStatus::Ok,
            format!("{} loaded indexes match the store; {dumps} dumps usable", loaded.len()),
        )
    };
    check.with_details(details)
}

/// (user key, vectors made by `model`, highest vector id) per user.
pub(crate) fn vectors_per_user(
    conn: &crate::store::db::Db,
    model: &str,
) -> crate::Result<Vec<(UserKey, u64, u64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_key, count(*), max(vector_id) FROM vectors WHERE model_id = ?1 GROUP BY user_key",
    )?;
    let rows = stmt.query_map([model], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64))
    })?;
    Ok(rows.collect::<crate::store::db::SqlResult<_>>()?)
}

/// Which embedder serves, and whether it is a fallback (and why).
pub(super) fn model(engine: &Engine) -> HealthCheck {
    let sel = &engine.selection;
    let reembed = engine.store.read(|c| store::meta_get(c, META_REEMBED_TARGET)).ok().flatten();
    let details = json!({
        "model_id": engine.model_id(),
        "chosen": sel.chosen,
        "requested": sel.requested,
        "fallback": sel.fallback,
        "fallback_reason": sel.fallback_reason,
        "reembed_target": reembed,
    });
    let check = if let Some(reason) = sel.fallback_reason.as_deref().filter(|_| sel.fallback) {
        HealthCheck::new(
            "model",
            HealthStatus::Degraded,
            format!("fallback embedder {} in use: {reason}", engine.model_id()),
        )
    } else if let Some(target) = reembed {
        HealthCheck::new(
            "model",
            HealthStatus::Degraded,
            format!("a re-embedding to {target} is unfinished; run reembed again to complete it"),
        )
    } else {
        HealthCheck::new("model", HealthStatus::Ok, format!("{} loaded", engine.model_id()))
    };
    check.with_details(details)
}

/// Free space on the store's file system.
pub(super) fn disk(engine: &Engine) -> HealthCheck {
    let cfg = &engine.config.health;
    let Some(dir) = engine.store.path() else {
        return HealthCheck::new("disk", HealthStatus::Ok, "in-memory store");
    };
    let Some(free) = process::disk_free_bytes(dir) else {
        return HealthCheck::new("disk", HealthStatus::Ok, "free space unknown on this platform");
    };
    let details = json!({ "free_bytes": free, "store_bytes": engine.store.disk_bytes() });
    let free_mb = free / MB;
    let check = if free_mb < cfg.disk_free_failing_mb {
        HealthCheck::new(
            "disk",
            HealthStatus::Failing,
            format!("{free_mb} MB free, below {} MB: writes may fail", cfg.disk_free_failing_mb),
        )
    } else if free_mb < cfg.disk_free_degraded_mb {
        HealthCheck::new(
            "disk",
            HealthStatus::Degraded,
            format!("{free_mb} MB free, below {} MB", cfg.disk_free_degraded_mb),
        )
    } else {
        HealthCheck::new("disk", HealthStatus::Ok, format!("{free_mb} MB free"))
    };
    check.with_details(details)
}

/// Available memory of the machine and resident memory of the process against the budget.
pub(super) fn memory(cfg: &HealthConfig) -> HealthCheck {
    let available = process::available_memory_bytes();
    let resident = process::resident_bytes();
    let details = json!({
        "available_bytes": available,
        "resident_bytes": resident,
        "budget_mb": cfg.memory_budget_mb,
    });
    let check = match (resident, cfg.memory_budget_mb, available) {
        (Some(rss), Some(budget), _) if rss / MB > budget => HealthCheck::new(
            "memory",
            HealthStatus::Degraded,
            format!("resident memory {} MB is over the budget of {budget} MB", rss / MB),
        ),
        (_, _, Some(avail)) if avail / MB < cfg.memory_available_degraded_mb => HealthCheck::new(
            "memory",
            HealthStatus::Degraded,
            format!(
                "only {} MB of memory available, below {} MB",
                avail / MB,
                cfg.memory_available_degraded_mb
            ),
        ),
        (_, _, Some(avail)) => {
            HealthCheck::new("memory", HealthStatus::Ok, format!("{} MB available", avail / MB))
        }
        _ => HealthCheck::new("memory", HealthStatus::Ok, "available memory unknown on this platform"),
    };
    check.with_details(details)
}
