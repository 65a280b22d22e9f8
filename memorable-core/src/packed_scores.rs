//! A compact stored form of emotion scores (`name → intensity` maps).
//!
//! Every memory's emotional snapshot and every row of a context's history hold such a map,
//! and as JSON (`{"admiration":0.012345678,…}`, 28 or more names) it was most of a row: ~700
//! of its ~1,000 bytes, more than the memory's text. Stored rows now hold the map as one
//! base64 string (`"scores":"AQAx…"`) of a version byte, then per score a one-byte code and
//! the score's four bytes (f32, little-endian, so the value comes back bit for bit). The code
//! is the name's index in [`NAMES`]; a name outside it (a reading's extra dimension, a custom
//! classifier's unmapped label) is written out after the escape code. About 5 bytes a score
//! instead of ~25.
//!
//! [`NAMES`] is frozen: codes are on disk, so names are only ever appended. It starts with
//! the expression catalog in its order (`emotion::catalog`, a test checks they agree); a
//! catalog name added later compresses once it is appended here and is escaped until then.
//!
//! Readers take both forms ([`deserialize`] accepts the old map), so stores written before
//! schema 10 read as they are; schema 10 exists so that an older build refuses a store with
//! packed rows instead of failing on them.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serializer};

/// The names with a one-byte code: their index. Append only.
pub(crate) const NAMES: [&str; 62] = [
    "admiration",
    "adoration",
    "aesthetic_appreciation",
    "amusement",
    "anger",
    "anxiety",
    "awe",
    "awkwardness",
    "boredom",
    "calmness",
    "concentration",
    "confusion",
    "contemplation",
    "contempt",
    "contentment",
    "craving",
    "desire",
    "determination",
    "disappointment",
    "disgust",
    "distress",
    "doubt",
    "ecstasy",
    "embarrassment",
    "empathic_pain",
    "entrancement",
    "envy",
    "excitement",
    "fear",
    "guilt",
    "horror",
    "interest",
    "joy",
    "love",
    "nostalgia",
    "pain",
    "pride",
    "realization",
    "relief",
    "romance",
    "sadness",
    "satisfaction",
    "shame",
    "surprise_negative",
    "surprise_positive",
    "sympathy",
    "tiredness",
    "triumph",
    "annoyance",
    "disapproval",
    "enthusiasm",
    "gratitude",
    "sarcasm",
    "approval",
    "caring",
    "curiosity",
    "grief",
    "nervousness",
    "neutral",
    "optimism",
    "remorse",
    "surprise",
];

/// The format's version, the packed bytes' first byte.
const VERSION: u8 = 1;
/// The code of a name written out: a LEB128 length, then its UTF-8 bytes.
const ESCAPE: u8 = 0xFF;

fn code(name: &str) -> Option<u8> {
    NAMES.iter().position(|n| *n == name).map(|i| i as u8)
}

/// The packed form of a score map (base64, no padding).
pub(crate) fn pack(scores: &BTreeMap<String, f32>) -> String {
    let mut out = Vec::with_capacity(1 + scores.len() * 5);
    out.push(VERSION);
    for (name, value) in scores {
        match code(name) {
            Some(c) => out.push(c),
            None => {
                out.push(ESCAPE);
                let mut len = name.len();
                loop {
                    let byte = (len & 0x7F) as u8;
                    len >>= 7;
                    out.push(if len == 0 { byte } else { byte | 0x80 });
                    if len == 0 {
                        break;
                    }
                }
                out.extend_from_slice(name.as_bytes());
            }
        }
        out.extend_from_slice(&value.to_le_bytes());
    }
    STANDARD_NO_PAD.encode(out)
}

