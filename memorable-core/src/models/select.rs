//! Model selection: which model serves a role (embedding now; emotion and generation later),
//! on which device, with which resource limits, and why.
//!
//! Selection is split so it can be tested without a machine to match:
//! - [`Environment::detect`] reads the machine (profile, GPUs, memory, CPUs);
//! - [`CacheState::inspect`] reads the model cache (every file checked against the manifest);
//! - [`plan`] is a pure function of those two, the [`Catalog`] and the [`Request`]: the same
//!   inputs always give the same ordered fallback chain, limits and reasons;
//! - [`resolve_embedder`] walks the chain, loading each candidate until one works (a load
//!   failure is recorded and the next one is tried, down to the hashing embedder), warms the
//!   winner up, and returns it with a [`SelectionReport`] of every decision.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::cache::{self, Manifest};
use super::registry;
pub use super::DeviceKind;
use super::{Embedder, HashingEmbedder};
use crate::error::{Error, Result};

pub use super::profile::{ModelChoice, Profile, AUTO, HASHING};
pub use super::resolve::{engine, load_embedder, resolve_embedder, resolve_with};

pub use super::role::Role;

/// How a catalog model is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// A sentence-transformers BERT directory: the native forward ([`super::bert`]) on the
    /// CPU, candle on GPUs (and on x86-64 CPUs without AVX2+FMA).
    Bert,
    /// A sentence-transformers BERT directory run by candle.
    CandleBert,
    /// The native forward with int8 linear layers ([`super::bert::qgemm`]); CPU only, opt-in.
    BertInt8,
    /// The built-in hashing embedder (no files).
    Hashing,
}

/// One model the engine knows how to use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogEntry {
    pub name: String,
    pub role: Role,
    pub model_id: String,
    pub backend: Backend,
    /// Folder in the model cache (and name in models/manifest.json) holding the files;
    /// entries running the same weights with different backends share it. Empty for
    /// built-ins.
    pub files: String,
    pub dim: usize,
    /// Download size in MB (0 for built-ins).
    pub size_mb: u64,
    /// Resident memory it needs to run at the default batch size, in MB.
    pub memory_mb: u64,
    pub devices: Vec<DeviceKind>,
    pub profiles: Vec<Profile>,
    /// Higher is better; `auto` tries models best first.
    pub quality: u32,
}

/// What an int8 model's id adds to its f32 model's.
pub const INT8_SUFFIX: &str = "+int8";

/// Every model per role, best first within a role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub entries: Vec<CatalogEntry>,
}

impl Catalog {
    /// The models this build knows: the manifest's plus the hashing fallback. Each BERT
    /// model is listed three times: `NAME` (native forward on CPU, candle on GPU) and
    /// `NAME-candle` (always candle; the reference, and the fallback if the native forward
    /// cannot load the model) make the same vectors (same `model_id`); `NAME-int8` (the
    /// native forward with int8 linear layers, CPU only) makes close but different ones, so
    /// it has its own model id (`MODEL_ID+int8`) and is used only when named (no profile
    /// lists it: `auto` never picks it).
    pub fn builtin(hashing_dim: usize) -> Catalog {
        let mut entries: Vec<CatalogEntry> = Manifest::builtin()
            .models
            .iter()
            .filter(|m| m.role == "embedding" && m.backend == "candle-bert")
            .flat_map(|m| {
                let entry = |name: String, backend: Backend, quality: u32| CatalogEntry {
                    name,
                    role: Role::Embedding,
                    model_id: m.model_id.clone(),
                    backend,
                    files: m.name.clone(),
                    dim: m.dim,
                    size_mb: m.files.iter().map(|f| f.size).sum::<u64>().div_ceil(1 << 20),
                    // Weights + tokenizer + activations of a 32 x 256-token batch.
                    memory_mb: 300,
                    devices: vec![DeviceKind::Cpu, DeviceKind::Cuda, DeviceKind::Metal],
                    profiles: vec![Profile::Local, Profile::Server],
                    quality,
                };
                let mut int8 = entry(format!("{}-int8", m.name), Backend::BertInt8, 80);
                int8.model_id = format!("{}{INT8_SUFFIX}", m.model_id);
                int8.devices = vec![DeviceKind::Cpu];
                int8.profiles = Vec::new();
                // The int8 weights (a quarter of the f32 ones) and the same activations.
                int8.memory_mb = 250;
                [
                    entry(m.name.clone(), Backend::Bert, 100),
                    entry(format!("{}-candle", m.name), Backend::CandleBert, 90),
                    int8,
                ]
            })
            .collect();
        entries.push(hashing_entry(hashing_dim));
        Catalog { entries }
    }

