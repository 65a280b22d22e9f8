//! The key marker: a small plaintext file beside an encrypted database that says it is
//! encrypted, how its key is derived, and a check value for the key.
//!
//! Without it, an encrypted database and a damaged one look alike (neither starts with
//! SQLite's header): the marker lets `open` without a key answer `WRONG_KEY` for an
//! encrypted store and `CORRUPT` for a damaged plain one. It is written before the database
//! is created (so the salt it names is the one the database gets) and rewritten after a
//! `rekey` commits; a marker whose check value disagrees with a key that opens the database
//! (a rekey interrupted between the two) is repaired at open.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{random, EncryptionKey, MasterKey, DB_KDF_ITERATIONS, KEY_ENV, SALT_LEN};
use crate::error::{Error, Result};

/// The marker's file name in a store directory.
pub const MARKER_FILE: &str = "memorable.keycheck";

/// More rounds than any marker may ask for (a damaged one must not stall `open`).
pub(crate) const MAX_ITERATIONS: u32 = 4 * DB_KDF_ITERATIONS;

/// The first 16 bytes of every plain SQLite database.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Marker {
    format: u32,
    cipher: String,
    kdf: String,
    iterations: u32,
    /// Hex: the database's salt (its first 16 bytes).
    salt: String,
    /// Hex: [`MasterKey::check_tag`].
    check: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn read_marker(dir: &Path) -> Result<Option<Marker>> {
    match std::fs::read(dir.join(MARKER_FILE)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Corrupt(format!("{} does not parse: {e}", dir.join(MARKER_FILE).display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Write the marker for `master` into `dir` (temp file, fsync, rename).
pub(crate) fn write_marker(dir: &Path, master: &MasterKey) -> Result<()> {
    let marker = Marker {
        format: 1,
        cipher: "sqlcipher4".into(),
        kdf: "pbkdf2-hmac-sha256".into(),
        iterations: master.iterations(),
        salt: hex(&master.salt()),
        check: hex(&master.check_tag()),
    };
    let path = dir.join(MARKER_FILE);
    let tmp = dir.join(format!("{MARKER_FILE}.tmp"));
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(&marker)?)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The first 16 bytes of `db` (`None`: no file, or an empty one).
fn db_head(db: &Path) -> Result<Option<[u8; SALT_LEN]>> {
    let mut f = match std::fs::File::open(db) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let mut head = [0u8; SALT_LEN];
    let mut got = 0;
    while got < SALT_LEN {
        match f.read(&mut head[got..])? {
            0 => break,
            n => got += n,
        }
    }
    // A file shorter than a header is not a database; SQLite says so when it reads it.
    Ok((got > 0).then_some(head))
}

/// How the store in `dir` (database file `db`) is to be keyed: `None` for a plain store
/// opened without a key; the derived key otherwise (a new store gets its salt and marker
/// now). `WRONG_KEY` when the key and the store disagree: a key for a plain store, or an
/// encrypted store without one.
pub(crate) fn store_key(dir: &Path, db: &Path, key: Option<&EncryptionKey>) -> Result<Option<MasterKey>> {
    let marker = read_marker(dir)?;
    let head = db_head(db)?;
    let plain = head.as_ref().is_some_and(|h| h == SQLITE_HEADER);
    match (key, marker) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(Error::WrongKey(format!(
            "the store in {} is encrypted; give its key (Config.encryption_key or {KEY_ENV})",
            dir.display()
        ))),
        (Some(_), None) if plain => Err(Error::WrongKey(format!(
            "the store in {} is not encrypted, but a key was given; open it without one (to \
             encrypt a store, export its users into a new store opened with a key)",
            dir.display()
        ))),
        // Encrypted without its marker (lost or removed): the header is the salt; if the key
        // opens the database, the marker is written again.
        (Some(k), None) => {
            let master = match head {
                Some(salt) => MasterKey::derive(k, salt, DB_KDF_ITERATIONS)?,
                None => {
                    let master = MasterKey::derive(k, random()?, DB_KDF_ITERATIONS)?;
                    write_marker(dir, &master)?;
                    master
                }
            };
            Ok(Some(master))
        }
        (Some(k), Some(m)) => {
            let salt = match head.filter(|_| !plain) {
                Some(h) => h,
                None if head.is_none() => unhex::<SALT_LEN>(&m.salt).ok_or_else(|| {
                    Error::Corrupt(format!("{} names no valid salt", dir.join(MARKER_FILE).display()))
                })?,
                None => {
                    return Err(Error::Corrupt(format!(
                        "{} says the store is encrypted, but its database is plain",
                        dir.join(MARKER_FILE).display()
                    )))
                }
            };
            if !(1..=MAX_ITERATIONS).contains(&m.iterations) {
                return Err(Error::Corrupt(format!(
                    "{} names {} key derivation rounds",
                    dir.join(MARKER_FILE).display(),
                    m.iterations
                )));
            }
            Ok(Some(MasterKey::derive(k, salt, m.iterations)?))
        }
    }
}

/// The key derivation rounds of the encrypted store in `dir` (`None`: a plain store).
pub(crate) fn marker_iterations(dir: &Path) -> Result<Option<u32>> {
    Ok(read_marker(dir)?.map(|m| m.iterations))
}

/// The key of a database file known to be encrypted with `iterations` rounds (`None`:
/// known to be plain), e.g. one taken out of a backup: `WRONG_KEY` without a key.
pub(crate) fn db_key(
    db: &Path,
    iterations: Option<u32>,
    key: Option<&EncryptionKey>,
) -> Result<Option<MasterKey>> {
    let Some(iterations) = iterations else { return Ok(None) };
    let Some(key) = key else {
        return Err(Error::WrongKey(format!("{} is encrypted; give its key ({KEY_ENV})", db.display())));
    };
    if !(1..=MAX_ITERATIONS).contains(&iterations) {
        return Err(Error::Corrupt(format!("{iterations} key derivation rounds")));
    }
    let salt = db_head(db)?
        .filter(|h| h != SQLITE_HEADER)
        .ok_or_else(|| Error::Corrupt(format!("{} should be encrypted but is not", db.display())))?;
    Ok(Some(MasterKey::derive(key, salt, iterations)?))
}

/// Does the marker in `dir` hold `master`'s check value? (After a key opened the database:
/// a stale marker is rewritten.)
pub(crate) fn repair_marker(dir: &Path, master: &MasterKey) -> Result<()> {
    let stale = read_marker(dir)?.is_none_or(|m| unhex::<16>(&m.check) != Some(master.check_tag()));
    if stale {
        tracing::info!("the key marker was stale (an interrupted rekey); rewritten");
        write_marker(dir, master)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        assert_eq!(unhex::<3>(&hex(&[1, 171, 255])), Some([1, 171, 255]));
        assert_eq!(unhex::<2>("zz00"), None);
        assert_eq!(unhex::<2>("00"), None);
    }
}
