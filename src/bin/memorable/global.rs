//! The options every command shares (store, output, embedder): a leaf, so each command
//! module takes them without importing the command line's root.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub(crate) struct Global {
    /// Store directory, or a PostgreSQL URL (`postgres://user@host/db`; the password from
    /// the URL, PGPASSWORD or ~/.pgpass).
    #[arg(long, global = true, default_value = "./memorable-data", env = "MEMORABLE_STORE")]
    pub store: PathBuf,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// Embedding model: auto (the store's own, else the best cached), hashing, or a catalog name.
    #[arg(long, global = true, default_value = "auto", env = "MEMORABLE_EMBEDDER")]
    pub embedder: String,
    /// Generator for consolidation and `generate`: auto, none, smollm2, gguf:<file>,
    /// ollama:<model>, openai:<model>.
    #[arg(long, global = true, default_value = "auto", env = "MEMORABLE_GENERATOR")]
    pub generator: String,
    /// Ollama's base URL.
    #[arg(long, global = true, env = "MEMORABLE_OLLAMA_URL")]
    pub ollama_url: Option<String>,
    /// An OpenAI-compatible server's base URL (with /v1).
    #[arg(long, global = true, env = "MEMORABLE_OPENAI_URL")]
    pub openai_url: Option<String>,
    /// Upper bound (MiB) on the estimated memory of the loaded per-user indexes, for the
    /// long-running `serve` and `mcp`: least recently used ones are evicted past it.
    #[arg(long, global = true, env = "MEMORABLE_MAX_INDEX_MEMORY_MB")]
    pub max_index_memory_mb: Option<u64>,
    /// Per-user indexes kept loaded at most (least recently used ones are unloaded).
    #[arg(long, global = true, env = "MEMORABLE_MAX_LOADED_INDEXES")]
    pub max_loaded_indexes: Option<usize>,
    /// Read connections of the store (on PostgreSQL, each is a database connection besides
    /// the writer's).
    #[arg(long, global = true, env = "MEMORABLE_READ_CONNECTIONS")]
    pub read_connections: Option<usize>,
    /// How often a PostgreSQL store reads what other instances changed (ms): the bound on
    /// how stale recall may be.
    #[arg(long, global = true, env = "MEMORABLE_SYNC_INTERVAL_MS")]
    pub sync_interval_ms: Option<u64>,
    /// Take a backup into this directory every --backup-every-secs while `serve` or `mcp`
    /// runs (a running server holds the store: this is how it is backed up without a stop).
    #[arg(long, global = true, env = "MEMORABLE_BACKUP_DIR")]
    pub backup_dir: Option<PathBuf>,
    /// Seconds between scheduled backups (the first one this long after the start).
    #[arg(long, global = true, env = "MEMORABLE_BACKUP_EVERY_SECS", default_value_t = 86_400)]
    pub backup_every_secs: u64,
    /// Scheduled backups kept (the oldest beyond it are deleted).
    #[arg(long, global = true, env = "MEMORABLE_BACKUP_KEEP", default_value_t = 7)]
    pub backup_keep: usize,
}

impl Global {
    /// The configuration these options ask for (the embedder as given).
    pub(crate) fn config(&self) -> memorable::Config {
        let mut config = memorable::Config::default();
        config.embedder = self.embedder.clone();
        // A command's process ends with the command: training jobs run in the foreground
        // (`train --wait`, `jobs resume`), never on a worker the exit would cut short.
        config.classifiers.run_jobs = false;
        config.generator = self.generator.clone();
        config.max_index_memory_mb = self.max_index_memory_mb;
        // Out-of-range values are refused when the store opens (INVALID_CONFIG).
        if let Some(n) = self.max_loaded_indexes {
            config.max_loaded_indexes = n;
        }
        if let Some(n) = self.read_connections {
            config.read_connections = n;
        }
        if let Some(ms) = self.sync_interval_ms {
            config.sync_interval_ms = ms;
        }
        config.backup.schedule = self.backup_dir.clone().map(|dir| memorable::BackupSchedule {
            dir,
            every_secs: self.backup_every_secs,
            keep_last: Some(self.backup_keep),
            max_age_secs: None,
        });
        if let Some(u) = &self.ollama_url {
            config.model_server.ollama_url = u.clone();
        }
        if let Some(u) = &self.openai_url {
            config.model_server.openai_url = u.clone();
        }
        config
    }
}
