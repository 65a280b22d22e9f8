//! Loading the embedder a [`plan`](super::select::plan) chose: walk the fallback chain, load
//! and warm up each candidate until one works, and report every decision.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

#[cfg(feature = "candle")]
use super::bert::{self, BertEmbedder};
use super::cache;
#[cfg(feature = "candle")]
use super::candle_bert::{BertOptions, CandleBertEmbedder};
use super::profile::{ModelChoice, AUTO};
use super::select::{
    limits, plan, Backend, CacheState, Catalog, CatalogEntry, Environment, Outcome, Request, ResourceLimits,
    Role, SelectionReport,
};
use super::{DeviceKind, Embedder, HashingEmbedder};
use crate::error::{Error, Result};

/// The engine that runs a catalog model on `device` (for the selection report).
pub fn engine(entry: &CatalogEntry, device: DeviceKind) -> String {
    let _ = &device; // read by the candle arm only
    match entry.backend {
        Backend::Hashing => "built-in hashing embedder".into(),
        #[cfg(feature = "candle")]
        Backend::Bert if device == DeviceKind::Cpu && bert::native_supported() => {
            format!("native BERT forward ({} kernels)", bert::Isa::detect().name())
        }
        Backend::Bert | Backend::CandleBert => "candle".into(),
        #[cfg(feature = "candle")]
        Backend::BertInt8 => format!(
            "native BERT forward, int8 linear layers ({} kernels, {} elsewhere)",
            bert::QIsa::detect().name(),
            bert::Isa::detect().name()
        ),
        #[cfg(not(feature = "candle"))]
        Backend::BertInt8 => "native BERT forward, int8".into(),
    }
}

/// Load one catalog model.
pub fn load_embedder(
    entry: &CatalogEntry,
    model_dir: Option<&Path>,
    device: DeviceKind,
    limits: ResourceLimits,
) -> Result<Arc<dyn Embedder>> {
    match entry.backend {
        Backend::Hashing => Ok(Arc::new(HashingEmbedder::new(entry.dim))),
        #[cfg(feature = "candle")]
        Backend::Bert | Backend::CandleBert | Backend::BertInt8 => {
            let cache = model_dir.ok_or_else(|| Error::Model("no model cache directory".into()))?;
            let dir = super::registry::resolve(cache, &entry.files)
                .map_or_else(|| cache.join(&entry.files), |(folder, _)| folder);
            let opts = BertOptions {
                model_id: entry.model_id.clone(),
                threads: limits.threads,
                batch_size: limits.batch_size,
                device,
            };
            let e: Arc<dyn Embedder> = if entry.backend == Backend::BertInt8 {
                if device != DeviceKind::Cpu || !bert::native_supported() {
                    return Err(Error::Model(format!(
                        "{} runs on the native CPU forward, which this machine cannot run ({:?})",
                        entry.name, device
                    )));
                }
                Arc::new(BertEmbedder::load_int8(&dir, opts)?)
            } else if entry.backend == Backend::Bert && device == DeviceKind::Cpu && bert::native_supported()
            {
                Arc::new(BertEmbedder::load(&dir, opts)?)
            } else {
                Arc::new(CandleBertEmbedder::load(&dir, opts)?)
            };
            if e.dim() != entry.dim {
                return Err(Error::Model(format!(
                    "{} makes {}-dimensional vectors, the catalog says {}",
                    entry.name,
                    e.dim(),
                    entry.dim
                )));
            }
            Ok(e)
        }
        #[cfg(not(feature = "candle"))]
        Backend::Bert | Backend::CandleBert | Backend::BertInt8 => {
            let _ = (model_dir, device, limits);
            Err(Error::Model("this build has no candle support".into()))
        }
    }
}

/// Select, load and warm up the embedder for a store, per `choice.embedder`
/// (`Config::model_choice()` gives the choice of a configuration).
pub fn resolve_embedder(
    choice: &ModelChoice,
    stored_model_id: Option<&str>,
) -> Result<(Arc<dyn Embedder>, SelectionReport)> {
    let env = Environment::detect(choice.profile);
    // A server model: the one asked for, or under "auto" the one the store's vectors were
    // made with. Used or refused, never replaced (its vectors mix with no other model's).
    let served = match (choice.embedder.as_str(), stored_model_id) {
        (AUTO, Some(stored)) if is_server_model(stored) => Some(stored),
        (name, _) if is_server_model(name) => Some(name),
        _ => None,
    };
    if let Some(name) = served {
        return server_embedder(name, choice, env);
    }
    let catalog = Catalog::builtin(choice.hashing_dim);
    let dir = cache::cache_dir(choice.model_dir.as_deref());
    let cache = CacheState::inspect(dir.as_deref(), &catalog);
    let req = Request { role: Role::Embedding, choice: &choice.embedder, stored_model_id };
    resolve_with(&catalog, &env, &cache, &req)
}

fn is_server_model(name: &str) -> bool {
    name.starts_with("ollama:") || name.starts_with("openai:")
}

