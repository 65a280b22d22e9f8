//! Sealed files: a stream encrypted with ChaCha20-Poly1305 in 64 KiB chunks (the STREAM
//! construction: each chunk's nonce is a random per-file prefix, a counter and a last-chunk
//! flag), so a reordered, dropped, appended or truncated chunk fails to open.
//!
//! ```text
//! "MRSEALD1" kdf_iterations:u32le kdf_salt:[16] key_check:[16] file_salt:[16] nonce_prefix:[7]
//! chunk*     ciphertext (64 KiB, the last one shorter or equal) + tag:[16]
//! ```
//!
//! The master key is `PBKDF2(passphrase, kdf_salt, kdf_iterations)` (a store's own salt, so
//! its exports open with its passphrase anywhere); the file key is `HKDF(master, file_salt)`;
//! `key_check` tells a wrong passphrase (`WRONG_KEY`) from a damaged file (`CORRUPT`). The
//! whole header is the associated data of every chunk.

use std::io::{Read, Write};

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};

use super::{random, EncryptionKey, MasterKey, SALT_LEN};
use crate::error::{Error, Result};

pub(crate) const MAGIC: &[u8; 8] = b"MRSEALD1";
const PREFIX_LEN: usize = 7;
const HEADER_LEN: usize = 8 + 4 + SALT_LEN + 16 + SALT_LEN + PREFIX_LEN;
const CHUNK: usize = 64 * 1024;
const TAG: usize = 16;

fn file_key(master: &MasterKey, file_salt: &[u8]) -> LessSafeKey {
    let k = master.expand(file_salt, b"memorable/file/v1");
    // 32 bytes is ChaCha20-Poly1305's key length, so this cannot fail.
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &k[..]).expect("a 32-byte key"))
}

fn nonce(prefix: &[u8; PREFIX_LEN], counter: u32, last: bool) -> Nonce {
    let mut n = [0u8; 12];
    n[..PREFIX_LEN].copy_from_slice(prefix);
    n[PREFIX_LEN..11].copy_from_slice(&counter.to_be_bytes());
    n[11] = u8::from(last);
    Nonce::assume_unique_for_key(n)
}

/// Does `head` (a file's first bytes) start a sealed file?
pub(crate) fn is_sealed(head: &[u8]) -> bool {
    head.starts_with(MAGIC)
}

/// Writes a sealed file; call [`SealWriter::finish`] at the end (without it the file has no
/// last chunk and will not open).
pub(crate) struct SealWriter<W: Write> {
    out: W,
    key: LessSafeKey,
    prefix: [u8; PREFIX_LEN],
    header: [u8; HEADER_LEN],
    counter: u32,
    buf: Vec<u8>,
}

impl<W: Write> SealWriter<W> {
    pub fn new(mut out: W, master: &MasterKey) -> Result<SealWriter<W>> {
        let file_salt: [u8; SALT_LEN] = random()?;
        let prefix: [u8; PREFIX_LEN] = random()?;
        let mut header = [0u8; HEADER_LEN];
        let mut at = 0;
        for part in [
            &MAGIC[..],
            &master.iterations().to_le_bytes(),
            &master.salt(),
            &master.check_tag(),
            &file_salt,
            &prefix,
        ] {
            header[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        out.write_all(&header)?;
        let key = file_key(master, &file_salt);
        Ok(SealWriter { out, key, prefix, header, counter: 0, buf: Vec::with_capacity(CHUNK + TAG) })
    }

    fn seal(&mut self, last: bool) -> std::io::Result<()> {
        let n = nonce(&self.prefix, self.counter, last);
        self.key
            .seal_in_place_append_tag(n, Aad::from(&self.header[..]), &mut self.buf)
            .map_err(|_| std::io::Error::other("sealing failed"))?;
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.counter = self
            .counter
            .checked_add(1)
            .ok_or_else(|| std::io::Error::other("a sealed file is limited to 256 TiB"))?;
        Ok(())
    }

    /// Seal the last chunk and return the inner writer (flushed).
    pub fn finish(mut self) -> Result<W> {
        self.seal(true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for SealWriter<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        // A full chunk is sealed only once more data follows, so the last chunk is known.
        if self.buf.len() == CHUNK && !data.is_empty() {
            self.seal(false)?;
        }
        let take = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..take]);
        Ok(take)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Seal what `write` writes into `file` under `key`, then finish the stream and fsync it.
pub(crate) fn write_sealed<T>(
    file: std::fs::File,
    key: &MasterKey,
    write: impl FnOnce(&mut dyn Write) -> Result<T>,
) -> Result<T> {
    let mut sealed = SealWriter::new(std::io::BufWriter::with_capacity(1 << 20, file), key)?;
    let out = write(&mut sealed)?;
    // `finish` flushes the buffer, so `into_inner` cannot fail on a write here.
    sealed.finish()?.into_inner().map_err(|e| Error::from(e.into_error()))?.sync_all()?;
    Ok(out)
}

/// Reads a sealed file, checking every chunk; a damaged or truncated file is an
/// `InvalidData` I/O error naming the problem (see [`open_error`]).
pub(crate) struct OpenReader<R: Read> {
    input: R,
    key: LessSafeKey,
    prefix: [u8; PREFIX_LEN],
    header: [u8; HEADER_LEN],
    counter: u32,
    plain: Vec<u8>,
    pos: usize,
    done: bool,
    /// A byte read past the current chunk to learn whether it was the last.
    peeked: Option<u8>,
}

/// Damage or truncation of a sealed file, carried inside an I/O error (see [`open_error`]).
#[derive(Debug)]
struct Damage(String);

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sealed file: {}", self.0)
    }
}

impl std::error::Error for Damage {}

fn damaged(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, Damage(what.into()))
}

