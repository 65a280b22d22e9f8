//! `verify`: is a backup file or a store directory sound? Checksums (backup), SQLite
//! `integrity_check`, schema version, and every memory's vector present, well-formed and
//! made by the store's model; index dumps are checked too (a damaged dump is a warning: the
//! index is rebuilt from the store).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};
use serde::{Deserialize, Serialize};

use super::archive::{Archive, BackupManifest, DB_ENTRY};
use crate::crypto::{self, EncryptionKey, MasterKey};
use crate::error::{Error, Result};
use crate::store::db::{params, Db, OptionalExtension};
use crate::store::{schema, stored_version, DB_FILE, INDEX_DIR, META_MODEL_ID, META_REEMBED_TARGET};

/// What was verified and what was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyReport {
    pub path: String,
    /// `"backup"` or `"store"`.
    pub kind: String,
    /// True when no problem was found: safe to restore / keep using.
    pub ok: bool,
    /// What makes it unsound (empty when `ok`).
    pub problems: Vec<String>,
    /// What is worth knowing but harmless (e.g. an index dump that will be rebuilt).
    pub warnings: Vec<String>,
    pub schema_version: Option<u32>,
    pub model_id: Option<String>,
    pub memories: u64,
    pub users: u64,
    pub vectors: u64,
    /// Bytes read.
    pub bytes: u64,
    /// The backup's manifest, for a backup.
    pub manifest: Option<BackupManifest>,
}

impl VerifyReport {
    pub(crate) fn new(path: &Path, kind: &str) -> VerifyReport {
        VerifyReport {
            path: path.display().to_string(),
            kind: kind.into(),
            ok: false,
            problems: Vec::new(),
            warnings: Vec::new(),
            schema_version: None,
            model_id: None,
            memories: 0,
            users: 0,
            vectors: 0,
            bytes: 0,
            manifest: None,
        }
    }

    /// `Ok(self)` when sound, else a [`Error::Corrupt`] naming the first problems.
    pub fn into_result(self) -> Result<VerifyReport> {
        if self.ok {
            Ok(self)
        } else {
            let first: Vec<&str> = self.problems.iter().take(3).map(String::as_str).collect();
            Err(Error::Corrupt(format!("{} failed verification: {}", self.path, first.join("; "))))
        }
    }
}

/// Verify a backup file or a store directory (see the module docs). An unsound target is
/// an `Ok` report with `ok == false`; errors are for targets that cannot be read at all.
pub fn verify(path: impl AsRef<Path>) -> Result<VerifyReport> {
    verify_with_progress(path, &mut |_, _| {})
}

