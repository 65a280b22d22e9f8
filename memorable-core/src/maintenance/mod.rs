//! Maintenance: backup, verify, restore, per-user point-in-time restore, export / import,
//! scheduled backups with retention, and the automatic backup taken before a schema
//! migration. See docs/operations.md for procedures.
//!
//! - [`crate::Memorable::backup`]: online backup of a live store into one file;
//! - [`verify`]: checks a backup file or a store directory;
//! - [`restore`]: a backup into a new directory (never over an existing store);
//! - [`crate::Memorable::restore_user`]: one user back to an instant, from the history;
//! - [`crate::Memorable::export_user`] / [`crate::Memorable::import_jsonl`]: JSON Lines;
//! - [`prune_backups`]: retention (keep the newest N, drop older than D).

mod archive;
mod backup;
mod export;
mod naming;
mod pitr;
mod restore;
mod schedule;
mod verify;

pub use crate::config::{BackupConfig, BackupSchedule, Retention};
pub use archive::{BackupEntry, BackupManifest};
pub(crate) use backup::backup;
pub(crate) use backup::pre_migration_backup;
pub use backup::BackupReport;
pub(crate) use export::{export_user, export_user_to, import_jsonl, plain_input};
pub use export::{ExportedMemory, ImportReport};
pub use naming::{AUTO_BACKUP_DIR, BACKUP_EXTENSION};
pub(crate) use pitr::restore_user;
pub use pitr::RestoreUserReport;
pub use restore::{restore, restore_with_key, restore_with_progress, RestoreReport};
pub use schedule::prune_backups;
pub(crate) use schedule::scheduled_backup;
pub use verify::{verify, verify_with_key, verify_with_progress, VerifyReport};
