//! Opening: the store, the embedder (the application's, or one selected for this machine),
//! the emotion classifier and emotional layer, and the engine that holds them.

use std::sync::Arc;

use super::{Engine, EngineParts};
use crate::classify::ClassifierSlot;
use crate::config::Config;
use crate::emotion::engine::EmotionEngine;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::models::llm::{Generator, GeneratorSlot};
use crate::models::select::{self, SelectionReport};
use crate::models::{Embedder, EmotionClassifier};
use crate::store::{self, BeforeMigration, Location, Store, INDEX_DIR, META_MODEL_ID};

/// What an application may hand to `open` besides the configuration.
#[derive(Default)]
pub(crate) struct Parts {
    pub embedder: Option<Arc<dyn Embedder>>,
    pub classifier: Option<Arc<dyn EmotionClassifier>>,
    /// The backup taken before an older store is migrated (with `backup.before_migration`).
    pub before_migration: Option<BeforeMigration>,
    pub generator: Option<Arc<dyn Generator>>,
}

/// The generator `config` asks for, planned (it loads on first use); one that cannot be used
/// is reported, and the store opens without it (remember and recall never need it).
pub(super) fn planned_generator(config: &Config, threads: usize) -> GeneratorSlot {
    GeneratorSlot::plan(&config.generator_choice(), threads).unwrap_or_else(|e| {
        tracing::warn!(reason = %e, "the configured generator is unavailable");
        GeneratorSlot::unavailable(&config.generator, e.to_string())
    })
}

/// Open (creating if needed) the store at `location` and build its engine.
pub(crate) fn open(location: &Location, config: Config, parts: Parts) -> Result<Engine> {
    config.validate()?;
    let key = config.resolved_key();
    location.check(key.is_some())?;
    let span = tracing::info_span!("open", in_memory = matches!(location, Location::Memory));
    let _enter = span.enter();
    let store = match location {
        Location::Dir(dir) => {
            let hook = parts.before_migration.filter(|_| config.backup.before_migration);
            Store::open(dir, &config.store_options(), key.as_ref(), hook)?
        }
        Location::Memory => Store::open_in_memory(&config.store_options())?,
        #[cfg(feature = "postgres")]
        Location::Postgres(target) => Store::open_postgres(target, &config.store_options())?,
    };
    let stored_model = store.read(|c| store::meta_get(c, META_MODEL_ID))?;
    // Jobs left running by a process that ended cannot be running now (one process per
    // store). A shared database's other instances may be running theirs: not touched.
    let interrupted = if store.is_shared() {
        0
    } else {
        store::jobs::fail_interrupted(&store.locked(), crate::time::now_ms())?
    };
    if interrupted > 0 {
        tracing::warn!(
            jobs = interrupted,
            "jobs interrupted by the end of the last process are marked failed"
        );
    }
    // An application-supplied embedder wins; otherwise select one for this machine
    // (for an existing store under "auto": the model its vectors were made with).
    let (embedder, selection) = match parts.embedder {
        Some(e) => {
            let report = SelectionReport::custom(e.as_ref());
            (e, report)
        }
        None => select::resolve_embedder(&config.model_choice(), stored_model.as_deref())?,
    };
    if let Some(stored) = stored_model {
        if stored != embedder.model_id() {
            return Err(Error::ModelMismatch { stored, current: embedder.model_id().to_owned() });
        }
    }
    let index_dir = location.dir().map(|d| d.join(INDEX_DIR));
    let metrics = Arc::new(Metrics::new(config.metrics));
    if selection.fallback && selection.fallback_reason.is_some() {
        metrics.fallbacks_taken.inc();
    }
    // One classifier for `classify` and for the emotional layer: the application's, else
    // the shipped one (loaded on first use) when the store embeds with its MiniLM.
    let slot = Arc::new(match parts.classifier {
        Some(c) => ClassifierSlot::given(c),
        None => ClassifierSlot::default_for(&embedder, config.model_dir.clone(), selection.limits.threads),
    });
    #[cfg(feature = "candle")]
    let named = crate::deployed::for_emotion(
        &config.classifiers.emotion,
        &store,
        config.model_dir.as_deref(),
        selection.limits.threads,
    );
    #[cfg(not(feature = "candle"))]
    let named = None;
    let for_emotion = slot.get_given().or(named).or_else(|| slot.lazy_default());
    let emotion = Arc::new(EmotionEngine::new(config.emotion.clone(), for_emotion, embedder.model_id()));
    // The generator is planned now and loaded on first use; a configured one that cannot be
    // used does not stop the store from opening (remember and recall never need it).
    let generator = Arc::new(match parts.generator {
        Some(g) => GeneratorSlot::given(g),
        None => planned_generator(&config, selection.limits.threads),
    });
    let models = Arc::new(super::versions::take(&config, &store, &selection, &generator, !slot.is_given()));
    super::versions::spawn_auto_update(&config);
    let parts = EngineParts { emotion, classifier: slot, generator, models };
    Ok(Engine::new(config, Arc::new(store), index_dir, embedder, selection, metrics, parts))
}
