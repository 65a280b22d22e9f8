//! The deployment profile and the names a configuration uses to choose a model. A leaf:
//! the configuration names these without importing selection.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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

impl Profile {
    /// The name used in configuration and every binding (`"local"`, `"server"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Local => "local",
            Profile::Server => "server",
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Profile {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "local" => Ok(Profile::Local),
            "server" => Ok(Profile::Server),
            other => {
                Err(Error::InvalidConfig(format!("profile must be \"local\" or \"server\", got {other:?}")))
            }
        }
    }
}

/// What model selection reads of a store's configuration (`Config::model_choice`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelChoice {
    /// `Config.embedder`: `"auto"`, `"hashing"` or a catalog name.
    pub embedder: String,
    /// `Config.profile` (`None`: `$MEMORABLE_PROFILE`, else local).
    pub profile: Option<Profile>,
    /// `Config.hashing_dim`.
    pub hashing_dim: usize,
    /// `Config.model_dir` (`None`: the default cache).
    pub model_dir: Option<PathBuf>,
}