impl<R: Read> OpenReader<R> {
    /// Read the header of a sealed stream and derive its key from `key` (reusing `known`
    /// when the file was sealed with that master key's salt): `WRONG_KEY` when the
    /// passphrase is not the one it was sealed with (or, without `key`, when `known` is not
    /// the master key it was sealed with).
    pub fn new(
        mut input: R,
        key: Option<&EncryptionKey>,
        known: Option<&MasterKey>,
    ) -> Result<OpenReader<R>> {
        let mut header = [0u8; HEADER_LEN];
        input
            .read_exact(&mut header)
            .map_err(|_| Error::Corrupt("sealed file: the header is truncated".into()))?;
        if !is_sealed(&header) {
            return Err(Error::Corrupt("not a sealed MemoRable file".into()));
        }
        let iterations = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
        let salt: [u8; SALT_LEN] = header[12..28].try_into().expect("16 bytes");
        let check: [u8; 16] = header[28..44].try_into().expect("16 bytes");
        let file_salt: [u8; SALT_LEN] = header[44..60].try_into().expect("16 bytes");
        let prefix: [u8; PREFIX_LEN] = header[60..67].try_into().expect("7 bytes");
        if !(1..=super::marker::MAX_ITERATIONS).contains(&iterations) {
            return Err(Error::Corrupt(format!("sealed file: {iterations} key derivation rounds")));
        }
        let master = match (known.filter(|m| m.salt() == salt && m.iterations() == iterations), key) {
            (Some(m), _) => m.clone(),
            (None, Some(key)) => MasterKey::derive(key, salt, iterations)?,
            (None, None) => return Err(Error::WrongKey("the file is sealed with another key".into())),
        };
        if master.check_tag() != check {
            return Err(Error::WrongKey("the key does not open this sealed file".into()));
        }
        Ok(OpenReader {
            input,
            key: file_key(&master, &file_salt),
            prefix,
            header,
            counter: 0,
            plain: Vec::with_capacity(CHUNK + TAG),
            pos: 0,
            done: false,
            peeked: None,
        })
    }

    fn next_chunk(&mut self) -> std::io::Result<()> {
        self.plain.clear();
        self.pos = 0;
        self.plain.extend(self.peeked.take());
        let mut limited = (&mut self.input).take((CHUNK + TAG - self.plain.len()) as u64);
        limited.read_to_end(&mut self.plain)?;
        let mut one = [0u8; 1];
        let last = loop {
            match self.input.read(&mut one) {
                Ok(0) => break true,
                Ok(_) => {
                    self.peeked = Some(one[0]);
                    break false;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if self.plain.len() < TAG || (!last && self.plain.len() != CHUNK + TAG) {
            return Err(damaged("a chunk is truncated"));
        }
        let n = nonce(&self.prefix, self.counter, last);
        let len = self
            .key
            .open_in_place(n, Aad::from(&self.header[..]), &mut self.plain)
            .map_err(|_| damaged("a chunk fails its authentication (damaged, truncated or reordered)"))?
            .len();
        self.plain.truncate(len);
        self.counter += 1;
        self.done = last;
        Ok(())
    }
}

impl<R: Read> Read for OpenReader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.plain.len() {
            if self.done {
                return Ok(0);
            }
            self.next_chunk()?;
        }
        let n = out.len().min(self.plain.len() - self.pos);
        out[..n].copy_from_slice(&self.plain[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The error of a read that may have gone through an [`OpenReader`]: damage of the sealed
/// file is `CORRUPT`; anything else is as usual.
pub(crate) fn open_error(e: std::io::Error) -> Error {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<Damage>()) {
        Some(d) => Error::Corrupt(d.to_string()),
        None => e.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(pass: &str) -> MasterKey {
        MasterKey::derive(&EncryptionKey::new(pass).unwrap(), [7; 16], 10).unwrap()
    }

    fn seal(data: &[u8]) -> Vec<u8> {
        let mut w = SealWriter::new(Vec::new(), &master("pw")).unwrap();
        w.write_all(data).unwrap();
        w.finish().unwrap()
    }

    fn open(sealed: &[u8], pass: &str) -> Result<Vec<u8>> {
        let mut r = OpenReader::new(sealed, Some(&EncryptionKey::new(pass).unwrap()), None)?;
        let mut out = Vec::new();
        r.read_to_end(&mut out).map_err(open_error)?;
        Ok(out)
    }

    #[test]
    fn round_trips_at_chunk_boundaries() {
        for len in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let sealed = seal(&data);
            assert!(is_sealed(&sealed));
            assert_eq!(open(&sealed, "pw").unwrap(), data, "length {len}");
            // No run of 16 plaintext bytes survives in the sealed bytes.
            if len >= 64 {
                assert!(!sealed.windows(16).any(|w| w == &data[32..48]));
            }
        }
    }

    #[test]
    fn wrong_key_damage_and_truncation_are_told_apart() {
        let data = vec![42u8; 2 * CHUNK + 5];
        let sealed = seal(&data);
        assert_eq!(open(&sealed, "nope").unwrap_err().code(), crate::ErrorCode::WrongKey);
        let mut flipped = sealed.clone();
        flipped[HEADER_LEN + 100] ^= 1;
        assert_eq!(open(&flipped, "pw").unwrap_err().code(), crate::ErrorCode::Corrupt);
        // Cut at a chunk boundary: every remaining chunk authenticates, but none is last.
        let cut = &sealed[..HEADER_LEN + 2 * (CHUNK + TAG)];
        assert_eq!(open(cut, "pw").unwrap_err().code(), crate::ErrorCode::Corrupt);
        let mut header = sealed.clone();
        header[50] ^= 1;
        assert!(open(&header, "pw").is_err());
    }
}
