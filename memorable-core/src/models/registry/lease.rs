//! Leases: an open store holds a shared lock on `<folder>/.lease` of each model version it
//! uses, so `gc` (which needs the exclusive lock to remove a folder) leaves it alone, in this
//! process or any other. The OS drops the lock when the process ends, however it ends.

use std::fs::{File, OpenOptions};
use std::path::Path;

const LEASE_FILE: &str = ".lease";

/// A shared lock on one version folder, held while the value lives.
#[derive(Debug)]
pub struct Lease(#[allow(dead_code)] File);

impl Lease {
    /// Take a lease on `folder` (`None` when the folder cannot hold one: read-only cache,
    /// missing folder; the model still loads, it is just not protected from `gc`).
    pub fn take(folder: &Path) -> Option<Lease> {
        let file = open(folder)?;
        file.lock_shared().ok()?;
        Some(Lease(file))
    }

    /// Whether some open store (of any process) holds a lease on `folder`.
    pub(crate) fn in_use(folder: &Path) -> bool {
        let Some(file) = open(folder) else { return false };
        match file.try_lock() {
            Ok(()) => false,
            Err(std::fs::TryLockError::WouldBlock) => true,
            Err(std::fs::TryLockError::Error(_)) => false,
        }
    }
}

fn open(folder: &Path) -> Option<File> {
    if !folder.is_dir() {
        return None;
    }
    OpenOptions::new().create(true).truncate(false).read(true).write(true).open(folder.join(LEASE_FILE)).ok()
}
