//! [`Graph`]: an hnsw_rs index that owns what it was loaded from, plus its dump / reload.
//!
//! A dump is two hnsw_rs files (`<base>.hnsw.graph`, `<base>.hnsw.data`) and a manifest
//! `u<user_key>.json` written last (temp file + rename) with the watermark (highest vector
//! id inside), model id, parameters and CRC32 checksums of both files. A dump is used only
//! when the manifest parses, matches the embedder and parameters, and both checksums hold;
//! anything else means "rebuild from the store". An encrypted store's dump files are sealed
//! (see [`super::staging`]).

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use hnsw_rs::api::AnnT;
use hnsw_rs::hnswio::HnswIo;
use hnsw_rs::prelude::Hnsw;
use serde::{Deserialize, Serialize};

use super::distance::CosineDistance;
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

const DUMP_FORMAT: u32 = 1;
/// hnsw_rs caps the number of layers at 16.
const MAX_LAYERS: usize = 16;

pub(crate) struct Graph {
    // Field order matters: `hnsw` may borrow from `_io`, so it must drop first.
    pub hnsw: Hnsw<'static, f32, CosineDistance>,
    _io: Option<Box<HnswIo>>,
}

impl Graph {
    pub fn new(cfg: &HnswConfig, capacity: usize) -> Graph {
        let hnsw = Hnsw::new(cfg.m, capacity.max(1_000), MAX_LAYERS, cfg.ef_construction, CosineDistance);
        Graph { hnsw, _io: None }
    }

    /// Insert (vector id, vector) pairs; with `parallel`, large batches use all rayon threads.
    pub fn insert(&self, rows: &[(VectorId, &[f32])], parallel: bool) {
        if parallel && rows.len() >= 32 {
            let data: Vec<(&[f32], usize)> = rows.iter().map(|(id, v)| (*v, *id as usize)).collect();
            self.hnsw.parallel_insert_slice(&data);
        } else {
            for (id, v) in rows {
                self.hnsw.insert_slice((v, *id as usize));
            }
        }
    }
}

impl Graph {
    /// Call `f` with each point's vector id and vector, tombstones included.
    pub fn for_each_point(&self, mut f: impl FnMut(VectorId, &[f32])) {
        let hnsw = &self.hnsw;
        if hnsw.get_nb_point() == 0 {
            return;
        }
        // (One layer at a time: hnsw_rs' all-layer iterator takes its read lock twice,
        // which deadlocks against a waiting inserter.)
        let index = hnsw.get_point_indexation();
        for layer in 0..=usize::from(hnsw.get_max_level_observed()) {
            for p in index.get_layer_iterator(layer) {
                f(p.get_origin_id() as VectorId, p.get_v());
            }
        }
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
    // A sealed dump is authenticated chunk by chunk as it is unsealed: no second read for
    // the checksums (`verify` still checks them).
    if !man.sealed {
        check_files(dir, man).map_err(LoadFailure::Corrupt)?;
    }
    // Lives until hnsw_rs has copied everything in (no mmap: the default ReloadOptions).
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
    let mut io = Box::new(HnswIo::new(dir, &man.basename));
    // hnsw_rs asserts on malformed input; a panic here means a damaged dump, not a bug of ours.
    let loaded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let io_ptr: *mut HnswIo = io.as_mut();
        // SAFETY: the HnswIo lives in a Box whose heap address never changes, and `Graph`
        // keeps that Box alive (dropping it after the graph). Without mmap (the default
        // ReloadOptions) the loaded graph copies every vector and borrows nothing anyway.
        let io_static: &'static mut HnswIo = unsafe { &mut *io_ptr };
        io_static.load_hnsw::<f32, CosineDistance>()
    }));
    match loaded {
        Ok(Ok(hnsw)) if hnsw.get_nb_point() == man.points => Ok(Graph { hnsw, _io: Some(io) }),
        Ok(Ok(hnsw)) => Err(LoadFailure::Corrupt(format!(
            "dump holds {} points, manifest says {}",
            hnsw.get_nb_point(),
            man.points
        ))),
        Ok(Err(e)) => Err(LoadFailure::Corrupt(format!("hnsw_rs reload failed: {e}"))),
        Err(_) => Err(LoadFailure::Corrupt("hnsw_rs reload panicked".into())),
    }
}

/// hnsw_rs' tag before the data file's header and before each point's vector.
const MAGIC_DATA: u32 = 0xa67f_0000;

/// Overwrite with zeros, in place, the vectors of the points `gone` says are gone from a
/// dump's data file (hnsw_rs' layout: a header `magic u32, dim usize`, then per point `magic
/// u32, id u64, byte length u64, the f32s`), so a forgotten memory's vector does not stay on
/// disk inside a dump. A zero vector is at distance 1 from everything: the point keeps its
/// links, and as a tombstone it is never returned. Returns how many vectors were zeroed.
fn scrub_data(path: &Path, gone: &dyn Fn(VectorId) -> bool) -> Result<usize> {
    let bytes = fs::read(path)?;
    let corrupt = || Error::Corrupt(format!("index dump {} is not in the expected layout", path.display()));
    let u32_at =
        |at: usize| bytes.get(at..at + 4).map(|b| u32::from_ne_bytes(b.try_into().expect("4 bytes")));
    let u64_at =
        |at: usize| bytes.get(at..at + 8).map(|b| u64::from_ne_bytes(b.try_into().expect("8 bytes")));
    if u32_at(0) != Some(MAGIC_DATA) {
        return Err(corrupt());
    }
    let mut zeroed = Vec::new();
    let mut at = 4 + std::mem::size_of::<usize>();
    while at < bytes.len() {
        let (Some(MAGIC_DATA), Some(id), Some(len)) = (u32_at(at), u64_at(at + 4), u64_at(at + 12)) else {
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
    let basename = graph
        .hnsw
        .file_dump(write_dir, &wanted)
        .map_err(|e| Error::Storage(format!("index dump failed: {e}")))?;
    let [graph_path, data_path] = dump_files(dir, &basename);
    let [plain_graph, plain_data] = dump_files(write_dir, &basename);
    if let Some(gone) = gone {
        scrub_data(&plain_data, gone)?;
    }
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
        points: graph.hnsw.get_nb_point(),
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
