//! [`Graph`]: the engine's HNSW graph ([`super::hnsw::DenseHnsw`]) behind a lock, plus its
//! dump / reload.
//!
//! A dump is two files (`<base>.hnsw.graph`: header, ids, levels and links;
//! `<base>.hnsw.data`: the vectors, one tagged record a point) and a manifest
//! `u<user_key>.json` written last (temp file + rename) with the watermark (highest vector
//! id inside), model id, parameters and CRC32 checksums of both files. A dump is used only
//! when the manifest parses, matches the embedder and parameters, and both checksums hold;
//! anything else means "rebuild from the store" (dumps of format 1, hnsw_rs' files, are
//! stale: the index is rebuilt once and dumped in format 2). An encrypted store's dump files
//! are sealed (see [`super::staging`]).

use std::fs;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use parking_lot::RwLock;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::hnsw::{DenseHnsw, HnswParams, Plan, VECTORS_MAGIC};
use super::staging::{seal_file, unseal_file, Staging};
use super::HnswConfig;
use crate::crypto::MasterKey;
use crate::error::{Error, Result};
use crate::store::{UserKey, VectorId};

/// What a dump needs in order to write a user's index.
pub(crate) struct DumpTarget<'a> {
    pub dir: &'a Path,
    pub model_id: &'a str,
    pub dim: usize,
    pub cfg: &'a HnswConfig,
    /// The key of an encrypted store: dumps are sealed (see [`super::staging`]).
    pub seal: Option<&'a MasterKey>,
}

/// 2: the engine's own graph. 1 (hnsw_rs' files) is read as stale.
const DUMP_FORMAT: u32 = 2;
/// Seed of every graph's level generator: the same inserts build the same graph.
const LEVEL_SEED: u64 = 0x6d65_6d6f_7261_626c;

/// A user's graph. Searches share it; an insert plans on a shared borrow and links on an
/// exclusive one, so searches wait at most for one batch's linking, never for its searches.
/// Inserts come from one thread at a time (the index's `graph_writer`).
pub(crate) struct Graph {
    /// `None` until the first vector gives the dimension.
    inner: RwLock<Option<DenseHnsw>>,
    params: HnswParams,
}

impl Graph {
    pub fn new(cfg: &HnswConfig) -> Graph {
        let params =
            HnswParams { m: cfg.m.max(2), ef_construction: cfg.ef_construction.max(1), seed: LEVEL_SEED };
        Graph { inner: RwLock::new(None), params }
    }

    pub fn len(&self) -> usize {
        self.inner.read().as_ref().map_or(0, DenseHnsw::len)
    }

    /// Insert (vector id, unit vector) pairs. With `parallel`, points are planned in batches
    /// on all rayon threads (a batch is at most a sixteenth of the graph so far, so its points
    /// are few next to the ones their searches see; they are linked to each other exactly).
    pub fn insert(&self, rows: &[(VectorId, &[f32])], parallel: bool) {
        let mut at = 0;
        while at < rows.len() {
            let batch = if parallel { (self.len() / 16).clamp(1, 64) } else { 1 };
            let part = &rows[at..rows.len().min(at + batch)];
            let levels: Vec<u8> = {
                let mut inner = self.inner.write();
                let g = inner.get_or_insert_with(|| DenseHnsw::new(part[0].1.len(), self.params));
                part.iter().map(|_| g.draw_level()).collect()
            };
            let plans: Vec<Plan> = {
                let inner = self.inner.read();
                let g = inner.as_ref().expect("created above");
                let plan = |((_, v), level): (&(VectorId, &[f32]), &u8)| g.plan(v, *level);
                if part.len() > 1 {
                    part.par_iter().zip(levels.par_iter()).map(plan).collect()
                } else {
                    part.iter().zip(&levels).map(plan).collect()
                }
            };
            let mut inner = self.inner.write();
            let g = inner.as_mut().expect("created above");
            let mut peers = Vec::with_capacity(part.len());
            for ((id, v), plan) in part.iter().zip(&plans) {
                peers.push(g.apply(*id, v, plan, &peers));
            }
            at += part.len();
        }
    }

    /// The `k` nearest points to `q` by a walk with beam `ef`, among those `accept` takes
    /// (all without it): (vector id, distance `1 - cos`), closest first.
    pub fn search(
        &self,
        q: &[f32],
        k: usize,
        ef: usize,
        accept: Option<&dyn Fn(VectorId) -> bool>,
    ) -> Vec<(VectorId, f32)> {
        let inner = self.inner.read();
        let Some(g) = inner.as_ref() else { return Vec::new() };
        match accept {
            None => g.search(q, k, ef),
            Some(accept) => g.search_filter(q, k, ef, accept),
        }
    }

