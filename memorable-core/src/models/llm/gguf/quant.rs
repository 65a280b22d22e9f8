//! Quantized weights and the dot products of the decoder's matrix-vector products.
//!
//! Weights are repacked at load: block scales (f16 in the file) become f32 arrays beside the
//! packed quants, so the hot loop converts nothing. Q4_0 / Q4_1 / Q8_0 run natively (the
//! types of SmolLM2 and most small GGUFs); any other ggml type is dequantized through
//! candle's block decoders and requantized to Q8_0 once, at load (about 1.06 bytes a weight).
//!
//! Activations are quantized per 32-value block exactly as ggml does on x86 (`d = max/127`
//! kept as f16, values scaled by `127/max` and rounded half to even, `s = d·Σq` as f16), and
//! the integer dot products are exact, so logits follow llama.cpp's closely enough that
//! greedy decoding picks the same tokens. The AVX2 kernels are picked at run time; the
//! scalar ones compute the same sums.

use half::f16;

use super::file::{GgufFile, TensorInfo, TensorType};
use crate::error::{Error, Result};

/// Values per quant block.
pub const QK: usize = 32;

/// A weight matrix of `rows` rows of `cols` values (`cols` a multiple of [`QK`]).
pub enum Matrix {
    /// `q = nibble - 8`, `w = d·q`.
    Q4_0 { rows: usize, cols: usize, qs: Vec<u8>, d: Vec<f32> },
    /// `q = nibble`, `w = d·q + m`.
    Q4_1 { rows: usize, cols: usize, qs: Vec<u8>, d: Vec<f32>, m: Vec<f32> },
    /// `w = d·q`, `q` in i8.
    Q8_0 { rows: usize, cols: usize, qs: Vec<i8>, d: Vec<f32> },
}

/// Activations quantized for one kind of weight: Q8_1 (`s` carries `d·Σq`, for Q4_1's `m`) or
/// Q8_0.
#[derive(Default)]
pub struct Quantized {
    pub qs: Vec<i8>,
    pub d: Vec<f32>,
    pub s: Vec<f32>,
}

/// One token's quantized activations.
#[derive(Clone, Copy)]
pub struct QView<'a> {
    pub qs: &'a [i8],
    pub d: &'a [f32],
    pub s: &'a [f32],
}

impl Quantized {
    /// Token `t` of a batch quantized as one buffer of rows of `cols` values (rows are whole
    /// blocks, so quantizing the batch at once equals quantizing each row).
    pub fn token(&self, t: usize, cols: usize) -> QView<'_> {
        let nb = cols / QK;
        QView {
            qs: &self.qs[t * cols..(t + 1) * cols],
            d: &self.d[t * nb..(t + 1) * nb],
            s: if self.s.is_empty() { &[] } else { &self.s[t * nb..(t + 1) * nb] },
        }
    }
}

fn f16_bits(b: &[u8]) -> f32 {
    f16::from_le_bytes([b[0], b[1]]).to_f32()
}

fn round_f16(x: f32) -> f32 {
    f16::from_f32(x).to_f32()
}

impl Matrix {
    /// Load a 2-D weight tensor of the file.
    pub fn load(file: &GgufFile, t: &TensorInfo) -> Result<Matrix> {
        if t.dims.len() != 2 {
            return Err(Error::Model(format!("{} is not a matrix ({:?})", t.name, t.dims)));
        }
        let (cols, rows) = (t.dims[0] as usize, t.dims[1] as usize);
        if cols % QK != 0 {
            return Err(Error::Model(format!("{}: {cols} columns are not whole blocks of {QK}", t.name)));
        }
        let data = file.data(t);
        let blocks = rows * cols / QK;
        Ok(match t.kind {
            TensorType::Q4_0 => {
                let (mut qs, mut d) = (Vec::with_capacity(blocks * 16), Vec::with_capacity(blocks));
                for b in data.chunks_exact(18) {
                    d.push(f16_bits(&b[0..2]));
                    qs.extend_from_slice(&b[2..18]);
                }
                Matrix::Q4_0 { rows, cols, qs, d }
            }
            TensorType::Q4_1 => {
                let (mut qs, mut d, mut m) =
                    (Vec::with_capacity(blocks * 16), Vec::with_capacity(blocks), Vec::with_capacity(blocks));
                for b in data.chunks_exact(20) {
                    d.push(f16_bits(&b[0..2]));
                    m.push(f16_bits(&b[2..4]));
                    qs.extend_from_slice(&b[4..20]);
                }
                Matrix::Q4_1 { rows, cols, qs, d, m }
            }
            TensorType::Q8_0 => {
                let (mut qs, mut d) = (Vec::with_capacity(blocks * QK), Vec::with_capacity(blocks));
                for b in data.chunks_exact(34) {
                    d.push(f16_bits(&b[0..2]));
                    qs.extend(b[2..34].iter().map(|&v| v as i8));
                }
                Matrix::Q8_0 { rows, cols, qs, d }
            }
            _ => {
                // Any other type: decode each row to f32, requantize it to Q8_0.
                let (mut qs, mut d) = (Vec::with_capacity(blocks * QK), Vec::with_capacity(blocks));
                let row_bytes = t.len / rows;
                let mut row = vec![0f32; cols];
                let mut q = Quantized::default();
                for r in 0..rows {
                    dequantize_row(t.kind, &data[r * row_bytes..(r + 1) * row_bytes], &mut row)?;
                    quantize_q8_0(&row, &mut q);
                    qs.extend_from_slice(&q.qs);
                    d.extend_from_slice(&q.d);
                }
                Matrix::Q8_0 { rows, cols, qs, d }
            }
        })
    }

