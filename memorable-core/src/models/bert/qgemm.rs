//! int8 linear layers for the opt-in `minilm-int8` model: weights quantized per output
//! channel at load, activations per row at run time, integer dot products, then the same
//! epilogues as the f32 products ([`super::gemm`]).
//!
//! Weights are quantized symmetrically: row `j` is `s_j * q_j` with `s_j = max|w_j| / 127`
//! and `q_j` in [-127, 127]. Activations asymmetrically, one scale and zero point a row:
//! `x_ik ≈ t_i * (u_ik - z_i)` with `u` in [0, 255] spanning the row's [min, max] (rounded
//! half to even), which gives skewed rows (GELU outputs, LayerNorm outputs with one-sided
//! outlier channels) twice the levels a symmetric scale would. An output is
//! `(Σ_k u_ik * q_jk - z_i * Σ_k q_jk) as f32 * t_i * s_j`, then `+ bias`, `+ residual`,
//! GELU. The integer part is exact in i32 (at most k * 255 * 127 = 49.7 M for k = 1,536),
//! so every kernel gives the same integer and the result is bit-identical across
//! instruction sets, batches and threads — as the f32 forward is.
//!
//! Smoothing (SmoothQuant, Xiao et al. 2023): a few input channels of BERT's linear layers
//! (the LayerNorm outputs especially) carry values far larger than the rest, so one scale per
//! activation row leaves the other channels a handful of levels (cosine to the f32 vectors
//! 0.984 at the worst reference text without it). A layer quantized with input statistics
//! divides input channel `k` by `s_k = sqrt(max|x_k| / max_j |w_jk|)` before quantizing the
//! row and multiplies the weight column by it, which leaves the product unchanged and moves
//! the channels' ranges closer together. The statistics come from a fixed calibration set run
//! through the f32 model at load ([`super::calibration`]).
//!
//! Kernels, chosen at run time ([`QIsa::detect`]):
//! - AVX-512 VNNI: `vpdpbusd` multiplies the unsigned activation bytes by the signed weight
//!   bytes, four per lane; 12 x 32 tiles, 64 products an instruction.
//! - AVX2: `vpmaddwd` on 16-bit values (pairs of k per lane). `vpmaddubsw` would do twice
//!   the products, but its 16-bit pair sums saturate (255 * 127 * 2 > 32,767), which would
//!   break the exactness above; 6 x 16 tiles.
//! - portable: i32 loops.

use super::gemm::{Epilogue, SendPtr};
use super::ops::{gelu_slice, Isa};

/// The int8 kernels' instruction set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum QIsa {
    Portable,
    /// x86-64 with AVX2 and FMA.
    Avx2,
    /// x86-64 with AVX-512 F/BW/VL and VNNI (besides AVX2 and FMA).
    Vnni,
}

impl QIsa {
    /// The best int8 kernels this CPU runs (detected once).
    pub fn detect() -> QIsa {
        static QISA: std::sync::OnceLock<QIsa> = std::sync::OnceLock::new();
        *QISA.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                use std::arch::is_x86_feature_detected as has;
                let avx2 = has!("avx2") && has!("fma");
                if avx2 && has!("avx512f") && has!("avx512bw") && has!("avx512vl") && has!("avx512vnni") {
                    return QIsa::Vnni;
                }
                if avx2 {
                    return QIsa::Avx2;
                }
            }
            QIsa::Portable
        })
    }

    /// Every int8 kernel set this CPU runs, slowest first (tests compare them).
    pub fn available() -> Vec<QIsa> {
        [QIsa::Portable, QIsa::Avx2, QIsa::Vnni].into_iter().filter(|q| *q <= QIsa::detect()).collect()
    }

    pub fn name(self) -> &'static str {
        match self {
            QIsa::Portable => "int8 portable",
            QIsa::Avx2 => "int8 avx2",
            QIsa::Vnni => "int8 avx512-vnni",
        }
    }

    /// Columns per panel of packed weights.
    fn nr(self) -> usize {
        match self {
            QIsa::Vnni => 32,
            QIsa::Avx2 | QIsa::Portable => 16,
        }
    }
}

/// 64-byte-aligned bytes (panels start on cache lines).
#[derive(Clone, Default)]
struct Bytes {
    lines: Vec<Line>,
    len: usize,
}

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