/// The score map of a packed string; the error says what is wrong with it.
pub(crate) fn unpack(packed: &str) -> Result<BTreeMap<String, f32>, String> {
    let bytes = STANDARD_NO_PAD.decode(packed).map_err(|e| format!("packed scores: {e}"))?;
    let mut rest = match bytes.split_first() {
        Some((&VERSION, rest)) => rest,
        Some((v, _)) => return Err(format!("packed scores: unknown version {v}")),
        None => return Err("packed scores: empty".into()),
    };
    let truncated = || "packed scores: truncated".to_string();
    let mut scores = BTreeMap::new();
    while let Some((&c, tail)) = rest.split_first() {
        rest = tail;
        let name = if c == ESCAPE {
            let mut len = 0usize;
            let mut shift = 0;
            loop {
                let (&b, tail) = rest.split_first().ok_or_else(truncated)?;
                rest = tail;
                if shift > 28 {
                    return Err("packed scores: name length too large".into());
                }
                len |= usize::from(b & 0x7F) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            if rest.len() < len {
                return Err(truncated());
            }
            let (name, tail) = rest.split_at(len);
            rest = tail;
            String::from_utf8(name.to_vec()).map_err(|_| "packed scores: a name is not UTF-8".to_string())?
        } else {
            NAMES.get(usize::from(c)).ok_or_else(|| format!("packed scores: unknown code {c}"))?.to_string()
        };
        if rest.len() < 4 {
            return Err(truncated());
        }
        let (value, tail) = rest.split_at(4);
        rest = tail;
        scores.insert(name, f32::from_le_bytes(value.try_into().expect("4 bytes")));
    }
    Ok(scores)
}

/// A borrowed score map that serializes packed.
pub(crate) struct Packed<'a>(pub &'a BTreeMap<String, f32>);

impl serde::Serialize for Packed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize(self.0, s)
    }
}

/// `#[serde(serialize_with = "packed_scores::serialize")]`: a map field stored packed.
pub(crate) fn serialize<S: Serializer>(scores: &BTreeMap<String, f32>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&pack(scores))
}

/// `#[serde(deserialize_with = "packed_scores::deserialize")]`: the packed string, or the
/// JSON map rows held before schema 10.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f32>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Stored {
        Packed(String),
        Map(BTreeMap<String, f32>),
    }
    match Stored::deserialize(d)? {
        Stored::Packed(p) => unpack(&p).map_err(serde::de::Error::custom),
        Stored::Map(m) => Ok(m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, f32)]) -> BTreeMap<String, f32> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn round_trips_bit_for_bit_with_names_outside_the_table() {
        let long = "x".repeat(300);
        let scores = map(&[
            ("joy", 0.123_456_79),
            ("surprise", 1.0),
            ("neutral", f32::MIN_POSITIVE / 2.0),
            ("Tenderness", 0.5),
            ("émerveillement", 0.25),
            (&long, 0.75),
        ]);
        let packed = pack(&scores);
        let back = unpack(&packed).unwrap();
        assert_eq!(back.len(), scores.len());
        for (k, v) in &scores {
            assert_eq!(back[k].to_bits(), v.to_bits(), "{k}");
        }
        assert_eq!(unpack(&pack(&BTreeMap::new())).unwrap(), BTreeMap::new());
    }

    #[test]
    fn is_under_a_third_of_the_json() {
        let scores: BTreeMap<String, f32> = NAMES
            .iter()
            .take(28)
            .enumerate()
            .map(|(i, n)| (n.to_string(), 0.013_579 * i as f32 + 0.001))
            .collect();
        let json = serde_json::to_string(&scores).unwrap();
        let packed = pack(&scores);
        assert!(packed.len() * 3 < json.len(), "{} vs {}", packed.len(), json.len());
    }

    #[test]
    fn damaged_input_is_an_error_not_a_panic() {
        let packed = pack(&map(&[("joy", 0.5), ("Tenderness", 0.5)]));
        let bytes = STANDARD_NO_PAD.decode(&packed).unwrap();
        for cut in 0..bytes.len() {
            let _ = unpack(&STANDARD_NO_PAD.encode(&bytes[..cut]));
        }
        assert!(unpack("").is_err());
        assert!(unpack("!!").is_err());
        assert!(unpack(&STANDARD_NO_PAD.encode([2u8])).unwrap_err().contains("version"));
        assert!(unpack(&STANDARD_NO_PAD.encode([1u8, 200, 0, 0, 0, 0])).unwrap_err().contains("code"));
        assert!(unpack(&STANDARD_NO_PAD.encode([1u8, 0, 0])).unwrap_err().contains("truncated"));
    }

    #[test]
    fn reads_the_old_map_and_the_packed_string() {
        #[derive(Deserialize)]
        struct Row {
            #[serde(deserialize_with = "deserialize")]
            scores: BTreeMap<String, f32>,
        }
        let old: Row = serde_json::from_str(r#"{"scores":{"joy":0.5,"Tenderness":0.25}}"#).unwrap();
        let new: Row = serde_json::from_str(&format!(r#"{{"scores":"{}"}}"#, pack(&old.scores))).unwrap();
        assert_eq!(old.scores, new.scores);
        assert!(serde_json::from_str::<Row>(r#"{"scores":"AgA"}"#).is_err());
    }
}