    pub fn get(&self, name: &str) -> Option<&CatalogEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    fn by_model_id(&self, model_id: &str) -> Option<&CatalogEntry> {
        self.entries.iter().find(|e| e.model_id == model_id)
    }

    /// A role's entries, best first (ties keep catalog order).
    fn ranked(&self, role: Role) -> Vec<&CatalogEntry> {
        let mut v: Vec<&CatalogEntry> = self.entries.iter().filter(|e| e.role == role).collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.quality));
        v
    }
}

fn hashing_entry(dim: usize) -> CatalogEntry {
    CatalogEntry {
        name: HASHING.into(),
        role: Role::Embedding,
        model_id: HashingEmbedder::new(dim).model_id().to_owned(),
        backend: Backend::Hashing,
        files: String::new(),
        dim,
        size_mb: 0,
        memory_mb: 1,
        devices: vec![DeviceKind::Cpu],
        profiles: vec![Profile::Local, Profile::Server],
        quality: 0,
    }
}

/// The facts about the machine that selection depends on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub profile: Profile,
    /// A CUDA device answers (only checked in builds with the `cuda` feature).
    pub cuda: bool,
    /// A Metal device answers (only checked in builds with the `metal` feature).
    pub metal: bool,
    pub total_memory_mb: u64,
    pub available_memory_mb: u64,
    pub cpus: usize,
    /// This build can run candle models (the `candle` feature).
    pub candle: bool,
}

impl Environment {
    /// Read the machine. `profile` comes from the config; else `MEMORABLE_PROFILE`; else local.
    pub fn detect(profile: Option<Profile>) -> Environment {
        let profile = profile
            .or_else(|| std::env::var("MEMORABLE_PROFILE").ok().and_then(|p| p.parse().ok()))
            .unwrap_or_default();
        let (total, available) = memory_mb();
        #[cfg(feature = "candle")]
        let (cuda, metal) = super::candle_bert::gpu_available();
        #[cfg(not(feature = "candle"))]
        let (cuda, metal) = (false, false);
        Environment {
            profile,
            cuda,
            metal,
            total_memory_mb: total,
            available_memory_mb: available,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            candle: cfg!(feature = "candle"),
        }
    }
}

/// (total, available) memory in MB from /proc/meminfo; elsewhere unknown, taken as ample.
fn memory_mb() -> (u64, u64) {
    let ample = (u64::MAX / 2, u64::MAX / 2);
    let Ok(info) = std::fs::read_to_string("/proc/meminfo") else {
        return ample;
    };
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb / 1024)
    };
    match (field("MemTotal:"), field("MemAvailable:")) {
        (Some(t), Some(a)) => (t, a),
        _ => ample,
    }
}

/// State of one catalog model in the cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "lowercase")]
pub enum CacheStatus {
    /// Needs no files.
    Builtin,
    /// All files present and verified.
    Ready,
    /// Not fetched (or the cache location is unknown).
    Missing(String),
    /// Present but a file fails its size or SHA-256 check.
    Corrupt(String),
}

impl CacheStatus {
    fn usable(&self) -> bool {
        matches!(self, CacheStatus::Builtin | CacheStatus::Ready)
    }
    fn reason(&self) -> String {
        match self {
            CacheStatus::Builtin => "built in".into(),
            CacheStatus::Ready => "cached and verified".into(),
            CacheStatus::Missing(r) => format!("missing: {r}"),
            CacheStatus::Corrupt(r) => format!("corrupt: {r}"),
        }
    }
}

/// What the model cache holds, per catalog name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheState {
    pub dir: Option<PathBuf>,
    pub models: BTreeMap<String, CacheStatus>,
}

impl CacheState {
    /// Check every catalog model in `dir` against the manifest.
    pub fn inspect(dir: Option<&Path>, catalog: &Catalog) -> CacheState {
        let models = catalog
            .entries
            .iter()
            .map(|e| {
                // The registry's active version of the model (or the pre-registry folder).
                let found = dir.and_then(|d| registry::resolve(d, &e.files));
                let status = match (e.backend, dir, &found) {
                    (Backend::Hashing, _, _) => CacheStatus::Builtin,
                    (_, None, _) => {
                        CacheStatus::Missing("no model cache directory (set MEMORABLE_HOME)".into())
                    }
                    (_, _, None) => CacheStatus::Missing("not in models/manifest.json".into()),
                    (_, Some(_), Some((folder, m))) => match cache::verify(folder, m) {
                        Ok(()) => CacheStatus::Ready,
                        Err(r) if r.starts_with("not in the model cache") => CacheStatus::Missing(r),
                        Err(r) => CacheStatus::Corrupt(r),
                    },
                };
                (e.name.clone(), status)
            })
            .collect();
        CacheState { dir: dir.map(Path::to_path_buf), models }
    }

