//! Per-user calibration: a user with enough corrections of a classifier gets thresholds of
//! their own, tuned on those corrections, used for their texts only. The shared model and
//! its scores stay as they are; only which labels a score earns changes, so a user who
//! calls more texts "anger" than GoEmotions' raters did gets a lower anger threshold, and
//! one who never uses a label stops seeing it. Kept per deployed version (a new version is
//! calibrated again at the next correction) and erased with the user.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::collect::{examples, require};
use super::current::current;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::models::emotion_metrics::{evaluate, threshold_grid};
use crate::store::{self, examples as rows};
use crate::time::now_ms;

/// A user's calibration of a classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Calibration {
    pub classifier: String,
    pub user: String,
    /// The deployed version it was tuned for (`name@version`).
    pub model: String,
    /// The user's examples it was tuned on.
    pub examples: u64,
    /// Label → the user's threshold (above 1: never predicted for this user).
    pub thresholds: BTreeMap<String, f32>,
    /// Macro-F1 on those examples with the model's thresholds and with the user's (on the
    /// data it was tuned on: an upper bound; docs/benchmarks.md has held-out figures).
    pub macro_f1_model: f64,
    pub macro_f1_user: f64,
}

/// Above every probability: the label is never predicted.
const NEVER: f32 = 1.01;

/// The user's thresholds for `model` (`name@version`), when they have a calibration for it.
pub(crate) fn thresholds(
    engine: &Engine,
    classifier: &str,
    user: &str,
    model: &str,
) -> Result<Option<Vec<f32>>> {
    let Some(key) = engine.store.read(|c| store::user_key(c, user))? else { return Ok(None) };
    let Some((version, t, _)) = engine.store.read(|c| rows::get_calibration(c, classifier, key))? else {
        return Ok(None);
    };
    if version != model {
        return Ok(None);
    }
    Ok(Some(serde_json::from_str(&t)?))
}

/// Per-label thresholds maximizing F1 on `(probs, gold)`; a label the user never gives is
/// raised over every score it had; ties keep the threshold nearest the model's.
pub(crate) fn tune(probs: &[Vec<f32>], gold: &[Vec<usize>], model: &[f32]) -> Vec<f32> {
    (0..model.len())
        .map(|l| {
            if !gold.iter().any(|g| g.contains(&l)) {
                let top = probs.iter().map(|p| p[l]).fold(0.0f32, f32::max);
                return if top >= model[l] { NEVER } else { model[l] };
            }
            let f1 = |t: f32| {
                let column: Vec<Vec<f32>> = probs.iter().map(|p| vec![p[l]]).collect();
                let g: Vec<Vec<usize>> =
                    gold.iter().map(|g| if g.contains(&l) { vec![0] } else { vec![] }).collect();
                evaluate(&column, &g, &[t]).macro_f1
            };
            let mut best = (model[l], f1(model[l]));
            for t in threshold_grid() {
                let s = f1(t);
                if s > best.1 + 1e-9
                    || ((s - best.1).abs() <= 1e-9 && (t - model[l]).abs() < (best.0 - model[l]).abs())
                {
                    best = (t, s);
                }
            }
            best.0
        })
        .collect()
}

/// After a correction: calibrate `user` again when they reach the minimum, when the deployed
/// version changed, or when their examples grew by a quarter since the last calibration (so
/// a stream of corrections costs a logarithmic number of calibrations, not one each).
pub(crate) fn after_correction(engine: &Engine, classifier: &str, user: &str) -> Result<()> {
    let n = examples(engine, classifier, Some(user))?.len() as u64;
    if n < engine.config.classifiers.personalize_min_corrections as u64 {
        return Ok(());
    }
    let Some(key) = engine.store.read(|c| store::user_key(c, user))? else { return Ok(()) };
    let last = engine.store.read(|c| rows::get_calibration(c, classifier, key))?;
    let model = current(engine, classifier)?.map(|(id, _)| id);
    let fresh = match (&last, &model) {
        (Some((version, _, at)), Some(m)) => version == m && n * 4 < at * 5,
        _ => false,
    };
    if !fresh {
        calibrate(engine, classifier, user)?;
    }
    Ok(())
}

/// Tune `user`'s thresholds for `classifier` on their examples, when they have at least
/// `classifiers.personalize_min_corrections`; `None` below that.
pub(crate) fn calibrate(engine: &Engine, classifier: &str, user: &str) -> Result<Option<Calibration>> {
    let (labels, _) = require(engine, classifier)?;
    let mine = examples(engine, classifier, Some(user))?;
    if mine.len() < engine.config.classifiers.personalize_min_corrections {
        return Ok(None);
    }
    let Some((model, c)) = current(engine, classifier)? else {
        return Err(Error::ClassifierUnavailable(format!(
            "classifier {classifier:?} has no deployed version yet"
        )));
    };
    let texts: Vec<&str> = mine.iter().map(|e| e.text.as_str()).collect();
    let gold: Vec<Vec<usize>> = mine
        .iter()
        .map(|e| e.labels.iter().filter_map(|l| labels.iter().position(|x| x == l)).collect())
        .collect();
    let mut probs = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(256) {
        probs.extend(c.classify(chunk)?);
    }
    let tuned = tune(&probs, &gold, c.thresholds());
    let before = evaluate(&probs, &gold, c.thresholds()).macro_f1;
    let after = evaluate(&probs, &gold, &tuned).macro_f1;
    let key = engine.store.read(|c| store::user_key(c, user))?.ok_or(Error::MissingUser)?;
    rows::put_calibration(
        &engine.store.locked(),
        classifier,
        key,
        &model,
        &serde_json::to_string(&tuned)?,
        mine.len() as u64,
        now_ms(),
    )?;
    Ok(Some(Calibration {
        classifier: classifier.to_owned(),
        user: user.to_owned(),
        model,
        examples: mine.len() as u64,
        thresholds: labels.iter().cloned().zip(tuned).collect(),
        macro_f1_model: before,
        macro_f1_user: after,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuning_follows_the_users_labelling() {
        // Label 0: the user gives it from 0.3 up (the model's threshold is 0.5); label 1: the
        // user never gives it, though the model scores it high.
        let probs: Vec<Vec<f32>> = (0..40).map(|i| vec![i as f32 / 40.0, 0.9]).collect();
        let gold: Vec<Vec<usize>> =
            (0..40).map(|i| if i as f32 / 40.0 >= 0.3 { vec![0] } else { vec![] }).collect();
        let t = tune(&probs, &gold, &[0.5, 0.5]);
        assert!((t[0] - 0.3).abs() < 0.026, "{t:?}");
        assert_eq!(t[1], NEVER);
        // A label the user never gives and the model never predicted keeps its threshold.
        let t = tune(&[vec![0.1, 0.2]], &[vec![]], &[0.5, 0.4]);
        assert_eq!(t, vec![0.5, 0.4]);
    }
}