/// [`verify`], calling `progress(bytes_done, bytes_total)` as it reads. An encrypted store or
/// backup is opened with the key in `MEMORABLE_KEY` (see [`verify_with_key`]).
pub fn verify_with_progress(
    path: impl AsRef<Path>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport> {
    verify_with_key(path, EncryptionKey::from_env().as_ref(), progress)
}

/// [`verify_with_progress`] with the key of an encrypted store or backup given (`None`:
/// plain; `WRONG_KEY` for an encrypted target without its key).
pub fn verify_with_key(
    path: impl AsRef<Path>,
    key: Option<&EncryptionKey>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport> {
    let path = path.as_ref();
    #[cfg(feature = "postgres")]
    if let crate::store::Location::Postgres(target) = crate::store::Location::of(Some(path))? {
        return verify_postgres(&target);
    }
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::Storage(format!("cannot read {}: {e}", path.display())))?;
    if meta.is_dir() {
        verify_store(path, key)
    } else {
        verify_backup(path, key, progress)
    }
}

fn verify_store(dir: &Path, key: Option<&EncryptionKey>) -> Result<VerifyReport> {
    let mut report = VerifyReport::new(dir, "store");
    let db = dir.join(DB_FILE);
    if !db.is_file() {
        report.problems.push(format!("{} holds no {DB_FILE}: not a MemoRable store", dir.display()));
        return Ok(report);
    }
    report.bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    let key = crypto::db_key(&db, crypto::marker_iterations(dir)?, key)?;
    match open_read_only(&db, key.as_ref()) {
        Ok(conn) => check_database(&Db::Sqlite(conn), None, &mut report),
        Err(e @ Error::WrongKey(_)) => return Err(e),
        Err(e) => report.problems.push(format!("the database cannot be opened: {e}")),
    }
    let model = report.model_id.clone();
    check_index_dumps(&dir.join(INDEX_DIR), model.as_deref(), &mut report);
    report.ok = report.problems.is_empty();
    Ok(report)
}

/// A PostgreSQL store: the same checks as a directory's, inside one read snapshot, on a
/// connection of its own (nothing is migrated or written).
#[cfg(feature = "postgres")]
fn verify_postgres(target: &crate::store::PgTarget) -> Result<VerifyReport> {
    let mut report = VerifyReport::new(Path::new(&target.to_string()), "store");
    let db = crate::store::connect_postgres(target, false)?;
    crate::store::transfer::in_snapshot(&db, |db| {
        if stored_version(db)? == 0 {
            report.problems.push("the database has no MemoRable schema".into());
        } else {
            check_database(db, None, &mut report);
        }
        Ok(())
    })?;
    report.ok = report.problems.is_empty();
    Ok(report)
}

fn verify_backup(
    path: &Path,
    key: Option<&EncryptionKey>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport> {
    let mut report = VerifyReport::new(path, "backup");
    let mut archive = match Archive::open(path) {
        Ok(a) => a,
        Err(Error::Corrupt(m)) => {
            report.problems.push(m);
            return Ok(report);
        }
        Err(e) => return Err(e),
    };
    let total = archive.len;
    report.bytes = total;
    let mut done = 0u64;
    if let Err(e) = archive.check_entries(path, &mut |n| {
        done += n;
        progress(done, total);
    }) {
        report.problems.push(e.to_string());
        report.manifest = Some(archive.manifest);
        return Ok(report);
    }
    // The checksums hold; now check what the database says inside.
    let scratch = tempdir_near(None)?;
    let db = scratch.path.join(DB_FILE);
    let entry = archive.manifest.entries.iter().find(|e| e.name == DB_ENTRY).cloned();
    if let Some(entry) = entry {
        archive.extract(path, &entry, &db, &mut |_| {})?;
        let iterations = archive.manifest.kdf_iterations;
        let key = crypto::db_key(&db, iterations, key)?;
        match open_read_only(&db, key.as_ref()) {
            Ok(conn) => check_database(&Db::Sqlite(conn), Some(&archive.manifest), &mut report),
            Err(e @ Error::WrongKey(_)) => return Err(e),
            Err(e) => report.problems.push(format!("the database inside cannot be opened: {e}")),
        }
    }
    for e in &archive.manifest.entries {
        if !entry_name_ok(&e.name) {
            report.problems.push(format!("entry name {:?} is not allowed in a backup", e.name));
        }
    }
    progress(total, total);
    report.manifest = Some(archive.manifest);
    report.ok = report.problems.is_empty();
    Ok(report)
}

/// Entry names are `memorable.db` or `index/<file>`: nothing can land outside the store.
pub(crate) fn entry_name_ok(name: &str) -> bool {
    let file_ok = |f: &str| {
        !f.is_empty() && f != "." && f != ".." && !f.contains(['/', '\\', '\0']) && !f.starts_with('.')
    };
    name == DB_ENTRY || name.strip_prefix("index/").is_some_and(file_ok)
}

/// A read-only connection to `db`, keyed with `key` for an encrypted database.
pub(crate) fn open_read_only(db: &Path, key: Option<&MasterKey>) -> Result<Connection> {
    let conn =
        Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    crypto::apply(&conn, key)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    crypto::read_header(&conn, key, db, Error::from)?;
    Ok(conn)
}

/// Facts of a database: what a backup manifest records.
pub(crate) struct DbFacts {
    pub schema_version: u32,
    pub model_id: Option<String>,
    pub dim: Option<u64>,
    pub memories: u64,
    pub users: u64,
    pub versions: u64,
    pub vectors: u64,
    pub max_memory_id: u64,
}

pub(crate) fn facts(db: &Db) -> Result<DbFacts> {
    let one = |sql: &str| db.query_row(sql, (), |r| r.get::<_, i64>(0)).map(|n| n as u64);
    let schema_version = stored_version(db)?;
    let model_id: Option<String> =
        db.query_row("SELECT value FROM meta WHERE key = ?1", [META_MODEL_ID], |r| r.get(0)).optional()?;
    let dim: Option<i64> = db.query_row("SELECT max(dim) FROM vectors", (), |r| r.get(0))?;
    Ok(DbFacts {
        schema_version,
        model_id,
        dim: dim.map(|d| d as u64),
        memories: one("SELECT count(*) FROM memories")?,
        users: one("SELECT count(*) FROM users")?,
        versions: one("SELECT count(*) FROM memory_versions")?,
        vectors: one("SELECT count(*) FROM vectors")?,
        max_memory_id: one("SELECT coalesce(max(id), 0) FROM memories")?,
    })
}

/// Integrity, schema, vectors; against `manifest` when checking a backup.
pub(crate) fn check_database(conn: &Db, manifest: Option<&BackupManifest>, r: &mut VerifyReport) {
    if let Err(e) = check_database_inner(conn, manifest, r) {
        r.problems.push(format!("checking the database failed: {e}"));
    }
}

fn check_database_inner(conn: &Db, manifest: Option<&BackupManifest>, r: &mut VerifyReport) -> Result<()> {
    // SQLite checks its file's pages; PostgreSQL's own checks (amcheck, checksums) are the
    // server's, not ours to run.
    if let Some(lite) = conn.sqlite() {
        let mut stmt = lite.prepare("PRAGMA integrity_check")?;
        let rows: Vec<String> = stmt.query_map([], |row| row.get(0))?.collect::<rusqlite::Result<_>>()?;
        if rows.len() != 1 || rows[0] != "ok" {
            r.problems.push(format!(
                "SQLite integrity_check: {}",
                rows.iter().take(5).cloned().collect::<Vec<_>>().join("; ")
            ));
            return Ok(());
        }
    }
    let f = facts(conn)?;
    r.schema_version = Some(f.schema_version);
    r.model_id = f.model_id.clone();
    (r.memories, r.users, r.vectors) = (f.memories, f.users, f.vectors);
    if f.schema_version > schema::SCHEMA_VERSION {
        r.problems.push(format!(
            "schema version {} is newer than this build reads ({})",
            f.schema_version,
            schema::SCHEMA_VERSION
        ));
        return Ok(());
    }
    if f.schema_version == 0 {
        r.problems.push("the database has no MemoRable schema".into());
        return Ok(());
    }
    if let Some(m) = manifest {
        let same = m.schema_version == f.schema_version
            && m.model_id == f.model_id
            && m.memories == f.memories
            && m.users == f.users
            && m.vectors == f.vectors
            && m.max_memory_id == f.max_memory_id;
        if !same {
            r.problems
                .push("the database does not match the backup's manifest (counts, model or schema)".into());
        }
    }
    let count = |sql: &str| conn.query_row(sql, (), |row| row.get::<_, i64>(0));
    let missing = count(
        "SELECT count(*) FROM memories m WHERE NOT EXISTS (SELECT 1 FROM vectors v WHERE v.memory_id = m.id)",
    )?;
    if missing > 0 {
        r.problems.push(format!("{missing} memories have no vector"));
    }
    let orphans = count(
        "SELECT count(*) FROM vectors v WHERE NOT EXISTS (SELECT 1 FROM memories m WHERE m.id = v.memory_id)",
    )?;
    if orphans > 0 {
        r.problems.push(format!("{orphans} vectors belong to no memory"));
    }
    let target: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [META_REEMBED_TARGET], |row| row.get(0))
        .optional()?;
    if let Some(model) = &f.model_id {
        let other: i64 = conn.query_row(
            "SELECT count(*) FROM vectors WHERE model_id != ?1 AND model_id != coalesce(?2, ?1)",
            params![model, target],
            |row| row.get(0),
        )?;
        if other > 0 {
            r.problems.push(format!("{other} vectors were made by another model than the store's ({model})"));
        }
        if let Some(t) = &target {
            r.warnings.push(format!("a re-embedding to {t} is unfinished"));
        }
    } else if f.vectors > 0 {
        r.problems.push("the store holds vectors but records no model".into());
    }
    // Every vector: length matches its dimension, every component finite, dimension
    // consistent per model.
    let mut stmt = conn.prepare("SELECT memory_id, model_id, dim, data FROM vectors")?;
    let mut rows = stmt.query(())?;
    let mut dims: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    let mut bad = 0u64;
    let mut first_bad = None;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let model: String = row.get(1)?;
        let dim: i64 = row.get(2)?;
        let well_formed = row.with_opt_blob(3, |data| {
            let data = data.unwrap_or_default();
            Ok(dim > 0
                && data.len() as i64 == dim * 4
                && data.chunks_exact(4).all(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]).is_finite()))
        })?;
        let consistent = *dims.entry(model).or_insert(dim) == dim;
        if !(consistent && well_formed) {
            bad += 1;
            first_bad.get_or_insert(id);
        }
    }
    if bad > 0 {
        r.problems.push(format!(
            "{bad} vectors are malformed (wrong length, non-finite values or mixed dimensions; first: memory {})",
            first_bad.unwrap_or(0)
        ));
    }
    Ok(())
}