    pub fn rows(&self) -> usize {
        match self {
            Matrix::Q4_0 { rows, .. } | Matrix::Q4_1 { rows, .. } | Matrix::Q8_0 { rows, .. } => *rows,
        }
    }

    pub fn cols(&self) -> usize {
        match self {
            Matrix::Q4_0 { cols, .. } | Matrix::Q4_1 { cols, .. } | Matrix::Q8_0 { cols, .. } => *cols,
        }
    }

    /// Bytes of weights held.
    pub fn bytes(&self) -> usize {
        match self {
            Matrix::Q4_0 { qs, d, .. } => qs.len() + 4 * d.len(),
            Matrix::Q4_1 { qs, d, m, .. } => qs.len() + 4 * (d.len() + m.len()),
            Matrix::Q8_0 { qs, d, .. } => qs.len() + 4 * d.len(),
        }
    }

    /// Quantize `x` for products with this matrix. Q8_1 serves every kind: its quants and
    /// scale are exactly Q8_0's (ggml computes both the same way), plus the sum Q4_1 needs.
    pub fn quantize(&self, x: &[f32], q: &mut Quantized) {
        quantize_q8_1(x, q)
    }

    /// Row `r` · token `x`.
    #[inline]
    pub fn dot(&self, r: usize, x: QView<'_>) -> f32 {
        let nb = self.cols() / QK;
        let rng = r * nb..(r + 1) * nb;
        match self {
            Matrix::Q4_0 { qs, d, .. } => kernels::dot_q4_0(&qs[r * nb * 16..(r + 1) * nb * 16], &d[rng], x),
            Matrix::Q4_1 { qs, d, m, .. } => {
                kernels::dot_q4_1(&qs[r * nb * 16..(r + 1) * nb * 16], &d[rng.clone()], &m[rng], x)
            }
            Matrix::Q8_0 { qs, d, .. } => kernels::dot_q8_0(&qs[r * nb * QK..(r + 1) * nb * QK], &d[rng], x),
        }
    }

    /// `out[i] = row(first + i) · x` for the rows `first..first + out.len()` (token 0 of `x`).
    pub fn matvec(&self, x: &Quantized, first: usize, out: &mut [f32]) {
        let x = x.token(0, self.cols());
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.dot(first + i, x);
        }
    }

    /// Row `r` as f32 (token embeddings are rows of a matrix).
    pub fn row(&self, r: usize, out: &mut [f32]) {
        let nb = self.cols() / QK;
        for b in 0..nb {
            let o = &mut out[b * QK..(b + 1) * QK];
            let blk = r * nb + b;
            match self {
                Matrix::Q4_0 { qs, d, .. } => {
                    let q = &qs[blk * 16..blk * 16 + 16];
                    for j in 0..16 {
                        o[j] = d[blk] * ((q[j] & 15) as i32 - 8) as f32;
                        o[j + 16] = d[blk] * ((q[j] >> 4) as i32 - 8) as f32;
                    }
                }
                Matrix::Q4_1 { qs, d, m, .. } => {
                    let q = &qs[blk * 16..blk * 16 + 16];
                    for j in 0..16 {
                        o[j] = d[blk] * (q[j] & 15) as f32 + m[blk];
                        o[j + 16] = d[blk] * (q[j] >> 4) as f32 + m[blk];
                    }
                }
                Matrix::Q8_0 { qs, d, .. } => {
                    for (j, v) in o.iter_mut().enumerate() {
                        *v = d[blk] * qs[blk * QK + j] as f32;
                    }
                }
            }
        }
    }
}

