//! Choosing the generator: `Config.generator` and the profile decide, every decision is
//! reported with its reason (as the embedder's selection is), and the model loads on first
//! use (a store that never generates never pays for it).
//!
//! - `"none"`: no generator; consolidation writes extractive summaries.
//! - `"smollm2"` / `"gguf:<file in the cache>"`: that local GGUF, or refused.
//! - `"ollama:<model>"` / `"openai:<model>"`: that server model; when it is unavailable (no
//!   connection, 5xx, breaker open) a cached local GGUF answers instead, and says so.
//! - `"auto"`: profile `local` → the local SmolLM2 if it is cached; profile `server` → the
//!   configured `model_server.generator`, falling back to the local GGUF, then to none.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use super::config::ModelServerConfig;
use super::{GenerateRequest, Generation, Generator, OnText};
use crate::error::{Error, Result};
use crate::models::cache;
use crate::models::profile::{GeneratorChoice, Profile, AUTO};
use crate::models::select::{
    Decision, DeviceKind, Environment, Outcome, ResourceLimits, Role, SelectionReport,
};

/// The shipped local generator's catalog name.
pub const SMOLLM2: &str = "smollm2";
/// `Config.generator` value for no generator.
pub const NONE: &str = "none";

/// What will be loaded on first use.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    None(String),
    Local { path: PathBuf, id: String },
    Server { kind: &'static str, model: String, fallback: Option<(PathBuf, String)> },
}

/// The generator of a store, loaded on its first use.
pub struct GeneratorSlot {
    target: Target,
    threads: usize,
    server: ModelServerConfig,
    report: SelectionReport,
    cell: OnceLock<std::result::Result<Arc<dyn Generator>, String>>,
    /// Why the local model last answered for an unavailable server (the report says so).
    fell_back: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for GeneratorSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratorSlot").field("target", &self.target).finish()
    }
}

fn decision(model: &str, outcome: Outcome, reason: impl Into<String>) -> Decision {
    Decision { model: model.into(), outcome, reason: reason.into() }
}

/// The verified SmolLM2 file in the cache, or why not.
fn cached_smollm2(model_dir: Option<&Path>) -> std::result::Result<PathBuf, String> {
    let dir = cache::cache_dir(model_dir).ok_or("no model cache directory")?;
    let (folder, entry) =
        crate::models::registry::resolve(&dir, SMOLLM2).ok_or("smollm2 is not in the manifest")?;
    cache::verify(&folder, &entry).map_err(|r| format!("{r}; run `memorable models fetch smollm2`"))?;
    let file = entry.files.iter().find(|f| f.path.ends_with(".gguf")).ok_or("smollm2 has no .gguf file")?;
    Ok(folder.join(&file.path))
}

/// A GGUF file named in the configuration (`gguf:<file>`), relative to the cache.
fn cached_gguf(model_dir: Option<&Path>, file: &str) -> std::result::Result<PathBuf, String> {
    let path = Path::new(file);
    if path.is_absolute() || path.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err("name a file inside the model cache (no absolute path, no ..)".into());
    }
    let dir = cache::cache_dir(model_dir).ok_or("no model cache directory")?;
    let p = dir.join(path);
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!("{} does not exist", p.display()))
    }
}