impl Bytes {
    fn zeroed(len: usize) -> Bytes {
        Bytes { lines: vec![Line([0; 64]); len.div_ceil(64)], len }
    }
    fn resize_scratch(&mut self, len: usize) {
        if self.lines.len() * 64 < len {
            self.lines = vec![Line([0; 64]); len.div_ceil(64)];
        }
        self.len = len;
    }
    fn as_ptr(&self) -> *const u8 {
        self.lines.as_ptr().cast()
    }
    fn as_mut(&mut self) -> &mut [u8] {
        // SAFETY: `lines` holds at least `len` initialized bytes; `&mut self` is unique.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast(), self.len) }
    }
    fn bytes(&self) -> usize {
        self.lines.len() * 64
    }
}

/// A linear layer's weight (`[n][k]`, out x in) quantized per output channel and packed for
/// one [`QIsa`]'s kernel.
#[derive(Clone)]
pub struct QMatrix {
    qisa: QIsa,
    /// The f32 instruction set of the model around it (attention, LayerNorm); kept so a
    /// weight set's layers can be checked for one packing, as f32 layers are.
    isa: Isa,
    k: usize,
    n: usize,
    scales: Vec<f32>,
    /// `Σ_k q[j][k]`: times a row's zero point, what its offset adds to column `j`.
    colsum: Vec<i32>,
    /// `1 / s_k` of smoothing: input channel `k` is multiplied by it before quantizing.
    inv_smooth: Option<Vec<f32>>,
    data: Bytes,
}

impl std::fmt::Debug for QMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "QMatrix({}x{}, {})", self.k, self.n, self.qisa.name())
    }
}

impl QMatrix {
    /// Quantize and pack a weight stored `[n][k]`, smoothed by `smooth` (`s_k` per input
    /// channel) when given. `k` must be a multiple of 4 and `n` of 32.
    pub fn from_weight(
        w: &[f32],
        n: usize,
        k: usize,
        qisa: QIsa,
        isa: Isa,
        smooth: Option<&[f32]>,
    ) -> QMatrix {
        assert_eq!(w.len(), n * k, "weight is not {n}x{k}");
        assert!(k.is_multiple_of(4) && n.is_multiple_of(32), "int8 weight {n}x{k}: n % 32 or k % 4");
        if let Some(s) = smooth {
            assert!(s.len() == k && s.iter().all(|v| v.is_finite() && *v > 0.0), "smoothing factors");
        }
        let mut scales = Vec::with_capacity(n);
        let mut q = vec![0i8; n * k];
        let mut scaled = vec![0f32; k];
        for (row, qrow) in w.chunks_exact(k).zip(q.chunks_exact_mut(k)) {
            let row = match smooth {
                Some(s) => {
                    for ((o, v), f) in scaled.iter_mut().zip(row).zip(s) {
                        *o = v * f;
                    }
                    &scaled[..]
                }
                None => row,
            };
            scales.push(quantize_row(row, qrow));
        }
        let colsum = q.chunks_exact(k).map(|r| r.iter().map(|&v| i32::from(v)).sum::<i32>()).collect();
        let nr = qisa.nr();
        let data = match qisa {
            // Panel p, step kq: 32 columns x 4 consecutive k, 128 bytes.
            QIsa::Vnni => {
                let mut d = Bytes::zeroed(n * k);
                let out = d.as_mut();
                for (j, row) in q.chunks_exact(k).enumerate() {
                    let panel = (j / nr) * k * nr;
                    for (kk, v) in row.iter().enumerate() {
                        out[panel + (kk / 4) * nr * 4 + (j % nr) * 4 + kk % 4] = *v as u8;
                    }
                }
                d
            }
            // Panel p, step kp: 16 columns x 2 consecutive k as i16, 64 bytes.
            QIsa::Avx2 => {
                let mut d = Bytes::zeroed(2 * n * k);
                let out = d.as_mut();
                for (j, row) in q.chunks_exact(k).enumerate() {
                    let panel = (j / nr) * k * nr;
                    for (kk, v) in row.iter().enumerate() {
                        let at = 2 * (panel + (kk / 2) * nr * 2 + (j % nr) * 2 + kk % 2);
                        out[at..at + 2].copy_from_slice(&i16::from(*v).to_le_bytes());
                    }
                }
                d
            }
            // Rows as they are.
            QIsa::Portable => {
                let mut d = Bytes::zeroed(n * k);
                for (o, v) in d.as_mut().iter_mut().zip(&q) {
                    *o = *v as u8;
                }
                d
            }
        };
        let inv_smooth = smooth.map(|s| s.iter().map(|v| 1.0 / v).collect());
        QMatrix { qisa, isa, k, n, scales, colsum, inv_smooth, data }
    }

