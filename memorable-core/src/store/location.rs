//! Where a store lives: a directory, memory, or a PostgreSQL database named by a
//! `postgres://` / `postgresql://` URL given where a directory is accepted.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub(crate) enum Location {
    Dir(PathBuf),
    Memory,
    #[cfg(feature = "postgres")]
    Postgres(super::PgTarget),
}

impl Location {
    /// `None`: in memory; a path that reads as a PostgreSQL URL: that database.
    pub fn of(dir: Option<&Path>) -> Result<Location> {
        let Some(dir) = dir else { return Ok(Location::Memory) };
        match dir.to_str().filter(|s| super::pg_url::is_postgres_url(s)) {
            #[cfg(feature = "postgres")]
            Some(url) => Ok(Location::Postgres(super::PgTarget::parse(url)?)),
            #[cfg(not(feature = "postgres"))]
            Some(url) => Err(Error::InvalidConfig(format!(
                "{} is a PostgreSQL URL, and this build has no PostgreSQL support (feature `postgres`)",
                super::pg_url::redact(url)
            ))),
            None => Ok(Location::Dir(dir.to_path_buf())),
        }
    }

    /// The store's directory (`None` in memory and on PostgreSQL, which keep no files).
    pub fn dir(&self) -> Option<&Path> {
        match self {
            Location::Dir(d) => Some(d),
            _ => None,
        }
    }

    /// Refuse settings that only a directory's store has.
    pub fn check(&self, encrypted: bool) -> Result<()> {
        #[cfg(feature = "postgres")]
        if let Location::Postgres(t) = self {
            if encrypted {
                return Err(Error::InvalidConfig(format!(
                    "{t}: encryption at rest is the SQLite store's (SQLCipher); a PostgreSQL store relies on the server's own (TLS in transit, encrypted volumes at rest)"
                )));
            }
        }
        let _ = encrypted;
        Ok(())
    }
}
