//! Models: how the embedder was chosen, and moving a store to another one.

use super::Memorable;
use crate::engine::{self, ReembedProgress, ReembedReport};
use crate::error::Result;
use crate::models::llm::{self, GenerateRequest, Generation};
use crate::models::select::SelectionReport;

impl Memorable {
    /// How the embedding model was chosen: environment, candidates, reasons, limits.
    pub fn selection_report(&self) -> Result<SelectionReport> {
        Ok(self.engine()?.selection.clone())
    }

    /// How the generator was chosen: what was asked for, what answers, every decision and
    /// its reason.
    pub fn generator_report(&self) -> Result<SelectionReport> {
        Ok(self.engine()?.generator.report().clone())
    }

    /// Generate text with the store's generator (loaded on first use). Never called by the
    /// write path: `remember` stays LLM-free. Without a usable generator: `NO_GENERATOR`.
    pub fn generate(&self, request: &GenerateRequest) -> Result<Generation> {
        self.generate_stream(request, &mut |_| true)
    }

    /// [`Memorable::generate`], handing each piece of text to `on_text` as it is generated
    /// (returning `false` stops the generation; what was generated so far is the answer).
    pub fn generate_stream(
        &self,
        request: &GenerateRequest,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Generation> {
        self.metrics.track(self.engine().and_then(|e| {
            request.validate()?;
            let generator = e.generator.get()?;
            llm::generate(generator.as_ref(), request, on_text)
        }))
    }

    /// Take the model registry's active versions (after `models activate`, `update` or
    /// `rollback`, here or in another process) without closing the handle: the embedder is
    /// chosen again (it must make the store's vectors: same model id), the default emotion
    /// classifier and the generator are planned again. Models given to the builder stay.
    /// Without this call a handle keeps the versions it opened with until it is reopened.
    pub fn reload_models(&self) -> Result<()> {
        self.metrics.track(self.engine().and_then(|e| engine::reload_models(&self.shared, &e)))
    }

    /// Migrate the store's vectors to the catalog model `model` (e.g. `"minilm"`), in batches.
    ///
    /// Resumable: each batch is one transaction that replaces old vectors with new ones and
    /// records progress in the store's meta, so an interrupted run (crash, or `progress`
    /// returning `false` to pause) continues where it stopped when called again. When every
    /// vector is migrated the store's model id changes, the handle switches to the new model
    /// and indexes are rebuilt from the store. Recall keeps working meanwhile, with indexes
    /// that may miss not-yet-loaded users' migrated memories until completion. Vectors given
    /// explicitly with `NewMemory::embedding` are replaced by the model's.
    pub fn reembed(
        &self,
        model: &str,
        progress: &mut dyn FnMut(&ReembedProgress) -> bool,
    ) -> Result<ReembedReport> {
        self.metrics.track(self.engine().and_then(|e| engine::reembed(&self.shared, &e, model, progress)))
    }
}