    /// Call `f` with each point's vector id and vector, tombstones included.
    pub fn for_each_point(&self, f: impl FnMut(VectorId, &[f32])) {
        if let Some(g) = self.inner.read().as_ref() {
            g.for_each(f);
        }
    }

    /// Write the two dump files into `dir` under `basename`, the vectors of `gone` points zeroed.
    fn write_files(&self, dir: &Path, basename: &str, gone: Option<&dyn Fn(VectorId) -> bool>) -> Result<()> {
        let inner = self.inner.read();
        let g = inner.as_ref().ok_or_else(|| Error::Storage("no graph to dump".into()))?;
        let [graph_path, data_path] = dump_files(dir, basename);
        for (path, part) in [(graph_path, 0), (data_path, 1)] {
            let mut w = BufWriter::new(fs::File::create(&path)?);
            if part == 0 {
                g.write_graph(&mut w)?;
            } else {
                g.write_vectors(&mut w, gone)?;
            }
            w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        Ok(())
    }

    /// The graph of a dump's two files (their bytes), built with `m` and `ef_construction`.
    fn from_bytes(graph: &[u8], data: &[u8], m: usize, ef: usize) -> std::result::Result<Graph, String> {
        let g = DenseHnsw::read(graph, data)?;
        let params = g.params();
        if params.m != m.max(2) || params.ef_construction != ef.max(1) {
            return Err("graph parameters differ from the manifest's".into());
        }
        Ok(Graph { inner: RwLock::new(Some(g)), params: HnswParams { seed: LEVEL_SEED, ..params } })
    }
}

/// What a dump directory holds about one user's index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub format: u32,
    pub user_key: UserKey,
    pub basename: String,
    pub model_id: String,
    pub dim: usize,
    pub m: usize,
    pub ef_construction: usize,
    /// Highest vector id in the dump: only vectors above it are indexed at load.
    pub watermark: VectorId,
    pub points: usize,
    pub graph_crc: u32,
    pub data_crc: u32,
    /// The two files are sealed under the store's key (an encrypted store).
    #[serde(default)]
    pub sealed: bool,
}

pub(crate) fn manifest_path(dir: &Path, user_key: UserKey) -> PathBuf {
    dir.join(format!("u{user_key}.json"))
}

fn dump_files(dir: &Path, basename: &str) -> [PathBuf; 2] {
    [dir.join(format!("{basename}.hnsw.graph")), dir.join(format!("{basename}.hnsw.data"))]
}

fn crc_file(path: &Path) -> Result<u32> {
    let mut f = fs::File::open(path)?;
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(hasher.finalize());
        }
        hasher.update(&buf[..n]);
    }
}

/// Why a dump could not be used.
#[derive(Debug)]
pub(crate) enum LoadFailure {
    /// No manifest: nothing was dumped (not worth a warning).
    Missing,
    /// The dump is for another model or parameters.
    Stale(String),
    /// The dump is damaged.
    Corrupt(String),
}

/// Read a user's dump manifest and check that it matches `model_id` / `dim` / `cfg` (cheap:
/// the dump files themselves are checked by [`load`]).
pub(crate) fn read_manifest(
    dir: &Path,
    user_key: UserKey,
    model_id: &str,
    dim: usize,
    cfg: &HnswConfig,
) -> std::result::Result<Manifest, LoadFailure> {
    let text = match fs::read_to_string(manifest_path(dir, user_key)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(LoadFailure::Missing),
        Err(e) => return Err(LoadFailure::Corrupt(format!("manifest unreadable: {e}"))),
    };
    let man: Manifest = serde_json::from_str(&text)
        .map_err(|e| LoadFailure::Corrupt(format!("manifest does not parse: {e}")))?;
    if man.format != DUMP_FORMAT || man.user_key != user_key {
        return Err(LoadFailure::Stale(format!("dump format {} for user {}", man.format, man.user_key)));
    }
    if man.model_id != model_id || man.dim != dim {
        return Err(LoadFailure::Stale(format!("dump made by model {:?}", man.model_id)));
    }
    if man.m != cfg.m || man.ef_construction != cfg.ef_construction {
        return Err(LoadFailure::Stale("HNSW parameters changed".into()));
    }
    Ok(man)
}

