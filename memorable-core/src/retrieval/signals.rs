//! Re-ranking signals, each in [0, 1] before its weight: recency, salience (importance,
//! arousal, access count), mood congruence, who-matching and date grounding.

use super::query::{in_spans, says_when, QueryAnalysis};
use super::request::Mood;
use crate::memory::EmotionSnapshot;
use crate::store::RankRow;

/// `0.5 ^ (age / half_life)`; a memory from the anchor's future counts as brand new.
pub(crate) fn recency(occurred_at: i64, anchor: i64, half_life_hours: f32) -> f32 {
    let age_h = (anchor - occurred_at).max(0) as f64 / 3_600_000.0;
    0.5f64.powf(age_h / f64::from(half_life_hours)) as f32
}

/// Arousal of the snapshot mapped from [-1, 1] to [0, 1] (0 without a snapshot).
pub(crate) fn arousal(a: Option<f32>) -> f32 {
    a.map_or(0.0, |a| ((a + 1.0) / 2.0).clamp(0.0, 1.0))
}

/// `ln(1 + n) / ln(101)`, capped at 1: the hundredth access counts fully.
pub(crate) fn access(count: u64) -> f32 {
    ((1.0 + count as f64).ln() / 101f64.ln()).min(1.0) as f32
}

/// Similarity in [0, 1] of a memory's snapshot to a mood: the mean of the parts both
/// carry — cosine of the expression scores, and closeness in the valence-arousal plane
/// (1 − distance / 2√2). 0 without a snapshot or with nothing in common.
pub(crate) fn mood_congruence(mood: &Mood, e: Option<&EmotionSnapshot>) -> f32 {
    let Some(e) = e else { return 0.0 };
    let mut parts = Vec::with_capacity(2);
    if !mood.scores.is_empty() && !e.scores.is_empty() {
        let dot: f32 = mood.scores.iter().filter_map(|(k, v)| e.scores.get(k).map(|w| v * w)).sum();
        let n1 = mood.scores.values().map(|v| v * v).sum::<f32>().sqrt();
        let n2 = e.scores.values().map(|v| v * v).sum::<f32>().sqrt();
        if n1 > 0.0 && n2 > 0.0 {
            parts.push((dot / (n1 * n2)).clamp(0.0, 1.0));
        }
    }
    if mood.valence.is_some() || mood.arousal.is_some() {
        let dv = mood.valence.map_or(0.0, |v| v - e.valence);
        let da = mood.arousal.map_or(0.0, |a| a - e.arousal);
        parts.push(1.0 - (dv * dv + da * da).sqrt() / (2.0 * std::f32::consts::SQRT_2));
    }
    if parts.is_empty() {
        0.0
    } else {
        parts.iter().sum::<f32>() / parts.len() as f32
    }
}

/// Who-matching of a memory spoken by a person the query names who is not its subject
/// ("What did Jon tell Gina?" and a turn of Gina's): the answer is usually the subject's
/// own turn, but the other person's turns around it often hold it too.
const OTHER_SPEAKER: f32 = 0.5;

/// 1 when the memory's speaker is the query's subject (or one of a joined pair, "Jon and
/// Gina"); [`OTHER_SPEAKER`] when it is another person the query names; 0.3 when the
/// memory's text mentions a person the query names; else 0.
pub(crate) fn who(q: &QueryAnalysis, row: &RankRow) -> f32 {
    if q.mentions.is_empty() {
        return 0.0;
    }
    if let Some(s) = &row.memory.context.speaker {
        if q.subject.as_ref().is_some_and(|n| n.eq_ignore_ascii_case(s)) {
            return 1.0;
        }
        if q.speakers.iter().any(|n| n.eq_ignore_ascii_case(s)) {
            return if q.subject.is_none() { 1.0 } else { OTHER_SPEAKER };
        }
    }
    let mentioned = q.mentions.iter().any(|name| row.words.contains(name.as_str()));
    if mentioned {
        0.3
    } else {
        0.0
    }
}

/// Date grounding of a memory that says when something happened ("last week") for a
/// query that asks when: a quarter of the grounding on a named date, so it orders the
/// memories about the question's matter without lifting unrelated ones past them.
const SAYS_WHEN: f32 = 0.25;

/// 1 when the memory occurred in a date span the query names; [`SAYS_WHEN`] when the query
/// asks when and the memory's text says when; else 0.
pub(crate) fn date(q: &QueryAnalysis, row: &RankRow) -> f32 {
    if in_spans(row.occurred_at, &q.dates) {
        1.0
    } else if q.asks_when && says_when(&row.words) {
        SAYS_WHEN
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_ranges() {
        assert!((recency(0, 3_600_000 * 720, 720.0) - 0.5).abs() < 1e-6);
        assert_eq!(recency(10, 0, 1.0), 1.0);
        assert_eq!(access(0), 0.0);
        assert_eq!(access(100), 1.0);
        let happy = EmotionSnapshot { valence: 0.8, arousal: 0.6, ..Default::default() };
        let mood = Mood { valence: Some(0.8), arousal: Some(0.6), ..Default::default() };
        assert!((mood_congruence(&mood, Some(&happy)) - 1.0).abs() < 1e-6);
        let sad = Mood { valence: Some(-0.8), arousal: Some(-0.6), ..Default::default() };
        // Distance 2.0 of the largest possible 2√2 in the valence-arousal square.
        assert!(mood_congruence(&sad, Some(&happy)) < 0.3);
        let opposite = EmotionSnapshot { valence: 1.0, arousal: 1.0, ..Default::default() };
        let corner = Mood { valence: Some(-1.0), arousal: Some(-1.0), ..Default::default() };
        assert!(mood_congruence(&corner, Some(&opposite)).abs() < 1e-6);
        assert_eq!(mood_congruence(&mood, None), 0.0);
        assert_eq!(arousal(Some(happy.arousal)), 0.8);
    }
}
