//! Encryption at rest: the key an application gives, what is derived from it, and sealed
//! files (see docs/security.md).
//!
//! - The database is encrypted by SQLCipher with a raw 256-bit key: `master = PBKDF2-HMAC-
//!   SHA256(passphrase, salt, DB_KDF_ITERATIONS)`, where the salt is the one SQLCipher keeps
//!   in the first 16 bytes of the database file (random per store). The key derivation runs
//!   once per open, here, rather than once per connection inside SQLCipher.
//! - Files outside the database (exports) are sealed with ChaCha20-Poly1305 in chunks
//!   ([`sealed`]) under a key derived per file with HKDF from the same master key.
//! - Index dumps are sealed the same way, file by file; their plaintext lives in a private
//!   directory in memory meanwhile (`index::staging`).
//!
//! A key never reaches a log, an error or a metric: [`EncryptionKey`]'s `Debug` is redacted,
//! it is not serialized, and derived keys are zeroed when dropped.

mod marker;
pub(crate) mod sealed;

pub use marker::MARKER_FILE;
pub(crate) use marker::{db_key, marker_iterations, repair_marker, store_key, write_marker};

use std::num::NonZeroU32;
use std::path::Path;

use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Deserializer};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The environment variable the CLI and the bindings (and any open without a configured key)
/// read a store's key from.
pub const KEY_ENV: &str = "MEMORABLE_KEY";

/// PBKDF2 iterations that turn a passphrase into the database key (fixed per format: a
/// store must open with the count it was created with).
pub(crate) const DB_KDF_ITERATIONS: u32 = 256_000;

/// Length of the salt SQLCipher keeps at the start of an encrypted database.
pub(crate) const SALT_LEN: usize = 16;

/// A store's encryption key (a passphrase of any length; a long random one is best). Its
/// `Debug` prints no key material, and it is never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey(Zeroizing<String>);

impl EncryptionKey {
    /// A key from a passphrase; an empty one is refused.
    pub fn new(passphrase: impl Into<String>) -> Result<EncryptionKey> {
        let s = Zeroizing::new(passphrase.into());
        if s.is_empty() {
            return Err(Error::InvalidConfig("encryption_key must not be empty".into()));
        }
        Ok(EncryptionKey(s))
    }

    /// The key in `MEMORABLE_KEY`, when that is set and not empty.
    pub fn from_env() -> Option<EncryptionKey> {
        std::env::var(KEY_ENV).ok().filter(|k| !k.is_empty()).map(|k| EncryptionKey(Zeroizing::new(k)))
    }

    /// The key a binding was given, else `MEMORABLE_KEY` (the rule of `verify` / `restore`
    /// in every binding).
    pub fn given_or_env(key: Option<String>) -> Result<Option<EncryptionKey>> {
        match key {
            Some(k) => EncryptionKey::new(k).map(Some),
            None => Ok(EncryptionKey::from_env()),
        }
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey(<redacted>)")
    }
}

impl<'de> Deserialize<'de> for EncryptionKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = Zeroizing::new(String::deserialize(d)?);
        EncryptionKey::new(s.as_str()).map_err(serde::de::Error::custom)
    }
}

/// The 256-bit key derived from a passphrase and a salt; zeroed when dropped.
#[derive(Clone)]
pub(crate) struct MasterKey {
    key: Zeroizing<[u8; 32]>,
    salt: [u8; SALT_LEN],
    iterations: u32,
}

impl MasterKey {
    /// PBKDF2-HMAC-SHA256 of `key` with `salt` (the slow step: ~0.1-0.3 s by design).
    pub fn derive(key: &EncryptionKey, salt: [u8; SALT_LEN], iterations: u32) -> Result<MasterKey> {
        let rounds = NonZeroU32::new(iterations)
            .ok_or_else(|| Error::Corrupt("a key derivation with 0 iterations".into()))?;
        let mut out = Zeroizing::new([0u8; 32]);
        ring::pbkdf2::derive(ring::pbkdf2::PBKDF2_HMAC_SHA256, rounds, &salt, key.bytes(), &mut out[..]);
        Ok(MasterKey { key: out, salt, iterations })
    }

