//! `restore`: a backup file into a new store directory. The backup is checked completely
//! (every checksum, then the extracted database's integrity and vectors) before the
//! directory appears; it is built in a hidden sibling and renamed into place, so a failed
//! restore leaves nothing behind and an existing store is never touched.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::archive::Archive;
use super::backup::sync_parent;
use super::verify::{entry_name_ok, verify_with_key};
use crate::crypto::{self, EncryptionKey};
use crate::error::{Error, Result};
use crate::store::DB_FILE;

/// What [`restore`] brought back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreReport {
    /// The new store directory.
    pub path: String,
    pub schema_version: u32,
    pub model_id: Option<String>,
    pub memories: u64,
    pub users: u64,
    pub index_files: usize,
}

/// Restore the backup file `backup` into `new_dir`, which must not exist (or be an empty
/// directory): [`Error::DestinationExists`] otherwise, and [`Error::Corrupt`] for a backup
/// that fails verification — in both cases nothing is written.
pub fn restore(backup: impl AsRef<Path>, new_dir: impl AsRef<Path>) -> Result<RestoreReport> {
    restore_with_progress(backup, new_dir, &mut |_, _| {})
}

/// [`restore`], calling `progress(bytes_done, bytes_total)`: verification reads the backup
/// once, extraction once more. The backup of an encrypted store is opened with the key in
/// `MEMORABLE_KEY` (see [`restore_with_key`]).
pub fn restore_with_progress(
    backup: impl AsRef<Path>,
    new_dir: impl AsRef<Path>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RestoreReport> {
    restore_with_key(backup, new_dir, EncryptionKey::from_env().as_ref(), progress)
}

/// [`restore_with_progress`] with the key of an encrypted store's backup given: the restored
/// store stays encrypted with that key (`WRONG_KEY` without it).
pub fn restore_with_key(
    backup: impl AsRef<Path>,
    new_dir: impl AsRef<Path>,
    key: Option<&EncryptionKey>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RestoreReport> {
    let (backup, new_dir) = (backup.as_ref(), new_dir.as_ref());
    let _span = tracing::info_span!("restore").entered();
    #[cfg(feature = "postgres")]
    if let crate::store::Location::Postgres(target) = crate::store::Location::of(Some(new_dir))? {
        return restore_into_postgres(backup, &target, key, progress);
    }
    check_target(new_dir)?;
    if std::fs::metadata(backup).map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::InvalidInput(format!("{} is a directory, not a backup file", backup.display())));
    }
    let total = std::fs::metadata(backup)?.len();
    let verified = verify_with_key(backup, key, &mut |done, _| progress(done, total * 2))?.into_result()?;
    let mut archive = Archive::open(backup)?;
    // Build beside the target, then rename: the target appears complete or not at all.
    let parent = new_dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let name =
        new_dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "store".into());
    let staging = parent.join(format!(".{name}.restoring-{}-{}", std::process::id(), crate::time::now_ms()));
    let result = (|| {
        std::fs::create_dir_all(staging.join(crate::store::INDEX_DIR))?;
        let mut done = total;
        for e in archive.manifest.entries.clone() {
            if !entry_name_ok(&e.name) {
                return Err(Error::Corrupt(format!("backup entry {:?} is not allowed", e.name)));
            }
            archive.extract(backup, &e, &staging.join(&e.name), &mut |n| {
                done += n;
                progress(done.min(total * 2), total * 2);
            })?;
        }
        // An encrypted store's marker (see `crypto`): the restored store opens with the key
        // the backup's database was encrypted with.
        let iterations = archive.manifest.kdf_iterations;
        if let Some(master) = crypto::db_key(&staging.join(DB_FILE), iterations, key)? {
            crypto::write_marker(&staging, &master)?;
        }
        let extracted = verify_with_key(&staging, key, &mut |_, _| {})?;
        if !extracted.ok {
            return Err(Error::Corrupt(format!(
                "restored store failed verification: {}",
                extracted.problems.join("; ")
            )));
        }
        check_target(new_dir)?;
        if new_dir.is_dir() {
            std::fs::remove_dir(new_dir)?;
        }
        std::fs::rename(&staging, new_dir)?;
        sync_parent(new_dir);
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    progress(total * 2, total * 2);
    let m = verified.manifest.unwrap_or(archive.manifest);
    tracing::info!(memories = m.memories, "store restored");
    Ok(RestoreReport {
        path: new_dir.display().to_string(),
        schema_version: m.schema_version,
        model_id: m.model_id,
        memories: m.memories,
        users: m.users,
        index_files: m.entries.iter().filter(|e| e.name != super::archive::DB_ENTRY).count(),
    })
}

/// [`restore_with_key`] into a PostgreSQL database: the backup is verified, its database
/// brought to this build's schema in scratch space, and its rows copied into the database
/// (created or migrated to the schema) in one transaction that the same checks as
/// `verify` see before it commits. The database must hold no MemoRable data yet
/// (`DESTINATION_EXISTS`). A backup of either backend restores here.
#[cfg(feature = "postgres")]
fn restore_into_postgres(
    backup: &Path,
    target: &crate::store::PgTarget,
    key: Option<&EncryptionKey>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RestoreReport> {
    use super::archive::DB_ENTRY;
    use super::verify::{check_database, tempdir_near, VerifyReport};
    let total = std::fs::metadata(backup)?.len();
    let verified = verify_with_key(backup, key, &mut |done, _| progress(done, total * 2))?.into_result()?;
    let mut archive = Archive::open(backup)?;
    let entry = archive.manifest.entries.iter().find(|e| e.name == DB_ENTRY).cloned();
    let entry = entry.ok_or_else(|| Error::Corrupt(format!("{} holds no database", backup.display())))?;
    let scratch = tempdir_near(None)?;
    let db = scratch.path.join(DB_FILE);
    archive.extract(backup, &entry, &db, &mut |_| {})?;
    let master = crypto::db_key(&db, archive.manifest.kdf_iterations, key)?;
    let mut lite = rusqlite::Connection::open(&db)?;
    crypto::apply(&lite, master.as_ref())?;
    crate::store::schema::migrate(&mut lite, None)?;
    let shown = target.to_string();
    let mut dest = crate::store::connect_postgres(target, true)?;
    let copied = crate::store::transfer::into_postgres(
        lite,
        &mut dest,
        &shown,
        &mut |done, rows| progress(total + total * done / rows.max(1), total * 2),
        &mut |db| {
            let mut r = VerifyReport::new(Path::new(&shown), "store");
            check_database(db, None, &mut r);
            r.ok = r.problems.is_empty();
            r.into_result().map(drop)
        },
    )?;
    progress(total * 2, total * 2);
    let m = verified.manifest.unwrap_or(archive.manifest);
    tracing::info!(memories = m.memories, rows = copied, database = %target, "store restored into PostgreSQL");
    Ok(RestoreReport {
        path: shown,
        schema_version: crate::store::schema::SCHEMA_VERSION,
        model_id: m.model_id,
        memories: m.memories,
        users: m.users,
        index_files: 0,
    })
}

/// The target must not exist, or be an empty directory.
fn check_target(dir: &Path) -> Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() || dir.join(DB_FILE).exists() {
                return Err(Error::DestinationExists { path: dir.to_path_buf() });
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) => Err(Error::DestinationExists { path: dir.to_path_buf() }),
    }
}