    fn status(&self, name: &str) -> CacheStatus {
        self.models.get(name).cloned().unwrap_or_else(|| CacheStatus::Missing("not in the cache".into()))
    }
}

/// What is asked for.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub role: Role,
    /// `"auto"` or a catalog name.
    pub choice: &'a str,
    /// Model id of the vectors already in the store, if any.
    pub stored_model_id: Option<&'a str>,
}

/// Threads and batch size the chosen model may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceLimits {
    pub threads: usize,
    pub batch_size: usize,
}

/// What happened to one model while selecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Picked and loaded.
    Chosen,
    /// Eligible, waiting in the fallback chain (not tried because an earlier one loaded).
    Candidate,
    /// Not eligible here.
    Skipped,
    /// Tried and failed to load.
    Failed,
}

/// One model considered, and why it was or was not used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub model: String,
    pub outcome: Outcome,
    pub reason: String,
}

/// The pure result of [`plan`]: models to try in order, and the limits to run them with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// (catalog name, device) best first; the last is the most reliable fallback.
    pub chain: Vec<(String, DeviceKind)>,
    pub limits: ResourceLimits,
    pub decisions: Vec<Decision>,
    pub notes: Vec<String>,
}

/// Threads and batch size from the profile and machine.
pub fn limits(env: &Environment, device: DeviceKind) -> ResourceLimits {
    let cpus = env.cpus.max(1);
    let threads = match env.profile {
        Profile::Local => cpus.min(4),
        Profile::Server => cpus,
    };
    let mut batch_size = match env.profile {
        Profile::Local => 16,
        Profile::Server => 32,
    };
    if device != DeviceKind::Cpu {
        batch_size = 64;
    }
    if env.available_memory_mb < 1024 {
        batch_size = batch_size.min(8);
    }
    ResourceLimits { threads, batch_size }
}

fn fetch_hint(name: &str) -> String {
    format!("run scripts/fetch-model.sh {name} or `memorable models fetch {name}`")
}

