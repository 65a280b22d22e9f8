//! Elementwise and row kernels of the BERT forward (LayerNorm, GELU, softmax, sums), and the
//! run-time choice of instruction set every kernel of [`super`] dispatches on.
//!
//! The kernels are written once as plain Rust loops shaped for auto-vectorization (16-lane
//! accumulators, no early exits) and compiled three times by `simd_fn!`: for AVX-512, for
//! AVX2+FMA and for the build's baseline. Builds stay portable (no `target-cpu=native`); the
//! fastest variant the CPU supports is picked at run time. The loops spell out their
//! summation order and use no fused multiply-add, so all three variants give bit-identical
//! results: a vector does not depend on the machine's instruction set.

use std::sync::OnceLock;

/// Instruction set the BERT kernels run with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// Plain Rust, vectorized for the build's baseline (SSE2 on x86-64, NEON on aarch64).
    Portable,
    /// x86-64 with AVX2 and FMA.
    Avx2,
    /// x86-64 with AVX-512 (F, BW, DQ, VL) besides AVX2 and FMA.
    Avx512,
}

impl Isa {
    /// The best instruction set this CPU supports (detected once).
    pub fn detect() -> Isa {
        static ISA: OnceLock<Isa> = OnceLock::new();
        *ISA.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                use std::arch::is_x86_feature_detected as has;
                let avx2 = has!("avx2") && has!("fma");
                if avx2 && has!("avx512f") && has!("avx512bw") && has!("avx512dq") && has!("avx512vl") {
                    return Isa::Avx512;
                }
                if avx2 {
                    return Isa::Avx2;
                }
            }
            Isa::Portable
        })
    }

    /// Every instruction set this CPU can run, slowest first (tests compare them).
    pub fn available() -> Vec<Isa> {
        [Isa::Portable, Isa::Avx2, Isa::Avx512].into_iter().filter(|i| *i <= Isa::detect()).collect()
    }

    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2+fma",
            Isa::Avx512 => "avx512",
        }
    }
}

/// Defines `fn name(isa: Isa, args..)` whose body is compiled for each instruction set, and
/// runs the variant for `isa` (which must be one the CPU supports: `Isa::detect()` or below).
macro_rules! simd_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$m])* $vis fn $name(isa: $crate::models::bert::ops::Isa, $($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn inner($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")]
                unsafe fn v512($($arg: $ty),*) $(-> $ret)? { inner($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn v256($($arg: $ty),*) $(-> $ret)? { inner($($arg),*) }
                match isa {
                    // SAFETY: `isa` is at most `Isa::detect()`, so the CPU has these features.
                    $crate::models::bert::ops::Isa::Avx512 => return unsafe { v512($($arg),*) },
                    $crate::models::bert::ops::Isa::Avx2 => return unsafe { v256($($arg),*) },
                    $crate::models::bert::ops::Isa::Portable => {}
                }
            }
            let _ = isa;
            inner($($arg),*)
        }
    };
}

const LANES: usize = 16;

/// Sum in a fixed order: 16 interleaved partial sums, then the tail, then the partials.
#[inline(always)]
pub(crate) fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] += c[l];
        }
    }
    for (l, v) in tail.iter().enumerate() {
        acc[l] += v;
    }
    reduce(acc)
}

/// Sum of squared deviations from `mean`, in the same fixed order as [`sum`].
#[inline(always)]
fn sum_sq_dev(x: &[f32], mean: f32) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            let d = c[l] - mean;
            acc[l] += d * d;
        }
    }
    for (l, v) in tail.iter().enumerate() {
        let d = v - mean;
        acc[l] += d * d;
    }
    reduce(acc)
}

#[inline(always)]
fn reduce(acc: [f32; LANES]) -> f32 {
    let mut w = acc;
    let mut n = LANES / 2;
    while n > 0 {
        for l in 0..n {
            w[l] += w[l + n];
        }
        n /= 2;
    }
    w[0]
}

#[inline(always)]
fn layer_norm_row(x: &mut [f32], gamma: &[f32], beta: &[f32], eps: f32) {
    let n = x.len() as f32;
    let mean = sum(x) / n;
    let var = sum_sq_dev(x, mean) / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((v, g), b) in x.iter_mut().zip(gamma).zip(beta) {
        *v = (*v - mean) * inv * g + b;
    }
}

simd_fn! {
    /// LayerNorm of each `dim`-wide row of `x`, in place (biased variance, as BERT).
    pub fn layer_norm(x: &mut [f32], dim: usize, gamma: &[f32], beta: &[f32], eps: f32) {
        for row in x.chunks_exact_mut(dim) {
            layer_norm_row(row, gamma, beta, eps);
        }
    }
}

simd_fn! {
    /// `x[r] += add[r]` row by row (`add` has the row width), then LayerNorm of each row.
    pub fn add_layer_norm(x: &mut [f32], dim: usize, add: &[f32], gamma: &[f32], beta: &[f32], eps: f32) {
        for row in x.chunks_exact_mut(dim) {
            for (v, a) in row.iter_mut().zip(add) {
                *v += a;
            }
            layer_norm_row(row, gamma, beta, eps);
        }
    }
}

/// erf, |error| < 5e-7 (a rational approximation on [-4, 4]; erf is +-1 in f32 beyond).
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p + -2.101_024e-6;
    p = x2 * p + -5.692_506_4e-5;
    p = x2 * p + -7.349_906_3e-4;
    p = x2 * p + -2.954_6e-3;
    p = x2 * p + -1.609_603_3e-2;
    let p = x * p;
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    q = x2 * q + -1.682_827e-3;
    q = x2 * q + -7.373_329e-3;
    q = x2 * q + -1.426_474e-2;
    p / q
}

