//! The index's part of the configuration: HNSW parameters (a part of [`crate::Config`],
//! re-exported there).

use serde::{Deserialize, Serialize};

/// HNSW parameters of every per-user index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HnswConfig {
    /// Links per node on the upper layers (twice as many on layer 0).
    pub m: usize,
    /// Candidate list size while building.
    pub ef_construction: usize,
    /// Candidate list size while searching (raised to the number of results asked for).
    pub ef_search: usize,
    /// Search sparse vectors (the hashing embedder's) exactly through per-dimension
    /// postings instead of walking the graph: exact, and faster at every size measured,
    /// for ~16 bytes per nonzero coordinate (~40 MB at 100k memories). Dense vectors
    /// (a BERT model's) always walk the graph.
    pub sparse_search: bool,
}

impl Default for HnswConfig {
    fn default() -> Self {
        HnswConfig { m: 16, ef_construction: 100, ef_search: 64, sparse_search: true }
    }
}
