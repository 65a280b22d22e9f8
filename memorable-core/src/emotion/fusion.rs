//! Multi-source fusion: how readings become a context's emotional state.
//!
//! Per context and source the engine keeps, for every expression `i` it has evidence on, two
//! exponentially decayed sums over that source's readings `r` (confidence `c_r`, time `t_r`,
//! score `x_ri`), with `d_r(q) = 2^(-(q - t_r) / half_life)`:
//!
//! ```text
//! m_si(q) = Σ_r c_r d_r(q)          (evidence on i)
//! a_si(q) = Σ_r c_r d_r(q) x_ri
//! ```
//!
//! The source's estimate is `v_si = a_si / m_si` (a confidence-weighted mean that favours
//! recent readings; the ratio does not depend on `q`), and its confidence in `i` is
//! `k_si(q) = min(1, m_si(q))`. Sources are fused per expression with the configured weights:
//!
//! ```text
//! F_i = Σ_s w_s k_si v_si / Σ_s w_s k_si      (0 when no source has evidence on i)
//! confidence = Σ_s w_s k_s / Σ_s w_s          (k_s = min(1, Σ_r c_r d_r(q)); sources with w_s > 0)
//! ```
//!
//! So a weight of 0 mutes a source, a stale source loses ground to a fresh one, and an old
//! state keeps its last known shape while its confidence fades. A dense reading only adds
//! evidence on the names it carries; a sparse one also on every covered name it lacks (see
//! [`Semantics`]). Unknown names get the same treatment as extra dimensions. Valence and
//! arousal are the score-weighted means of the catalog coordinates.
//!
//! The sums are stored relative to the newest reading's time, so an update is one decay
//! multiplication plus one add per score: no history of readings is kept or replayed.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::catalog::{self, FastHash, Vocabulary, LEN};
use super::config::EmotionConfig;
use super::reading::{self, Reading, Resolved, Semantics, Source};
use super::state::{EmotionalState, ExpressionScore, SourceBreakdown};
use crate::error::{Error, Result};
use crate::packed_scores;
use crate::time::{from_ms, to_ms};

/// `2^(-dt / half_life)` for `dt >= 0`.
#[inline]
fn decay(dt_ms: i64, half_life_ms: f64) -> f64 {
    (-(dt_ms as f64) / half_life_ms).exp2()
}

/// One source's decayed evidence within a context.
#[derive(Debug, Clone)]
pub(crate) struct SourceState {
    pub source: Source,
    /// Reference time of the sums: the newest reading's time (ms since the epoch).
    pub t: i64,
    pub readings: u64,
    /// Σ c_r d_r over all readings (the source's overall evidence).
    pub total: f64,
    pub sum: [f64; LEN],
    pub mass: [f64; LEN],
    /// Unknown names: (name, sum, mass).
    pub extras: Vec<(String, f64, f64)>,
}

impl SourceState {
    fn new(source: Source, t: i64) -> SourceState {
        SourceState {
            source,
            t,
            readings: 0,
            total: 0.0,
            sum: [0.0; LEN],
            mass: [0.0; LEN],
            extras: Vec::new(),
        }
    }

    /// Fold one resolved reading in.
    fn apply(&mut self, r: &Resolved, half_life_ms: f64) {
        let w = if r.time_ms >= self.t {
            if r.time_ms > self.t {
                let f = decay(r.time_ms - self.t, half_life_ms);
                self.sum.iter_mut().for_each(|x| *x *= f);
                self.mass.iter_mut().for_each(|x| *x *= f);
                self.extras.iter_mut().for_each(|e| {
                    e.1 *= f;
                    e.2 *= f;
                });
                self.total *= f;
                self.t = r.time_ms;
            }
            r.confidence
        } else {
            // An out-of-order reading: already older than the reference time.
            r.confidence * decay(self.t - r.time_ms, half_life_ms)
        };
        self.readings += 1;
        self.total += w;
        match r.semantics {
            Semantics::Dense => {
                for &(i, x) in &r.catalog {
                    self.sum[i as usize] += w * f64::from(x);
                    self.mass[i as usize] += w;
                }
                for (name, x) in &r.extras {
                    let e = self.extra(name);
                    e.1 += w * f64::from(*x);
                    e.2 += w;
                }
            }
            Semantics::Sparse { missing, vocabulary } => {
                let missing = f64::from(missing);
                let covered = coverage(vocabulary);
                let mut named = [false; LEN];
                for &(i, x) in &r.catalog {
                    named[i as usize] = true;
                    self.sum[i as usize] += w * f64::from(x);
                    self.mass[i as usize] += w;
                }
                for i in 0..LEN {
                    if covered[i] && !named[i] {
                        self.sum[i] += w * missing;
                        self.mass[i] += w;
                    }
                }
                // Extras this source reported before but not now were below the cutoff too.
                for e in &mut self.extras {
                    if !r.extras.iter().any(|(n, _)| *n == e.0) {
                        e.1 += w * missing;
                        e.2 += w;
                    }
                }
                for (name, x) in &r.extras {
                    let e = self.extra(name);
                    e.1 += w * f64::from(*x);
                    e.2 += w;
                }
            }
        }
    }

