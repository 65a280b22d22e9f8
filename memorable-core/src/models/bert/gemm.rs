//! Matrix products of the BERT forward: weights packed once at load into the panel layout the
//! micro-kernels read, cache-blocked loops, fused epilogues (bias, bias + GELU, bias +
//! residual), and one micro-kernel per instruction set (AVX-512 12x32, AVX2+FMA 6x16,
//! portable 4x16). Products of few rows (a query's tokens) run panel by panel, prefetching
//! the next panel of weights while the current one is in L1, since they are bound by
//! streaming the weights from memory rather than by arithmetic.
//!
//! Every output element is one fused multiply-add chain over k in order, started from zero
//! (later k-blocks continue the chain from the stored partial sum), then `+ bias`,
//! `+ residual`, GELU. So a row's result depends neither on the instruction set, nor on the
//! batch it is in, nor on how the work is split across threads: batched and one-at-a-time
//! embeddings are bit-identical.

use std::ops::{Deref, DerefMut};

use super::ops::{gelu_slice, Isa};

/// k-block length (rows of B, columns of A, per micro-kernel call).
const KC: usize = 384;
/// Rows per outer block (the B block is reused from L2 across them).
const MC: usize = 96;
/// Columns of B per L2 block.
const NC: usize = 256;
/// At most this many rows, the loops run panel by panel (see `gemm_panels`).
const SMALL_M: usize = 48;

/// A 64-byte-aligned, zero-initialized f32 buffer (panels and activation rows start on
/// cache lines, so vector loads never straddle two).
#[derive(Clone, Default)]
pub struct AVec {
    lines: Vec<Line>,
    len: usize,
}

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

impl AVec {
    pub fn zeros(len: usize) -> AVec {
        AVec { lines: vec![Line([0.0; 16]); len.div_ceil(16)], len }
    }
    /// Set the length to `len`, growing the allocation only if it is too small (contents
    /// unspecified). Scratch buffers call this on every use, allocating only while warming up.
    pub fn resize_scratch(&mut self, len: usize) {
        if self.lines.len() * 16 < len {
            self.lines = vec![Line([0.0; 16]); len.div_ceil(16)];
        }
        self.len = len;
    }
    pub fn from_slice(v: &[f32]) -> AVec {
        let mut a = AVec::zeros(v.len());
        a.copy_from_slice(v);
        a
    }
    /// Bytes held (capacity).
    pub fn bytes(&self) -> usize {
        self.lines.len() * 64
    }
}

impl Deref for AVec {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        // SAFETY: `lines` holds at least `len` contiguous, initialized f32s.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast(), self.len) }
    }
}

impl DerefMut for AVec {
    fn deref_mut(&mut self) -> &mut [f32] {
        // SAFETY: as in `deref`, and `&mut self` is unique.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast(), self.len) }
    }
}

impl std::fmt::Debug for AVec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AVec(len {})", self.len)
    }
}

/// Panel width (columns of B per micro-kernel call) of an instruction set's kernel.
pub fn panel_width(isa: Isa) -> usize {
    match isa {
        Isa::Avx512 => 32,
        Isa::Avx2 | Isa::Portable => 16,
    }
}

/// A `k x n` right-hand matrix, packed for one instruction set's kernel: panels of
/// [`panel_width`] columns, each stored k-major (`[k][nr]`), so the kernel streams it.
#[derive(Clone)]
pub struct PackedMatrix {
    isa: Isa,
    k: usize,
    n: usize,
    data: AVec,
}

impl std::fmt::Debug for PackedMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PackedMatrix({}x{}, {})", self.k, self.n, self.isa.name())
    }
}

