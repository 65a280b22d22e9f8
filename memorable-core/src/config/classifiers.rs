//! `Config.classifiers`: which classifier the emotional layer reads texts with, when a
//! user's corrections earn them a calibration, and whether queued training jobs run on
//! their own. A leaf, so the configuration can name it without importing the feature.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Custom classifiers (`Config.classifiers`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassifiersConfig {
    /// The classifier whose readings go into memories' snapshots and their sessions
    /// (default `goemotions`, the shipped one). Another one is used once it has a deployed
    /// version; its labels reach the emotional layer through their catalog mapping.
    pub emotion: String,
    /// Corrections of one user (for one classifier) that earn the user their own thresholds
    /// (default 20).
    pub personalize_min_corrections: usize,
    /// Run queued and interrupted training jobs on a background thread from the open on
    /// (default true; the CLI runs them in the foreground instead).
    pub run_jobs: bool,
}

impl Default for ClassifiersConfig {
    fn default() -> Self {
        ClassifiersConfig { emotion: "goemotions".into(), personalize_min_corrections: 20, run_jobs: true }
    }
}

impl ClassifiersConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        if self.personalize_min_corrections == 0 {
            return Err(Error::InvalidConfig(
                "classifiers.personalize_min_corrections must be at least 1".into(),
            ));
        }
        if self.emotion.trim().is_empty() {
            return Err(Error::InvalidConfig("classifiers.emotion must name a classifier".into()));
        }
        Ok(())
    }
}