    fn extra(&mut self, name: &str) -> &mut (String, f64, f64) {
        let i = match self.extras.iter().position(|e| e.0 == name) {
            Some(i) => i,
            None => {
                self.extras.push((name.to_owned(), 0.0, 0.0));
                self.extras.len() - 1
            }
        };
        &mut self.extras[i]
    }

    /// The source's own estimate of expression `i` (0 without evidence).
    fn estimate(&self, i: usize) -> f64 {
        if self.mass[i] > 0.0 {
            (self.sum[i] / self.mass[i]).clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
}

/// Catalog expressions a sparse reading covers.
fn coverage(vocabulary: Option<Vocabulary>) -> &'static [bool; LEN] {
    static ALL: [bool; LEN] = [true; LEN];
    static MASKS: std::sync::OnceLock<[[bool; LEN]; 3]> = std::sync::OnceLock::new();
    let Some(v) = vocabulary else { return &ALL };
    let masks = MASKS.get_or_init(|| {
        let mask = |v: Vocabulary| {
            let mut m = [false; LEN];
            for (i, e) in catalog::expressions().iter().enumerate() {
                m[i] = e.in_vocabulary(v);
            }
            m
        };
        [mask(Vocabulary::Hume), mask(Vocabulary::HumeLanguage), mask(Vocabulary::GoEmotions)]
    });
    match v {
        Vocabulary::Hume => &masks[0],
        Vocabulary::HumeLanguage => &masks[1],
        Vocabulary::GoEmotions => &masks[2],
    }
}

/// A context's fusion state: one [`SourceState`] per source that sent readings.
#[derive(Debug, Clone)]
pub(crate) struct ContextState {
    pub name: String,
    /// Row id in the store (`None` until first saved).
    pub key: Option<i64>,
    /// Wall-clock time of the first reading (ms).
    pub created_at: i64,
    /// Newest reading time (ms).
    pub updated_at: i64,
    pub readings: u64,
    /// Sorted by source.
    pub sources: Vec<SourceState>,
    /// Sequence number of the newest history entry (0: none yet).
    pub history_seq: i64,
    pub closed_at: Option<i64>,
}

impl ContextState {
    pub fn new(name: &str, created_at: i64) -> ContextState {
        ContextState {
            name: name.to_owned(),
            key: None,
            created_at,
            updated_at: i64::MIN,
            readings: 0,
            sources: Vec::new(),
            history_seq: 0,
            closed_at: None,
        }
    }

    /// Fold a validated reading in; returns the index of the source state it changed.
    pub fn apply(&mut self, source: &Source, r: &Resolved, config: &EmotionConfig) -> usize {
        let i = match self.sources.binary_search_by(|s| s.source.cmp(source)) {
            Ok(i) => i,
            Err(i) => {
                self.sources.insert(i, SourceState::new(source.clone(), r.time_ms));
                i
            }
        };
        self.sources[i].apply(r, config.half_life_ms());
        self.readings += 1;
        self.updated_at = self.updated_at.max(r.time_ms);
        self.closed_at = None;
        i
    }

