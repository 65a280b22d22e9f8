//! Lengths of the `short` / `medium` / `long` time windows (see `TimeWindow`).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Lengths of the named windows (a part of [`crate::Config`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WindowConfig {
    /// `short` window, seconds (default 1,200 = 20 minutes).
    pub short_secs: u64,
    /// `medium` window, seconds (default 3,600 = 1 hour).
    pub medium_secs: u64,
    /// `long` window, seconds (default 86,400 = 24 hours).
    pub long_secs: u64,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig { short_secs: 20 * 60, medium_secs: 60 * 60, long_secs: 24 * 60 * 60 }
    }
}

impl WindowConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.short_secs == 0 || self.medium_secs == 0 || self.long_secs == 0 {
            return Err(Error::InvalidConfig("windows: every window must be at least 1 second".into()));
        }
        Ok(())
    }
}
