//! The GGUF container (llama.cpp's model file, version 2 and 3): header, metadata and tensor
//! directory, read with every length and offset checked against the file, so a truncated or
//! hostile file is a clear `Model` error, never a panic or an allocation it asked for.
//!
//! Layout: magic `GGUF`, version, tensor count, metadata count; metadata as (key, type,
//! value); tensor infos as (name, dims innermost first, ggml type, offset); then the tensor
//! data, aligned to `general.alignment` (default 32), each tensor at its offset from there.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Error, Result};

/// `GGUF` read as a little-endian u32.
const MAGIC: u32 = 0x4655_4747;
/// Strings and arrays longer than this are refused (no real GGUF comes near it; a hostile one
/// would ask for the memory).
const MAX_LEN: u64 = 1 << 28;
const MAX_DIMS: u32 = 4;

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
}

impl Value {
    /// The value as an unsigned integer, if it is an integer that fits.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_f32(&self) -> Option<f32> {
        match *self {
            Value::F32(v) => Some(v),
            Value::F64(v) => Some(v as f32),
            _ => self.as_u64().map(|v| v as f32),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// ggml's tensor types that MemoRable reads (by their GGUF numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorType {
    F32,
    F16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q2K,
    Q3K,
    Q4K,
    Q5K,
    Q6K,
    BF16,
}

impl TensorType {
    fn from_u32(t: u32) -> Option<TensorType> {
        Some(match t {
            0 => TensorType::F32,
            1 => TensorType::F16,
            2 => TensorType::Q4_0,
            3 => TensorType::Q4_1,
            6 => TensorType::Q5_0,
            7 => TensorType::Q5_1,
            8 => TensorType::Q8_0,
            10 => TensorType::Q2K,
            11 => TensorType::Q3K,
            12 => TensorType::Q4K,
            13 => TensorType::Q5K,
            14 => TensorType::Q6K,
            30 => TensorType::BF16,
            _ => return None,
        })
    }

    /// Elements per block and bytes per block.
    pub fn block(self) -> (usize, usize) {
        match self {
            TensorType::F32 => (1, 4),
            TensorType::F16 | TensorType::BF16 => (1, 2),
            TensorType::Q4_0 => (32, 18),
            TensorType::Q4_1 => (32, 20),
            TensorType::Q5_0 => (32, 22),
            TensorType::Q5_1 => (32, 24),
            TensorType::Q8_0 => (32, 34),
            TensorType::Q2K => (256, 84),
            TensorType::Q3K => (256, 110),
            TensorType::Q4K => (256, 144),
            TensorType::Q5K => (256, 176),
            TensorType::Q6K => (256, 210),
        }
    }
}

/// One tensor of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// Dimensions, innermost (contiguous) first: a matrix of `rows` rows of `cols` is
    /// `[cols, rows]`.
    pub dims: Vec<u64>,
    pub kind: TensorType,
    /// Byte range of its data in the file.
    pub start: usize,
    pub len: usize,
}