    /// Fuse the sources at `at_ms`: the catalog vector, the extras, the confidence.
    fn fuse_at<'a>(&'a self, at_ms: i64, config: &EmotionConfig) -> (Fused<'a>, Vec<Weighted<'a>>) {
        let h = config.half_life_ms();
        // Per source: weight, log2 of its decay at `at`, the decay, its overall confidence.
        let srcs: Vec<Weighted<'_>> = self
            .sources
            .iter()
            .map(|st| {
                let w = f64::from(config.weights.of(&st.source));
                let log_decay = -((at_ms - st.t).max(0) as f64) / h;
                let decay = log_decay.exp2();
                Weighted { st, w, log_decay, decay, k: (st.total * decay).min(1.0) }
            })
            .collect();
        let mut scores = [0.0f64; LEN];
        for (i, f) in scores.iter_mut().enumerate() {
            *f = fuse(&srcs, |st| (st.sum[i], st.mass[i]));
        }
        let mut names: Vec<&str> =
            self.sources.iter().flat_map(|s| s.extras.iter().map(|e| e.0.as_str())).collect();
        names.sort_unstable();
        names.dedup();
        let extras = names
            .into_iter()
            .map(|name| {
                let v = fuse(&srcs, |st| {
                    st.extras.iter().find(|e| e.0 == name).map_or((0.0, 0.0), |e| (e.1, e.2))
                });
                (name, v)
            })
            .collect();
        let weight_sum: f64 = srcs.iter().filter(|s| s.w > 0.0).map(|s| s.w).sum();
        let wk_sum: f64 = srcs.iter().map(|s| s.w * s.k).sum();
        let confidence = if weight_sum > 0.0 { wk_sum / weight_sum } else { 0.0 };
        (Fused { scores, extras, confidence, wk_sum }, srcs)
    }

    /// The fused state at `at_ms` (ms since the epoch), with the per-source breakdown.
    pub fn evaluate(&self, at_ms: i64, config: &EmotionConfig) -> EmotionalState {
        let (fused, srcs) = self.fuse_at(at_ms, config);
        let sources = srcs
            .iter()
            .map(|s| {
                let mut own = [0.0f64; LEN];
                for (i, o) in own.iter_mut().enumerate() {
                    *o = s.st.estimate(i);
                }
                let (dominant, valence, arousal) = summarize(&own);
                SourceBreakdown {
                    source: s.st.source.clone(),
                    weight: s.w as f32,
                    confidence: s.k as f32,
                    share: if fused.wk_sum > 0.0 { (s.w * s.k / fused.wk_sum) as f32 } else { 0.0 },
                    readings: s.st.readings,
                    updated_at: from_ms(s.st.t),
                    scores: own
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| **v > 0.0)
                        .map(|(i, v)| (catalog::expression(i).id.to_owned(), *v as f32))
                        .collect(),
                    extras: s
                        .st
                        .extras
                        .iter()
                        .filter(|e| e.2 > 0.0)
                        .map(|e| (e.0.clone(), (e.1 / e.2).clamp(0.0, 1.0) as f32))
                        .collect(),
                    dominant,
                    valence,
                    arousal,
                }
            })
            .collect();
        let (dominant, valence, arousal) = summarize(&fused.scores);
        let mut v = [0.0f32; LEN];
        for (x, f) in v.iter_mut().zip(fused.scores.iter()) {
            *x = *f as f32;
        }
        Summary {
            at: at_ms,
            updated_at: self.updated_at.max(0),
            readings: self.readings,
            confidence: fused.confidence as f32,
            valence,
            arousal,
            dominant,
        }
        .into_state(
            &self.name,
            &v,
            fused.extras.iter().map(|(n, x)| ((*n).to_owned(), *x as f32)).collect(),
            sources,
            config.top_k,
        )
    }

    /// The state after the newest reading, in the compact form the history stores.
    /// The state after a reading from `source`, as the history keeps it.
    pub fn history_record(&self, config: &EmotionConfig, source: &Source) -> HistoryRecord {
        let (fused, _) = self.fuse_at(self.updated_at, config);
        HistoryRecord::new(self, self.updated_at, &fused, source)
    }
}

/// Fusion's result at one instant.
struct Fused<'a> {
    scores: [f64; LEN],
    extras: Vec<(&'a str, f64)>,
    confidence: f64,
    /// Σ weight × confidence over the sources (for shares).
    wk_sum: f64,
}

