//! Online backup of a live store into one file (see [`super::archive`] for the layout).
//!
//! Order matters for consistency: the index dumps are captured first (hard links taken
//! under the index load lock, so no dump changes meanwhile), then the database snapshot
//! (`VACUUM INTO` on a fresh read connection: a consistent WAL snapshot that writers do not
//! wait for). Every vector in a captured dump is therefore in the snapshot or was deleted
//! before it (a tombstone at load); vectors after a dump's watermark are caught up from the
//! snapshot when the restored index loads.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::archive::{ArchiveWriter, BackupManifest, DB_ENTRY, FORMAT};
use super::naming::{stamp, AUTO_BACKUP_DIR};
use super::verify::{facts, open_read_only, tempdir_near, DbFacts};
use crate::crypto::MasterKey;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::store::db::Db;
#[cfg(feature = "postgres")]
use crate::store::transfer;
use crate::store::{DB_FILE, INDEX_DIR};

/// What [`crate::Memorable::backup`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupReport {
    pub path: String,
    /// Size of the backup file.
    pub bytes: u64,
    pub schema_version: u32,
    pub model_id: Option<String>,
    pub memories: u64,
    pub users: u64,
    pub vectors: u64,
    /// Index dump files included (a store without dumps rebuilds its indexes after restore).
    pub index_files: usize,
    pub duration_ms: f64,
}