    /// The dequantized weight, `[n][k]`, smoothing undone (what a merge such as LoRA starts
    /// from).
    pub fn to_weight(&self) -> Vec<f32> {
        let (k, nr) = (self.k, self.qisa.nr());
        let d = self.data.as_ptr();
        let mut w = vec![0.0; self.n * k];
        for (j, row) in w.chunks_exact_mut(k).enumerate() {
            let panel = (j / nr) * k * nr;
            for (kk, v) in row.iter_mut().enumerate() {
                // SAFETY: every offset below is inside the packed data (n * k values).
                let q = unsafe {
                    match self.qisa {
                        QIsa::Vnni => *d.add(panel + (kk / 4) * nr * 4 + (j % nr) * 4 + kk % 4) as i8,
                        QIsa::Avx2 => {
                            let at = 2 * (panel + (kk / 2) * nr * 2 + (j % nr) * 2 + kk % 2);
                            i16::from_le_bytes([*d.add(at), *d.add(at + 1)]) as i8
                        }
                        QIsa::Portable => *d.add(j * k + kk) as i8,
                    }
                };
                *v = f32::from(q) * self.scales[j];
                if let Some(inv) = &self.inv_smooth {
                    *v *= inv[kk];
                }
            }
        }
        w
    }

    pub fn k(&self) -> usize {
        self.k
    }
    pub fn n(&self) -> usize {
        self.n
    }
    pub fn isa(&self) -> Isa {
        self.isa
    }
    pub fn qisa(&self) -> QIsa {
        self.qisa
    }
    pub fn bytes(&self) -> usize {
        self.data.bytes() + self.scales.len() * 4 + self.colsum.len() * 4
    }
}

/// Quantize `x` into `q` (symmetric, 127 levels a side, half to even); returns the scale.
#[inline(always)]
fn quantize_row(x: &[f32], q: &mut [i8]) -> f32 {
    let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    if amax == 0.0 || !amax.is_finite() {
        q.fill(0);
        return if amax == 0.0 { 0.0 } else { f32::NAN };
    }
    let inv = 127.0 / amax;
    for (o, v) in q.iter_mut().zip(x) {
        *o = (v * inv).round_ties_even().clamp(-127.0, 127.0) as i8;
    }
    amax / 127.0
}

/// 2^23: adding and subtracting it rounds a value in [0, 2^23) half to even (IEEE
/// round-to-nearest) in two vector adds, where `round_ties_even` may become a call per value.
const ROUND: f32 = 8_388_608.0;

/// A row's scale, inverse scale and zero point from its minimum and maximum (both taken
/// with zero, so zero is always representable); `None` for a row of zeros or non-finite
/// values.
#[inline(always)]
fn row_params(lo: f32, hi: f32) -> Option<(f32, f32, f32)> {
    let range = hi - lo;
    if range == 0.0 || !range.is_finite() {
        return None;
    }
    let inv = 255.0 / range;
    Some((range / 255.0, inv, (-lo * inv).round_ties_even().clamp(0.0, 255.0)))
}

/// One activation value quantized: the operations every vector variant below performs, in
/// the same order (so all agree bit for bit).
#[inline(always)]
#[allow(clippy::manual_clamp)] // max/min as the vector variants do (clamp differs on NaN)
fn quantize_one(v: f32, inv: f32, zp: f32) -> u8 {
    ((((v * inv + zp).max(0.0).min(255.0)) + ROUND) - ROUND) as u8
}

/// What an all-zero (or non-finite) row quantizes to: scale and zero point.
fn degenerate(lo: f32, hi: f32) -> (f32, i32) {
    (if hi - lo == 0.0 { 0.0 } else { f32::NAN }, 0)
}