/// A fused state without its per-source breakdown: what the history keeps (non-zero
/// scores only, by catalog id). Rows hold the score maps packed (`crate::packed_scores`:
/// ~5 bytes a score instead of ~25 as a JSON map); rows from before schema 10 hold maps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct HistoryRecord {
    pub at: i64,
    pub updated_at: i64,
    pub readings: u64,
    pub confidence: f32,
    pub valence: f32,
    pub arousal: f32,
    pub dominant: Option<String>,
    #[serde(serialize_with = "packed_scores::serialize", deserialize_with = "packed_scores::deserialize")]
    pub scores: BTreeMap<String, f32>,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        serialize_with = "packed_scores::serialize",
        deserialize_with = "packed_scores::deserialize"
    )]
    pub extras: BTreeMap<String, f32>,
    /// The source of the reading that produced this state (absent in rows written before it
    /// was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

impl HistoryRecord {
    fn new(ctx: &ContextState, at_ms: i64, fused: &Fused<'_>, source: &Source) -> HistoryRecord {
        let (dominant, valence, arousal) = summarize(&fused.scores);
        HistoryRecord {
            at: at_ms,
            updated_at: ctx.updated_at.max(0),
            readings: ctx.readings,
            confidence: fused.confidence as f32,
            valence,
            arousal,
            dominant,
            scores: (0..LEN)
                .filter(|&i| fused.scores[i] > 0.0)
                .map(|i| (catalog::expression(i).id.to_owned(), fused.scores[i] as f32))
                .collect(),
            extras: fused.extras.iter().map(|(n, v)| ((*n).to_owned(), *v as f32)).collect(),
            source: Some(source.clone()),
        }
    }

    /// The full state: every catalog id in `scores`, `top` from the scores.
    pub fn into_state(self, context: &str, sources: Vec<SourceBreakdown>, top_k: usize) -> EmotionalState {
        let mut v = [0.0f32; LEN];
        for (id, x) in &self.scores {
            if let Some(i) = catalog::index_of(id) {
                v[i] = *x;
            }
        }
        let mut state = Summary {
            at: self.at,
            updated_at: self.updated_at,
            readings: self.readings,
            confidence: self.confidence,
            valence: self.valence,
            arousal: self.arousal,
            dominant: self.dominant,
        }
        .into_state(context, &v, self.extras, sources, top_k);
        state.source = self.source;
        state
    }
}

/// The scalar part of a state.
struct Summary {
    at: i64,
    updated_at: i64,
    readings: u64,
    confidence: f32,
    valence: f32,
    arousal: f32,
    dominant: Option<String>,
}

impl Summary {
    fn into_state(
        self,
        context: &str,
        v: &[f32; LEN],
        extras: BTreeMap<String, f32>,
        sources: Vec<SourceBreakdown>,
        top_k: usize,
    ) -> EmotionalState {
        let mut top: Vec<usize> = (0..LEN).filter(|&i| v[i] > 0.0).collect();
        top.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
        top.truncate(top_k);
        EmotionalState {
            context: context.to_owned(),
            at: from_ms(self.at),
            updated_at: from_ms(self.updated_at),
            // Catalog indices in id order: the map is bulk-built from sorted input.
            scores: catalog::by_id().iter().map(|&i| (catalog::expression(i).id.to_owned(), v[i])).collect(),
            extras,
            dominant: self.dominant,
            top: top
                .into_iter()
                .map(|i| ExpressionScore { id: catalog::expression(i).id.to_owned(), score: v[i] })
                .collect(),
            valence: self.valence,
            arousal: self.arousal,
            confidence: self.confidence,
            sources,
            readings: self.readings,
            source: None,
        }
    }
}

/// A source as fusion sees it at one instant.
struct Weighted<'a> {
    st: &'a SourceState,
    w: f64,
    log_decay: f64,
    decay: f64,
    /// Overall confidence: min(1, evidence × decay).
    k: f64,
}

