//! The backup file: one file holding the database snapshot, the index dumps and a manifest.
//!
//! ```text
//! "MRBACKUP" format:u32le reserved:u32le
//! entry*    name_len:u32le name data_len:u64le data
//! manifest  JSON (BackupManifest: versions, counts, and every entry's offset, length, SHA-256)
//! footer    manifest_len:u64le manifest_sha256:[u8;32] "MRBKEND1"
//! ```
//!
//! Every byte is covered by a check: the header and footer by their magic, the manifest by
//! its SHA-256 in the footer, each entry's name and length by the manifest's offsets, and its
//! data by its SHA-256. A flipped byte or a truncated file is reported, never restored.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"MRBACKUP";
const END_MAGIC: &[u8; 8] = b"MRBKEND1";
/// Version of this layout.
pub(crate) const FORMAT: u32 = 1;
const HEADER_LEN: u64 = 16;
const FOOTER_LEN: u64 = 8 + 32 + 8;
/// Name of the database entry.
pub(crate) const DB_ENTRY: &str = "memorable.db";

/// One file inside a backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupEntry {
    pub name: String,
    /// Offset of the data in the backup file.
    pub offset: u64,
    pub len: u64,
    /// SHA-256 of the data, hex.
    pub sha256: String,
}

/// What a backup holds and how to check it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupManifest {
    /// Layout version of the backup file.
    pub format: u32,
    /// MemoRable version that wrote it.
    pub memorable_version: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: time::OffsetDateTime,
    /// Schema version of the database inside.
    pub schema_version: u32,
    /// Embedding model of its vectors (`None` for a store that never stored a memory).
    pub model_id: Option<String>,
    pub dim: Option<u64>,
    pub memories: u64,
    pub users: u64,
    pub versions: u64,
    pub vectors: u64,
    /// Highest memory id inside (every memory acknowledged before the backup started is at
    /// or below it).
    pub max_memory_id: u64,
    /// For the backup of an encrypted store: the key derivation rounds of its database
    /// (which is inside as it is on disk, encrypted; the same key opens it). `None`: plain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kdf_iterations: Option<u32>,
    pub entries: Vec<BackupEntry>,
}

/// Writes a backup file entry by entry.
pub(crate) struct ArchiveWriter {
    out: BufWriter<File>,
    offset: u64,
    entries: Vec<BackupEntry>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl ArchiveWriter {
    pub fn create(path: &Path) -> Result<ArchiveWriter> {
        let f = std::fs::OpenOptions::new().write(true).create_new(true).open(path)?;
        let mut out = BufWriter::with_capacity(1 << 20, f);
        out.write_all(MAGIC)?;
        out.write_all(&FORMAT.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        Ok(ArchiveWriter { out, offset: HEADER_LEN, entries: Vec::new() })
    }

    /// Append the file at `src` as entry `name`; `progress` gets the bytes copied.
    pub fn add_file(&mut self, name: &str, src: &Path, progress: &mut dyn FnMut(u64)) -> Result<()> {
        let mut f = File::open(src)?;
        let len = f.metadata()?.len();
        self.out.write_all(&(name.len() as u32).to_le_bytes())?;
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        let data_offset = self.offset + 4 + name.len() as u64 + 8;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut copied = 0u64;
        while copied < len {
            let want = buf.len().min((len - copied) as usize);
            let n = f.read(&mut buf[..want])?;
            if n == 0 {
                return Err(Error::Storage(format!("{} shrank while it was backed up", src.display())));
            }
            hasher.update(&buf[..n]);
            self.out.write_all(&buf[..n])?;
            copied += n as u64;
            progress(n as u64);
        }
        self.entries.push(BackupEntry {
            name: name.to_owned(),
            offset: data_offset,
            len,
            sha256: hex(&hasher.finalize()),
        });
        self.offset = data_offset + len;
        Ok(())
    }

    /// Write the manifest and footer and make the file durable.
    pub fn finish(mut self, mut manifest: BackupManifest) -> Result<u64> {
        manifest.entries = std::mem::take(&mut self.entries);
        let json = serde_json::to_vec(&manifest)?;
        self.out.write_all(&json)?;
        self.out.write_all(&(json.len() as u64).to_le_bytes())?;
        self.out.write_all(&Sha256::digest(&json))?;
        self.out.write_all(END_MAGIC)?;
        let f = self.out.into_inner().map_err(|e| Error::Storage(e.to_string()))?;
        f.sync_all()?;
        Ok(self.offset + json.len() as u64 + FOOTER_LEN)
    }
}

/// An opened backup file whose header, footer and manifest checked out.
pub(crate) struct Archive {
    file: File,
    pub manifest: BackupManifest,
    pub len: u64,
}

fn corrupt(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("backup {}: {what}", path.display()))
}

impl Archive {
    /// Open `path` and check its header, footer and manifest (not the entries' data).
    pub fn open(path: &Path) -> Result<Archive> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        if len < HEADER_LEN + FOOTER_LEN {
            return Err(corrupt(
                path,
                format!("{len} bytes is too short to be a MemoRable backup (truncated?)"),
            ));
        }
        let mut header = [0u8; HEADER_LEN as usize];
        file.read_exact(&mut header)?;
        if &header[..8] != MAGIC {
            return Err(corrupt(path, "not a MemoRable backup (bad header)"));
        }
        let format = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
        if format > FORMAT {
            return Err(Error::NewerVersion { found: format, supported: FORMAT });
        }
        let mut footer = [0u8; FOOTER_LEN as usize];
        file.seek(SeekFrom::Start(len - FOOTER_LEN))?;
        file.read_exact(&mut footer)?;
        if &footer[40..] != END_MAGIC {
            return Err(corrupt(path, "the end marker is missing: the file is truncated or damaged"));
        }
        let manifest_len = u64::from_le_bytes(footer[..8].try_into().unwrap_or_default());
        if manifest_len > len - HEADER_LEN - FOOTER_LEN {
            return Err(corrupt(path, "the manifest length is impossible: the file is damaged"));
        }
        let mut json = vec![0u8; manifest_len as usize];
        file.seek(SeekFrom::Start(len - FOOTER_LEN - manifest_len))?;
        file.read_exact(&mut json)?;
        if Sha256::digest(&json).as_slice() != &footer[8..40] {
            return Err(corrupt(path, "the manifest checksum does not match: the file is damaged"));
        }
        let manifest: BackupManifest = serde_json::from_slice(&json)
            .map_err(|e| corrupt(path, format!("the manifest does not parse: {e}")))?;
        // Entries must tile the file from the header to the manifest, each behind its own
        // name and length prefix.
        let mut expect = HEADER_LEN;
        for e in &manifest.entries {
            if e.offset != expect + 4 + e.name.len() as u64 + 8 {
                return Err(corrupt(path, format!("entry {} is not where the manifest says", e.name)));
            }
            expect = e.offset + e.len;
        }
        if expect != len - FOOTER_LEN - manifest_len {
            return Err(corrupt(path, "the entries do not add up to the file's length"));
        }
        if !manifest.entries.iter().any(|e| e.name == DB_ENTRY) {
            return Err(corrupt(path, "it holds no database"));
        }
        Ok(Archive { file, manifest, len })
    }