/// Quantize an activation row into `u` (asymmetric, 255 steps over [min, max]); returns the
/// scale and the zero point. Portable.
fn quantize_row_asym(x: &[f32], u: &mut [u8]) -> (f32, i32) {
    let (lo, hi) = x.iter().fold((0f32, 0f32), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let Some((scale, inv, zp)) = row_params(lo, hi) else {
        u.fill(0);
        return degenerate(lo, hi);
    };
    for (o, v) in u.iter_mut().zip(x) {
        *o = quantize_one(*v, inv, zp);
    }
    (scale, zp as i32)
}

/// [`quantize_row_asym`] with AVX-512, into bytes (the VNNI kernel's activations).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
unsafe fn quantize_row_512(x: &[f32], u: &mut [u8]) -> (f32, i32) {
    let n16 = x.len() / 16 * 16;
    let (mut vlo, mut vhi) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    for i in (0..n16).step_by(16) {
        let v = _mm512_loadu_ps(x.as_ptr().add(i));
        vlo = _mm512_min_ps(vlo, v);
        vhi = _mm512_max_ps(vhi, v);
    }
    let (mut lo, mut hi) = (_mm512_reduce_min_ps(vlo), _mm512_reduce_max_ps(vhi));
    for v in &x[n16..] {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    let Some((scale, inv, zp)) = row_params(lo, hi) else {
        u.fill(0);
        return degenerate(lo, hi);
    };
    let (vinv, vzp, top, round) =
        (_mm512_set1_ps(inv), _mm512_set1_ps(zp), _mm512_set1_ps(255.0), _mm512_set1_ps(ROUND));
    for i in (0..n16).step_by(16) {
        let t = _mm512_add_ps(_mm512_mul_ps(_mm512_loadu_ps(x.as_ptr().add(i)), vinv), vzp);
        let t = _mm512_min_ps(_mm512_max_ps(t, _mm512_setzero_ps()), top);
        let t = _mm512_sub_ps(_mm512_add_ps(t, round), round);
        let bytes = _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(t));
        _mm_storeu_si128(u.as_mut_ptr().add(i).cast(), bytes);
    }
    for (o, v) in u[n16..].iter_mut().zip(&x[n16..]) {
        *o = quantize_one(*v, inv, zp);
    }
    (scale, zp as i32)
}

/// [`quantize_row_asym`] with AVX2, into 16-bit values (the AVX2 kernel's activations).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn quantize_row_256(x: &[f32], u: &mut [i16]) -> (f32, i32) {
    let n8 = x.len() / 8 * 8;
    let (mut vlo, mut vhi) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    for i in (0..n8).step_by(8) {
        let v = _mm256_loadu_ps(x.as_ptr().add(i));
        vlo = _mm256_min_ps(vlo, v);
        vhi = _mm256_max_ps(vhi, v);
    }
    let (mut l8, mut h8) = ([0f32; 8], [0f32; 8]);
    _mm256_storeu_ps(l8.as_mut_ptr(), vlo);
    _mm256_storeu_ps(h8.as_mut_ptr(), vhi);
    let (mut lo, mut hi) = (l8.iter().fold(0f32, |a, v| a.min(*v)), h8.iter().fold(0f32, |a, v| a.max(*v)));
    for v in &x[n8..] {
        lo = lo.min(*v);
        hi = hi.max(*v);
    }
    let Some((scale, inv, zp)) = row_params(lo, hi) else {
        u.fill(0);
        return degenerate(lo, hi);
    };
    let (vinv, vzp, top, round) =
        (_mm256_set1_ps(inv), _mm256_set1_ps(zp), _mm256_set1_ps(255.0), _mm256_set1_ps(ROUND));
    for i in (0..n8).step_by(8) {
        let t = _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x.as_ptr().add(i)), vinv), vzp);
        let t = _mm256_min_ps(_mm256_max_ps(t, _mm256_setzero_ps()), top);
        let t = _mm256_sub_ps(_mm256_add_ps(t, round), round);
        let q = _mm256_cvttps_epi32(t);
        let words = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256::<1>(q));
        _mm_storeu_si128(u.as_mut_ptr().add(i).cast(), words);
    }
    for (o, v) in u[n8..].iter_mut().zip(&x[n8..]) {
        *o = i16::from(quantize_one(*v, inv, zp));
    }
    (scale, zp as i32)
}