/// `F = Σ_s w_s k_s v_s / Σ_s w_s k_s` over the sources with evidence on one dimension,
/// where `dim` gives a source's (sum, mass) on it and `k_s = min(1, mass × decay)`. When the
/// weights underflow (evidence thousands of half-lives old) the same ratio is taken in log2
/// space, so an old state keeps its shape instead of collapsing to 0.
#[inline]
fn fuse(srcs: &[Weighted<'_>], dim: impl Fn(&SourceState) -> (f64, f64)) -> f64 {
    let (mut num, mut den, mut evidence) = (0.0, 0.0, false);
    for s in srcs {
        let (sum, mass) = dim(s.st);
        if s.w <= 0.0 || mass <= 0.0 {
            continue;
        }
        evidence = true;
        let wk = s.w * (mass * s.decay).min(1.0);
        num += wk * (sum / mass);
        den += wk;
    }
    if den > 1e-280 {
        return (num / den).clamp(0.0, 1.0);
    }
    if !evidence {
        return 0.0;
    }
    let logs: Vec<(f64, f64)> = srcs
        .iter()
        .filter_map(|s| {
            let (sum, mass) = dim(s.st);
            (s.w > 0.0 && mass > 0.0).then(|| (s.w.log2() + (mass.log2() + s.log_decay).min(0.0), sum / mass))
        })
        .collect();
    let max = logs.iter().map(|l| l.0).fold(f64::NEG_INFINITY, f64::max);
    let (mut num, mut den) = (0.0, 0.0);
    for (l, v) in logs {
        let w = (l - max).exp2();
        num += w * v;
        den += w;
    }
    (num / den).clamp(0.0, 1.0)
}

/// Dominant expression (first of the highest, `None` if all are 0), and score-weighted mean
/// valence and arousal of a catalog vector.
fn summarize(v: &[f64]) -> (Option<String>, f32, f32) {
    let mut best: Option<usize> = None;
    let (mut total, mut val, mut aro) = (0.0, 0.0, 0.0);
    for (i, &x) in v.iter().enumerate() {
        if x > 0.0 {
            // Compared as the f32 the caller sees, so `dominant` is always `top[0]`.
            if best.is_none_or(|b| x as f32 > v[b] as f32) {
                best = Some(i);
            }
            let e = catalog::expression(i);
            total += x;
            val += x * f64::from(e.valence);
            aro += x * f64::from(e.arousal);
        }
    }
    if total == 0.0 {
        return (None, 0.0, 0.0);
    }
    (best.map(|i| catalog::expression(i).id.to_owned()), (val / total) as f32, (aro / total) as f32)
}

/// The stored form of a [`SourceState`] (catalog dimensions by id, so the catalog may grow).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SourceRecord {
    pub t: i64,
    pub readings: u64,
    pub total: f64,
    /// id → (sum, mass)
    pub dims: BTreeMap<String, (f64, f64)>,
    #[serde(default)]
    pub extras: BTreeMap<String, (f64, f64)>,
}

impl SourceState {
    pub fn to_record(&self) -> SourceRecord {
        SourceRecord {
            t: self.t,
            readings: self.readings,
            total: self.total,
            dims: (0..LEN)
                .filter(|&i| self.mass[i] > 0.0)
                .map(|i| (catalog::expression(i).id.to_owned(), (self.sum[i], self.mass[i])))
                .collect(),
            extras: self.extras.iter().map(|e| (e.0.clone(), (e.1, e.2))).collect(),
        }
    }

    pub fn from_record(source: Source, r: SourceRecord) -> SourceState {
        let mut st = SourceState::new(source, r.t);
        st.readings = r.readings;
        st.total = r.total;
        for (id, (s, m)) in r.dims {
            match catalog::index_of(&id) {
                Some(i) => {
                    st.sum[i] = s;
                    st.mass[i] = m;
                }
                // An id a newer catalog knows but this build does not: keep it as an extra.
                None => st.extras.push((id, s, m)),
            }
        }
        st.extras.extend(r.extras.into_iter().map(|(n, (s, m))| (n, s, m)));
        st
    }
}

/// An in-memory fusion engine with no store behind it: the same arithmetic
/// [`crate::Memorable::observe`] uses, for applications that only need fusion (and for the
/// benchmark). Not thread-safe by itself; wrap it in a lock to share it.
pub struct Fusion {
    config: EmotionConfig,
    contexts: HashMap<String, ContextState, FastHash>,
    scratch: Resolved,
}