/// Dumps are a cache: a damaged or foreign one is a warning (rebuilt at load).
fn check_index_dumps(dir: &Path, model: Option<&str>, r: &mut VerifyReport) {
    if !dir.is_dir() {
        return;
    }
    let (good, bad) = crate::index::dump_manifests(dir);
    for name in bad {
        r.warnings.push(format!("index dump manifest {name} does not parse; that index will be rebuilt"));
    }
    for (key, man) in good {
        if model.is_some_and(|m| m != man.model_id) {
            r.warnings.push(format!(
                "index dump of user key {key} was made by model {}; it will be rebuilt",
                man.model_id
            ));
        } else if let Err(e) = crate::index::check_dump_files(dir, &man) {
            r.warnings.push(format!("index dump of user key {key}: {e}; it will be rebuilt"));
        }
    }
}

/// A scratch directory removed on drop (in `near`'s directory, else the system temp dir).
pub(crate) struct Scratch {
    pub path: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

pub(crate) fn tempdir_near(near: Option<&Path>) -> Result<Scratch> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let base = near.map(Path::to_path_buf).unwrap_or_else(std::env::temp_dir);
    let name = format!(
        ".memorable-scratch-{}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        crate::time::now_ms()
    );
    let path = base.join(name);
    std::fs::create_dir_all(&path)?;
    Ok(Scratch { path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_cannot_escape() {
        assert!(entry_name_ok("memorable.db"));
        assert!(entry_name_ok("index/u1.json"));
        for bad in ["../x", "index/../x", "index/", "index/a/b", "/etc/passwd", "index/.x", "other"] {
            assert!(!entry_name_ok(bad), "{bad}");
        }
    }
}