impl PackedMatrix {
    /// Pack a linear layer's weight, stored `[n][k]` (out x in, as PyTorch), for `y = x W^T`.
    /// `n` must be a multiple of the panel width (32 suffices for every kernel).
    pub fn from_weight(w: &[f32], n: usize, k: usize, isa: Isa) -> PackedMatrix {
        assert_eq!(w.len(), n * k, "weight is not {n}x{k}");
        let nr = panel_width(isa);
        assert_eq!(n % nr, 0, "{n} output features is not a multiple of {nr}");
        let mut data = AVec::zeros(n * k);
        for (j, row) in w.chunks_exact(k).enumerate() {
            let panel = &mut data[(j / nr) * k * nr..][..k * nr];
            for (kk, v) in row.iter().enumerate() {
                panel[kk * nr + j % nr] = *v;
            }
        }
        PackedMatrix { isa, k, n, data }
    }

    /// The weight back in `[n][k]` layout (to merge deltas such as LoRA, then repack).
    pub fn to_weight(&self) -> Vec<f32> {
        let nr = panel_width(self.isa);
        let mut w = vec![0.0; self.n * self.k];
        for (j, row) in w.chunks_exact_mut(self.k).enumerate() {
            let panel = &self.data[(j / nr) * self.k * nr..][..self.k * nr];
            for (kk, v) in row.iter_mut().enumerate() {
                *v = panel[kk * nr + j % nr];
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
    pub fn bytes(&self) -> usize {
        self.data.bytes()
    }

    pub(crate) fn as_b(&self) -> BMat {
        let nr = panel_width(self.isa);
        BMat { ptr: self.data.as_ptr(), ldb: nr, panel_stride: self.k * nr, k: self.k, panels: self.n / nr }
    }
}

/// What to do with a finished output tile.
#[derive(Clone, Copy)]
pub enum Epilogue<'a> {
    None,
    /// `+ bias[col]`.
    Bias(&'a [f32]),
    /// `gelu(. + bias[col])`.
    BiasGelu(&'a [f32]),
    /// `. + bias[col] + residual[row][col]`; the residual rows are `ldr` apart.
    BiasResidual(&'a [f32], &'a [f32], usize),
}

/// A right-hand matrix as the kernels read it: panel `p` row `kk` starts at
/// `ptr + p * panel_stride + kk * ldb` and holds the panel width of values.
#[derive(Clone, Copy)]
pub(crate) struct BMat {
    pub ptr: *const f32,
    pub ldb: usize,
    pub panel_stride: usize,
    pub k: usize,
    pub panels: usize,
}

/// One micro-kernel call: `rows` (<= the kernel's MR) x panel width. A is either packed
/// k-major (row `i` of step `kk` at `a[kk * rows + i]`) or read in place (`a[i * lda + kk]`).
struct Tile {
    k: usize,
    a: *const f32,
    lda: usize,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    /// Continue from the partial sums already in C (a later k-block).
    accumulate: bool,
    bias: *const f32,
    residual: *const f32,
    ldr: usize,
    gelu: bool,
    /// Software prefetch: each k-step prefetches the B row (one cache line per 16 floats)
    /// at `pf`, then moves it `pf_stride` bytes on. Pointing it at the tile's own B with
    /// the row stride makes it a no-op that costs one load slot, cheaper than a branch per
    /// step. Computed with wrapping arithmetic, it may run past the matrix: prefetches
    /// never fault.
    pf: *const f32,
    pf_stride: usize,
}

/// `C[m x n] = A[m x k] B` + epilogue for the panels `[p0, p1)` of B (columns
/// `p0 * nr ..`), on the calling thread.
///
/// `pack_a` copies blocks of A k-major first (worth it when B has many panels; small
/// products read A in place).
///
/// # Safety
/// `a` has `m` rows of `b.k` readable values `lda` apart; `c` has `m` rows of writable
/// columns `[p0 * nr, p1 * nr)` `ldc` apart, not overlapping `a`, `b` or the epilogue's
/// slices; `b` describes readable memory; the epilogue's bias covers those columns and its
/// residual has `m` such rows; `isa` is supported by this CPU and matches `b`'s packing.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_panels(
    isa: Isa,
    m: usize,
    a: *const f32,
    lda: usize,
    b: BMat,
    p0: usize,
    p1: usize,
    c: *mut f32,
    ldc: usize,
    epi: Epilogue<'_>,
    pack_a: bool,
) {
    let nr = panel_width(isa);
    let mr = match isa {
        Isa::Avx512 => 12,
        Isa::Avx2 => 6,
        Isa::Portable => 4,
    };
    let ncp = (NC / nr).max(1);
    let (bias, residual, ldr, gelu) = match epi {
        Epilogue::None => (std::ptr::null(), std::ptr::null(), 0, false),
        Epilogue::Bias(b) => (b.as_ptr(), std::ptr::null(), 0, false),
        Epilogue::BiasGelu(b) => (b.as_ptr(), std::ptr::null(), 0, true),
        Epilogue::BiasResidual(b, r, ldr) => (b.as_ptr(), r.as_ptr(), ldr, false),
    };
    let k = b.k;
    APACK.with(|buf| {
        let mut apack = buf.borrow_mut();
        let mut m0 = 0;
        while m0 < m {
            let mc = MC.min(m - m0);
            let mut k0 = 0;
            while k0 < k.max(1) {
                let kc = KC.min(k - k0);
                let last = k0 + kc >= k;
                // A's block, packed once and reused for every panel: the tile starting at
                // row i (see `row_tiles`) holds its rows k-major at offset i * kc.
                apack.resize_scratch(if pack_a { mc * kc } else { 0 });
                for (i, rows) in row_tiles(mc, mr).filter(|_| pack_a) {
                    let dst = &mut apack[i * kc..(i + rows) * kc];
                    for r in 0..rows {
                        let src = std::slice::from_raw_parts(a.add((m0 + i + r) * lda + k0), kc);
                        for (kk, v) in src.iter().enumerate() {
                            dst[kk * rows + r] = *v;
                        }
                    }
                }
                let tile = |i: usize, p: usize| {
                    let row = m0 + i;
                    Tile {
                        k: kc,
                        a: if pack_a { apack.as_ptr().add(i * kc) } else { a.add(row * lda + k0) },
                        lda,
                        b: b.ptr.add(p * b.panel_stride + k0 * b.ldb),
                        ldb: b.ldb,
                        c: c.add(row * ldc + p * nr),
                        ldc,
                        accumulate: k0 > 0,
                        bias: if last && !bias.is_null() { bias.add(p * nr) } else { std::ptr::null() },
                        residual: if last && !residual.is_null() {
                            residual.add(row * ldr + p * nr)
                        } else {
                            std::ptr::null()
                        },
                        ldr,
                        gelu: last && gelu,
                        // Its own panel, a few steps ahead (AVX-512: the bigger tile drains a
                        // panel faster than the hardware prefetcher fills it), else its own
                        // row (a no-op).
                        pf: b.ptr.wrapping_add(
                            p * b.panel_stride + (k0 + if isa == Isa::Avx512 { PREFETCH } else { 0 }) * b.ldb,
                        ),
                        pf_stride: b.ldb * F32_BYTES,
                    }
                };
                if mc <= SMALL_M {
                    // Few rows (a query): every row tile of a panel runs while the panel is
                    // in L1, and the tiles after the first prefetch the next panel between
                    // them, so streaming the weights from memory overlaps the arithmetic
                    // instead of preceding it.
                    let tiles = mc.div_ceil(mr);
                    let share = kc.div_ceil((tiles - 1).max(1));
                    for p in p0..p1 {
                        for (j, (i, rows)) in row_tiles(mc, mr).enumerate() {
                            let mut t = tile(i, p);
                            if tiles == 1 || (j == 0 && p == p0) {
                                // Nobody fetched this panel ahead: prefetch it as it goes.
                                t.pf = b.ptr.wrapping_add(p * b.panel_stride + (k0 + PREFETCH) * b.ldb);
                            } else if j > 0 && p + 1 < p1 {
                                // Tile j's share of the next panel, spread over its k-steps.
                                let r0 = (j - 1) * share;
                                t.pf = b.ptr.wrapping_add((p + 1) * b.panel_stride + (k0 + r0) * b.ldb);
                                t.pf_stride = b.ldb * F32_BYTES / (tiles - 1);
                            }
                            kernel(isa, rows, pack_a, &t);
                        }
                    }
                } else {
                    let mut pc = p0;
                    while pc < p1 {
                        let pc_end = (pc + ncp).min(p1);
                        for (i, rows) in row_tiles(mc, mr) {
                            for p in pc..pc_end {
                                kernel(isa, rows, pack_a, &tile(i, p));
                            }
                        }
                        pc = pc_end;
                    }
                }
                k0 += kc;
                if k == 0 {
                    break;
                }
            }
            m0 += mc;
        }
    });
}

/// The row tiles of a block of `mc` rows: (first row, rows), `mr` rows each but the last.
/// (Evening the tiles out, 13 rows as 5 + 4 + 4 instead of 6 + 6 + 1, measured no faster:
/// the small products are bound by streaming the weights, not by the tail tile's FMAs.)
fn row_tiles(mc: usize, mr: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..mc).step_by(mr).map(move |i| (i, mr.min(mc - i)))
}

thread_local! {
    /// Packed blocks of A (at most MC x KC values); `gemm_panels` never re-enters itself.
    static APACK: std::cell::RefCell<AVec> = std::cell::RefCell::new(AVec::default());
}

/// Dispatch on instruction set and row count (the tail rows get their own kernels).
unsafe fn kernel(isa: Isa, rows: usize, packed: bool, t: &Tile) {
    macro_rules! by_rows {
        ($f:ident; $($r:literal)*) => {
            match (rows, packed) {
                $(($r, true) => $f::<$r, true>(t), ($r, false) => $f::<$r, false>(t),)*
                _ => unreachable!("rows {rows}"),
            }
        };
    }
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => by_rows!(k512; 1 2 3 4 5 6 7 8 9 10 11 12),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => by_rows!(k256; 1 2 3 4 5 6),
        _ => by_rows!(kportable; 1 2 3 4),
    }
}

/// The epilogue on one finished row of `nr` values at `c` (already holding the sums).
#[inline(always)]
unsafe fn finish_row<const NR: usize>(t: &Tile, c: *mut f32, i: usize) {
    let row = std::slice::from_raw_parts_mut(c, NR);
    if !t.bias.is_null() {
        let bias = std::slice::from_raw_parts(t.bias, NR);
        for (v, b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
    if !t.residual.is_null() {
        let res = std::slice::from_raw_parts(t.residual.add(i * t.ldr), NR);
        for (v, r) in row.iter_mut().zip(res) {
            *v += r;
        }
    }
    if t.gelu {
        gelu_slice(row);
    }
}

/// Portable kernel: MR x 16, one `mul_add` chain per element (NEON `fmla` on aarch64).
unsafe fn kportable<const MR: usize, const PACKED: bool>(t: &Tile) {
    const NR: usize = 16;
    let mut acc = [[0f32; NR]; MR];
    if t.accumulate {
        for (i, row) in acc.iter_mut().enumerate() {
            row.copy_from_slice(std::slice::from_raw_parts(t.c.add(i * t.ldc), NR));
        }
    }
    for kk in 0..t.k {
        let b = std::slice::from_raw_parts(t.b.add(kk * t.ldb), NR);
        for (i, row) in acc.iter_mut().enumerate() {
            let a = if PACKED { *t.a.add(kk * MR + i) } else { *t.a.add(i * t.lda + kk) };
            for (v, bv) in row.iter_mut().zip(b) {
                *v = a.mul_add(*bv, *v);
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        let c = t.c.add(i * t.ldc);
        std::ptr::copy_nonoverlapping(row.as_ptr(), c, NR);
        finish_row::<NR>(t, c, i);
    }
}

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Bytes per f32 (prefetch strides are in bytes).
const F32_BYTES: usize = std::mem::size_of::<f32>();

/// k-steps ahead a kernel prefetches its own panel of B.
const PREFETCH: usize = 12;

/// AVX-512 kernel: MR x 32 (two zmm per row, up to 24 accumulators), A broadcast from memory.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
unsafe fn k512<const MR: usize, const PACKED: bool>(t: &Tile) {
    let mut c0 = [_mm512_setzero_ps(); MR];
    let mut c1 = [_mm512_setzero_ps(); MR];
    if t.accumulate {
        for i in 0..MR {
            c0[i] = _mm512_loadu_ps(t.c.add(i * t.ldc));
            c1[i] = _mm512_loadu_ps(t.c.add(i * t.ldc + 16));
        }
    }
    let mut a = t.a;
    let mut b = t.b;
    let mut pf = t.pf as *const i8;
    for _ in 0..t.k {
        _mm_prefetch::<_MM_HINT_T0>(pf);
        _mm_prefetch::<_MM_HINT_T0>(pf.wrapping_add(64));
        pf = pf.wrapping_add(t.pf_stride);
        let b0 = _mm512_loadu_ps(b);
        let b1 = _mm512_loadu_ps(b.add(16));
        for i in 0..MR {
            let av = _mm512_set1_ps(if PACKED { *a.add(i) } else { *a.add(i * t.lda) });
            c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
        }
        a = a.add(if PACKED { MR } else { 1 });
        b = b.add(t.ldb);
    }
    for i in 0..MR {
        let c = t.c.add(i * t.ldc);
        _mm512_storeu_ps(c, c0[i]);
        _mm512_storeu_ps(c.add(16), c1[i]);
        finish_row::<32>(t, c, i);
    }
}

/// AVX2+FMA kernel: MR x 16 (two ymm per row, up to 12 accumulators).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn k256<const MR: usize, const PACKED: bool>(t: &Tile) {
    let mut c0 = [_mm256_setzero_ps(); MR];
    let mut c1 = [_mm256_setzero_ps(); MR];
    if t.accumulate {
        for i in 0..MR {
            c0[i] = _mm256_loadu_ps(t.c.add(i * t.ldc));
            c1[i] = _mm256_loadu_ps(t.c.add(i * t.ldc + 8));
        }
    }
    let mut a = t.a;
    let mut b = t.b;
    let mut pf = t.pf as *const i8;
    for _ in 0..t.k {
        _mm_prefetch::<_MM_HINT_T0>(pf);
        pf = pf.wrapping_add(t.pf_stride);
        let b0 = _mm256_loadu_ps(b);
        let b1 = _mm256_loadu_ps(b.add(8));
        for i in 0..MR {
            let av = _mm256_broadcast_ss(&*if PACKED { a.add(i) } else { a.add(i * t.lda) });
            c0[i] = _mm256_fmadd_ps(av, b0, c0[i]);
            c1[i] = _mm256_fmadd_ps(av, b1, c1[i]);
        }
        a = a.add(if PACKED { MR } else { 1 });
        b = b.add(t.ldb);
    }
    for i in 0..MR {
        let c = t.c.add(i * t.ldc);
        _mm256_storeu_ps(c, c0[i]);
        _mm256_storeu_ps(c.add(8), c1[i]);
        finish_row::<16>(t, c, i);
    }
}

/// A raw pointer that may cross to another thread (each thread writes disjoint columns).
#[derive(Clone, Copy)]
pub(crate) struct SendPtr<T>(pub *mut T);
// SAFETY: only used to hand disjoint regions of one buffer to scoped worker threads.
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

/// Linear layer `y = x W^T + b` on packed weights, with a fused epilogue; `out` gets
/// `m x n` (`ldc` = n). When `split` > 1 the columns are divided among that many rayon tasks
/// on the current pool (for small `m`, where rows are too few to divide).
#[allow(clippy::too_many_arguments)]
pub fn linear(x: &[f32], m: usize, w: &PackedMatrix, out: &mut [f32], epi: Epilogue<'_>, split: usize) {
    let (k, n) = (w.k, w.n);
    assert!(x.len() >= m * k && out.len() >= m * n, "linear: buffers too small");
    match epi {
        Epilogue::None => {}
        Epilogue::Bias(b) | Epilogue::BiasGelu(b) => assert!(b.len() >= n),
        Epilogue::BiasResidual(b, r, ldr) => {
            assert!(b.len() >= n && ldr >= n && r.len() >= (m.max(1) - 1) * ldr + n)
        }
    }
    assert!(w.isa <= Isa::detect(), "weights packed for an instruction set this CPU lacks");
    let b = w.as_b();
    let c = SendPtr(out.as_mut_ptr());
    let xs = SendPtr(x.as_ptr() as *mut f32);
    let b = SendB(b);
    let run = move |p0: usize, p1: usize| {
        let (c, xs, b) = (c, xs, b);
        // SAFETY: bounds asserted above; tasks write disjoint column ranges of `out`.
        unsafe { gemm_panels(w.isa, m, xs.0, k, b.0, p0, p1, c.0, n, epi, m > SMALL_M) }
    };
    let panels = b.0.panels;
    let split = split.clamp(1, panels);
    if split == 1 {
        run(0, panels);
    } else {
        use rayon::prelude::*;
        (0..split).into_par_iter().for_each(|s| run(panels * s / split, panels * (s + 1) / split));
    }
}

#[derive(Clone, Copy)]
struct SendB(BMat);
// SAFETY: BMat points into a matrix that outlives the scoped tasks reading it.
unsafe impl Send for SendB {}
unsafe impl Sync for SendB {}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[f32], w: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
        let mut y = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0f32;
                for kk in 0..k {
                    s = x[i * k + kk].mul_add(w[j * k + kk], s);
                }
                y[i * n + j] = s;
            }
        }
        y
    }

