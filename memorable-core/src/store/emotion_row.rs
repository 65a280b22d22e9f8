//! A memory's emotional snapshot as its row stores it: the public JSON shape
//! (`EmotionSnapshot`'s fields) with the scores packed (`crate::packed_scores`), which cuts
//! the snapshot from ~800 bytes to ~250. Rows written before schema 10 (scores as a map)
//! read as they are.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::memory::EmotionSnapshot;
use crate::packed_scores::{self, Packed};

#[derive(Serialize)]
struct Stored<'a> {
    scores: Packed<'a>,
    dominant: &'a Option<String>,
    valence: f32,
    arousal: f32,
    confidence: f32,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Read {
    #[serde(deserialize_with = "packed_scores::deserialize")]
    scores: BTreeMap<String, f32>,
    dominant: Option<String>,
    valence: f32,
    arousal: f32,
    confidence: f32,
}

/// The stored text of a snapshot.
pub(crate) fn to_stored(e: &EmotionSnapshot) -> serde_json::Result<String> {
    serde_json::to_string(&Stored {
        scores: Packed(&e.scores),
        dominant: &e.dominant,
        valence: e.valence,
        arousal: e.arousal,
        confidence: e.confidence,
    })
}

/// The snapshot of a stored text (packed or, before schema 10, a plain map).
pub(crate) fn from_stored(text: &str) -> serde_json::Result<EmotionSnapshot> {
    let r: Read = serde_json::from_str(text)?;
    Ok(EmotionSnapshot {
        scores: r.scores,
        dominant: r.dominant,
        valence: r.valence,
        arousal: r.arousal,
        confidence: r.confidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> EmotionSnapshot {
        EmotionSnapshot {
            scores: [("joy", 0.61_f32), ("gratitude", 0.123_456_79), ("Tenderness", 0.2)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            dominant: Some("joy".into()),
            valence: 0.71,
            arousal: -0.033,
            confidence: 0.9,
        }
    }

    #[test]
    fn round_trips_exactly_and_reads_rows_from_before_packing() {
        let e = snapshot();
        let stored = to_stored(&e).unwrap();
        assert!(!stored.contains("gratitude"), "scores are packed: {stored}");
        assert_eq!(from_stored(&stored).unwrap(), e);
        // A row written by schema 9: the public JSON of the snapshot.
        assert_eq!(from_stored(&serde_json::to_string(&e).unwrap()).unwrap(), e);
        // SQL still reads the plain fields (schema 4 read arousal with json_extract).
        let v: serde_json::Value = serde_json::from_str(&stored).unwrap();
        assert_eq!(v["arousal"].as_f64().unwrap() as f32, e.arousal);
    }

    #[test]
    fn packs_a_classifier_snapshot_to_under_two_fifths() {
        let mut e = snapshot();
        e.scores = crate::packed_scores::NAMES
            .iter()
            .take(28)
            .enumerate()
            .map(|(i, n)| (n.to_string(), 0.000_123_4 + 0.031_7 * i as f32))
            .collect();
        let plain = serde_json::to_string(&e).unwrap().len();
        let packed = to_stored(&e).unwrap().len();
        assert!(packed * 5 < plain * 2, "{packed} vs {plain}");
    }
}