/// Load the graph a manifest from [`read_manifest`] names, once both checksums hold; a
/// sealed dump is unsealed with `seal` into a staging directory in memory first.
pub(crate) fn load(
    dir: &Path,
    man: &Manifest,
    seal: Option<&MasterKey>,
) -> std::result::Result<Graph, LoadFailure> {
    let [graph_path, data_path] = dump_files(dir, &man.basename);
    // Lives until both files are read.
    let staging = match (man.sealed, seal) {
        (false, None) => None,
        (true, Some(key)) => {
            let stage = Staging::new()
                .map_err(|e| LoadFailure::Stale(format!("no staging directory: {e}")))?
                .ok_or_else(|| LoadFailure::Stale("no RAM directory to unseal the dump in".into()))?;
            for (sealed, plain) in [graph_path, data_path].iter().zip(dump_files(&stage.path, &man.basename))
            {
                match unseal_file(sealed, &plain, key) {
                    Ok(()) => {}
                    Err(Error::WrongKey(_)) => {
                        return Err(LoadFailure::Stale("sealed under another key".into()))
                    }
                    Err(e) => return Err(LoadFailure::Corrupt(format!("{}: {e}", sealed.display()))),
                }
            }
            Some(stage)
        }
        (true, None) => return Err(LoadFailure::Stale("a sealed dump in a plain store".into())),
        (false, Some(_)) => return Err(LoadFailure::Stale("a plaintext dump in an encrypted store".into())),
    };
    let dir = staging.as_ref().map_or(dir, |s| s.path.as_path());
    let [graph_bytes, data_bytes] = dump_files(dir, &man.basename)
        .map(|p| fs::read(&p).map_err(|e| LoadFailure::Corrupt(format!("{}: {e}", p.display()))));
    let (graph_bytes, data_bytes) = (graph_bytes?, data_bytes?);
    drop(staging);
    // A sealed dump was authenticated chunk by chunk as it was unsealed (`verify` still
    // checks its checksums); a plain one is checked here, on the bytes just read.
    if !man.sealed
        && (crc32fast::hash(&graph_bytes) != man.graph_crc || crc32fast::hash(&data_bytes) != man.data_crc)
    {
        return Err(LoadFailure::Corrupt(format!("checksum mismatch in the dump {}", man.basename)));
    }
    let graph = Graph::from_bytes(&graph_bytes, &data_bytes, man.m, man.ef_construction)
        .map_err(LoadFailure::Corrupt)?;
    match graph.len() {
        n if n == man.points => Ok(graph),
        n => Err(LoadFailure::Corrupt(format!("dump holds {n} points, manifest says {}", man.points))),
    }
}