/// Write a backup of the engine's store into the new file `dest` while the store stays in
/// use (see [`crate::Memorable::backup`]).
pub(crate) fn backup(
    engine: &Engine,
    dest: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<BackupReport> {
    let _span = tracing::info_span!("backup").entered();
    let started = Instant::now();
    check_dest(dest)?;
    let scratch = tempdir_near(dest.parent().filter(|p| !p.as_os_str().is_empty()))?;
    // 1. Index dumps: freshen the loaded ones, then link every dump under the load lock.
    let mut index_files = Vec::new();
    if let Some(dir) = &engine.index_dir {
        let _load = engine.indexes.load_lock.lock();
        if let Some(target) = engine.dump_target() {
            for index in engine.indexes.all() {
                if let Err(e) = index.dump_if_dirty(&target) {
                    tracing::warn!(error = %e, "index dump before backup failed; that index is rebuilt after restore");
                }
            }
        }
        index_files = capture_dumps(dir, &scratch.path.join(INDEX_DIR))?;
    }
    // 2. The database snapshot.
    // Of an encrypted store, `VACUUM INTO` writes the copy encrypted with the same key.
    let snapshot = scratch.path.join(DB_FILE);
    let key = engine.store.master_key();
    match engine.store.path() {
        Some(dir) => vacuum_into(&open_read_only(&dir.join(DB_FILE), key)?, &snapshot)?,
        // PostgreSQL: every table read in one snapshot into an SQLite database of the same
        // schema, so the backup file is the same whichever backend wrote it (and restores
        // into either).
        #[cfg(feature = "postgres")]
        None if engine.store.is_shared() => {
            engine.store.read(|db| transfer::in_snapshot(db, |db| transfer::into_sqlite(db, &snapshot)))?;
        }
        None => vacuum_into(engine.store.locked().sqlite_only("backup")?, &snapshot)?,
    }
    let facts = facts(&Db::Sqlite(open_read_only(&snapshot, key)?))?;
    // 3. One file.
    let kdf = key.map(|k| k.iterations());
    let report = write_archive(facts, kdf, &snapshot, &index_files, dest, progress)?;
    tracing::info!(bytes = report.bytes, memories = report.memories, "backup written");
    Ok(BackupReport { duration_ms: started.elapsed().as_secs_f64() * 1000.0, ..report })
}

fn check_dest(dest: &Path) -> Result<()> {
    if dest.exists() {
        return Err(Error::DestinationExists { path: dest.to_path_buf() });
    }
    Ok(())
}

/// `VACUUM INTO`: a compact, consistent copy of the database as of one read snapshot.
pub(crate) fn vacuum_into(conn: &Connection, dest: &Path) -> Result<()> {
    let dest = dest.to_str().ok_or_else(|| Error::InvalidInput("backup path is not valid UTF-8".into()))?;
    conn.execute("VACUUM INTO ?1", [dest])?;
    Ok(())
}

/// Hard-link (or copy) every dump manifest and the two files it names from `dir` into
/// `into`; returns (entry name, path) pairs.
fn capture_dumps(dir: &Path, into: &Path) -> Result<Vec<(String, PathBuf)>> {
    let (good, _bad) = crate::index::dump_manifests(dir);
    if good.is_empty() {
        return Ok(Vec::new());
    }
    std::fs::create_dir_all(into)?;
    let mut out = Vec::new();
    for (key, man) in good {
        let manifest = dir.join(format!("u{key}.json"));
        let mut files = vec![manifest];
        files.extend(crate::index::dump_manifest_files(dir, &man));
        if files.iter().any(|f| !f.is_file()) {
            tracing::warn!(
                user_key = key,
                "index dump incomplete; left out of the backup (rebuilt after restore)"
            );
            continue;
        }
        // Data files first, manifest last, as a dump writes them.
        files.rotate_left(1);
        for f in files {
            let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let link = into.join(&name);
            if std::fs::hard_link(&f, &link).is_err() {
                std::fs::copy(&f, &link)?;
            }
            out.push((format!("{INDEX_DIR}/{name}"), link));
        }
    }
    Ok(out)
}

/// Write `snapshot` (whose facts are `f`; encrypted with `kdf_iterations` rounds, if it is)
/// and `index_files` into the backup file `dest` (via `dest.partial`).
pub(crate) fn write_archive(
    f: DbFacts,
    kdf_iterations: Option<u32>,
    snapshot: &Path,
    index_files: &[(String, PathBuf)],
    dest: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<BackupReport> {
    let total: u64 = std::iter::once(snapshot)
        .chain(index_files.iter().map(|(_, p)| p.as_path()))
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let partial = partial_path(dest);
    let _ = std::fs::remove_file(&partial);
    let result = (|| {
        let mut w = ArchiveWriter::create(&partial)?;
        let mut done = 0u64;
        let mut tick = |n: u64| {
            done += n;
            progress(done, total);
        };
        w.add_file(DB_ENTRY, snapshot, &mut tick)?;
        for (name, path) in index_files {
            w.add_file(name, path, &mut tick)?;
        }
        let manifest = BackupManifest {
            format: FORMAT,
            memorable_version: crate::VERSION.into(),
            created_at: time::OffsetDateTime::now_utc(),
            schema_version: f.schema_version,
            model_id: f.model_id.clone(),
            dim: f.dim,
            memories: f.memories,
            users: f.users,
            versions: f.versions,
            vectors: f.vectors,
            max_memory_id: f.max_memory_id,
            kdf_iterations,
            entries: Vec::new(),
        };
        let bytes = w.finish(manifest)?;
        check_dest(dest)?;
        std::fs::rename(&partial, dest)?;
        sync_parent(dest);
        Ok(bytes)
    })();
    let bytes = match result {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    Ok(BackupReport {
        path: dest.display().to_string(),
        bytes,
        schema_version: f.schema_version,
        model_id: f.model_id,
        memories: f.memories,
        users: f.users,
        vectors: f.vectors,
        index_files: index_files.len(),
        duration_ms: 0.0,
    })
}

fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    dest.with_file_name(name)
}

/// Make a rename durable (best effort: not every platform can fsync a directory).
pub(crate) fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
}

/// The automatic backup taken before migrating a store from schema `from`: written with the
/// store's own (not yet migrated) connection into `DIR/backups/`.
pub(crate) fn pre_migration_backup(
    conn: &Connection,
    key: Option<&MasterKey>,
    dir: &Path,
    from: u32,
    to: u32,
) -> Result<PathBuf> {
    let backups = dir.join(AUTO_BACKUP_DIR);
    std::fs::create_dir_all(&backups)?;
    let stamp = stamp(time::OffsetDateTime::now_utc());
    let dest = backups.join(format!("pre-migration-v{from}-to-v{to}-{stamp}.mrbak"));
    let scratch = tempdir_near(Some(&backups))?;
    let index_files = capture_dumps(&dir.join(INDEX_DIR), &scratch.path.join(INDEX_DIR))?;
    let snapshot = scratch.path.join(DB_FILE);
    vacuum_into(conn, &snapshot)?;
    let kdf = crate::crypto::marker_iterations(dir)?;
    let facts = facts(&Db::Sqlite(open_read_only(&snapshot, key)?))?;
    write_archive(facts, kdf, &snapshot, &index_files, &dest, &mut |_, _| {})?;
    tracing::info!(from, to, backup = %dest.display(), "backup taken before migrating the store");
    Ok(dest)
}
