//! What a store holds and how it runs, for `stats()`.

use serde::{Deserialize, Serialize};

use super::{Engine, ReembedProgress};
use crate::emotion::EmotionStats;
use crate::error::Result;
use crate::index::IndexStats;
use crate::models::select::SelectionReport;
use crate::store::{self, META_REEMBED_DONE, META_REEMBED_TARGET};

/// Counts and health of a store, from [`crate::Memorable::stats`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    pub memories: u64,
    pub users: u64,
    /// Previous versions kept in history.
    pub versions: u64,
    pub embedder: EmbedderInfo,
    pub schema_version: u32,
    /// Directory of the store (`None` in memory).
    pub path: Option<String>,
    /// Database + WAL size on disk in bytes.
    pub store_bytes: u64,
    /// Indexes loaded right now (others load on their user's first call).
    pub loaded_indexes: Vec<IndexStats>,
    /// How the embedding model was chosen, with every decision and its reason.
    pub selection: SelectionReport,
    /// How the generator was chosen (it loads on first use).
    pub generator: SelectionReport,
    /// A re-embedding in progress (see [`crate::Memorable::reembed`]).
    pub reembed: Option<ReembedProgress>,
    /// The emotional layer: contexts, readings, unknown names, text classification.
    pub emotion: EmotionStats,
    /// Whether text emotion classification is available, and if not, why.
    pub classifier: crate::classify::ClassifierStatus,
    /// The model versions in use (from the model registry): embedder, generator, emotion
    /// classifier.
    pub models: Vec<super::ModelInUse>,
}

/// The embedder in use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbedderInfo {
    pub model_id: String,
    pub dim: usize,
    /// True when the hashing fallback is in use (no sentence-embedding model).
    pub fallback: bool,
    /// Why the fallback is in use (e.g. "minilm: missing: ...; run scripts/fetch-model.sh").
    #[serde(default)]
    pub fallback_reason: Option<String>,
}

impl Engine {
    pub(crate) fn stats(&self) -> Result<Stats> {
        let (counts, schema_version) =
            self.store.read(|c| Ok((store::counts(c)?, crate::store::stored_version(c)?)))?;
        let mut loaded_indexes: Vec<IndexStats> = self
            .indexes
            .all()
            .iter()
            .map(|i| IndexStats { approx_bytes: self.index_bytes(i), ..i.stats() })
            .collect();
        loaded_indexes.sort_by(|a, b| a.user.cmp(&b.user));
        Ok(Stats {
            memories: counts.memories,
            users: counts.users,
            versions: counts.versions,
            embedder: EmbedderInfo {
                model_id: self.model_id().to_owned(),
                dim: self.embedder.dim(),
                fallback: self.embedder.is_fallback(),
                fallback_reason: self.selection.fallback_reason.clone(),
            },
            schema_version,
            path: self.store.path().map(|p| p.display().to_string()),
            store_bytes: self.store.disk_bytes(),
            loaded_indexes,
            selection: self.selection.clone(),
            generator: self.generator.report(),
            reembed: self.store.read(|c| {
                let Some(target) = store::meta_get(c, META_REEMBED_TARGET)? else {
                    return Ok(None);
                };
                let done = store::meta_get(c, META_REEMBED_DONE)?.and_then(|d| d.parse().ok()).unwrap_or(0);
                Ok(Some(ReembedProgress { target_model_id: target, done, total: counts.memories }))
            })?,
            emotion: self.emotion.stats(&self.store)?,
            classifier: self.classifier.status(self.embedder.as_ref()),
            models: self.models.in_use.clone(),
        })
    }
}