impl TensorInfo {
    pub fn elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

/// A parsed GGUF file: metadata, tensor directory and the bytes they point into.
pub struct GgufFile {
    pub version: u32,
    pub metadata: BTreeMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
    data: Data,
}

enum Data {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("version", &self.version)
            .field("metadata", &self.metadata.len())
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl GgufFile {
    /// Map and parse the file at `path`.
    pub fn open(path: &Path) -> Result<GgufFile> {
        let file = std::fs::File::open(path)
            .map_err(|e| Error::Model(format!("cannot open GGUF file {}: {e}", path.display())))?;
        // Safety: the map is read-only and the model cache's files are not written in place
        // (installs write a new file and rename it).
        let map = unsafe { memmap2::Mmap::map(&file) }
            .map_err(|e| Error::Model(format!("cannot map GGUF file {}: {e}", path.display())))?;
        GgufFile::parse(Data::Mapped(map)).map_err(|e| match e {
            Error::Model(m) => Error::Model(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Parse a GGUF file held in memory (tests, fuzzing).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<GgufFile> {
        GgufFile::parse(Data::Owned(bytes))
    }

    fn parse(data: Data) -> Result<GgufFile> {
        let bytes: &[u8] = match &data {
            Data::Mapped(m) => m,
            Data::Owned(v) => v,
        };
        let mut r = Reader { bytes, pos: 0 };
        if r.u32()? != MAGIC {
            return Err(bad("not a GGUF file (bad magic)"));
        }
        let version = r.u32()?;
        if !(2..=3).contains(&version) {
            return Err(bad(&format!("GGUF version {version} is not supported (2 or 3 are)")));
        }
        let n_tensors = r.u64()?;
        let n_kv = r.u64()?;
        // Each entry takes at least 8 bytes: counts beyond the file's size are lies.
        if n_tensors > bytes.len() as u64 / 8 || n_kv > bytes.len() as u64 / 8 {
            return Err(bad("tensor or metadata count larger than the file"));
        }
        let mut metadata = BTreeMap::new();
        for _ in 0..n_kv {
            let key = r.string()?;
            let kind = r.u32()?;
            let value = r.value(kind, 0)?;
            metadata.insert(key, value);
        }
        let mut raw = Vec::with_capacity(n_tensors as usize);
        for _ in 0..n_tensors {
            let name = r.string()?;
            let n_dims = r.u32()?;
            if n_dims == 0 || n_dims > MAX_DIMS {
                return Err(bad(&format!("tensor {name} has {n_dims} dimensions")));
            }
            let dims = (0..n_dims).map(|_| r.u64()).collect::<Result<Vec<_>>>()?;
            let kind_raw = r.u32()?;
            let kind = TensorType::from_u32(kind_raw).ok_or_else(|| {
                bad(&format!("tensor {name} has ggml type {kind_raw}, which is not supported"))
            })?;
            let offset = r.u64()?;
            raw.push((name, dims, kind, offset));
        }
        let alignment = match metadata.get("general.alignment") {
            None => 32,
            Some(v) => v
                .as_u64()
                .filter(|a| *a > 0 && a.is_power_of_two() && *a <= 1 << 16)
                .ok_or_else(|| bad("general.alignment is not a power of two"))?,
        };
        let data_start = (r.pos as u64).div_ceil(alignment) * alignment;
        let mut tensors = Vec::with_capacity(raw.len());
        for (name, dims, kind, offset) in raw {
            let elements = dims.iter().try_fold(1u64, |a, d| a.checked_mul(*d)).filter(|e| *e > 0);
            let (per_block, block_bytes) = kind.block();
            let len = elements
                .filter(|e| e % per_block as u64 == 0)
                .and_then(|e| (e / per_block as u64).checked_mul(block_bytes as u64))
                .ok_or_else(|| {
                    bad(&format!("tensor {name} has impossible dimensions {dims:?} for its type"))
                })?;
            if dims[0] % per_block as u64 != 0 {
                return Err(bad(&format!("tensor {name}: rows of {} do not fill whole blocks", dims[0])));
            }
            let start =
                data_start.checked_add(offset).filter(|s| s % alignment == 0 || offset % alignment == 0);
            let end = start.and_then(|s| s.checked_add(len)).filter(|e| *e <= bytes.len() as u64);
            let (Some(start), Some(_)) = (start, end) else {
                return Err(bad(&format!("tensor {name} lies outside the file (truncated?)")));
            };
            tensors.push(TensorInfo { name, dims, kind, start: start as usize, len: len as usize });
        }
        Ok(GgufFile { version, metadata, tensors, data })
    }

    fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Mapped(m) => m,
            Data::Owned(v) => v,
        }
    }

    /// The tensor named `name`.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The bytes of a tensor.
    pub fn data(&self, t: &TensorInfo) -> &[u8] {
        &self.bytes()[t.start..t.start + t.len]
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }

    /// A required integer.
    pub fn u64(&self, key: &str) -> Result<u64> {
        self.get(key).and_then(Value::as_u64).ok_or_else(|| missing(key))
    }

    /// A required number.
    pub fn f32(&self, key: &str) -> Result<f32> {
        self.get(key).and_then(Value::as_f32).ok_or_else(|| missing(key))
    }

    /// A required string.
    pub fn str(&self, key: &str) -> Result<&str> {
        self.get(key).and_then(Value::as_str).ok_or_else(|| missing(key))
    }
}

fn bad(what: &str) -> Error {
    Error::Model(format!("invalid GGUF: {what}"))
}

fn missing(key: &str) -> Error {
    Error::Model(format!("GGUF metadata has no usable {key:?}"))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| bad("unexpected end of file"))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn len(&mut self) -> Result<usize> {
        let n = self.u64()?;
        if n > MAX_LEN || n > (self.bytes.len() - self.pos) as u64 {
            return Err(bad("a string or array is longer than the file"));
        }
        Ok(n as usize)
    }

    fn string(&mut self) -> Result<String> {
        let n = self.len()?;
        let s = self.take(n)?;
        String::from_utf8(s.to_vec()).map_err(|_| bad("a string is not UTF-8"))
    }

    fn value(&mut self, kind: u32, depth: u32) -> Result<Value> {
        Ok(match kind {
            0 => Value::U8(self.array::<1>()?[0]),
            1 => Value::I8(self.array::<1>()?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.array()?)),
            3 => Value::I16(i16::from_le_bytes(self.array()?)),
            4 => Value::U32(self.u32()?),
            5 => Value::I32(i32::from_le_bytes(self.array()?)),
            6 => Value::F32(f32::from_le_bytes(self.array()?)),
            7 => Value::Bool(self.array::<1>()?[0] != 0),
            8 => Value::String(self.string()?),
            9 => {
                if depth > 2 {
                    return Err(bad("arrays nested too deep"));
                }
                let inner = self.u32()?;
                let n = self.len()?;
                let mut items = Vec::with_capacity(n.min(1 << 20));
                for _ in 0..n {
                    items.push(self.value(inner, depth + 1)?);
                }
                Value::Array(items)
            }
            10 => Value::U64(self.u64()?),
            11 => Value::I64(i64::from_le_bytes(self.array()?)),
            12 => Value::F64(f64::from_le_bytes(self.array()?)),
            other => return Err(bad(&format!("unknown metadata type {other}"))),
        })
    }
}

/// Writes GGUF files: the tests make small models with it (a real GGUF needs a download).
#[cfg(test)]
pub(crate) mod write {
    use super::*;

