//! Score fusion: one relevance per candidate from its semantic and keyword scores.
//!
//! Both methods see the whole candidate set (pool candidates and their session
//! neighbours). A candidate a source did not score (no keyword match, keyword-only mode)
//! counts as that source's floor: 0 for BM25, and for cosine the set's lowest score.

use super::request::{Fusion, RankWeights};

/// Per-candidate source scores, aligned by index.
pub(crate) struct SourceScores<'a> {
    /// Cosine similarity (None: not scored semantically).
    pub semantic: &'a [Option<f32>],
    /// BM25, higher is better (None: no keyword match).
    pub keyword: &'a [Option<f32>],
}

/// 1-based ranks of the scored entries (best first, ties by position).
pub(crate) fn ranks(scores: &[Option<f32>]) -> Vec<Option<u32>> {
    let mut order: Vec<usize> = (0..scores.len()).filter(|&i| scores[i].is_some()).collect();
    order.sort_by(|&a, &b| scores[b].unwrap_or(0.0).total_cmp(&scores[a].unwrap_or(0.0)).then(a.cmp(&b)));
    let mut out = vec![None; scores.len()];
    for (r, i) in order.into_iter().enumerate() {
        out[i] = Some(r as u32 + 1);
    }
    out
}

/// Lower bound of a z-score is `-Z_MAX`. One odd candidate among near-identical ones (a
/// memory found only by its date among a hundred that share the query's words) would
/// otherwise get a z of -10 or worse, which no re-ranking signal could outweigh. There is
/// no upper bound: a standout match keeps its margin (bounding it cost 0.03 LoCoMo R@10).
const Z_MAX: f32 = 3.0;

/// z-scores of `values`, at least `-Z_MAX` (0 for all when they do not vary).
fn zscores(values: &[f32]) -> Vec<f32> {
    let n = values.len().max(1) as f32;
    let mean = values.iter().sum::<f32>() / n;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let sd = var.sqrt();
    if sd < 1e-6 {
        return vec![0.0; values.len()];
    }
    values.iter().map(|v| ((v - mean) / sd).max(-Z_MAX)).collect()
}

/// Fused relevance of each candidate.
pub(crate) fn fuse(s: &SourceScores<'_>, fusion: Fusion, w: &RankWeights, rrf_k: f32) -> Vec<f32> {
    let n = s.semantic.len();
    let mut out = vec![0.0f32; n];
    match fusion {
        Fusion::Zscore => {
            if s.semantic.iter().any(Option::is_some) {
                let floor = s.semantic.iter().flatten().copied().fold(f32::INFINITY, f32::min);
                let raw: Vec<f32> = s.semantic.iter().map(|v| v.unwrap_or(floor)).collect();
                for (o, z) in out.iter_mut().zip(zscores(&raw)) {
                    *o += w.semantic * z;
                }
            }
            if s.keyword.iter().any(Option::is_some) {
                let raw: Vec<f32> = s.keyword.iter().map(|v| v.unwrap_or(0.0)).collect();
                for (o, z) in out.iter_mut().zip(zscores(&raw)) {
                    *o += w.keyword * z;
                }
            }
        }
        Fusion::Rrf => {
            for (scores, weight) in [(s.semantic, w.semantic), (s.keyword, w.keyword)] {
                for (o, r) in out.iter_mut().zip(ranks(scores)) {
                    if let Some(r) = r {
                        *o += weight * (rrf_k + 1.0) / (rrf_k + r as f32);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_prefers_agreement() {
        let sem = [Some(0.9), Some(0.8), Some(0.1), None];
        let kw = [None, Some(5.0), None, Some(3.0)];
        let w = RankWeights { keyword: 1.0, ..RankWeights::default() };
        let f = fuse(&SourceScores { semantic: &sem, keyword: &kw }, Fusion::Rrf, &w, 60.0);
        let best = (0..4).max_by(|&a, &b| f[a].total_cmp(&f[b])).unwrap();
        assert_eq!(best, 1);
        assert_eq!(ranks(&kw), vec![None, Some(1), None, Some(2)]);
    }

    #[test]
    fn zscore_keeps_margins_and_weights() {
        let sem = [Some(0.9), Some(0.5), Some(0.49)];
        let kw = [None, Some(1.0), None];
        let w = RankWeights::default();
        let f = fuse(&SourceScores { semantic: &sem, keyword: &kw }, Fusion::Zscore, &w, 60.0);
        assert!(f[0] > f[1] && f[1] > f[2], "{f:?}");
        let off = RankWeights { keyword: 0.0, ..w };
        let f = fuse(&SourceScores { semantic: &sem, keyword: &kw }, Fusion::Zscore, &off, 60.0);
        assert!(f[1] - f[2] < 0.1, "keyword weight 0 must ignore BM25: {f:?}");
        let flat =
            fuse(&SourceScores { semantic: &[Some(0.3); 3], keyword: &[None; 3] }, Fusion::Zscore, &w, 60.0);
        assert_eq!(flat, vec![0.0; 3]);
    }

    #[test]
    fn an_outlier_is_bounded_below_not_above() {
        let mut values = vec![0.4f32; 100];
        values.push(0.0);
        assert_eq!(*zscores(&values).last().unwrap(), -Z_MAX);
        values[100] = 0.8;
        assert!(*zscores(&values).last().unwrap() > 9.0, "a standout keeps its margin");
    }
}