impl Fusion {
    /// A fusion engine with this configuration (validated).
    pub fn new(config: EmotionConfig) -> Result<Fusion> {
        config.validate()?;
        let scratch = Resolved {
            time_ms: 0,
            confidence: 0.0,
            semantics: Semantics::Dense,
            catalog: Vec::with_capacity(64),
            extras: Vec::new(),
        };
        Ok(Fusion { config, contexts: HashMap::with_hasher(FastHash), scratch })
    }

    /// Fold one reading into its context; `now` is the clock used for a missing timestamp
    /// and the future-timestamp check. Bad input is an error that changes nothing.
    pub fn observe(&mut self, reading: &Reading, now: OffsetDateTime) -> Result<()> {
        let now_ms = to_ms(now);
        let r = &mut self.scratch;
        reading::resolve_into(reading, now_ms, self.config.max_future_ms(), r)?;
        let ctx = match self.contexts.get_mut(reading.context.as_str()) {
            Some(c) => c,
            None => self
                .contexts
                .entry(reading.context.clone())
                .or_insert_with(|| ContextState::new(&reading.context, now_ms)),
        };
        ctx.apply(&reading.source, r, &self.config);
        Ok(())
    }

    /// The fused state of a context at `at` (`None` for a context with no readings).
    pub fn state(&self, context: &str, at: OffsetDateTime) -> Option<EmotionalState> {
        self.contexts.get(context).map(|c| c.evaluate(to_ms(at), &self.config))
    }

    /// Context ids with readings, sorted.
    pub fn contexts(&self) -> Vec<String> {
        let mut v: Vec<String> = self.contexts.keys().cloned().collect();
        v.sort();
        v
    }

    /// Forget a context's state; false if there was none.
    pub fn remove(&mut self, context: &str) -> bool {
        self.contexts.remove(context).is_some()
    }

    pub fn config(&self) -> &EmotionConfig {
        &self.config
    }
}

impl std::fmt::Debug for Fusion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fusion").field("contexts", &self.contexts.len()).finish()
    }
}

