//! Export / import of one user's memories as JSON Lines: one memory a line, in the shape
//! `remember` takes ([`NewMemory`]) plus `id`, `created_at`, `updated_at`, `version` and,
//! with vectors, `embedding` and the `model_id` that made it. Import reads that shape (or
//! any `NewMemory` object); it keeps an exported vector only when it was made by the store's
//! model and re-embeds the text otherwise.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::crypto::sealed::{self, OpenReader};
use crate::crypto::KEY_ENV;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::memory::{EmotionSnapshot, Memory, MemoryId, Metadata, NewMemory};
use crate::store::{self, blob_to_vector};

/// One exported memory (a superset of [`NewMemory`]'s JSON form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedMemory {
    pub id: MemoryId,
    pub user: String,
    pub text: String,
    pub kind: String,
    pub session: Option<String>,
    pub speaker: Option<String>,
    pub topics: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub place: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub tags: Vec<String>,
    pub metadata: Metadata,
    pub importance: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emotion: Option<EmotionSnapshot>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
}

impl ExportedMemory {
    fn new(m: Memory, vector: Option<(String, Vec<f32>)>) -> ExportedMemory {
        let (model_id, embedding) = vector.map_or((None, None), |(id, v)| (Some(id), Some(v)));
        ExportedMemory {
            id: m.id,
            user: m.user,
            text: m.text,
            kind: m.kind,
            session: m.session,
            speaker: m.context.speaker,
            topics: m.context.topics,
            occurred_at: m.context.occurred_at,
            place: m.context.place,
            lat: m.context.lat,
            lon: m.context.lon,
            tags: m.tags,
            metadata: m.metadata,
            importance: m.importance,
            emotion: m.emotion,
            created_at: m.created_at,
            updated_at: m.updated_at,
            version: m.version,
            model_id,
            embedding,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub imported: u64,
    /// Lines whose exported vector was used as is.
    pub vectors_kept: u64,
    /// Lines whose vector came from another model and were embedded again.
    pub reembedded: u64,
}

/// One line of an import: a `NewMemory` plus the exporter's `model_id`.
#[derive(Deserialize)]
struct ImportLine {
    #[serde(flatten)]
    memory: NewMemory,
    #[serde(default)]
    model_id: Option<String>,
}

/// Write `user`'s memories (oldest id first) to `out` as JSON Lines (see
/// [`crate::Memorable::export_user`]).
pub(crate) fn export_user(engine: &Engine, user: &str, vectors: bool, out: &mut dyn Write) -> Result<u64> {
    crate::memory::validate_user(user)?;
    // One read snapshot for the whole export.
    engine.store.read(|c| {
        let Some(user_key) = store::user_key(c, user)? else { return Ok(0) };
        let mut stmt = c.prepare(
            "SELECT m.id, v.model_id, v.data FROM memories m LEFT JOIN vectors v ON v.memory_id = m.id
             WHERE m.user_key = ?1 ORDER BY m.id",
        )?;
        let mut rows = stmt.query([user_key])?;
        let mut n = 0;
        while let Some(r) = rows.next()? {
            let id = r.get::<_, i64>(0)? as MemoryId;
            let vector = match (vectors, r.get::<_, Option<String>>(1)?) {
                (true, Some(model)) => Some((model, blob_to_vector(&r.get::<_, Vec<u8>>(2)?)?)),
                _ => None,
            };
            let Some((memory, _)) = store::get_memory(c, id)? else { continue };
            serde_json::to_writer(&mut *out, &ExportedMemory::new(memory, vector))?;
            out.write_all(b"\n")?;
            n += 1;
        }
        out.flush()?;
        Ok(n)
    })
}

/// Export `user` into the new file `path` (never over an existing file:
/// `DESTINATION_EXISTS`). Of an encrypted store the file is sealed with the store's key (see
/// `crypto::sealed`), so no text or vector reaches the disk in plaintext.
pub(crate) fn export_user_to(engine: &Engine, user: &str, vectors: bool, path: &Path) -> Result<u64> {
    let file =
        std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::DestinationExists { path: path.to_path_buf() },
            _ => Error::from(e),
        })?;
    let written = match engine.store.master_key() {
        Some(key) => sealed::write_sealed(file, key, |out| export_user(engine, user, vectors, out)),
        None => (|| {
            let mut out = BufWriter::new(file);
            let n = export_user(engine, user, vectors, &mut out)?;
            out.into_inner().map_err(|e| Error::from(e.into_error()))?.sync_all()?;
            Ok(n)
        })(),
    };
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

/// `input` as plain JSON Lines: a sealed export (of an encrypted store) is opened with the
/// store's key (`Config.encryption_key`, else `MEMORABLE_KEY`); anything else is read as is.
pub(crate) fn plain_input<'a>(engine: &Engine, input: &'a mut dyn BufRead) -> Result<Box<dyn BufRead + 'a>> {
    if !sealed::is_sealed(input.fill_buf()?) {
        return Ok(Box::new(input));
    }
    let key = engine.config.resolved_key().ok_or_else(|| {
        Error::WrongKey(format!("the file is sealed (an encrypted store's export); give its key ({KEY_ENV})"))
    })?;
    let reader = OpenReader::new(input, Some(&key), engine.store.master_key())?;
    Ok(Box::new(BufReader::new(reader)))
}

/// Import JSON Lines of memories into a store whose vectors are made by `model` (see
/// [`crate::Memorable::import_jsonl`]); `remember_batch` stores each batch.
pub(crate) fn import_jsonl(
    model: &str,
    input: &mut dyn BufRead,
    batch: usize,
    progress: &mut dyn FnMut(u64),
    remember_batch: &mut dyn FnMut(Vec<NewMemory>) -> Result<Vec<MemoryId>>,
) -> Result<ImportReport> {
    if batch == 0 {
        return Err(Error::InvalidInput("batch must be positive".into()));
    }
    let mut report = ImportReport::default();
    let mut pending = Vec::with_capacity(batch);
    let mut line = String::new();
    let mut n = 0u64;
    let mut flush = |pending: &mut Vec<NewMemory>, report: &mut ImportReport, n: u64| -> Result<()> {
        let ids = remember_batch(std::mem::take(pending)).map_err(|e| match e {
            Error::InvalidInput(m) => Error::InvalidInput(format!("batch ending at line {n}: {m}")),
            other => other,
        })?;
        report.imported += ids.len() as u64;
        Ok(())
    };
    loop {
        line.clear();
        if input.read_line(&mut line).map_err(sealed::open_error)? == 0 {
            break;
        }
        n += 1;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: ImportLine = serde_json::from_str(&line)
            .map_err(|e| Error::InvalidInput(format!("line {n}: not a memory object: {e}")))?;
        let mut m = parsed.memory;
        if m.embedding.is_some() {
            match parsed.model_id {
                Some(id) if id != model => {
                    m.embedding = None;
                    report.reembedded += 1;
                }
                _ => report.vectors_kept += 1,
            }
        }
        pending.push(m);
        if pending.len() == batch {
            flush(&mut pending, &mut report, n)?;
            progress(n);
        }
    }
    if !pending.is_empty() {
        flush(&mut pending, &mut report, n)?;
    }
    progress(n);
    Ok(report)
}