/// Activations of one product, quantized for the kernel: rows `lda` bytes apart (u8 for
/// VNNI, i16 otherwise), and each row's scale and zero point.
#[derive(Default)]
struct QActs {
    data: Bytes,
    scales: Vec<f32>,
    zps: Vec<i32>,
    row: Vec<u8>,
    smoothed: Vec<f32>,
}

impl QActs {
    /// Quantize `m` rows of `x` for `qisa`'s kernel; returns the row stride in bytes.
    fn fill(&mut self, x: &[f32], m: usize, k: usize, qisa: QIsa, inv_smooth: Option<&[f32]>) -> usize {
        let lda = if qisa == QIsa::Vnni { k } else { 2 * k };
        self.data.resize_scratch(m * lda);
        self.scales.clear();
        self.zps.clear();
        self.row.resize(k, 0);
        self.smoothed.resize(k, 0.0);
        let out = self.data.as_mut();
        for (i, xr) in x.chunks_exact(k).take(m).enumerate() {
            let xr = match inv_smooth {
                Some(inv) => {
                    for ((o, v), f) in self.smoothed.iter_mut().zip(xr).zip(inv) {
                        *o = v * f;
                    }
                    &self.smoothed[..]
                }
                None => xr,
            };
            let dst = &mut out[i * lda..(i + 1) * lda];
            // SAFETY: `dst` is 2k bytes at an even offset of 64-byte-aligned storage when
            // the kernel takes 16-bit values: k aligned i16s.
            let mut wide = || unsafe { std::slice::from_raw_parts_mut(dst.as_mut_ptr().cast::<i16>(), k) };
            let (scale, zp) = match qisa {
                // SAFETY: the kernel sets imply these instruction sets (`QIsa::detect`).
                #[cfg(target_arch = "x86_64")]
                QIsa::Vnni => unsafe { quantize_row_512(xr, dst) },
                #[cfg(target_arch = "x86_64")]
                QIsa::Avx2 => unsafe { quantize_row_256(xr, wide()) },
                _ => {
                    let r = quantize_row_asym(xr, &mut self.row);
                    for (d, u) in wide().iter_mut().zip(&self.row) {
                        *d = i16::from(*u);
                    }
                    r
                }
            };
            self.scales.push(scale);
            self.zps.push(zp);
        }
        lda
    }
}

thread_local! {
    /// The quantized activations of the product this thread is running.
    static QACTS: std::cell::RefCell<QActs> = std::cell::RefCell::new(QActs::default());
}

/// One kernel call: `rows` rows of activations x one panel.
struct QTile {
    k: usize,
    /// Row 0 of the tile's activations (bytes; `lda` bytes a row).
    a: *const u8,
    lda: usize,
    b: *const u8,
    c: *mut f32,
    ldc: usize,
    row_scales: *const f32,
    row_zps: *const i32,
    col_scales: *const f32,
    col_sums: *const i32,
    bias: *const f32,
    residual: *const f32,
    ldr: usize,
    gelu: bool,
}

/// Integer sums of row `i` -> f32 outputs with the epilogue; the same operations in the same
/// order for every kernel.
#[inline(always)]
unsafe fn finish<const NR: usize>(t: &QTile, i: usize, acc: &[i32; NR]) {
    let row = std::slice::from_raw_parts_mut(t.c.add(i * t.ldc), NR);
    let sx = *t.row_scales.add(i);
    let zp = *t.row_zps.add(i);
    let sw = std::slice::from_raw_parts(t.col_scales, NR);
    let sums = std::slice::from_raw_parts(t.col_sums, NR);
    for j in 0..NR {
        row[j] = (acc[j] - zp * sums[j]) as f32 * sx * sw[j];
    }
    if !t.bias.is_null() {
        for (v, b) in row.iter_mut().zip(std::slice::from_raw_parts(t.bias, NR)) {
            *v += b;
        }
    }
    if !t.residual.is_null() {
        for (v, r) in row.iter_mut().zip(std::slice::from_raw_parts(t.residual.add(i * t.ldr), NR)) {
            *v += r;
        }
    }
    if t.gelu {
        gelu_slice(row);
    }
}

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// VNNI kernel: MR x 32, two zmm of i32 sums per row, four k per step.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
unsafe fn kvnni<const MR: usize>(t: &QTile) {
    let mut c0 = [_mm512_setzero_si512(); MR];
    let mut c1 = [_mm512_setzero_si512(); MR];
    let mut b = t.b;
    for kq in 0..t.k / 4 {
        let b0 = _mm512_loadu_si512(b.cast());
        let b1 = _mm512_loadu_si512(b.add(64).cast());
        for i in 0..MR {
            let av = _mm512_set1_epi32(t.a.add(i * t.lda + 4 * kq).cast::<i32>().read_unaligned());
            c0[i] = _mm512_dpbusd_epi32(c0[i], av, b0);
            c1[i] = _mm512_dpbusd_epi32(c1[i], av, b1);
        }
        b = b.add(128);
    }
    let mut acc = [0i32; 32];
    for i in 0..MR {
        _mm512_storeu_si512(acc.as_mut_ptr().cast(), c0[i]);
        _mm512_storeu_si512(acc.as_mut_ptr().add(16).cast(), c1[i]);
        finish::<32>(t, i, &acc);
    }
}