    pub(crate) struct Writer {
        pub kv: Vec<(String, Value)>,
        pub tensors: Vec<(String, Vec<u64>, u32, Vec<u8>)>,
    }

    fn put_str(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u64).to_le_bytes());
        out.extend(s.as_bytes());
    }

    fn put_value(out: &mut Vec<u8>, v: &Value) {
        match v {
            Value::U32(x) => out.extend(x.to_le_bytes()),
            Value::I32(x) => out.extend(x.to_le_bytes()),
            Value::F32(x) => out.extend(x.to_le_bytes()),
            Value::U64(x) => out.extend(x.to_le_bytes()),
            Value::Bool(b) => out.push(*b as u8),
            Value::String(s) => put_str(out, s),
            Value::Array(items) => {
                out.extend(type_of(&items[0]).to_le_bytes());
                out.extend((items.len() as u64).to_le_bytes());
                for i in items {
                    put_value(out, i);
                }
            }
            other => panic!("writer does not write {other:?}"),
        }
    }

    fn type_of(v: &Value) -> u32 {
        match v {
            Value::U32(_) => 4,
            Value::I32(_) => 5,
            Value::F32(_) => 6,
            Value::Bool(_) => 7,
            Value::String(_) => 8,
            Value::Array(_) => 9,
            Value::U64(_) => 10,
            other => panic!("writer does not write {other:?}"),
        }
    }

    impl Writer {
        pub fn bytes(&self) -> Vec<u8> {
            let mut out = Vec::new();
            out.extend(MAGIC.to_le_bytes());
            out.extend(3u32.to_le_bytes());
            out.extend((self.tensors.len() as u64).to_le_bytes());
            out.extend((self.kv.len() as u64).to_le_bytes());
            for (k, v) in &self.kv {
                put_str(&mut out, k);
                out.extend(type_of(v).to_le_bytes());
                put_value(&mut out, v);
            }
            let mut offset = 0u64;
            for (name, dims, kind, data) in &self.tensors {
                put_str(&mut out, name);
                out.extend((dims.len() as u32).to_le_bytes());
                for d in dims {
                    out.extend(d.to_le_bytes());
                }
                out.extend(kind.to_le_bytes());
                out.extend(offset.to_le_bytes());
                offset += (data.len() as u64).div_ceil(32) * 32;
            }
            while out.len() % 32 != 0 {
                out.push(0);
            }
            for (_, _, _, data) in &self.tensors {
                out.extend(data);
                while out.len() % 32 != 0 {
                    out.push(0);
                }
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::write::Writer;
    use super::*;

    fn sample() -> Vec<u8> {
        Writer {
            kv: vec![
                ("general.architecture".into(), Value::String("llama".into())),
                ("llama.block_count".into(), Value::U32(2)),
                (
                    "tokenizer.ggml.tokens".into(),
                    Value::Array(vec![Value::String("a".into()), Value::String("b".into())]),
                ),
            ],
            tensors: vec![(
                "w".into(),
                vec![4, 2],
                0,
                (0..8).flat_map(|i| (i as f32).to_le_bytes()).collect(),
            )],
        }
        .bytes()
    }

    #[test]
    fn reads_metadata_and_tensors() {
        let f = GgufFile::from_bytes(sample()).unwrap();
        assert_eq!(f.str("general.architecture").unwrap(), "llama");
        assert_eq!(f.u64("llama.block_count").unwrap(), 2);
        assert_eq!(f.get("tokenizer.ggml.tokens").unwrap().as_array().unwrap().len(), 2);
        let t = f.tensor("w").unwrap();
        assert_eq!((t.kind, t.elements()), (TensorType::F32, 8));
        assert_eq!(f32::from_le_bytes(f.data(t)[28..32].try_into().unwrap()), 7.0);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = sample();
        for n in 0..bytes.len() - 1 {
            let e = GgufFile::from_bytes(bytes[..n].to_vec()).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::Model, "{n}: {e}");
        }
        let mut bad_magic = bytes.clone();
        bad_magic[0] = b'X';
        assert!(GgufFile::from_bytes(bad_magic).unwrap_err().to_string().contains("magic"));
        // A huge declared string length is refused before allocating.
        let mut huge = bytes;
        huge[24..32].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(GgufFile::from_bytes(huge).is_err());
    }
}