/// Choose the fallback chain for a request. Pure: same inputs, same plan.
pub fn plan(catalog: &Catalog, env: &Environment, cache: &CacheState, req: &Request<'_>) -> Result<Plan> {
    let mut decisions = Vec::new();
    let mut notes = Vec::new();
    let device_for = |e: &CatalogEntry| {
        if e.backend == Backend::Hashing {
            DeviceKind::Cpu
        } else if env.cuda && e.devices.contains(&DeviceKind::Cuda) {
            DeviceKind::Cuda
        } else if env.metal && e.devices.contains(&DeviceKind::Metal) {
            DeviceKind::Metal
        } else {
            DeviceKind::Cpu
        }
    };
    let runnable = |e: &CatalogEntry| -> std::result::Result<(), String> {
        if e.backend != Backend::Hashing && !env.candle {
            return Err("this build has no candle support (the `candle` feature is off)".into());
        }
        let status = cache.status(&e.name);
        if !status.usable() {
            return Err(format!("{}; {}", status.reason(), fetch_hint(&e.files)));
        }
        Ok(())
    };

    let chain: Vec<(String, DeviceKind)> = if req.choice != AUTO {
        // An explicit choice is honoured or refused, never silently replaced.
        let e = catalog.get(req.choice).filter(|e| e.role == req.role).ok_or_else(|| {
            let names: Vec<&str> = catalog.ranked(req.role).iter().map(|e| e.name.as_str()).collect();
            Error::InvalidConfig(format!(
                "unknown embedder {:?}; choose \"auto\" or one of {}",
                req.choice,
                names.join(", ")
            ))
        })?;
        if let Some(stored) = req.stored_model_id.filter(|s| *s != e.model_id) {
            tracing::error!(
                stored,
                chosen = %e.model_id,
                "the store's vectors were made by another model; open with embedder \"auto\" or re-embed it (`memorable reembed --model {}`)",
                e.name
            );
            return Err(Error::ModelMismatch { stored: stored.to_owned(), current: e.model_id.clone() });
        }
        runnable(e).map_err(|r| Error::Model(format!("embedder {:?} cannot be used: {r}", e.name)))?;
        if e.memory_mb > env.available_memory_mb {
            notes.push(format!(
                "{} needs ~{} MB but only {} MB are available; using it anyway because it was chosen explicitly",
                e.name, e.memory_mb, env.available_memory_mb
            ));
        }
        decisions.push(Decision {
            model: e.name.clone(),
            outcome: Outcome::Candidate,
            reason: "chosen explicitly in the configuration".into(),
        });
        vec![(e.name.clone(), device_for(e))]
    } else if let Some(stored) = req.stored_model_id {
        // An existing store keeps the model its vectors were made with.
        let Some(e) = catalog.by_model_id(stored).filter(|e| e.role == req.role) else {
            let best = catalog.ranked(req.role).first().map(|e| e.model_id.clone()).unwrap_or_default();
            return Err(Error::ModelMismatch { stored: stored.to_owned(), current: best });
        };
        runnable(e).map_err(|r| {
            Error::Model(format!(
                "the store's vectors were made by {stored} ({:?}), which cannot be used here: {r}",
                e.name
            ))
        })?;
        decisions.push(Decision {
            model: e.name.clone(),
            outcome: Outcome::Candidate,
            reason: format!("the store's vectors were made by {stored}"),
        });
        if let Some(better) = catalog
            .ranked(req.role)
            .into_iter()
            .find(|b| b.quality > e.quality && runnable(b).is_ok() && b.profiles.contains(&env.profile))
        {
            notes.push(format!(
                "{} is available and better than {}; `memorable reembed --model {}` (Memorable::reembed) migrates this store to it",
                better.name, e.name, better.name
            ));
        }
        let mut chain = vec![(e.name.clone(), device_for(e))];
        // The same weights through another backend make the same vectors: a fallback.
        for other in catalog.ranked(req.role) {
            if other.model_id == e.model_id && other.name != e.name && runnable(other).is_ok() {
                decisions.push(Decision {
                    model: other.name.clone(),
                    outcome: Outcome::Candidate,
                    reason: format!(
                        "same model as {} through another backend; used if it fails to load",
                        e.name
                    ),
                });
                chain.push((other.name.clone(), device_for(other)));
            }
        }
        chain
    } else {
        let mut chain = Vec::new();
        for e in catalog.ranked(req.role) {
            let verdict = if e.profiles.is_empty() {
                Err("opt-in: used only when named in the configuration".into())
            } else if !e.profiles.contains(&env.profile) {
                Err(format!("not meant for the {:?} profile", env.profile).to_lowercase())
            } else if let Err(r) = runnable(e) {
                Err(r)
            } else if e.memory_mb > env.available_memory_mb {
                Err(format!(
                    "needs ~{} MB of memory, only {} MB available",
                    e.memory_mb, env.available_memory_mb
                ))
            } else {
                Ok(())
            };
            match verdict {
                Ok(()) => {
                    let device = device_for(e);
                    decisions.push(Decision {
                        model: e.name.clone(),
                        outcome: Outcome::Candidate,
                        reason: format!("fits: {} on {device:?}", cache.status(&e.name).reason())
                            .to_lowercase(),
                    });
                    chain.push((e.name.clone(), device));
                }
                Err(reason) => {
                    decisions.push(Decision { model: e.name.clone(), outcome: Outcome::Skipped, reason })
                }
            }
        }
        chain
    };
    let first_device = chain.first().map_or(DeviceKind::Cpu, |c| c.1);
    Ok(Plan { chain, limits: limits(env, first_device), decisions, notes })
}

/// Every decision of a selection, for logs, `stats()` and `memorable models list`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionReport {
    pub role: Role,
    /// What was asked for (`"auto"`, a catalog name, or `"custom"` for `Builder::embedder`).
    pub requested: String,
    /// Catalog name of the model in use (`"custom"` for an application-supplied embedder).
    pub chosen: String,
    pub model_id: String,
    pub device: DeviceKind,
    /// True when the hashing fallback is in use.
    pub fallback: bool,
    /// Why the fallback is in use (`None` when it is not, or was chosen explicitly).
    pub fallback_reason: Option<String>,
    pub limits: ResourceLimits,
    pub environment: Option<Environment>,
    pub model_dir: Option<PathBuf>,
    pub decisions: Vec<Decision>,
    pub notes: Vec<String>,
    /// Time to load the chosen model, and to embed one warm-up text, in milliseconds.
    pub load_ms: f64,
    pub warm_up_ms: f64,
}