    #[test]
    fn packing_round_trips_and_kernels_agree_bit_for_bit() {
        // k > KC (two k-blocks), m with a tail for every kernel, n over two L2 blocks; m
        // below SMALL_M (panel by panel) and above MC (two row blocks, L2-blocked order).
        for m in [29, 101] {
            product_agrees_bit_for_bit(m, 320, 400);
        }
    }

    fn product_agrees_bit_for_bit(m: usize, n: usize, k: usize) {
        let x: Vec<f32> = (0..m * k).map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 997.0).collect();
        let w: Vec<f32> = (0..n * k).map(|i| ((i * 104_729 % 997) as f32 - 498.0) / 1009.0).collect();
        let bias: Vec<f32> = (0..n).map(|j| j as f32 / 100.0).collect();
        let res: Vec<f32> = (0..m * n).map(|i| (i % 13) as f32 - 6.0).collect();
        let want = naive(&x, &w, m, n, k);
        for isa in Isa::available() {
            let p = PackedMatrix::from_weight(&w, n, k, isa);
            assert_eq!(p.to_weight(), w);
            // A read in place instead of packed (as attention does).
            let mut y = vec![0f32; m * n];
            let b = p.as_b();
            // SAFETY: x is m x k, y is m x n, b is p's own layout for this CPU's isa.
            unsafe {
                gemm_panels(isa, m, x.as_ptr(), k, b, 0, b.panels, y.as_mut_ptr(), n, Epilogue::None, false)
            };
            assert_eq!(y, want, "{isa:?} m {m} unpacked A");
            for split in [1, 3] {
                let mut y = vec![0f32; m * n];
                linear(&x, m, &p, &mut y, Epilogue::None, split);
                assert_eq!(y, want, "{isa:?} m {m} split {split}");
                linear(&x, m, &p, &mut y, Epilogue::BiasResidual(&bias, &res, n), split);
                for (i, v) in y.iter().enumerate() {
                    assert_eq!(*v, want[i] + bias[i % n] + res[i], "{isa:?}");
                }
                linear(&x, m, &p, &mut y, Epilogue::BiasGelu(&bias), split);
                for (i, v) in y.iter().enumerate() {
                    assert_eq!(*v, super::super::ops::gelu(want[i] + bias[i % n]), "{isa:?}");
                }
            }
        }
    }
}
