//! What a model is for (a leaf: selection, the registry and the classifier all name roles).

use serde::{Deserialize, Serialize};

/// What a model is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Embedding,
    Emotion,
    Generation,
}