/// Decode one row of any supported ggml type to f32 (F32, F16, BF16 directly; the others
/// through candle's block decoders).
pub fn dequantize_row(kind: TensorType, bytes: &[u8], out: &mut [f32]) -> Result<()> {
    match kind {
        TensorType::F32 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        }
        TensorType::F16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = f16_bits(b);
            }
        }
        TensorType::BF16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = half::bf16::from_le_bytes([b[0], b[1]]).to_f32();
            }
        }
        _ => candle_blocks::dequantize(kind, bytes, out)?,
    }
    Ok(())
}

/// Blocks of the types MemoRable does not run natively, decoded by candle (its block structs
/// are `#[repr(C)]` with the file's layout).
mod candle_blocks {
    use candle_core::quantized::k_quants::*;

    use crate::error::{Error, Result};
    use crate::models::llm::gguf::file::TensorType;

    fn decode<T: GgmlType>(bytes: &[u8], out: &mut [f32]) -> Result<()> {
        let size = std::mem::size_of::<T>();
        if !bytes.len().is_multiple_of(size) || bytes.len() / size * T::BLCK_SIZE != out.len() {
            return Err(Error::Model("a quantized row does not fill whole blocks".into()));
        }
        // Copy into aligned blocks: the file's bytes carry no alignment guarantee for T.
        let mut blocks: Vec<T> = (0..bytes.len() / size).map(|_| T::zeros()).collect();
        // Safety: T is a plain `#[repr(C)]` block of integers and f16s, any bit pattern is a
        // valid value, and the lengths match.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), blocks.as_mut_ptr() as *mut u8, bytes.len());
        }
        T::to_float(&blocks, out);
        Ok(())
    }

    pub fn dequantize(kind: TensorType, bytes: &[u8], out: &mut [f32]) -> Result<()> {
        match kind {
            TensorType::Q4_0 => decode::<BlockQ4_0>(bytes, out),
            TensorType::Q4_1 => decode::<BlockQ4_1>(bytes, out),
            TensorType::Q5_0 => decode::<BlockQ5_0>(bytes, out),
            TensorType::Q5_1 => decode::<BlockQ5_1>(bytes, out),
            TensorType::Q8_0 => decode::<BlockQ8_0>(bytes, out),
            TensorType::Q2K => decode::<BlockQ2K>(bytes, out),
            TensorType::Q3K => decode::<BlockQ3K>(bytes, out),
            TensorType::Q4K => decode::<BlockQ4K>(bytes, out),
            TensorType::Q5K => decode::<BlockQ5K>(bytes, out),
            TensorType::Q6K => decode::<BlockQ6K>(bytes, out),
            other => Err(Error::Model(format!("no decoder for {other:?}"))),
        }
    }
}

/// The largest |x| of a block, its f16 scale and the multiplier that maps it to 127.
fn block_scale(x: &[f32]) -> (f32, f32) {
    let amax = x.iter().fold(0f32, |a, v| a.max(v.abs()));
    let d = amax / 127.0;
    let id = if amax != 0.0 { 127.0 / amax } else { 0.0 };
    (d, id)
}

/// ggml's `quantize_row_q8_0` (x86 path): `d = max/127` as f16, `q = round_half_even(x·127/max)`.
pub fn quantize_q8_0(x: &[f32], q: &mut Quantized) {
    let nb = x.len() / QK;
    q.qs.resize(x.len(), 0);
    q.d.resize(nb, 0.0);
    q.s.clear();
    for b in 0..nb {
        let xs = &x[b * QK..(b + 1) * QK];
        let (d, id) = block_scale(xs);
        q.d[b] = round_f16(d);
        for (j, v) in xs.iter().enumerate() {
            q.qs[b * QK + j] = (v * id).round_ties_even() as i8;
        }
    }
}

