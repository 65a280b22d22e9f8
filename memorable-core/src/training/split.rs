//! An application's labelled examples as a training set, and its deterministic, stratified
//! split into the rows a model is fitted on, the rows that tune its thresholds and pick its
//! best evaluation (both the "train side"), and the evaluation rows no training step sees.

use serde::{Deserialize, Serialize};

/// Labelled texts with their label set.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub labels: Vec<String>,
    pub texts: Vec<String>,
    /// Label indices of each text.
    pub gold: Vec<Vec<usize>>,
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.texts.len()
    }
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }
}

/// Row indices of each part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    pub fit: Vec<usize>,
    pub tune: Vec<usize>,
    pub eval: Vec<usize>,
}

/// FNV-1a of the text, salted: a row's place does not depend on the order rows came in, so
/// the same examples always split the same way, and adding examples moves no old row from
/// evaluation to training or back (within its stratum's proportion).
fn stable_hash(text: &str, salt: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in text.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Take `fraction` of `rows` from every stratum (a row's stratum is its rarest label; rows
/// without labels form one more), in stable-hash order: `(taken, rest)`, each sorted.
fn stratified(ds: &Dataset, rows: &[usize], fraction: f64, salt: u64) -> (Vec<usize>, Vec<usize>) {
    let mut freq = vec![0usize; ds.labels.len()];
    for &r in rows {
        for &l in &ds.gold[r] {
            freq[l] += 1;
        }
    }
    let stratum = |r: usize| ds.gold[r].iter().copied().min_by_key(|&l| (freq[l], l)).unwrap_or(usize::MAX);
    let mut keyed: Vec<(usize, u64, usize)> =
        rows.iter().map(|&r| (stratum(r), stable_hash(&ds.texts[r], salt), r)).collect();
    keyed.sort_unstable();
    let (mut taken, mut rest) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < keyed.len() {
        let s = keyed[i].0;
        let mut k = 0usize;
        while i < keyed.len() && keyed[i].0 == s {
            // Row k of a stratum is taken when the running share crosses a whole row.
            let take = ((k + 1) as f64 * fraction).floor() > (k as f64 * fraction).floor();
            if take {
                taken.push(keyed[i].2)
            } else {
                rest.push(keyed[i].2)
            }
            k += 1;
            i += 1;
        }
    }
    taken.sort_unstable();
    rest.sort_unstable();
    (taken, rest)
}

/// Evaluation rows (`eval_fraction` of each stratum), then from the rest the tuning rows
/// (`holdout_fraction`) and the fitted rows.
pub fn split(ds: &Dataset, eval_fraction: f64, holdout_fraction: f64, seed: u64) -> Split {
    let all: Vec<usize> = (0..ds.len()).collect();
    let (eval, train) = stratified(ds, &all, eval_fraction, seed);
    let (tune, fit) = stratified(ds, &train, holdout_fraction, seed ^ 0x7E57);
    Split { fit, tune, eval }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(n: usize) -> Dataset {
        Dataset {
            labels: vec!["a".into(), "b".into(), "rare".into()],
            texts: (0..n).map(|i| format!("text number {i}")).collect(),
            gold: (0..n).map(|i| if i % 10 == 0 { vec![2, 0] } else { vec![i % 2] }).collect(),
        }
    }

    #[test]
    fn split_is_deterministic_disjoint_and_stratified() {
        let ds = data(1000);
        let s = split(&ds, 0.2, 0.1, 42);
        assert_eq!(s, split(&ds, 0.2, 0.1, 42));
        assert_ne!(s.eval, split(&ds, 0.2, 0.1, 7).eval);
        let mut all: Vec<usize> = s.fit.iter().chain(&s.tune).chain(&s.eval).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        assert_eq!(s.eval.len(), 200);
        // The rare label (100 rows) is split in proportion: 20 in evaluation.
        let rare = s.eval.iter().filter(|&&r| ds.gold[r].contains(&2)).count();
        assert_eq!(rare, 20);
        // Order of the rows does not matter, only their texts.
        let mut rev = ds.clone();
        rev.texts.reverse();
        rev.gold.reverse();
        let r = split(&rev, 0.2, 0.1, 42);
        let texts = |d: &Dataset, rows: &[usize]| {
            let mut t: Vec<String> = rows.iter().map(|&i| d.texts[i].clone()).collect();
            t.sort();
            t
        };
        assert_eq!(texts(&ds, &s.eval), texts(&rev, &r.eval));
    }
}
