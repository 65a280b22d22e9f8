//! The dump format of [`DenseHnsw`] (see the module docs of [`super`]): the graph file
//! (header, ids, levels, links, little-endian) and the vectors file (tagged records).

use std::io::{self, Write};

use super::{DenseHnsw, HnswParams, MAX_LEVEL};

const GRAPH_MAGIC: &[u8; 8] = b"MRHNSW01";
/// The tag of the vectors file's header and records (hnsw_rs' value: the same layout).
pub const VECTORS_MAGIC: u32 = 0xa67f_0000;

fn write_words(w: &mut impl Write, words: &[u32]) -> io::Result<()> {
    let mut buf = Vec::with_capacity(words.len() * 4);
    for x in words {
        buf.extend_from_slice(&x.to_le_bytes());
    }
    w.write_all(&buf)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len()).ok_or("truncated")?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn words(&mut self, n: usize) -> Result<Vec<u32>, String> {
        let b = self.take(n.checked_mul(4).ok_or("size overflow")?)?;
        Ok(b.chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes"))).collect())
    }
}

impl DenseHnsw {
    /// Write the graph part of a dump: header, ids, levels, links (see the module docs).
    pub fn write_graph(&self, w: &mut impl Write) -> io::Result<()> {
        let entry = self.entry.unwrap_or(u32::MAX);
        w.write_all(GRAPH_MAGIC)?;
        for x in
            [self.dim as u64, self.params.m as u64, self.params.ef_construction as u64, self.len() as u64]
        {
            w.write_all(&x.to_le_bytes())?;
        }
        w.write_all(&self.rng.to_le_bytes())?;
        w.write_all(&entry.to_le_bytes())?;
        w.write_all(&[self.max_level])?;
        for id in &self.ids {
            w.write_all(&id.to_le_bytes())?;
        }
        w.write_all(&self.levels)?;
        let stride = self.stride();
        for node in self.level0.chunks_exact(stride) {
            write_words(w, &node[..1 + self.m0()])?;
        }
        for up in &self.upper {
            write_words(w, up)?;
        }
        Ok(())
    }

    /// Write the vectors part of a dump (see the module docs), in node order.
    /// The vectors of the points `gone` names (tombstones) are written as zeros: a forgotten
    /// memory's vector never reaches the disk inside a dump.
    pub fn write_vectors(&self, w: &mut impl Write, gone: Option<&dyn Fn(u64) -> bool>) -> io::Result<()> {
        w.write_all(&VECTORS_MAGIC.to_le_bytes())?;
        w.write_all(&(self.dim as u64).to_le_bytes())?;
        let bytes = (self.dim * 4) as u64;
        for (i, &id) in self.ids.iter().enumerate() {
            w.write_all(&VECTORS_MAGIC.to_le_bytes())?;
            w.write_all(&id.to_le_bytes())?;
            w.write_all(&bytes.to_le_bytes())?;
            let zero = gone.is_some_and(|g| g(id));
            let words: Vec<u32> =
                self.vector(i as u32).iter().map(|x| if zero { 0 } else { x.to_bits() }).collect();
            write_words(w, &words)?;
        }
        Ok(())
    }

    /// Rebuild a graph from the two parts of a dump; an error says what does not hold
    /// (anything malformed is refused, never trusted: links and levels are bounds-checked).
    pub fn read(graph: &[u8], vectors: &[u8]) -> Result<DenseHnsw, String> {
        let mut g = Reader { bytes: graph, at: 0 };
        if g.take(GRAPH_MAGIC.len())? != GRAPH_MAGIC {
            return Err("not a graph dump".into());
        }
        let dim = g.u64()? as usize;
        let m = g.u64()? as usize;
        let ef_construction = g.u64()? as usize;
        let n = g.u64()? as usize;
        if dim == 0 || dim > 1 << 16 || !(2..=1 << 12).contains(&m) || n >= u32::MAX as usize {
            return Err(format!("implausible header: dim {dim}, m {m}, {n} points"));
        }
        let rng = g.u64()?;
        let entry = g.u32()?;
        let max_level = g.take(1)?[0];
        let mut out = DenseHnsw::new(dim, HnswParams { m, ef_construction, seed: 0 });
        out.rng = rng;
        out.ids = g
            .take(n.checked_mul(8).ok_or("size overflow")?)?
            .chunks_exact(8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect();
        out.levels = g.take(n)?.to_vec();
        if out.levels.iter().any(|&l| l > max_level) || max_level > MAX_LEVEL {
            return Err("a level above the top".into());
        }
        let m0 = out.m0();
        let links0 = g.words(n.checked_mul(1 + m0).ok_or("size overflow")?)?;
        out.upper = out.levels.iter().map(|&l| g.words(l as usize * (m + 1))).collect::<Result<_, _>>()?;
        if g.at != graph.len() {
            return Err("trailing bytes after the graph".into());
        }
        // Links within bounds and counts within slots, so a walk can never index out of range.
        let n32 = n as u32;
        let slots_ok = |s: &[u32], cap: usize| {
            s.chunks_exact(cap + 1)
                .all(|c| c[0] as usize <= cap && c[1..1 + c[0] as usize].iter().all(|&x| x < n32))
        };
        if !slots_ok(&links0, m0) || !out.upper.iter().all(|u| slots_ok(u, m)) {
            return Err("a link out of range".into());
        }
        out.entry = match (entry, n) {
            (u32::MAX, 0) => None,
            (e, _) if e < n32 && out.levels[e as usize] == max_level => Some(e),
            _ => return Err("bad entry point".into()),
        };
        out.max_level = max_level;
        let mut v = Reader { bytes: vectors, at: 0 };
        if v.u32()? != VECTORS_MAGIC || v.u64()? != dim as u64 {
            return Err("vectors header does not match the graph".into());
        }
        out.level0.reserve_exact(n * out.stride());
        out.exact.reserve_exact(n * dim);
        for (i, links) in links0.chunks_exact(1 + m0).enumerate() {
            if v.u32()? != VECTORS_MAGIC || v.u64()? != out.ids[i] || v.u64()? != (dim * 4) as u64 {
                return Err(format!("vector record {i} does not match the graph"));
            }
            let vector: Vec<f32> = v.words(dim)?.into_iter().map(f32::from_bits).collect();
            out.push_block(&vector);
            let at = out.level0.len() - out.stride();
            out.level0[at..at + 1 + m0].copy_from_slice(links);
        }
        if v.at != vectors.len() {
            return Err("trailing bytes after the vectors".into());
        }
        Ok(out)
    }
}
