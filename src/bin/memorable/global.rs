//! The options every command shares (store, output, embedder): a leaf, so each command
//! module takes them without importing the command line's root.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub(crate) struct Global {
    /// Store directory.
    #[arg(long, global = true, default_value = "./memorable-data", env = "MEMORABLE_STORE")]
    pub store: PathBuf,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// Embedding model: auto (the store's own, else the best cached), hashing, or a catalog name.
    #[arg(long, global = true, default_value = "auto", env = "MEMORABLE_EMBEDDER")]
    pub embedder: String,
}