/// An embedding model served by Ollama or an OpenAI-compatible server.
fn server_embedder(
    name: &str,
    choice: &ModelChoice,
    env: Environment,
) -> Result<(Arc<dyn Embedder>, SelectionReport)> {
    #[cfg(feature = "servers")]
    {
        use super::llm::server::{ollama::OllamaEmbedder, openai::OpenAiEmbedder};
        let started = Instant::now();
        let (kind, model) = name.split_once(':').unwrap_or(("", ""));
        let embedder: Arc<dyn Embedder> = match kind {
            "ollama" => Arc::new(OllamaEmbedder::new(model, &choice.server)?),
            _ => Arc::new(OpenAiEmbedder::new(model, &choice.server)?),
        };
        let report = SelectionReport {
            role: Role::Embedding,
            requested: choice.embedder.clone(),
            chosen: name.to_owned(),
            model_id: embedder.model_id().to_owned(),
            device: DeviceKind::Cpu,
            fallback: false,
            fallback_reason: None,
            limits: limits(&env, DeviceKind::Cpu),
            environment: Some(env),
            model_dir: None,
            decisions: vec![super::select::Decision {
                model: name.to_owned(),
                outcome: Outcome::Chosen,
                reason: format!("served by a model server ({} dimensions)", embedder.dim()),
            }],
            notes: Vec::new(),
            load_ms: started.elapsed().as_secs_f64() * 1e3,
            warm_up_ms: 0.0,
        };
        Ok((embedder, report))
    }
    #[cfg(not(feature = "servers"))]
    {
        let _ = (choice, env);
        Err(Error::Model(format!("{name}: this build has no servers feature")))
    }
}

/// [`resolve_embedder`] with every input given (tests inject environments and caches here).
pub fn resolve_with(
    catalog: &Catalog,
    env: &Environment,
    cache: &CacheState,
    req: &Request<'_>,
) -> Result<(Arc<dyn Embedder>, SelectionReport)> {
    let plan = plan(catalog, env, cache, req)?;
    let mut decisions = plan.decisions;
    let mut failures: Vec<String> = Vec::new();
    for (name, device) in &plan.chain {
        let entry = catalog.get(name).expect("plan only names catalog entries");
        let limits = limits(env, *device);
        let started = Instant::now();
        let loaded = load_embedder(entry, cache.dir.as_deref(), *device, limits).and_then(|e| {
            let load_ms = started.elapsed().as_secs_f64() * 1e3;
            let warm = Instant::now();
            e.embed(&["warm-up"])?;
            Ok((e, load_ms, warm.elapsed().as_secs_f64() * 1e3))
        });
        let slot = decisions.iter_mut().find(|d| &d.model == name);
        match loaded {
            Ok((embedder, load_ms, warm_up_ms)) => {
                if let Some(d) = slot {
                    d.outcome = Outcome::Chosen;
                    d.reason = format!("{}; runs on the {}", d.reason, engine(entry, *device));
                }
                let fallback = embedder.is_fallback();
                let skipped: Vec<String> = decisions
                    .iter()
                    .filter(|d| matches!(d.outcome, Outcome::Skipped | Outcome::Failed))
                    .map(|d| format!("{}: {}", d.model, d.reason))
                    .collect();
                let fallback_reason = (fallback && req.choice == AUTO && req.stored_model_id.is_none())
                    .then(|| skipped.join("; "))
                    .or_else(|| {
                        (fallback && req.stored_model_id.is_some() && req.choice == AUTO)
                            .then(|| "the store's vectors were made by the hashing embedder".to_owned())
                    });
                let report = SelectionReport {
                    role: req.role,
                    requested: req.choice.to_owned(),
                    chosen: name.clone(),
                    model_id: embedder.model_id().to_owned(),
                    device: *device,
                    fallback,
                    fallback_reason,
                    limits,
                    environment: Some(env.clone()),
                    model_dir: cache.dir.clone(),
                    decisions,
                    notes: plan.notes,
                    load_ms,
                    warm_up_ms,
                };
                if fallback && report.fallback_reason.is_some() {
                    tracing::warn!(
                        reason = report.fallback_reason.as_deref().unwrap_or(""),
                        "using the hashing embedder (lexical matching only); the selection report says why and how to change it"
                    );
                } else {
                    tracing::info!(model = %report.model_id, device = ?device, load_ms, "embedding model selected");
                }
                for n in &report.notes {
                    tracing::info!("{n}");
                }
                return Ok((embedder, report));
            }
            Err(e) => {
                tracing::warn!(model = %name, error = %e, "model failed to load; trying the next one");
                failures.push(format!("{name}: {e}"));
                if let Some(d) = slot {
                    d.outcome = Outcome::Failed;
                    d.reason = format!("failed to load: {e}");
                }
            }
        }
    }
    Err(Error::Model(format!("no embedding model could be loaded: {}", failures.join("; "))))
}
