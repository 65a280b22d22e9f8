//! The deployment profile and the names a configuration uses to choose a model. A leaf:
//! the configuration names these without importing selection.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::models::llm::config::ModelServerConfig;

/// Name of the built-in fallback in the catalog (and in `Config.embedder`).
pub const HASHING: &str = "hashing";
/// `Config.embedder` value that lets selection choose.
pub const AUTO: &str = "auto";

/// Where the engine runs: an app on someone's machine, or a dedicated server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Share the machine: at most 4 threads, smaller batches.
    #[default]
    Local,
    /// Own the machine: every core, larger batches, larger models when they fit.
    Server,
}

crate::named::named_enum!(Profile, "profile", Error::InvalidConfig, exact_case = false, {
    Local => "local",
    Server => "server",
});

/// What model selection reads of a store's configuration (`Config::model_choice`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelChoice {
    /// `Config.embedder`: `"auto"`, `"hashing"` or a catalog name.
    pub embedder: String,
    /// `Config.profile` (`None`: `$MEMORABLE_PROFILE`, else local).
    pub profile: Option<Profile>,
    /// `Config.hashing_dim`.
    pub hashing_dim: usize,
    /// `Config.model_dir` (`None`: the default cache).
    pub model_dir: Option<PathBuf>,
    /// `Config.model_server`, for `"ollama:<model>"` / `"openai:<model>"` embedders.
    pub server: ModelServerConfig,
}

/// What generator selection reads of a configuration (`Config::generator_choice`).
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorChoice {
    pub generator: String,
    pub profile: Option<Profile>,
    pub model_dir: Option<PathBuf>,
    pub server: ModelServerConfig,
}
