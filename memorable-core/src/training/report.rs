//! The evaluation report of a classifier on a labelled set: macro- and micro-F1, per-label
//! F1 with precision, recall and support, expected calibration error, and the most frequent
//! confusions. Training jobs store one for the new model and one for the deployed model, on
//! the same evaluation split.

use serde::{Deserialize, Serialize};

use crate::models::emotion_metrics::evaluate;

/// One label's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelScore {
    pub label: String,
    pub f1: f64,
    pub precision: f64,
    pub recall: f64,
    /// Texts of the set that carry the label.
    pub support: u64,
    pub threshold: f32,
}

/// A frequent mistake: texts labelled `gold` for which `predicted` (not a gold label of
/// that text) was predicted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Confusion {
    pub gold: String,
    pub predicted: String,
    pub count: u64,
}

/// A classifier's scores on one labelled set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Which model (`name@version`, or `new` before it has a version).
    pub model: String,
    pub texts: usize,
    pub macro_f1: f64,
    pub micro_f1: f64,
    /// Expected calibration error over every (text, label) probability, 10 equal-width bins.
    pub ece: f64,
    pub per_label: Vec<LabelScore>,
    /// The ten most frequent confusions, most frequent first.
    pub confusions: Vec<Confusion>,
    /// Texts with a gold label for which nothing was predicted.
    pub no_prediction: u64,
}

/// Most confusions a report lists.
const CONFUSIONS: usize = 10;
/// Bins of the calibration error.
const ECE_BINS: usize = 10;

/// Score `probs` (one vector per text, in `labels` order) against `gold` with `thresholds`.
pub fn report(
    model: &str,
    labels: &[String],
    probs: &[Vec<f32>],
    gold: &[Vec<usize>],
    thresholds: &[f32],
) -> EvalReport {
    let f1 = evaluate(probs, gold, thresholds);
    let n = labels.len();
    let mut tp = vec![0u64; n];
    let mut fp = vec![0u64; n];
    let mut support = vec![0u64; n];
    let mut confusion = vec![vec![0u64; n]; n];
    let mut no_prediction = 0;
    let mut bins = [(0f64, 0f64, 0u64); ECE_BINS];
    for (p, g) in probs.iter().zip(gold) {
        let predicted: Vec<usize> = (0..n).filter(|&l| p[l] >= thresholds[l]).collect();
        for &l in g {
            support[l] += 1;
        }
        for &l in &predicted {
            if g.contains(&l) {
                tp[l] += 1;
            } else {
                fp[l] += 1;
                for &gl in g {
                    confusion[gl][l] += 1;
                }
            }
        }
        if predicted.is_empty() && !g.is_empty() {
            no_prediction += 1;
        }
        for (l, &q) in p.iter().enumerate().take(n) {
            let b = ((q.clamp(0.0, 1.0) * ECE_BINS as f32) as usize).min(ECE_BINS - 1);
            bins[b].0 += q as f64;
            bins[b].1 += if g.contains(&l) { 1.0 } else { 0.0 };
            bins[b].2 += 1;
        }
    }
    let total: u64 = bins.iter().map(|b| b.2).sum();
    let ece = if total == 0 {
        0.0
    } else {
        bins.iter()
            .filter(|b| b.2 > 0)
            .map(|&(p, pos, c)| (p / c as f64 - pos / c as f64).abs() * c as f64 / total as f64)
            .sum()
    };
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let per_label = (0..n)
        .map(|l| LabelScore {
            label: labels[l].clone(),
            f1: f1.per_label[l],
            precision: ratio(tp[l], tp[l] + fp[l]),
            recall: ratio(tp[l], support[l]),
            support: support[l],
            threshold: thresholds[l],
        })
        .collect();
    let mut confusions: Vec<Confusion> = (0..n)
        .flat_map(|g| (0..n).map(move |p| (g, p)))
        .filter(|&(g, p)| g != p && confusion[g][p] > 0)
        .map(|(g, p)| Confusion {
            gold: labels[g].clone(),
            predicted: labels[p].clone(),
            count: confusion[g][p],
        })
        .collect();
    confusions.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.gold.cmp(&b.gold)));
    confusions.truncate(CONFUSIONS);
    EvalReport {
        model: model.to_owned(),
        texts: probs.len(),
        macro_f1: f1.macro_f1,
        micro_f1: f1.micro_f1,
        ece,
        per_label,
        confusions,
        no_prediction,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_counts_confusions_calibration_and_support() {
        let labels = vec!["a".to_owned(), "b".to_owned()];
        let probs = vec![vec![0.9, 0.1], vec![0.8, 0.7], vec![0.2, 0.9], vec![0.1, 0.2]];
        let gold = vec![vec![0], vec![1], vec![1], vec![0]];
        let r = report("m", &labels, &probs, &gold, &[0.5, 0.5]);
        assert_eq!(r.per_label[0].support, 2);
        assert_eq!(r.per_label[1].support, 2);
        // Row 1: gold b, predicted a (wrong) and b; row 3: gold a, nothing predicted.
        assert_eq!(r.confusions, vec![Confusion { gold: "b".into(), predicted: "a".into(), count: 1 }]);
        assert_eq!(r.no_prediction, 1);
        assert!((r.per_label[0].precision - 0.5).abs() < 1e-9);
        assert!((r.per_label[1].recall - 1.0).abs() < 1e-9);
        assert!(r.ece > 0.0 && r.ece < 1.0);
        // A perfectly calibrated, certain classifier has no calibration error.
        let sure = report("m", &labels, &[vec![1.0, 0.0]], &[vec![0]], &[0.5, 0.5]);
        assert!(sure.ece.abs() < 1e-9 && (sure.macro_f1 - 0.5).abs() < 1e-9);
    }
}
