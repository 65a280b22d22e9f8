//! Leave-one-conversation-out cross-validation (`--cv`): every point of a grid of ranking
//! weights is scored on every conversation; each conversation is then scored with the point
//! that did best (pooled R@10) on the *other* conversations, and those held-out results are
//! pooled. A change that raises the plain dev figure but not this one is fitting.

use std::collections::BTreeMap;

use memorable::RankWeights;
use serde::Serialize;
use serde_json::{json, Value};

/// One question's result: its category and recall at 1, 5, 10.
pub type Outcome = (u8, [f64; 3]);

/// The built-in coarse grid: the knobs of the re-ranking that past tuning moved most
/// (keyword weight, neighbour context, who-matching, date grounding), around the defaults.
/// 3 x 3 x 2 x 2 = 36 points; the default weights are point 0.
pub fn default_grid() -> Vec<Value> {
    let mut grid = vec![json!({})];
    for keyword in [0.2, 0.4, 0.8] {
        for context in [0.4, 0.8, 1.2] {
            for who in [1.0, 2.5] {
                for date in [2.0, 4.0] {
                    let p = json!({"keyword": keyword, "context": context, "who": who, "date": date});
                    if p != json!({"keyword": 0.4, "context": 0.8, "who": 2.5, "date": 4.0}) {
                        grid.push(p);
                    }
                }
            }
        }
    }
    grid
}

/// A grid point as weights: the defaults with the point's fields over them.
pub fn weights_of(point: &Value) -> serde_json::Result<RankWeights> {
    let mut base = serde_json::to_value(RankWeights::default())?;
    if let (Some(b), Some(p)) = (base.as_object_mut(), point.as_object()) {
        for (k, v) in p {
            b.insert(k.clone(), v.clone());
        }
    }
    serde_json::from_value(base)
}

#[derive(Serialize)]
pub struct Fold {
    pub held_out: String,
    /// Index into the grid and the point itself.
    pub chosen: usize,
    pub point: Value,
    /// Pooled R@10 of the chosen point on the other conversations.
    pub train_recall_at_10: f64,
    /// R@10 of the held-out conversation with it.
    pub held_out_recall_at_10: f64,
}

#[derive(Serialize)]
pub struct CvReport {
    pub grid_points: usize,
    pub overall: [f64; 3],
    pub questions: usize,
    pub categories: BTreeMap<u8, [f64; 3]>,
    pub folds: Vec<Fold>,
    /// Every point's R@10 pooled over all conversations and per conversation (not
    /// cross-validated: for ablations, and for rules that help one conversation and hurt
    /// another).
    pub points: Vec<PointScore>,
}

#[derive(Serialize)]
pub struct PointScore {
    pub point: Value,
    pub recall_at_10: f64,
    pub per_conversation: Vec<f64>,
}

fn mean(outcomes: &[&Outcome]) -> [f64; 3] {
    let mut s = [0.0; 3];
    for (_, r) in outcomes {
        for (a, b) in s.iter_mut().zip(r) {
            *a += b;
        }
    }
    s.map(|x| x / outcomes.len().max(1) as f64)
}

/// `runs[g][c]`: the outcomes of grid point `g` on conversation `c`.
pub fn cross_validate(grid: &[Value], names: &[String], runs: &[Vec<Vec<Outcome>>]) -> CvReport {
    let mut pooled: Vec<&Outcome> = Vec::new();
    let mut folds = Vec::new();
    for (c, name) in names.iter().enumerate() {
        // The best point on the other conversations (ties keep the earlier point: the
        // default comes first).
        let mut best = (0, f64::MIN);
        for (g, run) in runs.iter().enumerate() {
            let train: Vec<&Outcome> =
                run.iter().enumerate().filter(|(i, _)| *i != c).flat_map(|(_, o)| o).collect();
            let r10 = mean(&train)[2];
            if r10 > best.1 + 1e-12 {
                best = (g, r10);
            }
        }
        let held: Vec<&Outcome> = runs[best.0][c].iter().collect();
        folds.push(Fold {
            held_out: name.clone(),
            chosen: best.0,
            point: grid[best.0].clone(),
            train_recall_at_10: best.1,
            held_out_recall_at_10: mean(&held)[2],
        });
        pooled.extend(held);
    }
    let mut by_cat: BTreeMap<u8, Vec<&Outcome>> = BTreeMap::new();
    for o in &pooled {
        by_cat.entry(o.0).or_default().push(o);
    }
    let points = grid
        .iter()
        .zip(runs)
        .map(|(p, run)| PointScore {
            point: p.clone(),
            recall_at_10: mean(&run.iter().flatten().collect::<Vec<_>>())[2],
            per_conversation: run.iter().map(|o| mean(&o.iter().collect::<Vec<_>>())[2]).collect(),
        })
        .collect();
    CvReport {
        points,
        grid_points: grid.len(),
        overall: mean(&pooled),
        questions: pooled.len(),
        categories: by_cat.into_iter().map(|(c, v)| (c, mean(&v))).collect(),
        folds,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fold_is_scored_with_the_point_best_on_the_others() {
        let grid = vec![json!({}), json!({"keyword": 1.0})];
        let names = vec!["a".to_owned(), "b".to_owned()];
        // Point 1 is better on "a", point 0 on "b": each fold must pick the other's winner.
        let runs = vec![
            vec![vec![(1, [0.0, 0.0, 0.2])], vec![(1, [0.0, 0.0, 0.9])]],
            vec![vec![(1, [0.0, 0.0, 0.8])], vec![(1, [0.0, 0.0, 0.1])]],
        ];
        let r = cross_validate(&grid, &names, &runs);
        assert_eq!(r.folds[0].chosen, 0, "fold a: trained on b, where point 0 wins");
        assert_eq!(r.folds[1].chosen, 1);
        assert!((r.overall[2] - (0.2 + 0.1) / 2.0).abs() < 1e-12, "{:?}", r.overall);
        assert_eq!(weights_of(&json!({"keyword": 1.0})).unwrap().keyword, 1.0);
        assert_eq!(weights_of(&json!({})).unwrap(), RankWeights::default());
        assert!(weights_of(&json!({"nope": 1})).is_err());
        assert_eq!(default_grid().len(), 36);
    }
}