/// GELU as BERT defines it: `x * (1 + erf(x / sqrt 2)) / 2`.
#[inline(always)]
pub(crate) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `gelu` over a slice, in place.
#[inline(always)]
pub(crate) fn gelu_slice(x: &mut [f32]) {
    for v in x {
        *v = gelu(*v);
    }
}

/// e^x for x <= 0 (softmax inputs after subtracting the row maximum); relative error
/// ~1e-7. Cephes' expf: x = n ln2 + r, e^x = 2^n p(r).
#[inline(always)]
pub(crate) fn exp_neg(x: f32) -> f32 {
    let x = x.max(-87.0);
    // Round x / ln 2 to the nearest integer without a rounding instruction: adding 1.5 * 2^23
    // leaves no fraction bits.
    const MAGIC: f32 = 12_582_912.0;
    let n = (x * std::f32::consts::LOG2_E + MAGIC) - MAGIC;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[inline(always)]
fn max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            acc[l] = acc[l].max(c[l]);
        }
    }
    for (l, v) in tail.iter().enumerate() {
        acc[l] = acc[l].max(*v);
    }
    acc.into_iter().fold(f32::NEG_INFINITY, f32::max)
}

simd_fn! {
    /// Softmax of `scale * row` for the first `len` values of each `stride`-wide row, in place.
    pub fn softmax_rows(x: &mut [f32], rows: usize, stride: usize, len: usize, scale: f32) {
        for r in 0..rows {
            let row = &mut x[r * stride..r * stride + len];
            let m = max(row) * scale;
            for v in row.iter_mut() {
                *v = exp_neg(*v * scale - m);
            }
            let inv = 1.0 / sum(row);
            for v in row.iter_mut() {
                *v *= inv;
            }
        }
    }
}

simd_fn! {
    /// `out[c] = sum over rows r of x[r][c] / rows` for `dim`-wide rows (mean pooling).
    pub fn mean_rows(x: &[f32], dim: usize, out: &mut [f32]) {
        out.fill(0.0);
        let rows = x.len() / dim;
        for row in x.chunks_exact(dim) {
            for (o, v) in out.iter_mut().zip(row) {
                *o += v;
            }
        }
        let inv = 1.0 / rows as f32;
        for o in out.iter_mut() {
            *o *= inv;
        }
    }
}

simd_fn! {
    /// BERT's input embedding of one token: `word + position + token_type`.
    pub fn add3(out: &mut [f32], a: &[f32], b: &[f32], c: &[f32]) {
        for (((o, x), y), z) in out.iter_mut().zip(a).zip(b).zip(c) {
            *o = x + y + z;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf in f64 by its Taylor series (|x| <= 3) or continued fraction, for checking.
    fn erf64(x: f64) -> f64 {
        if x.abs() > 3.0 {
            // 1 - erfc with the asymptotic continued fraction (Lentz), plenty here.
            let ax = x.abs();
            let mut f = 0.0;
            for k in (1..60).rev() {
                f = (k as f64 / 2.0) / (ax + f);
            }
            let erfc = (-ax * ax).exp() / std::f64::consts::PI.sqrt() / (ax + f);
            return (1.0 - erfc).copysign(x);
        }
        let (mut term, mut s) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            s += term / (2 * n + 1) as f64;
        }
        s * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn erf_and_exp_are_accurate() {
        let mut worst = 0f64;
        for i in -60_000..=60_000 {
            let x = i as f32 / 10_000.0;
            worst = worst.max((erf(x) as f64 - erf64(x as f64)).abs());
        }
        assert!(worst < 5e-7, "erf error {worst}");
        let mut worst = 0f64;
        for i in 0..=870_000 {
            let x = -(i as f32) / 10_000.0;
            let want = (x as f64).exp();
            worst = worst.max(((exp_neg(x) as f64 - want) / want).abs());
        }
        assert!(worst < 3e-7, "exp relative error {worst}");
        assert_eq!(exp_neg(0.0), 1.0);
    }

    #[test]
    fn every_isa_gives_identical_bits() {
        let dim = 40; // not a multiple of 16: exercises the tails
        let x: Vec<f32> = (0..dim * 3).map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0).collect();
        let g: Vec<f32> = (0..dim).map(|i| 1.0 + i as f32 / 100.0).collect();
        let b: Vec<f32> = (0..dim).map(|i| i as f32 / 50.0).collect();
        let run = |isa: Isa| {
            let mut ln = x.clone();
            layer_norm(isa, &mut ln, dim, &g, &b, 1e-12);
            let mut sm = x.clone();
            softmax_rows(isa, &mut sm, 3, dim, 33, 0.3);
            let mut ge = x.clone();
            gelu_slice(&mut ge);
            let mut mean = vec![0.0; dim];
            mean_rows(isa, &x, dim, &mut mean);
            (ln, sm, ge, mean)
        };
        let base = run(Isa::Portable);
        let row: f32 = base.1[..33].iter().sum();
        assert!((row - 1.0).abs() < 1e-5);
        let mean0: f32 = base.0[..dim].iter().zip(&b).zip(&g).map(|((y, b), g)| (y - b) / g).sum::<f32>();
        assert!(mean0.abs() < 1e-4);
        for isa in Isa::available() {
            assert_eq!(run(isa), base, "{isa:?}");
        }
    }
}