/// AVX2 kernel: MR x 16, two ymm of i32 sums per row, two k per step.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kavx2<const MR: usize>(t: &QTile) {
    let mut c0 = [_mm256_setzero_si256(); MR];
    let mut c1 = [_mm256_setzero_si256(); MR];
    let mut b = t.b;
    for kp in 0..t.k / 2 {
        let b0 = _mm256_loadu_si256(b.cast());
        let b1 = _mm256_loadu_si256(b.add(32).cast());
        for i in 0..MR {
            let av = _mm256_set1_epi32(t.a.add(i * t.lda + 4 * kp).cast::<i32>().read_unaligned());
            c0[i] = _mm256_add_epi32(c0[i], _mm256_madd_epi16(av, b0));
            c1[i] = _mm256_add_epi32(c1[i], _mm256_madd_epi16(av, b1));
        }
        b = b.add(64);
    }
    let mut acc = [0i32; 16];
    for i in 0..MR {
        _mm256_storeu_si256(acc.as_mut_ptr().cast(), c0[i]);
        _mm256_storeu_si256(acc.as_mut_ptr().add(8).cast(), c1[i]);
        finish::<16>(t, i, &acc);
    }
}

/// Portable kernel: one row x 16 columns of `[n][k]` i8 weights, i16 activations.
unsafe fn kportable(t: &QTile, rows: usize) {
    for i in 0..rows {
        let a = std::slice::from_raw_parts(t.a.add(i * t.lda).cast::<i16>(), t.k);
        let mut acc = [0i32; 16];
        for (j, s) in acc.iter_mut().enumerate() {
            let w = std::slice::from_raw_parts(t.b.add(j * t.k).cast::<i8>(), t.k);
            *s = a.iter().zip(w).map(|(x, y)| i32::from(*x) * i32::from(*y)).sum();
        }
        finish::<16>(t, i, &acc);
    }
}

/// Rows per kernel call.
fn mr(qisa: QIsa) -> usize {
    match qisa {
        QIsa::Vnni => 12,
        QIsa::Avx2 => 6,
        QIsa::Portable => 4,
    }
}

unsafe fn kernel(qisa: QIsa, rows: usize, t: &QTile) {
    macro_rules! by_rows {
        ($f:ident; $($r:literal)*) => {
            match rows { $($r => $f::<$r>(t),)* _ => unreachable!("rows {rows}") }
        };
    }
    match qisa {
        #[cfg(target_arch = "x86_64")]
        QIsa::Vnni => by_rows!(kvnni; 1 2 3 4 5 6 7 8 9 10 11 12),
        #[cfg(target_arch = "x86_64")]
        QIsa::Avx2 => by_rows!(kavx2; 1 2 3 4 5 6),
        _ => kportable(t, rows),
    }
}