impl GeneratorSlot {
    /// Plan the generator of `choice` (nothing is loaded yet).
    pub fn plan(choice: &GeneratorChoice, threads: usize) -> Result<GeneratorSlot> {
        let env = Environment::detect(choice.profile);
        let requested = choice.generator.trim().to_owned();
        let mut decisions = Vec::new();
        let local = || cached_smollm2(choice.model_dir.as_deref());
        let server = |spec: &str| -> Option<(&'static str, String)> {
            let (kind, model) = spec.split_once(':')?;
            let kind = match kind {
                "ollama" => "ollama",
                "openai" => "openai",
                _ => return None,
            };
            (!model.is_empty()).then(|| (kind, model.to_owned()))
        };
        let target = match requested.as_str() {
            NONE => {
                decisions.push(decision(NONE, Outcome::Chosen, "generator = \"none\": consolidation is extractive"));
                Target::None("generator = \"none\"".into())
            }
            SMOLLM2 => match local() {
                Ok(path) => {
                    decisions.push(decision(SMOLLM2, Outcome::Chosen, "asked for; verified in the model cache"));
                    Target::Local { path, id: SMOLLM2.into() }
                }
                Err(r) => return Err(Error::NoGenerator(format!("smollm2: {r}"))),
            },
            g if g.starts_with("gguf:") => match cached_gguf(choice.model_dir.as_deref(), &g[5..]) {
                Ok(path) => {
                    decisions.push(decision(g, Outcome::Chosen, "asked for; found in the model cache"));
                    Target::Local { path, id: g.into() }
                }
                Err(r) => return Err(Error::NoGenerator(format!("{g}: {r}"))),
            },
            g if g.starts_with("ollama:") || g.starts_with("openai:") => {
                let (kind, model) = server(g).ok_or_else(|| Error::InvalidConfig(format!("generator {g:?} names no model")))?;
                decisions.push(decision(g, Outcome::Chosen, "asked for; served by the configured server"));
                let fallback = match local() {
                    Ok(path) => {
                        decisions.push(decision(SMOLLM2, Outcome::Candidate, "fallback while the server is unavailable"));
                        Some((path, SMOLLM2.to_owned()))
                    }
                    Err(r) => {
                        decisions.push(decision(SMOLLM2, Outcome::Skipped, format!("no fallback: {r}")));
                        None
                    }
                };
                Target::Server { kind, model, fallback }
            }
            AUTO => {
                let served = (env.profile == Profile::Server).then_some(choice.server.generator.as_deref()).flatten();
                match (served.and_then(server), local()) {
                    (Some((kind, model)), fallback) => {
                        decisions.push(decision(
                            served.unwrap_or_default(),
                            Outcome::Chosen,
                            "profile server: the configured server model (model_server.generator)",
                        ));
                        let fallback = match fallback {
                            Ok(path) => {
                                decisions.push(decision(SMOLLM2, Outcome::Candidate, "fallback while the server is unavailable"));
                                Some((path, SMOLLM2.to_owned()))
                            }
                            Err(r) => {
                                decisions.push(decision(SMOLLM2, Outcome::Skipped, r));
                                None
                            }
                        };
                        Target::Server { kind, model, fallback }
                    }
                    (None, Ok(path)) => {
                        let why = if env.profile == Profile::Server {
                            "profile server without model_server.generator: the local model"
                        } else {
                            "profile local: the local model, verified in the cache"
                        };
                        decisions.push(decision(SMOLLM2, Outcome::Chosen, why));
                        Target::Local { path, id: SMOLLM2.into() }
                    }
                    (None, Err(r)) => {
                        decisions.push(decision(SMOLLM2, Outcome::Skipped, r.clone()));
                        decisions.push(decision(NONE, Outcome::Chosen, "no generator available: consolidation is extractive"));
                        Target::None(format!("smollm2: {r}"))
                    }
                }
            }
            other => {
                return Err(Error::InvalidConfig(format!(
                    "generator must be \"auto\", \"none\", \"smollm2\", \"gguf:<file>\", \"ollama:<model>\" or \"openai:<model>\", got {other:?}"
                )))
            }
        };
        let (chosen, model_id, fallback_reason) = match &target {
            Target::None(r) => (NONE.to_owned(), String::new(), Some(r.clone())),
            Target::Local { id, .. } => (id.clone(), id.clone(), None),
            Target::Server { kind, model, .. } => {
                (format!("{kind}:{model}"), format!("{kind}:{model}"), None)
            }
        };
        let report = SelectionReport {
            role: Role::Generation,
            requested,
            chosen,
            model_id,
            device: DeviceKind::Cpu,
            fallback: matches!(target, Target::None(_)),
            fallback_reason,
            limits: ResourceLimits { threads, batch_size: 1 },
            environment: Some(env),
            model_dir: cache::cache_dir(choice.model_dir.as_deref()),
            decisions,
            notes: Vec::new(),
            load_ms: 0.0,
            warm_up_ms: 0.0,
        };
        Ok(GeneratorSlot {
            target,
            threads,
            server: choice.server.clone(),
            report,
            cell: OnceLock::new(),
            fell_back: Arc::default(),
        })
    }

    /// A slot for a configured generator that cannot be used (the reason is what
    /// `generate` and the selection report say).
    pub fn unavailable(requested: &str, reason: String) -> GeneratorSlot {
        let report = SelectionReport {
            role: Role::Generation,
            requested: requested.to_owned(),
            chosen: NONE.into(),
            model_id: String::new(),
            device: DeviceKind::Cpu,
            fallback: true,
            fallback_reason: Some(reason.clone()),
            limits: ResourceLimits { threads: 0, batch_size: 1 },
            environment: None,
            model_dir: None,
            decisions: vec![decision(requested, Outcome::Failed, reason.clone())],
            notes: Vec::new(),
            load_ms: 0.0,
            warm_up_ms: 0.0,
        };
        GeneratorSlot {
            target: Target::None(reason),
            threads: 0,
            server: ModelServerConfig::default(),
            report,
            cell: OnceLock::new(),
            fell_back: Arc::default(),
        }
    }

