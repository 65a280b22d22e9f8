//! The attention and activation arithmetic of llama.cpp's CPU backend (ggml), replicated to
//! the bit: its vectorised `exp` (in SiLU and softmax), the order in which it sums the products
//! of attention with the f16 KV cache, and its softmax's sum.
//!
//! Why to the bit: a 135M model quantized to 4 bits has many near ties between its top two
//! tokens (measured on SmolLM2: margins under 0.1 logit every ~10 tokens), and one last-bit
//! difference in an attention sum flips an f16 rounding of the cache or a quant of the next
//! product some layers later. Summing in another order diverged from llama.cpp's greedy text
//! after ~15 tokens; this order keeps it identical.
//!
//! llama.cpp sums attention in two orders (both traced against its callbacks):
//! - one token at a time (decoding): `ggml_vec_dot_f16`, four 8-lane accumulators over index
//!   `i mod 32`, reduced `(a0 + a2) + (a1 + a3)`, then lanes `(l0 + l4) + (l1 + l5)` and
//!   `(l2 + l6) + (l3 + l7)`;
//! - two or more tokens (a prompt batch): tinyBLAS (llamafile's sgemm), one 8-lane accumulator
//!   over `i mod 8`, reduced `((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7))`.
//!
//! Every product-sum is a fused multiply-add, as ggml's intrinsics are. The AVX2 kernels and the
//! portable ones compute the same bits (tested); the portable ones are the reference.

use half::f16;

/// The summation order of an attention product (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// `ggml_vec_dot_f16`: one token.
    Vec,
    /// tinyBLAS: a batch of two or more tokens.
    Tiled,
}

impl Order {
    /// Accumulators of the order.
    pub const fn lanes(self) -> usize {
        match self {
            Order::Vec => 32,
            Order::Tiled => 8,
        }
    }
}

/// ggml's `ggml_v_expf` (its SIMD `exp`, within 1.5 ulp of the true value), one lane.
pub fn exp(x: f32) -> f32 {
    let r = f32::from_bits(0x4b40_0000); // 0x1.8p23
    let z = x.mul_add(f32::from_bits(0x3fb8_aa3b), r);
    let n = z - r;
    let b = (-n).mul_add(f32::from_bits(0x35bf_be8e), (-n).mul_add(f32::from_bits(0x3f31_7200), x));
    let e = z.to_bits() << 23;
    let k = f32::from_bits(e.wrapping_add(1f32.to_bits()));
    let u = b * b;
    let j = f32::from_bits(0x3c07_2010)
        .mul_add(b, f32::from_bits(0x3d2b_9f17))
        .mul_add(u, f32::from_bits(0x3e2a_af33).mul_add(b, f32::from_bits(0x3eff_fedb)))
        .mul_add(u, f32::from_bits(0x3f7f_fff6) * b);
    if n.abs() <= 126.0 {
        return j.mul_add(k, k);
    }
    let g: u32 = if n <= 0.0 { 0x8200_0000 } else { 0 };
    let s1 = f32::from_bits(g.wrapping_add(0x7f00_0000));
    if n.abs() > 192.0 {
        return s1 * s1;
    }
    let s2 = f32::from_bits(e.wrapping_sub(g));
    s2.mul_add(j, s2) * s1
}

/// [`exp`] of 8 values.
fn exp8(x: &mut [f32; 8]) {
    #[cfg(target_arch = "x86_64")]
    if x86::available() {
        // Safety: AVX2, FMA and F16C are present.
        *x = unsafe { x86::exp8(*x) };
        return;
    }
    x.iter_mut().for_each(|v| *v = exp(*v));
}

/// `g = silu(g) · u` (ggml's `ggml_vec_swiglu_f32`).
pub fn swiglu(g: &mut [f32], u: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if x86::available() {
        // Safety: AVX2, FMA and F16C are present.
        return unsafe { x86::swiglu(g, u) };
    }
    swiglu_portable(g, u)
}

fn swiglu_portable(g: &mut [f32], u: &[f32]) {
    let whole = g.len() / 8 * 8;
    for (x, y) in g[..whole].iter_mut().zip(&u[..whole]) {
        *x = *x / (1.0 + exp(-*x)) * y;
    }
    // ggml's tail (fewer than 8 values) uses the C library's expf.
    for (x, y) in g[whole..].iter_mut().zip(&u[whole..]) {
        *x = *x / (1.0 + (-*x).exp()) * y;
    }
}

