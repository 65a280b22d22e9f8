//! Probe vectors: what tells two versions of an embedder apart. A new version of an
//! embedder that claims the same model id must give the same vectors for these texts
//! (cosine at least [`PROBE_MIN_COSINE`] on every one); otherwise it is a different model,
//! and its vectors must not mix with the old ones in a store (that is what `reembed` is for).

/// Short texts of the kinds stores hold: a fact, a feeling, a plan, a date, a name, a
/// question, a non-English line and a one-word line.
pub const PROBE_TEXTS: [&str; 8] = [
    "I moved to Lisbon in March and started a new job at the harbour.",
    "Honestly I felt anxious and a bit lonely all week.",
    "Remind me to call my sister about the birthday dinner on Saturday.",
    "The meeting was moved to 3 pm on 14 February 2026.",
    "Caroline adopted a grey cat called Pixel.",
    "What did we decide about the budget for the trip?",
    "Ich habe heute Abend keine Zeit, vielleicht morgen.",
    "Thanks!",
];

/// Lowest cosine between probe vectors that still counts as the same model (rounding and
/// kernel differences stay far above it; a retrained or re-quantized model falls below).
pub const PROBE_MIN_COSINE: f32 = 0.9999;

/// The lowest cosine between matching vectors of `a` and `b` (`None`: not comparable).
pub(crate) fn min_cosine(a: &[Vec<f32>], b: &[Vec<f32>]) -> Option<f32> {
    if a.len() != b.len() || a.is_empty() {
        return None;
    }
    let mut lowest = f32::INFINITY;
    for (x, y) in a.iter().zip(b) {
        if x.len() != y.len() {
            return None;
        }
        let dot: f64 = x.iter().zip(y).map(|(p, q)| *p as f64 * *q as f64).sum();
        let nx: f64 = x.iter().map(|p| (*p as f64).powi(2)).sum::<f64>().sqrt();
        let ny: f64 = y.iter().map(|q| (*q as f64).powi(2)).sum::<f64>().sqrt();
        lowest = lowest.min((dot / (nx * ny).max(f64::MIN_POSITIVE)) as f32);
    }
    Some(lowest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_probe_sets() {
        let a = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        assert_eq!(min_cosine(&a, &a), Some(1.0));
        let b = vec![vec![1.0, 0.0], vec![1.0, 1.0]];
        assert!((min_cosine(&a, &b).unwrap() - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(min_cosine(&a, &b[..1]), None);
    }
}