    /// A slot holding the application's own generator.
    pub fn given(generator: Arc<dyn Generator>) -> GeneratorSlot {
        let id = generator.model_id().to_owned();
        let report = SelectionReport {
            role: Role::Generation,
            requested: "custom".into(),
            chosen: "custom".into(),
            model_id: id.clone(),
            device: DeviceKind::Cpu,
            fallback: false,
            fallback_reason: None,
            limits: ResourceLimits { threads: 0, batch_size: 1 },
            environment: None,
            model_dir: None,
            decisions: vec![decision("custom", Outcome::Chosen, "generator supplied by the application")],
            notes: Vec::new(),
            load_ms: 0.0,
            warm_up_ms: 0.0,
        };
        let slot = GeneratorSlot {
            target: Target::None(String::new()),
            threads: 0,
            server: ModelServerConfig::default(),
            report,
            cell: OnceLock::new(),
            fell_back: Arc::default(),
        };
        let _ = slot.cell.set(Ok(generator));
        slot
    }

    /// How the generator was chosen; after the server was found unavailable and the local
    /// model answered, `fallback` is true and `fallback_reason` says why.
    pub fn report(&self) -> SelectionReport {
        let mut report = self.report.clone();
        if let Some(reason) = self.fell_back.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            report.fallback = true;
            report.fallback_reason = Some(reason);
        }
        report
    }

    /// Whether a generator is configured (it may still fail to load).
    pub fn configured(&self) -> bool {
        self.cell.get().is_some_and(|r| r.is_ok()) || !matches!(self.target, Target::None(_))
    }

    /// The generator, loading it on first use; `NO_GENERATOR` when there is none.
    pub fn get(&self) -> Result<Arc<dyn Generator>> {
        self.cell
            .get_or_init(|| {
                let loaded: Result<Arc<dyn Generator>> = match &self.target {
                    Target::None(r) => Err(Error::NoGenerator(r.clone())),
                    Target::Local { path, id } => load_local(path, id, self.threads),
                    Target::Server { kind, model, fallback } => server_generator(kind, model, &self.server)
                        .map(|primary| -> Arc<dyn Generator> {
                            Arc::new(Fallback {
                                primary,
                                fallback: fallback.clone(),
                                threads: self.threads,
                                loaded: OnceLock::new(),
                                fell_back: self.fell_back.clone(),
                            })
                        }),
                };
                if let Err(e) = &loaded {
                    tracing::warn!(reason = %e, "no generator");
                }
                loaded.map_err(|e| e.to_string())
            })
            .clone()
            .map_err(Error::NoGenerator)
    }
}

#[cfg(feature = "servers")]
fn server_generator(kind: &str, model: &str, cfg: &ModelServerConfig) -> Result<Arc<dyn Generator>> {
    Ok(match kind {
        "ollama" => Arc::new(super::server::ollama::OllamaGenerator::new(model, cfg)),
        _ => Arc::new(super::server::openai::OpenAiGenerator::new(model, cfg)),
    })
}

#[cfg(not(feature = "servers"))]
fn server_generator(_kind: &str, _model: &str, _cfg: &ModelServerConfig) -> Result<Arc<dyn Generator>> {
    Err(Error::NoGenerator("this build has no servers feature, which model servers need".into()))
}

#[cfg(feature = "candle")]
fn load_local(path: &Path, id: &str, threads: usize) -> Result<Arc<dyn Generator>> {
    Ok(Arc::new(super::gguf::GgufGenerator::load(path, id, threads.max(1))?))
}

#[cfg(not(feature = "candle"))]
fn load_local(_path: &Path, _id: &str, _threads: usize) -> Result<Arc<dyn Generator>> {
    Err(Error::NoGenerator("this build has no candle feature, which the local generator needs".into()))
}

/// A server model with a local model behind it: when the server is unavailable (not when it
/// refuses), the local model answers, and the answer's `model` says which did.
struct Fallback {
    primary: Arc<dyn Generator>,
    fallback: Option<(PathBuf, String)>,
    threads: usize,
    loaded: OnceLock<std::result::Result<Arc<dyn Generator>, String>>,
    fell_back: Arc<Mutex<Option<String>>>,
}

impl Generator for Fallback {
    fn model_id(&self) -> &str {
        self.primary.model_id()
    }

    fn generate_once(&self, request: &GenerateRequest, on_text: OnText<'_>) -> Result<Generation> {
        match self.primary.generate_once(request, on_text) {
            Err(e) if e.code() == crate::ErrorCode::ServerUnavailable => {
                let Some((path, id)) = &self.fallback else { return Err(e) };
                tracing::warn!(server = self.primary.model_id(), fallback = %id, reason = %e, "model server unavailable; the local generator answers");
                let local = self
                    .loaded
                    .get_or_init(|| load_local(path, id, self.threads).map_err(|e| e.to_string()))
                    .clone()
                    .map_err(Error::NoGenerator)?;
                *self.fell_back.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(format!("{} unavailable, the local {id} answered: {e}", self.primary.model_id()));
                local.generate_once(request, on_text)
            }
            Ok(g) => {
                // The server is back: the report no longer says the local model answers.
                *self.fell_back.lock().unwrap_or_else(|p| p.into_inner()) = None;
                Ok(g)
            }
            other => other,
        }
    }
}