/// Softmax of `w` in place (ggml's `soft_max`: max, `exp` by 8, each 8 summed in f32 and
/// added up in f64, then scaled by the f32 reciprocal). Missing values of a last group of 8
/// count as ggml's masked cells: zero.
pub fn softmax(w: &mut [f32]) {
    let max = w.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
    let mut sum = 0f64;
    for chunk in w.chunks_mut(8) {
        // Masked cells: exp(-inf) = 0.
        let mut lanes = [f32::NEG_INFINITY; 8];
        for (l, v) in lanes.iter_mut().zip(chunk.iter()) {
            *l = *v - max;
        }
        exp8(&mut lanes);
        chunk.copy_from_slice(&lanes[..chunk.len()]);
        let t = [lanes[0] + lanes[4], lanes[1] + lanes[5], lanes[2] + lanes[6], lanes[3] + lanes[7]];
        sum += ((t[0] + t[2]) + (t[1] + t[3])) as f64;
    }
    let inv = (1.0 / sum) as f32;
    w.iter_mut().for_each(|v| *v *= inv);
}

/// Reduce one output's `order.lanes()` partial sums (indexed by `i mod lanes`).
fn reduce(order: Order, a: &[f32]) -> f32 {
    let l: [f32; 8] = match order {
        Order::Vec => std::array::from_fn(|k| (a[k] + a[16 + k]) + (a[8 + k] + a[24 + k])),
        Order::Tiled => std::array::from_fn(|k| a[k]),
    };
    let t = [l[0] + l[4], l[1] + l[5], l[2] + l[6], l[3] + l[7]];
    match order {
        Order::Vec => (t[0] + t[1]) + (t[2] + t[3]),
        Order::Tiled => (t[0] + t[2]) + (t[1] + t[3]),
    }
}

/// `q · k` for a query already rounded to f16 values and an f16 key.
pub fn dot(order: Order, q: &[f32], k: &[f16]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if x86::available() && q.len().is_multiple_of(order.lanes()) {
        // Safety: AVX2, FMA and F16C are present; the length is whole vectors.
        return unsafe { x86::dot(order, q, k) };
    }
    dot_portable(order, q, k)
}

fn dot_portable(order: Order, q: &[f32], k: &[f16]) -> f32 {
    let lanes = order.lanes();
    let whole = q.len() / lanes * lanes;
    let mut acc = [0f32; 32];
    for (i, (a, b)) in q[..whole].iter().zip(&k[..whole]).enumerate() {
        acc[i % lanes] = a.mul_add(b.to_f32(), acc[i % lanes]);
    }
    // ggml's tail: f32 products added in f64.
    let mut sum = reduce(order, &acc[..lanes]) as f64;
    for (a, b) in q[whole..].iter().zip(&k[whole..]) {
        sum += (a * b.to_f32()) as f64;
    }
    sum as f32
}

/// Partial sums of `Σ_t w_t · v_t` (the attention-weighted values) for one head.
pub struct WeightedSum {
    order: Order,
    width: usize,
    /// `[lane][width]`.
    acc: Vec<f32>,
}

impl WeightedSum {
    pub fn new(order: Order, width: usize) -> WeightedSum {
        WeightedSum { order, width, acc: vec![0.0; order.lanes() * width] }
    }

    /// Start a new sum.
    pub fn clear(&mut self) {
        self.acc.iter_mut().for_each(|a| *a = 0.0);
    }

    /// Add `w · v` as the `t`-th term (`w` already rounded to an f16 value).
    pub fn add(&mut self, t: usize, w: f32, v: &[f16]) {
        let lane = t % self.order.lanes();
        let acc = &mut self.acc[lane * self.width..(lane + 1) * self.width];
        #[cfg(target_arch = "x86_64")]
        if x86::available() && self.width.is_multiple_of(8) {
            // Safety: AVX2, FMA and F16C are present; the width is whole vectors.
            return unsafe { x86::axpy(w, v, acc) };
        }
        for (a, x) in acc.iter_mut().zip(v) {
            *a = w.mul_add(x.to_f32(), *a);
        }
    }

