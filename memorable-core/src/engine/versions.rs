//! Which model versions an engine uses: read from the model registry at open, recorded in
//! the store (its `meta`, so the registry of a store says what it last opened with), shown by
//! `stats()`, and leased so `gc` never removes them while the engine is open.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::models::cache;
use crate::models::llm::GeneratorSlot;
use crate::models::registry::{self, Lease, Registry};
use crate::models::select::{Catalog, Role, SelectionReport};
use crate::store::{self, Store};

/// Meta key of the versions a store last opened with (JSON list of [`ModelInUse`]).
const META_MODEL_VERSIONS: &str = "model_versions";

/// One model version an engine uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInUse {
    pub role: Role,
    pub name: String,
    pub version: String,
}

/// The versions in use and the leases that keep them.
#[derive(Debug, Default)]
pub(crate) struct ModelLeases {
    pub in_use: Vec<ModelInUse>,
    _leases: Vec<Lease>,
}

/// The versions of the embedder, the generator (when it is the cached SmolLM2) and the
/// default emotion classifier that this engine uses, leased, and recorded in `store`.
pub(crate) fn take(
    config: &Config,
    store: &Store,
    selection: &SelectionReport,
    generator: &GeneratorSlot,
    default_classifier: bool,
) -> ModelLeases {
    let leases = lease(config, selection, generator, default_classifier);
    record(store, &leases.in_use);
    leases
}

fn lease(
    config: &Config,
    selection: &SelectionReport,
    generator: &GeneratorSlot,
    default_classifier: bool,
) -> ModelLeases {
    let Some(dir) = cache::cache_dir(config.model_dir.as_deref()) else { return ModelLeases::default() };
    let Ok(reg) = Registry::read(&dir) else { return ModelLeases::default() };
    let catalog = Catalog::builtin(config.hashing_dim);
    let mut names: Vec<String> = Vec::new();
    if let Some(e) = catalog.get(&selection.chosen).filter(|e| !e.files.is_empty()) {
        names.push(e.files.clone());
    }
    let gen = generator.report();
    if reg.active(&gen.chosen).is_some_and(|v| v.role == Role::Generation) {
        names.push(gen.chosen.clone());
    }
    if default_classifier {
        #[cfg(feature = "candle")]
        let shipped = crate::models::emotion_adapter::builtin_manifest().name;
        #[cfg(not(feature = "candle"))]
        let shipped = String::new();
        let emotion = reg
            .active(&shipped)
            .or_else(|| reg.versions.iter().find(|v| v.role == Role::Emotion && v.folder.is_empty()));
        if let Some(v) = emotion {
            names.push(v.name.clone());
        }
    }
    let mut out = ModelLeases::default();
    for name in names {
        let Some(v) = reg.active(&name) else { continue };
        if !v.folder.is_empty() {
            if let Some(lease) = Lease::take(&dir.join(&v.folder)) {
                out._leases.push(lease);
            }
        }
        out.in_use.push(ModelInUse { role: v.role, name: v.name.clone(), version: v.version.clone() });
    }
    out
}

/// With `models.auto_update`: look for newer versions of the installed models on a thread of
/// its own (the open does not wait); what it installs and activates is taken by the next
/// open. Then, over `models.cache_limit_mb`, collect garbage.
pub(crate) fn spawn_auto_update(config: &Config) {
    if !config.models.auto_update {
        return;
    }
    let Some(dir) = cache::cache_dir(config.model_dir.as_deref()) else { return };
    let source = config.models.update_source.clone().map(registry::UpdateSource);
    let limit = config.models.cache_limit_mb.map(|mb| mb.saturating_mul(1 << 20));
    let spawned = std::thread::Builder::new().name("memorable-model-update".into()).spawn(move || {
        let checks = match registry::update_check(&dir, source.as_ref()) {
            Ok(c) => c,
            Err(e) => return tracing::warn!(error = %e, "model update check failed"),
        };
        for u in checks.into_iter().filter(|u| u.update && u.installed.is_some()) {
            match registry::update(&dir, &u.name, source.as_ref(), &mut |_| {}) {
                Ok(Some(v)) => tracing::info!(model = %v.id(), "model updated; the next open uses it"),
                Ok(None) => {}
                Err(e) => tracing::warn!(model = %u.name, error = %e, "model update failed; the active version stays"),
            }
        }
        if limit.is_some() {
            if let Err(e) = registry::gc(&dir, limit) {
                tracing::warn!(error = %e, "model cache gc failed");
            }
        }
    });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the model update thread");
    }
}

/// Record in the store the versions it opened with, when they changed (best effort: a store
/// opened read-only still opens).
fn record(store: &Store, in_use: &[ModelInUse]) {
    let Ok(json) = serde_json::to_string(in_use) else { return };
    let res = (|| -> crate::error::Result<()> {
        let writer = store.writer();
        if store::meta_get(&writer, META_MODEL_VERSIONS)?.as_deref() != Some(json.as_str()) {
            store::meta_set(&writer, META_MODEL_VERSIONS, &json)?;
        }
        Ok(())
    })();
    if let Err(e) = res {
        tracing::warn!(error = %e, "cannot record the model versions in the store");
    }
}