    /// Read every entry, checking its name prefix and SHA-256; `progress` gets bytes read.
    pub fn check_entries(&mut self, path: &Path, progress: &mut dyn FnMut(u64)) -> Result<()> {
        let entries = self.manifest.entries.clone();
        for e in &entries {
            self.copy_entry(path, e, &mut std::io::sink(), progress)?;
        }
        Ok(())
    }

    /// Copy entry `e` into `out`, checking it on the way.
    pub fn copy_entry(
        &mut self,
        path: &Path,
        e: &BackupEntry,
        out: &mut dyn Write,
        progress: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let prefix = e.offset - 4 - e.name.len() as u64 - 8;
        self.file.seek(SeekFrom::Start(prefix))?;
        let mut reader = BufReader::with_capacity(1 << 20, &mut self.file);
        let mut n4 = [0u8; 4];
        reader.read_exact(&mut n4)?;
        let mut name = vec![0u8; u32::from_le_bytes(n4) as usize];
        if name.len() != e.name.len() {
            return Err(corrupt(path, format!("the name of entry {} is damaged", e.name)));
        }
        reader.read_exact(&mut name)?;
        let mut l8 = [0u8; 8];
        reader.read_exact(&mut l8)?;
        if name != e.name.as_bytes() || u64::from_le_bytes(l8) != e.len {
            return Err(corrupt(path, format!("the header of entry {} is damaged", e.name)));
        }
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut left = e.len;
        while left > 0 {
            let want = buf.len().min(left as usize);
            reader
                .read_exact(&mut buf[..want])
                .map_err(|_| corrupt(path, format!("entry {} is truncated", e.name)))?;
            hasher.update(&buf[..want]);
            out.write_all(&buf[..want])?;
            left -= want as u64;
            progress(want as u64);
        }
        if hex(&hasher.finalize()) != e.sha256 {
            return Err(corrupt(path, format!("checksum mismatch in entry {}: the file is damaged", e.name)));
        }
        Ok(())
    }

    /// Extract entry `e` to `dest` (created new), checking it.
    pub fn extract(
        &mut self,
        path: &Path,
        e: &BackupEntry,
        dest: &Path,
        progress: &mut dyn FnMut(u64),
    ) -> Result<()> {
        let f = std::fs::OpenOptions::new().write(true).create_new(true).open(dest)?;
        let mut out = BufWriter::with_capacity(1 << 20, f);
        self.copy_entry(path, e, &mut out, progress)?;
        let f = out.into_inner().map_err(|e| Error::Storage(e.to_string()))?;
        f.sync_all()?;
        Ok(())
    }
}