/// ggml's `quantize_row_q8_1` (x86 path): Q8_0 plus `s = d·Σq` as f16.
pub fn quantize_q8_1(x: &[f32], q: &mut Quantized) {
    let nb = x.len() / QK;
    q.qs.resize(x.len(), 0);
    q.d.resize(nb, 0.0);
    q.s.resize(nb, 0.0);
    for b in 0..nb {
        let xs = &x[b * QK..(b + 1) * QK];
        let (d, id) = block_scale(xs);
        let mut sum = 0i32;
        for (j, v) in xs.iter().enumerate() {
            let qv = (v * id).round_ties_even() as i8;
            q.qs[b * QK + j] = qv;
            sum += qv as i32;
        }
        q.d[b] = round_f16(d);
        q.s[b] = round_f16(d * sum as f32);
    }
}

/// The dot products, per instruction set.
mod kernels {
    use crate::models::llm::gguf::quant::{QView, QK};

    #[cfg(target_arch = "x86_64")]
    fn avx2() -> bool {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
    }

    pub fn dot_q4_1(qs: &[u8], d: &[f32], m: &[f32], x: QView<'_>) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if avx2() {
            // Safety: AVX2 and FMA are present; the slices hold `d.len()` whole blocks.
            return unsafe { x86::dot_q4_1(qs, d, m, x) };
        }
        let mut acc = 0f32;
        let mut summs = 0f32;
        for b in 0..d.len() {
            let q = &qs[b * 16..b * 16 + 16];
            let y = &x.qs[b * QK..(b + 1) * QK];
            let mut s = 0i32;
            for j in 0..16 {
                s += (q[j] & 15) as i32 * y[j] as i32 + (q[j] >> 4) as i32 * y[j + 16] as i32;
            }
            acc += d[b] * x.d[b] * s as f32;
            summs += m[b] * x.s[b];
        }
        acc + summs
    }

    pub fn dot_q4_0(qs: &[u8], d: &[f32], x: QView<'_>) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if avx2() {
            // Safety: as above.
            return unsafe { x86::dot_q4_0(qs, d, x) };
        }
        let mut acc = 0f32;
        for b in 0..d.len() {
            let q = &qs[b * 16..b * 16 + 16];
            let y = &x.qs[b * QK..(b + 1) * QK];
            let mut s = 0i32;
            for j in 0..16 {
                s += ((q[j] & 15) as i32 - 8) * y[j] as i32 + ((q[j] >> 4) as i32 - 8) * y[j + 16] as i32;
            }
            acc += d[b] * x.d[b] * s as f32;
        }
        acc
    }

    pub fn dot_q8_0(qs: &[i8], d: &[f32], x: QView<'_>) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if avx2() {
            // Safety: as above.
            return unsafe { x86::dot_q8_0(qs, d, x) };
        }
        let mut acc = 0f32;
        for b in 0..d.len() {
            let s: i32 = (0..QK).map(|j| qs[b * QK + j] as i32 * x.qs[b * QK + j] as i32).sum();
            acc += d[b] * x.d[b] * s as f32;
        }
        acc
    }

    /// ggml's AVX2 kernels (`ggml_vec_dot_q4_1_q8_1` and friends), with the scales already f32.
    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use std::arch::x86_64::*;

        use crate::models::llm::gguf::quant::{QView, QK};

        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn nibbles(p: *const u8) -> __m256i {
            let lo = _mm_loadu_si128(p as *const __m128i);
            let hi = _mm_srli_epi16(lo, 4);
            let both = _mm256_insertf128_si256(_mm256_castsi128_si256(lo), hi, 1);
            _mm256_and_si256(both, _mm256_set1_epi8(0x0f))
        }

        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn hsum(v: __m256) -> f32 {
            let s = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
            let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
            let s = _mm_add_ss(s, _mm_movehdup_ps(s));
            _mm_cvtss_f32(s)
        }

        /// Σ of u8·i8 products as 8 floats (each the sum of 4 neighbouring products).
        #[inline]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn sum_us8(ax: __m256i, sy: __m256i) -> __m256 {
            let dot = _mm256_maddubs_epi16(ax, sy);
            _mm256_cvtepi32_ps(_mm256_madd_epi16(dot, _mm256_set1_epi16(1)))
        }

        #[target_feature(enable = "avx2,fma")]
        pub unsafe fn dot_q4_1(qs: &[u8], d: &[f32], m: &[f32], x: QView<'_>) -> f32 {
            let mut acc = _mm256_setzero_ps();
            let mut summs = 0f32;
            for b in 0..d.len() {
                summs += m[b] * x.s[b];
                let scale = _mm256_set1_ps(d[b] * x.d[b]);
                let qx = nibbles(qs.as_ptr().add(b * 16));
                let qy = _mm256_loadu_si256(x.qs.as_ptr().add(b * QK) as *const __m256i);
                acc = _mm256_fmadd_ps(scale, sum_us8(qx, qy), acc);
            }
            hsum(acc) + summs
        }

        #[target_feature(enable = "avx2,fma")]
        pub unsafe fn dot_q4_0(qs: &[u8], d: &[f32], x: QView<'_>) -> f32 {
            let mut acc = _mm256_setzero_ps();
            let off = _mm256_set1_epi8(8);
            for (b, (&dw, &dx)) in d.iter().zip(x.d).enumerate() {
                let scale = _mm256_set1_ps(dw * dx);
                let qx = _mm256_sub_epi8(nibbles(qs.as_ptr().add(b * 16)), off);
                let qy = _mm256_loadu_si256(x.qs.as_ptr().add(b * QK) as *const __m256i);
                acc =
                    _mm256_fmadd_ps(scale, sum_us8(_mm256_sign_epi8(qx, qx), _mm256_sign_epi8(qy, qx)), acc);
            }
            hsum(acc)
        }

        #[target_feature(enable = "avx2,fma")]
        pub unsafe fn dot_q8_0(qs: &[i8], d: &[f32], x: QView<'_>) -> f32 {
            let mut acc = _mm256_setzero_ps();
            for (b, (&dw, &dx)) in d.iter().zip(x.d).enumerate() {
                let scale = _mm256_set1_ps(dw * dx);
                let qx = _mm256_loadu_si256(qs.as_ptr().add(b * QK) as *const __m256i);
                let qy = _mm256_loadu_si256(x.qs.as_ptr().add(b * QK) as *const __m256i);
                acc =
                    _mm256_fmadd_ps(scale, sum_us8(_mm256_sign_epi8(qx, qx), _mm256_sign_epi8(qy, qx)), acc);
            }
            hsum(acc)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random f32 in [-1, 1).
    fn noise(i: usize) -> f32 {
        let x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
        (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    fn q4_1_bytes(rows: usize, cols: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for b in 0..rows * cols / QK {
            out.extend(f16::from_f32(0.01 + noise(b).abs() * 0.05).to_le_bytes());
            out.extend(f16::from_f32(noise(b + 7) * 0.2).to_le_bytes());
            out.extend((0..16).map(|j| (noise(b * 16 + j) * 1000.0) as i32 as u8));
        }
        out
    }

    /// The kernel in use (AVX2 on x86) agrees with a plain f32 dot product of the dequantized
    /// row and the dequantized activations.
    #[test]
    fn q4_1_dot_matches_dequantized_arithmetic() {
        let (rows, cols) = (3, 576);
        let bytes = q4_1_bytes(rows, cols);
        let file = crate::models::llm::gguf::file::GgufFile::from_bytes(
            crate::models::llm::gguf::file::write::Writer {
                kv: vec![],
                tensors: vec![("w".into(), vec![cols as u64, rows as u64], 3, bytes)],
            }
            .bytes(),
        )
        .unwrap();
        let m = Matrix::load(&file, file.tensor("w").unwrap()).unwrap();
        let x: Vec<f32> = (0..cols).map(|i| noise(i + 99) * 3.0).collect();
        let mut q = Quantized::default();
        m.quantize(&x, &mut q);
        let mut out = vec![0f32; rows];
        m.matvec(&q, 0, &mut out);
        let mut w = vec![0f32; cols];
        for (r, o) in out.iter().enumerate() {
            m.row(r, &mut w);
            let xq: Vec<f32> = (0..cols).map(|i| q.d[i / QK] * q.qs[i] as f32).collect();
            let want: f32 = w.iter().zip(&xq).map(|(a, b)| a * b).sum();
            assert!((o - want).abs() <= 1e-3 * want.abs().max(1.0), "row {r}: {o} vs {want}");
        }
    }

    #[test]
    fn activation_quantization_rounds_half_to_even_like_ggml() {
        let mut x = vec![0f32; QK];
        x[0] = 127.0; // d = 1: values are their own quants
        x[1] = 2.5;
        x[2] = -3.5;
        x[3] = 0.5;
        let mut q = Quantized::default();
        quantize_q8_1(&x, &mut q);
        assert_eq!(&q.qs[..4], &[127, 2, -4, 0]);
        assert_eq!(q.d[0], 1.0);
        assert_eq!(q.s[0], 125.0);
    }
}
