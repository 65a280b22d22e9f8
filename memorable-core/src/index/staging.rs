//! Sealed index dumps of an encrypted store. The plaintext dump files live in a private
//! directory in memory (tmpfs: `/dev/shm`, or `$MEMORABLE_RAM_DIR`), never on disk: a dump is
//! written there and sealed into the index directory (`crypto::sealed`, under the store's
//! key); a load unseals into it and reads. (The graph's format is the engine's own now, so
//! dumps could stream through the sealer instead: not done yet.) The staging directory is
//! removed as soon as the files are sealed or read. Without a RAM
//! directory an encrypted store writes no dumps and builds its indexes from the database.

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::crypto::sealed::{open_error, write_sealed, OpenReader};
use crate::crypto::MasterKey;
use crate::error::Result;

/// A private directory in memory, removed on drop.
pub(crate) struct Staging {
    pub path: PathBuf,
}

impl Staging {
    /// `None` when no RAM-backed directory is available.
    pub fn new() -> Result<Option<Staging>> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let base =
            std::env::var_os("MEMORABLE_RAM_DIR").map(PathBuf::from).unwrap_or_else(|| "/dev/shm".into());
        if !base.is_dir() {
            return Ok(None);
        }
        let path = base.join(format!(
            "memorable-stage-{}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed),
            crate::time::now_ms()
        ));
        sweep_dead(&base);
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&path)?;
        Ok(Some(Staging { path }))
    }
}

/// Remove the staging directories of processes that died holding one (a `kill -9` during a
/// dump or a load leaves its plaintext in memory until the next reboot otherwise).
fn sweep_dead(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("memorable-stage-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() as i32 && !alive(pid) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

#[cfg(unix)]
fn alive(pid: i32) -> bool {
    // Signal 0 checks existence; EPERM means it exists under another user.
    // SAFETY: kill with signal 0 sends nothing.
    let found = unsafe { libc::kill(pid, 0) } == 0;
    found || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn alive(_pid: i32) -> bool {
    true
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Seal the file `src` into the new file `dst` under `key`.
pub(crate) fn seal_file(src: &Path, dst: &Path, key: &MasterKey) -> Result<()> {
    let mut input = BufReader::new(std::fs::File::open(src)?);
    write_sealed(std::fs::File::create(dst)?, key, |out| {
        std::io::copy(&mut input, out)?;
        Ok(())
    })
}

/// Unseal the sealed file `src` into the new file `dst` with `key`: `WRONG_KEY` when it was
/// sealed under another key (a dump from before a rekey), `CORRUPT` when damaged.
pub(crate) fn unseal_file(src: &Path, dst: &Path, key: &MasterKey) -> Result<()> {
    let input = BufReader::with_capacity(1 << 20, std::fs::File::open(src)?);
    let mut reader = OpenReader::new(input, None, Some(key))?;
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(dst)?);
    std::io::copy(&mut reader, &mut out).map_err(open_error)?;
    out.flush()?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    // (The full path: the architecture test reads a bare `super` here as the folder's module.)
    use crate::index::staging::sweep_dead;

    #[test]
    fn the_staging_of_a_dead_process_is_swept() {
        let base = tempfile::tempdir().unwrap();
        let dead = std::process::Command::new("true").spawn().unwrap();
        let dead_pid = dead.id();
        let mut dead = dead;
        dead.wait().unwrap();
        let theirs = base.path().join(format!("memorable-stage-{dead_pid}-0-0"));
        let ours = base.path().join(format!("memorable-stage-{}-0-0", std::process::id()));
        let other = base.path().join("something-else");
        for d in [&theirs, &ours, &other] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("x.hnsw.data"), b"plaintext").unwrap();
        }
        sweep_dead(base.path());
        assert!(!theirs.exists(), "a dead process's plaintext stays in memory");
        assert!(ours.exists() && other.exists());
    }
}
