//! What the store reads of the configuration: how many read connections, how durable a
//! commit is (a part of [`crate::Config`], re-exported there).

use serde::{Deserialize, Serialize};

/// How hard a commit pushes data to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// WAL with `synchronous=NORMAL`: an acknowledged write survives a crash or `kill -9` of
    /// the process; a power loss or OS crash may lose the last commits (never corrupts).
    #[default]
    Normal,
    /// WAL with `synchronous=FULL`: an acknowledged write also survives power loss, at the
    /// cost of an fsync per commit.
    Full,
}

/// The store's part of the configuration ([`crate::Config::store_options`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// Number of read connections of an on-disk store.
    pub read_connections: usize,
    /// Commit durability.
    pub durability: Durability,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions { read_connections: 4, durability: Durability::Normal }
    }
}