    pub fn salt(&self) -> [u8; SALT_LEN] {
        self.salt
    }

    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// The value of SQLCipher's `PRAGMA key` / `PRAGMA rekey`: the raw key and the salt the
    /// database must have (`x'<64 hex><32 hex>'`), so SQLCipher runs no key derivation.
    pub fn sqlcipher_key(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(100));
        s.push_str("x'");
        for b in self.key.iter().chain(self.salt.iter()) {
            s.push_str(&format!("{b:02x}"));
        }
        s.push('\'');
        s
    }

    /// 32 bytes derived with HKDF-SHA256 for `purpose` (and `salt`, for per-file keys).
    pub fn expand(&self, salt: &[u8], purpose: &[u8]) -> Zeroizing<[u8; 32]> {
        struct Len32;
        impl ring::hkdf::KeyType for Len32 {
            fn len(&self) -> usize {
                32
            }
        }
        let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, salt).extract(&self.key[..]);
        let mut out = Zeroizing::new([0u8; 32]);
        let info = [purpose];
        // Expanding to 32 bytes with SHA-256 cannot fail (the limit is 255 × 32).
        if let Ok(okm) = prk.expand(&info, Len32) {
            let _ = okm.fill(&mut out[..]);
        }
        out
    }

    /// A short value that tells whether a passphrase gives this key, without revealing it.
    pub fn check_tag(&self) -> [u8; 16] {
        let full = self.expand(b"", b"memorable/key-check/v1");
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&full[..16]);
        tag
    }
}

/// `n` random bytes from the operating system.
pub(crate) fn random<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    SystemRandom::new().fill(&mut out).map_err(|_| Error::Internal("the system RNG failed".into()))?;
    Ok(out)
}

/// Apply `key` to a freshly opened connection (before its first read), and stop SQLCipher
/// from printing its own diagnostics (a wrong key would otherwise log to stderr).
pub(crate) fn apply(conn: &rusqlite::Connection, key: Option<&MasterKey>) -> Result<()> {
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    if let Some(k) = key {
        // A pragma value cannot be bound as a parameter; the value is hex we made ourselves.
        let sql = Zeroizing::new(format!("PRAGMA key = \"{}\";", k.sqlcipher_key().as_str()));
        conn.execute_batch(&sql).map_err(|_| Error::WrongKey("the key could not be applied".into()))?;
    }
    Ok(())
}

/// After [`apply`]: read the database header now (opening is lazy in SQLite), so a wrong
/// key or a file that is not a database is reported here rather than by a later statement.
/// "Not a database" under a key is `WRONG_KEY` (SQLCipher cannot tell a wrong key from
/// damage; the message says both); any other failure goes through `other`.
pub(crate) fn read_header(
    conn: &rusqlite::Connection,
    key: Option<&MasterKey>,
    path: &Path,
    other: impl FnOnce(rusqlite::Error) -> Error,
) -> Result<()> {
    match conn.query_row("PRAGMA schema_version", [], |r| r.get::<_, i64>(0)) {
        Ok(_) => Ok(()),
        Err(e) if key.is_some() && e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) => {
            Err(Error::WrongKey(format!(
                "the key does not open {} (a wrong key, or the file is damaged)",
                path.display()
            )))
        }
        Err(e) => Err(other(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_empty_is_refused() {
        let k = EncryptionKey::new("hunter2-but-longer").unwrap();
        assert!(!format!("{k:?}").contains("hunter2"));
        assert!(EncryptionKey::new("").is_err());
        let parsed: EncryptionKey = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(parsed, EncryptionKey::new("abc").unwrap());
    }

    #[test]
    fn derivation_depends_on_key_and_salt() {
        let a = MasterKey::derive(&EncryptionKey::new("a").unwrap(), [1; 16], 10).unwrap();
        let b = MasterKey::derive(&EncryptionKey::new("b").unwrap(), [1; 16], 10).unwrap();
        let a2 = MasterKey::derive(&EncryptionKey::new("a").unwrap(), [2; 16], 10).unwrap();
        assert_ne!(a.check_tag(), b.check_tag());
        assert_ne!(a.check_tag(), a2.check_tag());
        assert_eq!(
            a.check_tag(),
            MasterKey::derive(&EncryptionKey::new("a").unwrap(), [1; 16], 10).unwrap().check_tag()
        );
        assert_ne!(*a.expand(b"s1", b"file"), *a.expand(b"s2", b"file"));
        let pragma = a.sqlcipher_key();
        assert_eq!(pragma.len(), 2 + 96 + 1);
        assert!(pragma.ends_with(&format!("{}'", "01".repeat(16))));
    }
}
