//! `reload_models()`: take the model registry's active versions into an open handle without
//! closing it. The embedder is chosen again and must make the store's vectors (the same
//! model id, which the registry guarantees by probe parity for versions of one model); the
//! default emotion classifier and the generator are planned again and load on first use.
//! Models the application handed to the builder stay. The indexes are dumped and the new
//! engine reloads them, so nothing is rebuilt.

use std::sync::Arc;

use super::{Engine, EngineParts, EngineSlot};
use crate::classify::ClassifierSlot;
use crate::error::{Error, Result};
use crate::models::select;

/// Swap into `slot` an engine on the registry's active model versions.
pub(crate) fn reload_models(slot: &EngineSlot, old: &Arc<Engine>) -> Result<()> {
    let config = old.config.clone();
    let stored = Some(old.stored_model_id()?).filter(|s| !s.is_empty());
    let (embedder, selection) = if old.selection.chosen == "custom" {
        (old.embedder.clone(), old.selection.clone())
    } else {
        select::resolve_embedder(&config.model_choice(), stored.as_deref())?
    };
    if let Some(stored) = stored {
        if stored != embedder.model_id() {
            return Err(Error::ModelMismatch { stored, current: embedder.model_id().to_owned() });
        }
    }
    let classifier = if old.classifier.is_given() {
        old.classifier.clone()
    } else {
        Arc::new(ClassifierSlot::default_for(&embedder, config.model_dir.clone(), selection.limits.threads))
    };
    #[cfg(feature = "candle")]
    let named = crate::deployed::for_emotion(
        &config.classifiers.emotion,
        &old.store,
        config.model_dir.as_deref(),
        selection.limits.threads,
    );
    #[cfg(not(feature = "candle"))]
    let named = None;
    let for_emotion = classifier.get_given().or(named).or_else(|| classifier.lazy_default());
    let emotion = Arc::new(old.emotion.with_classifier(for_emotion, embedder.model_id()));
    let generator = if old.generator.report().chosen == "custom" {
        old.generator.clone()
    } else {
        Arc::new(super::open::planned_generator(&config, selection.limits.threads))
    };
    let models =
        Arc::new(super::versions::take(&config, &old.store, &selection, &generator, !classifier.is_given()));
    let mut shared = slot.write();
    let current = shared.as_ref().ok_or(Error::Closed)?;
    if !Arc::ptr_eq(current, old) {
        return Err(Error::Internal("the store was reopened during reload_models".into()));
    }
    // Dumps first, so the new engine's indexes load instead of rebuilding.
    old.shutdown()?;
    let parts = EngineParts { emotion, classifier, generator, models };
    let engine = old.successor(embedder, selection, parts);
    *shared = Some(Arc::new(engine));
    tracing::info!("model versions reloaded");
    Ok(())
}
