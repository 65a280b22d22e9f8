//! `Config.attention`: the entity lists of the context frame. A leaf, so the configuration
//! can name it without importing the frame.

use serde::{Deserialize, Serialize};

/// Entity lists for the context frame (a part of [`crate::Config`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttentionConfig {
    /// Names always counted as people when a memory mentions them (case-insensitive).
    pub people: Vec<String>,
    /// Names always counted as places when a memory mentions them (case-insensitive).
    pub places: Vec<String>,
}