/// An error naming the item of a batch that failed (same code).
pub(crate) fn at_item(e: Error, i: usize) -> Error {
    match e {
        Error::InvalidInput(m) => Error::InvalidInput(format!("reading {i}: {m}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_000_000;

    fn at(ms: i64) -> OffsetDateTime {
        from_ms(ms)
    }

    fn fusion(half_life_secs: f64) -> Fusion {
        Fusion::new(EmotionConfig { half_life_secs, ..EmotionConfig::default() }).unwrap()
    }

    fn close(a: f32, b: f64) {
        assert!((f64::from(a) - b).abs() < 1e-6, "{a} != {b}");
    }

    #[test]
    fn one_source_is_its_reading() {
        let mut f = fusion(60.0);
        let r = Reading::new("c", Source::Text).score("joy", 0.8).score("sadness", 0.1).timestamp(at(T0));
        f.observe(&r, at(T0)).unwrap();
        let s = f.state("c", at(T0)).unwrap();
        close(s.score("joy"), 0.8);
        close(s.score("sadness"), 0.1);
        close(s.confidence, 1.0);
        assert_eq!(s.dominant.as_deref(), Some("joy"));
        assert_eq!(s.scores.len(), LEN);
        // One half-life later the shape is the same, the confidence halved.
        let later = f.state("c", at(T0 + 60_000)).unwrap();
        close(later.score("joy"), 0.8);
        close(later.confidence, 0.5);
    }

    #[test]
    fn decay_favours_the_newer_reading() {
        let mut f = fusion(60.0);
        f.observe(&Reading::new("c", Source::Voice).score("anger", 1.0).timestamp(at(T0)), at(T0)).unwrap();
        f.observe(
            &Reading::new("c", Source::Voice).score("anger", 0.0).timestamp(at(T0 + 60_000)),
            at(T0 + 60_000),
        )
        .unwrap();
        // (0.5·1 + 1·0) / (0.5 + 1) = 1/3
        close(f.state("c", at(T0 + 60_000)).unwrap().score("anger"), 1.0 / 3.0);
        // Arriving in the other order gives the same state.
        let mut g = fusion(60.0);
        g.observe(
            &Reading::new("c", Source::Voice).score("anger", 0.0).timestamp(at(T0 + 60_000)),
            at(T0 + 60_000),
        )
        .unwrap();
        g.observe(&Reading::new("c", Source::Voice).score("anger", 1.0).timestamp(at(T0)), at(T0 + 60_000))
            .unwrap();
        close(g.state("c", at(T0 + 60_000)).unwrap().score("anger"), 1.0 / 3.0);
    }

    #[test]
    fn very_old_state_keeps_its_shape() {
        let mut f = fusion(1.0);
        f.observe(&Reading::new("c", Source::Evi).score("Joy", 0.9).timestamp(at(T0)), at(T0)).unwrap();
        f.observe(&Reading::new("c", Source::Face).score("joy", 0.3).timestamp(at(T0)), at(T0)).unwrap();
        let s = f.state("c", at(T0 + 5_000_000)).unwrap(); // 5000 half-lives: 2^-5000 underflows
        close(s.score("joy"), (0.5 * 0.9 + 0.3 * 0.3) / 0.8);
        assert_eq!(s.confidence, 0.0);
    }

    #[test]
    fn zero_weight_mutes_and_unknown_names_are_kept() {
        let mut c = EmotionConfig::default();
        c.weights.face = 0.0;
        let mut f = Fusion::new(c).unwrap();
        f.observe(
            &Reading::new("c", Source::Face).score("joy", 1.0).score("jaw drop", 0.7).timestamp(at(T0)),
            at(T0),
        )
        .unwrap();
        let s = f.state("c", at(T0)).unwrap();
        assert_eq!(s.score("joy"), 0.0);
        assert_eq!(s.confidence, 0.0);
        assert_eq!(s.dominant, None);
        assert_eq!(s.extras.get("jaw drop"), Some(&0.0));
        assert_eq!(s.sources[0].extras.get("jaw drop"), Some(&0.7));
        assert_eq!(s.sources[0].share, 0.0);
    }

    #[test]
    fn sparse_missing_names_pull_down_dense_ones_do_not() {
        let sparse = Semantics::Sparse { missing: 0.0, vocabulary: Some(Vocabulary::Hume) };
        let mut f = fusion(60.0);
        f.observe(
            &Reading::new("c", Source::Face).score("joy", 0.8).score("gratitude", 0.6).timestamp(at(T0)),
            at(T0),
        )
        .unwrap();
        f.observe(
            &Reading::new("c", Source::Face).score("anger", 0.4).semantics(sparse).timestamp(at(T0)),
            at(T0),
        )
        .unwrap();
        let s = f.state("c", at(T0)).unwrap();
        close(s.score("joy"), 0.4); // covered, missing → (0.8 + 0) / 2
        close(s.score("gratitude"), 0.6); // not in Hume's 48: untouched
        close(s.score("anger"), 0.4); // only the sparse reading measured it
        let mut g = fusion(60.0);
        g.observe(&Reading::new("c", Source::Face).score("joy", 0.8).timestamp(at(T0)), at(T0)).unwrap();
        g.observe(&Reading::new("c", Source::Face).score("anger", 0.4).timestamp(at(T0)), at(T0)).unwrap();
        close(g.state("c", at(T0)).unwrap().score("joy"), 0.8);
    }

    #[test]
    fn records_round_trip() {
        let mut f = fusion(60.0);
        f.observe(
            &Reading::new("c", Source::Custom("ring".into()))
                .score("awe", 0.5)
                .score("x", 0.2)
                .timestamp(at(T0)),
            at(T0),
        )
        .unwrap();
        let ctx = &f.contexts["c"];
        let rec = ctx.sources[0].to_record();
        let json = serde_json::to_string(&rec).unwrap();
        let back =
            SourceState::from_record(ctx.sources[0].source.clone(), serde_json::from_str(&json).unwrap());
        assert_eq!(back.sum, ctx.sources[0].sum);
        assert_eq!(back.mass, ctx.sources[0].mass);
        assert_eq!(back.extras, ctx.sources[0].extras);
        assert_eq!(back.total, ctx.sources[0].total);
    }
}