impl SelectionReport {
    /// The report for an embedder the application passed in itself.
    pub fn custom(embedder: &dyn Embedder) -> SelectionReport {
        SelectionReport {
            role: Role::Embedding,
            requested: "custom".into(),
            chosen: "custom".into(),
            model_id: embedder.model_id().to_owned(),
            device: DeviceKind::Cpu,
            fallback: embedder.is_fallback(),
            fallback_reason: None,
            limits: ResourceLimits { threads: 0, batch_size: 0 },
            environment: None,
            model_dir: None,
            decisions: vec![Decision {
                model: "custom".into(),
                outcome: Outcome::Chosen,
                reason: "embedder supplied by the application (Builder::embedder)".into(),
            }],
            notes: Vec::new(),
            load_ms: 0.0,
            warm_up_ms: 0.0,
        }
    }

    /// A few lines for humans (the CLI prints this).
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} model: {} ({}) on {}, {} threads, batch {}{}\n",
            format!("{:?}", self.role).to_lowercase(),
            self.chosen,
            self.model_id,
            format!("{:?}", self.device).to_lowercase(),
            self.limits.threads,
            self.limits.batch_size,
            if self.fallback { " [FALLBACK]" } else { "" }
        );
        if let Some(r) = &self.fallback_reason {
            s.push_str(&format!("  fallback because: {r}\n"));
        }
        for d in &self.decisions {
            s.push_str(&format!(
                "  {:<14} {:<9} {}\n",
                d.model,
                format!("{:?}", d.outcome).to_lowercase(),
                d.reason
            ));
        }
        for n in &self.notes {
            s.push_str(&format!("  note: {n}\n"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(profile: Profile, mem: u64) -> Environment {
        Environment {
            profile,
            cuda: false,
            metal: false,
            total_memory_mb: 16_384,
            available_memory_mb: mem,
            cpus: 8,
            candle: true,
        }
    }

    fn cache(minilm: CacheStatus) -> CacheState {
        let mut models = BTreeMap::new();
        models.insert("minilm".to_owned(), minilm);
        models.insert(HASHING.to_owned(), CacheStatus::Builtin);
        CacheState { dir: Some("/nonexistent".into()), models }
    }

    fn req<'a>(choice: &'a str, stored: Option<&'a str>) -> Request<'a> {
        Request { role: Role::Embedding, choice, stored_model_id: stored }
    }

    #[test]
    fn plan_is_deterministic_and_explained() {
        let cat = Catalog::builtin(384);
        let p =
            plan(&cat, &env(Profile::Server, 4096), &cache(CacheStatus::Ready), &req(AUTO, None)).unwrap();
        assert_eq!(p.chain[0].0, "minilm");
        assert_eq!(p.chain.last().unwrap().0, HASHING);
        assert_eq!(p.limits, ResourceLimits { threads: 8, batch_size: 32 });
        let again =
            plan(&cat, &env(Profile::Server, 4096), &cache(CacheStatus::Ready), &req(AUTO, None)).unwrap();
        assert_eq!(p, again);

        let short =
            plan(&cat, &env(Profile::Local, 200), &cache(CacheStatus::Ready), &req(AUTO, None)).unwrap();
        assert_eq!(short.chain.len(), 1);
        assert!(short.decisions[0].reason.contains("only 200 MB"));
        assert_eq!(short.limits, ResourceLimits { threads: 4, batch_size: 8 });

        let missing = plan(
            &cat,
            &env(Profile::Local, 4096),
            &cache(CacheStatus::Missing("x".into())),
            &req(AUTO, None),
        )
        .unwrap();
        assert_eq!(missing.chain, vec![(HASHING.to_owned(), DeviceKind::Cpu)]);
        assert!(missing.decisions[0].reason.contains("fetch-model.sh"));
    }

    #[test]
    fn stored_model_wins_and_explicit_mismatch_errors() {
        let cat = Catalog::builtin(384);
        let e = env(Profile::Local, 4096);
        let c = cache(CacheStatus::Ready);
        let p = plan(&cat, &e, &c, &req(AUTO, Some("hashing-v1-384"))).unwrap();
        assert_eq!(p.chain, vec![(HASHING.to_owned(), DeviceKind::Cpu)]);
        assert!(p.notes[0].contains("reembed"));
        let err = plan(&cat, &e, &c, &req("minilm", Some("hashing-v1-384"))).unwrap_err();
        assert!(matches!(err, Error::ModelMismatch { .. }));
        let err = plan(&cat, &e, &cache(CacheStatus::Missing("x".into())), &req("minilm", None)).unwrap_err();
        assert!(err.to_string().contains("fetch-model.sh"), "{err}");
        assert!(matches!(plan(&cat, &e, &c, &req("nope", None)), Err(Error::InvalidConfig(_))));
    }
}
