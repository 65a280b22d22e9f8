//! Multi-label evaluation of emotion classifiers: per-label, macro- and micro-F1 at given
//! thresholds, and the threshold tuning that picks those thresholds on held-out data.
//!
//! Inputs are `probs[i][label]` (one probability vector per text) and `gold[i]` (the label
//! indices of text `i`). A label is predicted when its probability is at or above its
//! threshold, the same rule as [`super::EmotionClassifier::thresholds`].

use serde::{Deserialize, Serialize};

/// The candidate thresholds searched by the tuners: 0.01, 0.02, ..., 0.99.
pub fn threshold_grid() -> impl Iterator<Item = f32> {
    (1..100).map(|i| i as f32 / 100.0)
}

/// Counts of one label's decisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub tp: u64,
    pub fp: u64,
    pub fn_: u64,
}

impl Counts {
    /// F1 of these counts; 0 when the label was neither predicted nor present.
    pub fn f1(self) -> f64 {
        let denom = 2 * self.tp + self.fp + self.fn_;
        if denom == 0 {
            0.0
        } else {
            2.0 * self.tp as f64 / denom as f64
        }
    }
}

/// Scores of a classifier on a labelled set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct F1Scores {
    /// Mean of the per-label F1 scores.
    pub macro_f1: f64,
    /// F1 of the pooled counts of every label.
    pub micro_f1: f64,
    /// F1 of each label, in label order.
    pub per_label: Vec<f64>,
}

fn label_counts(probs: &[Vec<f32>], gold: &[Vec<usize>], label: usize, threshold: f32) -> Counts {
    let mut c = Counts::default();
    for (p, g) in probs.iter().zip(gold) {
        let predicted = p[label] >= threshold;
        let present = g.contains(&label);
        match (predicted, present) {
            (true, true) => c.tp += 1,
            (true, false) => c.fp += 1,
            (false, true) => c.fn_ += 1,
            (false, false) => {}
        }
    }
    c
}

/// Per-label, macro- and micro-F1 with one threshold per label.
pub fn evaluate(probs: &[Vec<f32>], gold: &[Vec<usize>], thresholds: &[f32]) -> F1Scores {
    assert_eq!(probs.len(), gold.len(), "one gold label set per probability vector");
    let counts: Vec<Counts> =
        thresholds.iter().enumerate().map(|(l, &t)| label_counts(probs, gold, l, t)).collect();
    let total = counts.iter().fold(Counts::default(), |a, c| Counts {
        tp: a.tp + c.tp,
        fp: a.fp + c.fp,
        fn_: a.fn_ + c.fn_,
    });
    let per_label: Vec<f64> = counts.iter().map(|c| c.f1()).collect();
    let macro_f1 =
        if per_label.is_empty() { 0.0 } else { per_label.iter().sum::<f64>() / per_label.len() as f64 };
    F1Scores { macro_f1, micro_f1: total.f1(), per_label }
}

/// The threshold of each label that maximizes that label's F1 on `(probs, gold)`.
///
/// Ties (a plateau of equally good thresholds, common for rare labels) resolve to the middle
/// of the plateau, which generalizes better than either edge. A label with no positives in
/// the data gets `fallback`.
pub fn tune_per_label(probs: &[Vec<f32>], gold: &[Vec<usize>], labels: usize, fallback: f32) -> Vec<f32> {
    (0..labels)
        .map(|l| {
            if !gold.iter().any(|g| g.contains(&l)) {
                return fallback;
            }
            let scored: Vec<(f32, f64)> =
                threshold_grid().map(|t| (t, label_counts(probs, gold, l, t).f1())).collect();
            let best = scored.iter().map(|s| s.1).fold(f64::MIN, f64::max);
            let top: Vec<f32> = scored.iter().filter(|s| s.1 >= best - 1e-12).map(|s| s.0).collect();
            top[top.len() / 2]
        })
        .collect()
}

/// The one threshold, shared by every label, that maximizes macro-F1.
pub fn tune_global(probs: &[Vec<f32>], gold: &[Vec<usize>], labels: usize) -> f32 {
    let mut best = (0.5f32, f64::MIN);
    for t in threshold_grid() {
        let f = evaluate(probs, gold, &vec![t; labels]).macro_f1;
        if f > best.1 + 1e-12 {
            best = (t, f);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f1_by_hand() {
        // Label 0: predicted for texts 0, 1; present in 0, 2 → tp 1, fp 1, fn 1 → F1 0.5.
        // Label 1: predicted for text 2 only, present in 2 → F1 1.
        let probs = vec![vec![0.9, 0.1], vec![0.6, 0.2], vec![0.1, 0.7]];
        let gold = vec![vec![0], vec![], vec![0, 1]];
        let s = evaluate(&probs, &gold, &[0.5, 0.5]);
        assert!((s.per_label[0] - 0.5).abs() < 1e-12);
        assert!((s.per_label[1] - 1.0).abs() < 1e-12);
        assert!((s.macro_f1 - 0.75).abs() < 1e-12);
        // Pooled: tp 2, fp 1, fn 1 → 4 / 6.
        assert!((s.micro_f1 - 4.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn tuning_finds_the_separating_threshold() {
        // Label 0 is present exactly when its probability is above 0.3; label 1 when above
        // 0.8. Any threshold in (0.2, 0.3] (resp. (0.6, 0.8]) separates perfectly.
        let probs: Vec<Vec<f32>> =
            vec![vec![0.35, 0.9], vec![0.31, 0.85], vec![0.2, 0.6], vec![0.1, 0.1], vec![0.05, 0.5]];
        let gold = vec![vec![0, 1], vec![0, 1], vec![], vec![], vec![]];
        let t = tune_per_label(&probs, &gold, 2, 0.5);
        assert!(t[0] > 0.2 && t[0] <= 0.31, "label 0 threshold {}", t[0]);
        assert!(t[1] > 0.6 && t[1] <= 0.85, "label 1 threshold {}", t[1]);
        // Mid-plateau, not an edge.
        assert!((t[1] - 0.73).abs() < 0.02, "label 1 threshold {}", t[1]);
        let s = evaluate(&probs, &gold, &t);
        assert_eq!(s.macro_f1, 1.0);
        // Tuning never loses to the default 0.5 on the data it was tuned on.
        assert!(s.macro_f1 >= evaluate(&probs, &gold, &[0.5, 0.5]).macro_f1);
    }

    #[test]
    fn labels_without_positives_get_the_fallback() {
        let probs = vec![vec![0.9, 0.4]];
        let gold = vec![vec![0]];
        assert_eq!(tune_per_label(&probs, &gold, 2, 0.42)[1], 0.42);
    }

    #[test]
    fn global_threshold_maximizes_macro_f1() {
        let probs = vec![vec![0.35, 0.4], vec![0.1, 0.1], vec![0.2, 0.3]];
        let gold = vec![vec![0, 1], vec![], vec![]];
        let t = tune_global(&probs, &gold, 2);
        assert!(t > 0.3 && t <= 0.35, "global threshold {t}");
        assert_eq!(evaluate(&probs, &gold, &[t, t]).macro_f1, 1.0);
    }
}
