//! Maintenance of a live store: backups, a user back to an instant, export and import.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use time::OffsetDateTime;

use super::Memorable;
use crate::error::Result;
use crate::maintenance::{self, BackupReport, ImportReport, RestoreUserReport};

impl Memorable {
    /// Write a backup of this store into the new file `dest` while the store stays in use.
    /// The backup holds every memory acknowledged before the call began. `dest` must not
    /// exist ([`crate::Error::DestinationExists`]); it appears only once complete and durable.
    pub fn backup(&self, dest: impl AsRef<Path>) -> Result<BackupReport> {
        self.backup_with_progress(dest, &mut |_, _| {})
    }

    /// [`Memorable::backup`], calling `progress(bytes_done, bytes_total)` while writing.
    pub fn backup_with_progress(
        &self,
        dest: impl AsRef<Path>,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<BackupReport> {
        let report = self
            .metrics
            .track(self.engine().and_then(|e| maintenance::backup(&e, dest.as_ref(), progress)))?;
        self.metrics.backups.inc();
        Ok(report)
    }

    /// Bring `user`'s memories back to how they were at `at` (see
    /// docs/operations.md for what can and cannot come back). Other users are not
    /// touched. One transaction: all or nothing. The user's index is rebuilt from the store
    /// on its next use.
    pub fn restore_user(&self, user: &str, at: OffsetDateTime) -> Result<RestoreUserReport> {
        self.metrics.track(self.engine().and_then(|e| maintenance::restore_user(&e, user, at)))
    }

    /// Write `user`'s memories (oldest id first) to `out` as JSON Lines; with `vectors`,
    /// each line carries its embedding and model id. Returns how many were written.
    pub fn export_user(&self, user: &str, vectors: bool, out: &mut dyn Write) -> Result<u64> {
        self.metrics.track(self.engine().and_then(|e| maintenance::export_user(&e, user, vectors, out)))
    }

    /// [`Memorable::export_user`] into the new file `path` (never over an existing file:
    /// `DESTINATION_EXISTS`). Of an encrypted store, the file is sealed with the store's key
    /// (`import_jsonl` opens it); [`Memorable::export_user`] writes plaintext to the writer it
    /// is given.
    pub fn export_user_to(&self, user: &str, vectors: bool, path: impl AsRef<Path>) -> Result<u64> {
        let path = path.as_ref();
        self.metrics.track(self.engine().and_then(|e| maintenance::export_user_to(&e, user, vectors, path)))
    }

    /// [`Memorable::import_jsonl`] from the file `path`.
    pub fn import_jsonl_from(
        &self,
        path: impl AsRef<Path>,
        batch: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportReport> {
        let file = std::fs::File::open(path.as_ref())?;
        self.import_jsonl(&mut BufReader::new(file), batch, progress)
    }

    /// Import JSON Lines of memories (`export_user`'s output, or `NewMemory` objects), `batch`
    /// per transaction; `progress(lines_read)` after each batch. A bad line fails the import
    /// with its line number; earlier batches stay imported.
    pub fn import_jsonl(
        &self,
        input: &mut dyn BufRead,
        batch: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Result<ImportReport> {
        let imported = self.engine().and_then(|e| {
            let model = e.model_id().to_owned();
            let mut input = maintenance::plain_input(&e, input)?;
            drop(e);
            maintenance::import_jsonl(&model, &mut input, batch, progress, &mut |items| {
                self.remember_batch(items)
            })
        });
        self.metrics.track(imported)
    }
}