/// [`super::gemm::linear`] on int8 weights: `out` (`m x n`) = `x W^T` + epilogue. With
/// `split` > 1 the columns are divided among that many rayon tasks on the current pool.
pub fn qlinear(x: &[f32], m: usize, w: &QMatrix, out: &mut [f32], epi: Epilogue<'_>, split: usize) {
    let (k, n) = (w.k, w.n);
    assert!(x.len() >= m * k && out.len() >= m * n, "qlinear: buffers too small");
    let (bias, residual, ldr, gelu) = match epi {
        Epilogue::None => (std::ptr::null(), std::ptr::null(), 0, false),
        Epilogue::Bias(b) => (b.as_ptr(), std::ptr::null(), 0, false),
        Epilogue::BiasGelu(b) => (b.as_ptr(), std::ptr::null(), 0, true),
        Epilogue::BiasResidual(b, r, ldr) => {
            assert!(ldr >= n && r.len() >= (m.max(1) - 1) * ldr + n);
            (b.as_ptr(), r.as_ptr(), ldr, false)
        }
    };
    if let Epilogue::Bias(b) | Epilogue::BiasGelu(b) | Epilogue::BiasResidual(b, _, _) = epi {
        assert!(b.len() >= n);
    }
    assert!(w.qisa <= QIsa::detect(), "int8 weights packed for kernels this CPU lacks");
    if m == 0 {
        return;
    }
    QACTS.with(|cell| {
        let mut acts = cell.borrow_mut();
        let lda = acts.fill(x, m, k, w.qisa, w.inv_smooth.as_deref());
        let (a, row_scales) =
            (SendPtr(acts.data.as_ptr() as *mut u8), SendPtr(acts.scales.as_ptr() as *mut f32));
        let row_zps = SendPtr(acts.zps.as_ptr() as *mut i32);
        let c = SendPtr(out.as_mut_ptr());
        let (bias, residual) = (SendPtr(bias as *mut f32), SendPtr(residual as *mut f32));
        let nr = w.qisa.nr();
        let panel_bytes = match w.qisa {
            QIsa::Avx2 => 2 * k * nr,
            _ => k * nr,
        };
        let run = move |p0: usize, p1: usize| {
            let (a, row_scales, row_zps, c, bias, residual) = (a, row_scales, row_zps, c, bias, residual);
            let mrows = mr(w.qisa);
            for p in p0..p1 {
                let col = p * nr;
                let mut i = 0;
                while i < m {
                    let rows = mrows.min(m - i);
                    // SAFETY: bounds asserted above; `a` holds m quantized rows of `lda`
                    // bytes; tasks write disjoint column ranges of `out`.
                    unsafe {
                        let t = QTile {
                            k,
                            a: a.0.add(i * lda),
                            lda,
                            b: w.data.as_ptr().add(p * panel_bytes),
                            c: c.0.add(i * n + col),
                            ldc: n,
                            row_scales: row_scales.0.add(i),
                            row_zps: row_zps.0.add(i),
                            col_scales: w.scales.as_ptr().add(col),
                            col_sums: w.colsum.as_ptr().add(col),
                            bias: if bias.0.is_null() { bias.0 } else { bias.0.add(col) },
                            residual: if residual.0.is_null() {
                                residual.0
                            } else {
                                residual.0.add(i * ldr + col)
                            },
                            ldr,
                            gelu,
                        };
                        kernel(w.qisa, rows, &t);
                    }
                    i += rows;
                }
            }
        };
        let panels = n / nr;
        let split = split.clamp(1, panels);
        if split == 1 {
            run(0, panels);
        } else {
            use rayon::prelude::*;
            (0..split).into_par_iter().for_each(|s| run(panels * s / split, panels * (s + 1) / split));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_gives_the_same_bits_and_matches_the_dequantized_product() {
        // m with a tail for every kernel, n over several panels, k = two VNNI steps short of
        // a multiple of 16.
        let (m, n, k) = (29, 96, 392);
        let x: Vec<f32> = (0..m * k).map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 997.0).collect();
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 104_729 % 997) as f32 - 498.0) / 1009.0).collect();
        let bias: Vec<f32> = (0..n).map(|j| j as f32 / 100.0).collect();
        let res: Vec<f32> = (0..m * n).map(|i| (i % 13) as f32 - 6.0).collect();
        let mut first: Option<Vec<f32>> = None;
        for qisa in QIsa::available() {
            let q = QMatrix::from_weight(&w, n, k, qisa, Isa::Portable, None);
            let deq = q.to_weight();
            assert!(deq
                .iter()
                .zip(&w)
                .all(|(a, b)| (a - b).abs() <= q.scales.iter().cloned().fold(0.0, f32::max)));
            for split in [1, 3] {
                let mut y = vec![0f32; m * n];
                qlinear(&x, m, &q, &mut y, Epilogue::BiasResidual(&bias, &res, n), split);
                match &first {
                    None => first = Some(y.clone()),
                    Some(f) => assert!(f.iter().zip(&y).all(|(a, b)| a.to_bits() == b.to_bits()), "{qisa:?}"),
                }
                // Against the f32 product of the dequantized weights with the exact input:
                // only the activations' rounding differs (≤ half a step of each row's scale).
                for i in 0..m {
                    let xr = &x[i * k..(i + 1) * k];
                    let step = xr.iter().fold(0f32, |a, v| a.max(v.abs())) / 127.0;
                    for j in 0..n {
                        let wr = &deq[j * k..(j + 1) * k];
                        let exact: f32 =
                            xr.iter().zip(wr).map(|(a, b)| a * b).sum::<f32>() + bias[j] + res[i * n + j];
                        let bound = 0.5 * step * wr.iter().map(|v| v.abs()).sum::<f32>() + 1e-3;
                        assert!((y[i * n + j] - exact).abs() <= bound, "{qisa:?} ({i},{j})");
                    }
                }
            }
        }
        let mut gelu = vec![0f32; m * n];
        let q = QMatrix::from_weight(&w, n, k, QIsa::detect(), Isa::Portable, None);
        qlinear(&x, m, &q, &mut gelu, Epilogue::BiasGelu(&bias), 1);
        let mut plain = vec![0f32; m * n];
        qlinear(&x, m, &q, &mut plain, Epilogue::Bias(&bias), 1);
        assert!(gelu.iter().zip(&plain).all(|(g, p)| *g == super::super::ops::gelu(*p)));
    }

    #[test]
    fn smoothing_keeps_the_product_and_the_kernels_agree() {
        let (m, n, k) = (13, 64, 96);
        // One input channel 40x the others, as a LayerNorm output's outlier channel.
        let x: Vec<f32> = (0..m * k)
            .map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 997.0 * if i % k == 5 { 40.0 } else { 1.0 })
            .collect();
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 104_729 % 997) as f32 - 498.0) / 1009.0).collect();
        let mut input_max = vec![0f32; k];
        for row in x.chunks_exact(k) {
            for (a, v) in input_max.iter_mut().zip(row) {
                *a = a.max(v.abs());
            }
        }
        let smooth: Vec<f32> = input_max.iter().map(|a| a.sqrt()).collect();
        let exact: Vec<f32> =
            (0..m * n).map(|o| (0..k).map(|kk| x[(o / n) * k + kk] * w[(o % n) * k + kk]).sum()).collect();
        let err = |y: &[f32]| y.iter().zip(&exact).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        let mut first: Option<Vec<f32>> = None;
        for qisa in QIsa::available() {
            let plain = QMatrix::from_weight(&w, n, k, qisa, Isa::Portable, None);
            let smoothed = QMatrix::from_weight(&w, n, k, qisa, Isa::Portable, Some(&smooth));
            let (mut a, mut b) = (vec![0f32; m * n], vec![0f32; m * n]);
            qlinear(&x, m, &plain, &mut a, Epilogue::None, 1);
            qlinear(&x, m, &smoothed, &mut b, Epilogue::None, 2);
            assert!(err(&b) < err(&a), "{qisa:?}: smoothing should help the outlier channel");
            let deq = smoothed.to_weight();
            assert!(deq.iter().zip(&w).all(|(d, v)| (d - v).abs() < 0.05), "{qisa:?}: smoothing undone");
            match &first {
                None => first = Some(b),
                Some(f) => assert!(f.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()), "{qisa:?}"),
            }
        }
    }

    #[test]
    fn zero_rows_stay_zero() {
        let (m, n, k) = (3, 32, 8);
        let mut x = vec![0.5f32; m * k];
        x[k..2 * k].fill(0.0);
        let w = vec![0.25f32; n * k];
        for qisa in QIsa::available() {
            let q = QMatrix::from_weight(&w, n, k, qisa, Isa::Portable, None);
            let mut y = vec![9f32; m * n];
            qlinear(&x, m, &q, &mut y, Epilogue::None, 1);
            assert!(y[n..2 * n].iter().all(|v| *v == 0.0), "{qisa:?}");
            assert!(y[..n].iter().all(|v| (v - 1.0).abs() < 1e-6), "{qisa:?}: {}", y[0]);
        }
    }
}