/// Overwrite with zeros, in place, the vectors of the points `gone` says are gone from a
/// dump's data file (a header `magic u32, dim u64`, then per point `magic u32, id u64, byte
/// length u64, the f32s`), so a forgotten memory's vector does not stay on disk inside a dump
/// written before the forget. A zero vector is at distance 1 from everything: the point keeps
/// its links, and as a tombstone it is never returned. Returns how many vectors were zeroed.
fn scrub_data(path: &Path, gone: &dyn Fn(VectorId) -> bool) -> Result<usize> {
    let bytes = fs::read(path)?;
    let corrupt = || Error::Corrupt(format!("index dump {} is not in the expected layout", path.display()));
    let u32_at =
        |at: usize| bytes.get(at..at + 4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
    let u64_at =
        |at: usize| bytes.get(at..at + 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    if u32_at(0) != Some(VECTORS_MAGIC) {
        return Err(corrupt());
    }
    let mut zeroed = Vec::new();
    let mut at = 4 + 8;
    while at < bytes.len() {
        let (Some(VECTORS_MAGIC), Some(id), Some(len)) = (u32_at(at), u64_at(at + 4), u64_at(at + 12)) else {
            return Err(corrupt());
        };
        let start = at + 20;
        let end = start.checked_add(len as usize).filter(|e| *e <= bytes.len()).ok_or_else(corrupt)?;
        if gone(id as VectorId) && bytes[start..end].iter().any(|b| *b != 0) {
            zeroed.push((start, end - start));
        }
        at = end;
    }
    if !zeroed.is_empty() {
        let mut f = fs::OpenOptions::new().write(true).open(path)?;
        for (start, len) in &zeroed {
            f.seek(SeekFrom::Start(*start as u64))?;
            f.write_all(&vec![0u8; *len])?;
        }
        f.sync_all()?;
    }
    Ok(zeroed.len())
}

/// Zero the vectors `vids` in `user_key`'s dump on disk, if there is one (after a forget),
/// and record the data file's new checksum. A crash between the two leaves a checksum
/// mismatch, which the next load treats as a damaged dump: the index is built afresh.
pub(crate) fn scrub(dir: &Path, user_key: UserKey, vids: &[VectorId]) -> Result<()> {
    let path = manifest_path(dir, user_key);
    let Some(mut man) =
        fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str::<Manifest>(&t).ok())
    else {
        return Ok(());
    };
    if man.sealed {
        // The vector is encrypted in the sealed file, but it must not stay there either:
        // the dump goes, and the index is dumped again (or rebuilt) without it.
        remove(dir, user_key);
        return Ok(());
    }
    let [_, data_path] = dump_files(dir, &man.basename);
    if scrub_data(&data_path, &|v| vids.contains(&v))? == 0 {
        return Ok(());
    }
    man.data_crc = crc_file(&data_path)?;
    write_manifest(&path, &man)
}

fn write_manifest(path: &Path, man: &Manifest) -> Result<()> {
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(serde_json::to_string_pretty(man)?.as_bytes())?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    Ok(())
}

/// Dump `graph` for `user_key` into `dir`, replacing any previous dump atomically; the
/// vectors of points that are `gone` (tombstones, when there are any) are zeroed in the
/// written data.
pub(crate) fn dump(
    target: &DumpTarget<'_>,
    graph: &Graph,
    user_key: UserKey,
    watermark: VectorId,
    gone: Option<&dyn Fn(VectorId) -> bool>,
) -> Result<()> {
    let dir = target.dir;
    fs::create_dir_all(dir)?;
    let previous: Option<Manifest> =
        fs::read_to_string(manifest_path(dir, user_key)).ok().and_then(|t| serde_json::from_str(&t).ok());
    // A fresh basename each time, so the files the current manifest names stay intact until
    // the new manifest replaces it.
    let generation = previous.as_ref().map_or(0, |p| generation_of(&p.basename) + 1);
    let wanted = format!("u{user_key}-g{generation}");
    // An encrypted store's dump is written in memory, then sealed into `dir`.
    let staging = match target.seal {
        Some(_) => match Staging::new()? {
            Some(s) => Some(s),
            None => return Ok(()),
        },
        None => None,
    };
    let write_dir = staging.as_ref().map_or(dir, |s| s.path.as_path());
    graph
        .write_files(write_dir, &wanted, gone)
        .map_err(|e| Error::Storage(format!("index dump failed: {e}")))?;
    let basename = wanted;
    let [graph_path, data_path] = dump_files(dir, &basename);
    let [plain_graph, plain_data] = dump_files(write_dir, &basename);
    if let Some(key) = target.seal {
        seal_file(&plain_graph, &graph_path, key)?;
        seal_file(&plain_data, &data_path, key)?;
    }
    drop(staging);
    let man = Manifest {
        format: DUMP_FORMAT,
        user_key,
        basename: basename.clone(),
        model_id: target.model_id.to_owned(),
        dim: target.dim,
        m: target.cfg.m,
        ef_construction: target.cfg.ef_construction,
        watermark,
        points: graph.len(),
        graph_crc: crc_file(&graph_path)?,
        data_crc: crc_file(&data_path)?,
        sealed: target.seal.is_some(),
    };
    let path = manifest_path(dir, user_key);
    write_manifest(&path, &man)?;
    if let Some(prev) = previous.filter(|p| p.basename != basename) {
        for f in dump_files(dir, &prev.basename) {
            let _ = fs::remove_file(f);
        }
    }
    Ok(())
}

/// Remove every file of a user's dump.
pub(crate) fn remove(dir: &Path, user_key: UserKey) {
    let path = manifest_path(dir, user_key);
    if let Some(man) = fs::read_to_string(&path).ok().and_then(|t| serde_json::from_str::<Manifest>(&t).ok())
    {
        for f in dump_files(dir, &man.basename) {
            let _ = fs::remove_file(f);
        }
    }
    let _ = fs::remove_file(path);
}

fn generation_of(basename: &str) -> u64 {
    basename.rsplit("-g").next().and_then(|g| g.split('-').next()).and_then(|g| g.parse().ok()).unwrap_or(0)
}

/// Every dump manifest in `dir`: (user key, manifest) of those that parse, and the file
/// names of those that do not.
pub(crate) fn manifests(dir: &Path) -> (Vec<(UserKey, Manifest)>, Vec<String>) {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else { return (good, bad) };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(key) = name.strip_prefix('u').and_then(|n| n.strip_suffix(".json")) else { continue };
        let Ok(key) = key.parse::<UserKey>() else { continue };
        match fs::read_to_string(e.path()).ok().and_then(|t| serde_json::from_str::<Manifest>(&t).ok()) {
            Some(m) => good.push((key, m)),
            None => bad.push(name),
        }
    }
    good.sort_by_key(|(k, _)| *k);
    bad.sort();
    (good, bad)
}

/// The two data files a manifest names (graph, data).
pub(crate) fn manifest_files(dir: &Path, man: &Manifest) -> [PathBuf; 2] {
    dump_files(dir, &man.basename)
}

/// Check a dump's files against its manifest's checksums (without loading the graph).
pub(crate) fn check_files(dir: &Path, man: &Manifest) -> std::result::Result<(), String> {
    let [graph_path, data_path] = dump_files(dir, &man.basename);
    for (path, want) in [(&graph_path, man.graph_crc), (&data_path, man.data_crc)] {
        let got = crc_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if got != want {
            return Err(format!("checksum mismatch in {}", path.display()));
        }
    }
    Ok(())
}
