//! Re-embedding: migrate a store's vectors to another model, batch by batch, resumably, then
//! switch the handle to an engine on the new model.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{Engine, EngineParts, EngineSlot};
use crate::error::{Error, Result};
use crate::memory::validate_vector;
use crate::models::select::{self, SelectionReport};
use crate::models::Embedder;
use crate::store::{self, META_MODEL_ID, META_REEMBED_DONE, META_REEMBED_TARGET};

/// Progress of [`crate::Memorable::reembed`] (also kept in the store, so it can resume).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReembedProgress {
    /// Model id the store is migrating to.
    pub target_model_id: String,
    /// Memories whose vectors are made by the target model.
    pub done: u64,
    /// Memories in the store.
    pub total: u64,
}

/// Result of [`crate::Memorable::reembed`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReembedReport {
    pub previous_model_id: String,
    pub model_id: String,
    /// Vectors re-embedded by this call.
    pub reembedded: u64,
    /// True when the store now uses the target model; false when the callback paused it.
    pub completed: bool,
}

/// Migrate the store's vectors to the catalog model `model` (see [`crate::Memorable::reembed`]);
/// when every vector is migrated, swap an engine on the new model into `slot`.
pub(crate) fn reembed(
    slot: &EngineSlot,
    engine: &Arc<Engine>,
    model: &str,
    progress: &mut dyn FnMut(&ReembedProgress) -> bool,
) -> Result<ReembedReport> {
    let mut config = engine.config.clone();
    config.embedder = model.to_owned();
    let (target, selection) = select::resolve_embedder(&config.model_choice(), None)?;
    let previous = engine.model_id().to_owned();
    let (reembedded, completed) = engine.reembed_batches(target.as_ref(), progress)?;
    if completed {
        switch_embedder(slot, engine, target, selection)?;
    }
    Ok(ReembedReport {
        previous_model_id: previous,
        model_id: engine.stored_model_id()?,
        reembedded,
        completed,
    })
}

/// Finish a migration: flip the store's model id and swap in an engine using `target`.
pub(crate) fn switch_embedder(
    slot: &EngineSlot,
    old: &Arc<Engine>,
    target: Arc<dyn Embedder>,
    selection: SelectionReport,
) -> Result<()> {
    let mut shared = slot.write();
    let current = shared.as_ref().ok_or(Error::Closed)?;
    if !Arc::ptr_eq(current, old) {
        return Err(Error::Internal("the store was reopened during reembed".into()));
    }
    {
        let mut writer = old.store.writer();
        let tx = writer.transaction()?;
        let left = store::count_vectors_not_of(&tx, target.model_id())?;
        if left > 0 {
            return Err(Error::Internal(format!(
                "{left} vectors were written during the final switch; run reembed again"
            )));
        }
        store::meta_set(&tx, META_MODEL_ID, target.model_id())?;
        store::meta_delete(&tx, META_REEMBED_TARGET)?;
        store::meta_delete(&tx, META_REEMBED_DONE)?;
        tx.commit()?;
        // Calls already holding the old engine now fail cleanly with ModelMismatch on write.
        old.retire();
    }
    let emotion = Arc::new(old.emotion.rebind(target.model_id()));
    let classifier = old.classifier.rebind(&target);
    let models = Arc::new(super::versions::take(
        &old.config,
        &old.store,
        &selection,
        &old.generator,
        !classifier.is_given(),
    ));
    let parts = EngineParts { emotion, classifier, generator: old.generator.clone(), models };
    let engine = old.successor(target, selection, parts);
    if let Some(dir) = &engine.index_dir {
        // Dumps of the old model are stale; indexes rebuild from the store on first use.
        let _ = std::fs::remove_dir_all(dir);
    }
    *shared = Some(Arc::new(engine));
    tracing::info!(model = %old.model_id(), "reembed complete: store switched to the new model");
    Ok(())
}

impl Engine {
    /// Re-embed, batch by batch, every memory whose vector is not made by `target`.
    /// Returns (vectors re-embedded, finished).
    pub(crate) fn reembed_batches(
        &self,
        target: &dyn Embedder,
        progress: &mut dyn FnMut(&ReembedProgress) -> bool,
    ) -> Result<(u64, bool)> {
        let target_id = target.model_id().to_owned();
        let _span = tracing::info_span!("reembed", target = %target_id).entered();
        let batch = self.selection.limits.batch_size.max(16) * 4;
        {
            let writer = self.store.writer();
            if store::meta_get(&writer, META_REEMBED_TARGET)?.as_deref() != Some(target_id.as_str()) {
                store::meta_set(&writer, META_REEMBED_TARGET, &target_id)?;
            }
        }
        let mut reembedded = 0u64;
        loop {
            let rows = self.store.read(|c| store::memories_not_embedded_by(c, &target_id, batch))?;
            if rows.is_empty() {
                return Ok((reembedded, true));
            }
            let texts: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
            let vectors = target.embed(&texts)?;
            if vectors.len() != texts.len() {
                return Err(Error::Model("embedder returned the wrong number of vectors".into()));
            }
            let vectors: Vec<Vec<f32>> =
                vectors.into_iter().map(|v| validate_vector(v, target.dim())).collect::<Result<_>>()?;
            let mut writer = self.store.writer();
            let tx = writer.transaction()?;
            for ((id, text, user_key), v) in rows.iter().zip(&vectors) {
                // Skip a memory changed or forgotten since it was read; the next pass gets it.
                if store::replace_vector_if_text(&tx, *id, text, *user_key, &target_id, v)? {
                    reembedded += 1;
                }
            }
            let total = store::counts(&tx)?.memories;
            let done = total.saturating_sub(store::count_vectors_not_of(&tx, &target_id)?);
            store::meta_set(&tx, META_REEMBED_DONE, &done.to_string())?;
            tx.commit()?;
            // Vectors were deleted: an index loading meanwhile must recheck what is live.
            self.deletes.fetch_add(1, Ordering::AcqRel);
            drop(writer);
            let p = ReembedProgress { target_model_id: target_id.clone(), done, total };
            tracing::debug!(done, total, "reembed batch committed");
            if !progress(&p) {
                return Ok((reembedded, false));
            }
        }
    }
}