    /// The sums, into `out` (`width` values).
    pub fn finish(&self, out: &mut [f32]) {
        let lanes = self.order.lanes();
        let mut a = [0f32; 32];
        for (i, o) in out.iter_mut().enumerate() {
            for (l, v) in a[..lanes].iter_mut().enumerate() {
                *v = self.acc[l * self.width + i];
            }
            *o = reduce(self.order, &a[..lanes]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use half::f16;

    use crate::models::llm::gguf::ggml::{reduce, Order};

    pub fn available() -> bool {
        use std::sync::OnceLock;
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| {
            is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
                && is_x86_feature_detected!("f16c")
        })
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn load_f16(p: *const f16) -> __m256 {
        _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i))
    }

    /// ggml's `ggml_v_expf` for AVX2, transcribed.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn expf8(x: __m256) -> __m256 {
        let r = _mm256_set1_ps(f32::from_bits(0x4b40_0000));
        let z = _mm256_fmadd_ps(x, _mm256_set1_ps(f32::from_bits(0x3fb8_aa3b)), r);
        let n = _mm256_sub_ps(z, r);
        let b = _mm256_fnmadd_ps(
            n,
            _mm256_set1_ps(f32::from_bits(0x35bf_be8e)),
            _mm256_fnmadd_ps(n, _mm256_set1_ps(f32::from_bits(0x3f31_7200)), x),
        );
        let e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
        let k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1.0))));
        let abs_n = _mm256_andnot_ps(_mm256_set1_ps(-0.0), n);
        let c = _mm256_castps_si256(_mm256_cmp_ps(abs_n, _mm256_set1_ps(126.0), _CMP_GT_OQ));
        let u = _mm256_mul_ps(b, b);
        let j = _mm256_fmadd_ps(
            _mm256_fmadd_ps(
                _mm256_fmadd_ps(
                    _mm256_set1_ps(f32::from_bits(0x3c07_2010)),
                    b,
                    _mm256_set1_ps(f32::from_bits(0x3d2b_9f17)),
                ),
                u,
                _mm256_fmadd_ps(
                    _mm256_set1_ps(f32::from_bits(0x3e2a_af33)),
                    b,
                    _mm256_set1_ps(f32::from_bits(0x3eff_fedb)),
                ),
            ),
            u,
            _mm256_mul_ps(_mm256_set1_ps(f32::from_bits(0x3f7f_fff6)), b),
        );
        if _mm256_movemask_ps(_mm256_castsi256_ps(c)) == 0 {
            return _mm256_fmadd_ps(j, k, k);
        }
        let g = _mm256_and_si256(
            _mm256_castps_si256(_mm256_cmp_ps(n, _mm256_setzero_ps(), _CMP_LE_OQ)),
            _mm256_set1_epi32(0x8200_0000u32 as i32),
        );
        let s1 = _mm256_castsi256_ps(_mm256_add_epi32(g, _mm256_set1_epi32(0x7f00_0000)));
        let s2 = _mm256_castsi256_ps(_mm256_sub_epi32(e, g));
        let d = _mm256_castps_si256(_mm256_cmp_ps(abs_n, _mm256_set1_ps(192.0), _CMP_GT_OQ));
        _mm256_or_ps(
            _mm256_and_ps(_mm256_castsi256_ps(d), _mm256_mul_ps(s1, s1)),
            _mm256_andnot_ps(
                _mm256_castsi256_ps(d),
                _mm256_or_ps(
                    _mm256_and_ps(_mm256_castsi256_ps(c), _mm256_mul_ps(_mm256_fmadd_ps(s2, j, s2), s1)),
                    _mm256_andnot_ps(_mm256_castsi256_ps(c), _mm256_fmadd_ps(k, j, k)),
                ),
            ),
        )
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn swiglu(g: &mut [f32], u: &[f32]) {
        let whole = g.len() / 8 * 8;
        let one = _mm256_set1_ps(1.0);
        for i in (0..whole).step_by(8) {
            let x = _mm256_loadu_ps(g.as_ptr().add(i));
            let silu = _mm256_div_ps(x, _mm256_add_ps(one, expf8(_mm256_sub_ps(_mm256_setzero_ps(), x))));
            _mm256_storeu_ps(g.as_mut_ptr().add(i), _mm256_mul_ps(silu, _mm256_loadu_ps(u.as_ptr().add(i))));
        }
        for (x, y) in g[whole..].iter_mut().zip(&u[whole..]) {
            *x = *x / (1.0 + (-*x).exp()) * y;
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn dot(order: Order, q: &[f32], k: &[f16]) -> f32 {
        let mut acc = [_mm256_setzero_ps(); 4];
        let step = order.lanes();
        for i in (0..q.len()).step_by(step) {
            for (j, a) in acc.iter_mut().enumerate().take(step / 8) {
                let x = _mm256_loadu_ps(q.as_ptr().add(i + 8 * j));
                *a = _mm256_fmadd_ps(x, load_f16(k.as_ptr().add(i + 8 * j)), *a);
            }
        }
        let mut lanes = [0f32; 32];
        for (j, a) in acc.iter().enumerate().take(step / 8) {
            _mm256_storeu_ps(lanes.as_mut_ptr().add(8 * j), *a);
        }
        reduce(order, &lanes[..step])
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn axpy(w: f32, v: &[f16], acc: &mut [f32]) {
        let wv = _mm256_set1_ps(w);
        for i in (0..acc.len()).step_by(8) {
            let a = _mm256_loadu_ps(acc.as_ptr().add(i));
            _mm256_storeu_ps(acc.as_mut_ptr().add(i), _mm256_fmadd_ps(wv, load_f16(v.as_ptr().add(i)), a));
        }
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn exp8(x: [f32; 8]) -> [f32; 8] {
        let mut out = [0f32; 8];
        _mm256_storeu_ps(out.as_mut_ptr(), expf8(_mm256_loadu_ps(x.as_ptr())));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(i: usize) -> f32 {
        let x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
        (x >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }

    #[test]
    fn exp_is_close_to_the_true_exp_and_zero_at_minus_infinity() {
        for i in 0..10_000 {
            let x = noise(i) * 80.0;
            let (got, want) = (exp(x), (x as f64).exp());
            assert!(((got as f64 - want) / want).abs() < 1e-6, "exp({x}) = {got}, want {want}");
        }
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(0.0), 1.0);
    }

    /// The AVX2 kernels compute the portable reference's bits.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_kernels_match_the_portable_reference_bit_for_bit() {
        if !x86::available() {
            return;
        }
        for i in 0..200 {
            let x: [f32; 8] = std::array::from_fn(|j| noise(i * 8 + j) * 100.0);
            // Safety: checked above.
            let simd = unsafe { x86::exp8(x) };
            for j in 0..8 {
                assert_eq!(simd[j].to_bits(), exp(x[j]).to_bits(), "exp({})", x[j]);
            }
        }
        let q: Vec<f32> = (0..128).map(|i| f16::from_f32(noise(i) * 4.0).to_f32()).collect();
        let k: Vec<f16> = (0..128).map(|i| f16::from_f32(noise(i + 500) * 4.0)).collect();
        for order in [Order::Vec, Order::Tiled] {
            // Safety: checked above.
            let simd = unsafe { x86::dot(order, &q, &k) };
            assert_eq!(simd.to_bits(), dot_portable(order, &q, &k).to_bits(), "{order:?}");
        }
        let mut g: Vec<f32> = (0..64).map(|i| noise(i + 900) * 8.0).collect();
        let u: Vec<f32> = (0..64).map(|i| noise(i + 1900)).collect();
        let mut g2 = g.clone();
        swiglu(&mut g, &u);
        swiglu_portable(&mut g2, &u);
        assert_eq!(g, g2);
    }

    /// The two orders differ (so choosing the right one matters), and each is a sum.
    #[test]
    fn orders_sum_the_same_terms_differently() {
        let q: Vec<f32> = (0..64).map(|i| f16::from_f32(noise(i) * 4.0).to_f32()).collect();
        let k: Vec<f16> = (0..64).map(|i| f16::from_f32(noise(i + 77) * 4.0)).collect();
        let exact: f64 = q.iter().zip(&k).map(|(a, b)| *a as f64 * b.to_f32() as f64).sum();
        let (v, t) = (dot(Order::Vec, &q, &k), dot(Order::Tiled, &q, &k));
        assert!((v as f64 - exact).abs() < 1e-4 && (t as f64 - exact).abs() < 1e-4);
        let differ = (0..50).any(|s| {
            let q: Vec<f32> = (0..64).map(|i| f16::from_f32(noise(i + 1000 * s) * 4.0).to_f32()).collect();
            dot(Order::Vec, &q, &k) != dot(Order::Tiled, &q, &k)
        });
        assert!(differ);
        let mut w = vec![1.0, 2.0, 3.0];
        softmax(&mut w);
        assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-6 && w[2] > w[1] && w[1] > w[0]);
    }
}
