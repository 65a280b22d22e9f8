//! The model lifecycle's part of the configuration: updates and the cache size limit.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the model registry is kept up to date (a part of [`crate::Config`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelsConfig {
    /// At open, check for newer versions of the installed models (the manifest compiled into
    /// this build and `update_source`); a newer one is installed, verified and activated in
    /// the background and taken by the next open (default false). Never blocks the open.
    pub auto_update: bool,
    /// An update source: a folder holding `index.json`, or an index file, in the format of
    /// `models/manifest.json` (entries from PyPI, or from folders beside the index).
    pub update_source: Option<PathBuf>,
    /// Largest size of the model cache in MB: after an automatic update, `gc` runs when the
    /// cache is over it (it never removes the active, previous or an in-use version).
    pub cache_limit_mb: Option<u64>,
}

impl ModelsConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.cache_limit_mb == Some(0) {
            return Err(Error::InvalidConfig("models.cache_limit_mb must be positive".into()));
        }
        Ok(())
    }
}
