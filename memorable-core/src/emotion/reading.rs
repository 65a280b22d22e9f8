//! What the fusion engine consumes: a [`Reading`] (one measurement of how someone felt, from
//! one [`Source`], for one context), how to read its scores ([`Semantics`]), and the checks
//! every reading passes before it changes anything.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use super::catalog::{self, Vocabulary};
use crate::error::{Error, Result};

/// Longest context id accepted, in bytes.
pub const MAX_CONTEXT_LEN: usize = 512;
/// Longest custom source name accepted, in bytes.
pub const MAX_CUSTOM_SOURCE_LEN: usize = 64;
/// Longest expression name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Most scores one reading may carry.
pub const MAX_SCORES: usize = 1024;

/// Where a reading comes from. Written as a string: `"text"`, `"voice"`, `"face"`, `"evi"`,
/// or `"custom:<name>"` for an application's own sensor.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// A text emotion classifier (MemoRable's own reads every remembered memory).
    Text,
    /// Speech prosody (Hume's audio / prosody / burst models).
    Voice,
    /// Facial expression (Hume's video / face models).
    Face,
    /// Hume's Empathic Voice Interface (`user_message` prosody).
    Evi,
    /// Anything else, by name (`"custom:wearable"` → `Custom("wearable")`).
    Custom(String),
}

impl Source {
    /// The string form, e.g. `"face"` or `"custom:wearable"`.
    pub fn as_string(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Text => f.write_str("text"),
            Source::Voice => f.write_str("voice"),
            Source::Face => f.write_str("face"),
            Source::Evi => f.write_str("evi"),
            Source::Custom(name) => write!(f, "custom:{name}"),
        }
    }
}

impl FromStr for Source {
    type Err = Error;

    fn from_str(s: &str) -> Result<Source> {
        match s {
            "text" => Ok(Source::Text),
            "voice" => Ok(Source::Voice),
            "face" => Ok(Source::Face),
            "evi" => Ok(Source::Evi),
            _ => match s.strip_prefix("custom:") {
                Some(name) => {
                    let valid = !name.is_empty()
                        && name.len() <= MAX_CUSTOM_SOURCE_LEN
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
                    if valid {
                        Ok(Source::Custom(name.to_owned()))
                    } else {
                        Err(Error::InvalidInput(format!(
                            "custom source name {name:?} must be 1 to {MAX_CUSTOM_SOURCE_LEN} ASCII letters, digits, '_', '-' or '.'"
                        )))
                    }
                }
                None => Err(Error::InvalidInput(format!(
                    "unknown source {s:?}: use \"text\", \"voice\", \"face\", \"evi\" or \"custom:<name>\""
                ))),
            },
        }
    }
}

impl Serialize for Source {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Source, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// How to read the scores of a reading, in particular what a name *missing* from it means.
///
/// Written in JSON as `{"kind": "dense"}` or
/// `{"kind": "sparse", "missing": 0.0, "vocabulary": "hume"}`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Semantics {
    /// Intensities for every dimension the producer measures (Hume legacy models, EVI, a text
    /// classifier). A name missing from the reading was **not measured**: the fused estimate
    /// of that expression is left as it is.
    #[default]
    Dense,
    /// Thresholded probabilities (Hume's v1 Expression Measurement API): only names over the
    /// producer's cutoff are present, so a missing name was measured and found **below the
    /// cutoff**. Fusion counts every covered name the reading lacks as an observation of
    /// `missing` (default 0), which pulls older, stronger estimates of it down at the
    /// reading's confidence. An empty score set is allowed: it says "nothing over the cutoff".
    Sparse {
        /// The value a missing covered name stands for, in [0, 1] (default 0: it keeps the
        /// dominant expression, valence and arousal driven by what was actually named).
        #[serde(default)]
        missing: f32,
        /// The names the producer could have reported: the catalog expressions of one
        /// vocabulary, or (`None`) the whole catalog. Extra (non-catalog) names this source
        /// reported before are always covered.
        #[serde(default)]
        vocabulary: Option<Vocabulary>,
    },
}

impl Semantics {
    /// Sparse semantics from the parts a binding receives: the value a missing name stands
    /// for and, optionally, the name of the vocabulary that covers the producer's names.
    pub fn sparse(missing: f32, vocabulary: Option<&str>) -> Result<Semantics> {
        let vocabulary = vocabulary.map(str::parse::<Vocabulary>).transpose()?;
        Ok(Semantics::Sparse { missing, vocabulary })
    }

    /// Semantics from a kind (`"dense"` or `"sparse"`) and, for sparse ones, the optional
    /// `missing` value (default 0) and vocabulary name. Options given to a dense kind are
    /// refused rather than ignored.
    pub fn from_parts(kind: &str, missing: Option<f32>, vocabulary: Option<&str>) -> Result<Semantics> {
        match kind.parse::<Semantics>()? {
            Semantics::Dense if missing.is_some() || vocabulary.is_some() => Err(Error::InvalidInput(
                "semantics: \"missing\" and \"vocabulary\" apply only to sparse readings".into(),
            )),
            Semantics::Dense => Ok(Semantics::Dense),
            Semantics::Sparse { .. } => Semantics::sparse(missing.unwrap_or(0.0), vocabulary),
        }
    }

    /// The kind's name (`"dense"`, `"sparse"`).
    pub fn kind(&self) -> &'static str {
        match self {
            Semantics::Dense => "dense",
            Semantics::Sparse { .. } => "sparse",
        }
    }
}

impl fmt::Display for Semantics {
    /// The kind's name (the options of a sparse reading are in its JSON form).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

impl FromStr for Semantics {
    type Err = Error;
    /// `"dense"`, or `"sparse"` (missing names count as 0, any vocabulary).
    fn from_str(s: &str) -> Result<Semantics> {
        match s.trim() {
            "dense" => Ok(Semantics::Dense),
            "sparse" => Ok(Semantics::Sparse { missing: 0.0, vocabulary: None }),
            other => {
                Err(Error::InvalidInput(format!("semantics must be \"dense\" or \"sparse\", got {other:?}")))
            }
        }
    }
}

/// One measurement of how someone felt: from one source, for one context (a conversation or
/// session id), scored over named expressions.
///
/// Names resolve through the [`catalog`] (Hume legacy / v1 spellings, GoEmotions labels,
/// catalog ids); names it does not know are kept as extra dimensions of the context's state
/// and counted in `stats()`, never dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reading {
    /// Context (conversation / session) the reading belongs to; created on its first reading.
    pub context: String,
    /// Where the reading comes from.
    pub source: Source,
    /// Expression name → score in [0, 1], in the producer's order. In JSON an object.
    #[serde(with = "scores_serde")]
    pub scores: Vec<(String, f32)>,
    /// How much to trust the reading, in [0, 1] (default 1).
    #[serde(default = "one")]
    pub confidence: f32,
    /// When it was measured (default: when it is observed). At most
    /// `emotion.max_future_secs` ahead of the clock.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<OffsetDateTime>,
    /// Dense intensities (default) or sparse thresholded probabilities.
    #[serde(default)]
    pub semantics: Semantics,
}

fn one() -> f32 {
    1.0
}

impl Reading {
    /// A reading with no scores yet, confidence 1, timestamped when observed, dense.
    pub fn new(context: impl Into<String>, source: Source) -> Reading {
        Reading {
            context: context.into(),
            source,
            scores: Vec::new(),
            confidence: 1.0,
            timestamp: None,
            semantics: Semantics::Dense,
        }
    }
    /// Add one score.
    pub fn score(mut self, name: impl Into<String>, value: f32) -> Self {
        self.scores.push((name.into(), value));
        self
    }
    /// Replace the scores.
    pub fn scores<I, S>(mut self, scores: I) -> Self
    where
        I: IntoIterator<Item = (S, f32)>,
        S: Into<String>,
    {
        self.scores = scores.into_iter().map(|(n, v)| (n.into(), v)).collect();
        self
    }
    pub fn confidence(mut self, confidence: f32) -> Self {
        self.confidence = confidence;
        self
    }
    pub fn timestamp(mut self, at: OffsetDateTime) -> Self {
        self.timestamp = Some(at);
        self
    }
    pub fn semantics(mut self, semantics: Semantics) -> Self {
        self.semantics = semantics;
        self
    }
}

/// A validated reading with names resolved: catalog scores by index, extras by name.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub time_ms: i64,
    pub confidence: f64,
    pub semantics: Semantics,
    /// (catalog index, score)
    pub catalog: Vec<(u8, f32)>,
    /// (unknown name as given, trimmed; score)
    pub extras: Vec<(String, f32)>,
}

/// The id of `user`'s own context `context`: length-prefixed, so no pair of (user, context)
/// names another pair's context (`"@5:alice/s1"`). Used when contexts must not be shared
/// between users ([`EmotionConfig::per_user_sessions`](crate::EmotionConfig)).
pub fn user_context(user: &str, context: &str) -> String {
    format!("@{}:{user}/{context}", user.len())
}

pub(crate) fn validate_context(context: &str) -> Result<()> {
    if context.trim().is_empty() {
        return Err(Error::InvalidInput("context id must not be blank".into()));
    }
    if context.len() > MAX_CONTEXT_LEN {
        return Err(Error::InvalidInput(format!(
            "context id has {} bytes, over the limit of {MAX_CONTEXT_LEN}",
            context.len()
        )));
    }
    Ok(())
}

/// Check a reading and resolve its names. `now_ms` is the clock; timestamps more than
/// `max_future_ms` ahead of it are refused.
pub(crate) fn resolve(r: &Reading, now_ms: i64, max_future_ms: i64) -> Result<Resolved> {
    let mut out = Resolved {
        time_ms: 0,
        confidence: 0.0,
        semantics: Semantics::Dense,
        catalog: Vec::with_capacity(r.scores.len()),
        extras: Vec::new(),
    };
    resolve_into(r, now_ms, max_future_ms, &mut out)?;
    Ok(out)
}

/// [`resolve`] into a reused buffer (the fusion hot path allocates nothing for a reading
/// whose names are all in the catalog). On error `out` holds garbage.
pub(crate) fn resolve_into(r: &Reading, now_ms: i64, max_future_ms: i64, out: &mut Resolved) -> Result<()> {
    let bad = |m: String| Err(Error::InvalidInput(m));
    validate_context(&r.context)?;
    if let Source::Custom(_) = &r.source {
        // Built in code rather than parsed: hold it to the same rule as the string form.
        r.source.to_string().parse::<Source>()?;
    }
    if !r.confidence.is_finite() || !(0.0..=1.0).contains(&r.confidence) {
        return bad(format!("confidence must be in [0, 1], got {}", r.confidence));
    }
    if let Semantics::Sparse { missing, .. } = r.semantics {
        if !missing.is_finite() || !(0.0..=1.0).contains(&missing) {
            return bad(format!("sparse `missing` value must be in [0, 1], got {missing}"));
        }
    }
    if r.scores.is_empty() && r.semantics == Semantics::Dense {
        return bad(
            "a reading needs at least one score (an empty set is only meaningful for sparse readings)".into(),
        );
    }
    if r.scores.len() > MAX_SCORES {
        return bad(format!("a reading has {} scores, over the limit of {MAX_SCORES}", r.scores.len()));
    }
    let time_ms = match r.timestamp {
        // Whole seconds and the millisecond field: no 128-bit division on the hot path.
        Some(t) => t.unix_timestamp().saturating_mul(1000).saturating_add(i64::from(t.millisecond())),
        None => now_ms,
    };
    if time_ms > now_ms.saturating_add(max_future_ms) {
        return bad(format!(
            "timestamp is {:.1} s in the future (the limit is emotion.max_future_secs = {} s)",
            (time_ms - now_ms) as f64 / 1000.0,
            max_future_ms / 1000
        ));
    }
    out.time_ms = time_ms;
    out.confidence = f64::from(r.confidence);
    out.semantics = r.semantics;
    out.catalog.clear();
    out.extras.clear();
    let mut seen = [false; catalog::LEN];
    for (name, value) in &r.scores {
        if !value.is_finite() || !(0.0..=1.0).contains(value) {
            return bad(format!("score of {name:?} must be in [0, 1], got {value}"));
        }
        match catalog::resolve(name) {
            Some(i) => {
                if std::mem::replace(&mut seen[i], true) {
                    return bad(format!(
                        "two scores name the expression {:?} (the second is {name:?})",
                        catalog::expression(i).id
                    ));
                }
                out.catalog.push((i as u8, *value));
            }
            None => {
                let trimmed = name.trim();
                if trimmed.is_empty() {
                    return bad("an expression name is blank".into());
                }
                if trimmed.len() > MAX_NAME_LEN {
                    return bad(format!("expression name {trimmed:?} is over {MAX_NAME_LEN} bytes"));
                }
                if out.extras.iter().any(|(n, _)| n == trimmed) {
                    return bad(format!("the name {trimmed:?} is scored twice"));
                }
                out.extras.push((trimmed.to_owned(), *value));
            }
        }
    }
    Ok(())
}

/// `Vec<(String, f32)>` as a JSON object, keeping the producer's order and refusing a name
/// given twice (a JSON object would otherwise silently keep the last).
mod scores_serde {
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[(String, f32)], s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(v.len()))?;
        for (k, x) in v {
            map.serialize_entry(k, x)?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, f32)>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<(String, f32)>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of expression name → score")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(String, f32)> = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((k, v)) = map.next_entry::<String, f32>()? {
                    if out.iter().any(|(n, _)| *n == k) {
                        return Err(serde::de::Error::custom(format!("the name {k:?} is scored twice")));
                    }
                    out.push((k, v));
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_print() {
        for s in ["text", "voice", "face", "evi", "custom:wearable", "custom:a.b-c_1"] {
            assert_eq!(s.parse::<Source>().unwrap().to_string(), s);
        }
        for bad in ["", "Text", "camera", "custom:", "custom:has space", "custom:ü"] {
            let e = bad.parse::<Source>().unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidInput, "{bad}");
        }
    }

    #[test]
    fn reading_json_round_trip() {
        let json = r#"{"context":"s1","source":"custom:ring","scores":{"Joy":0.5,"jaw drop":0.25},
            "confidence":0.5,"timestamp":"2024-05-01T09:00:00Z","semantics":{"kind":"sparse","vocabulary":"hume"}}"#;
        let r: Reading = serde_json::from_str(json).unwrap();
        assert_eq!(r.scores, vec![("Joy".to_owned(), 0.5), ("jaw drop".to_owned(), 0.25)]);
        assert_eq!(r.semantics, Semantics::Sparse { missing: 0.0, vocabulary: Some(Vocabulary::Hume) });
        let back: Reading = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        let dup = r#"{"context":"s1","source":"text","scores":{"joy":0.5,"joy":0.2}}"#;
        assert!(serde_json::from_str::<Reading>(dup).is_err());
        let minimal: Reading =
            serde_json::from_str(r#"{"context":"c","source":"evi","scores":{"Awe":1}}"#).unwrap();
        assert_eq!(minimal.confidence, 1.0);
        assert_eq!(minimal.semantics, Semantics::Dense);
    }

    #[test]
    fn resolve_checks_everything() {
        let now = 1_700_000_000_000;
        let ok = Reading::new("c", Source::Face).score("Joy", 0.5).score("jaw drop", 0.2);
        let r = resolve(&ok, now, 60_000).unwrap();
        assert_eq!(r.catalog, vec![(catalog::index_of("joy").unwrap() as u8, 0.5)]);
        assert_eq!(r.extras, vec![("jaw drop".to_owned(), 0.2)]);
        assert_eq!(r.time_ms, now);
        let cases = [
            ok.clone().score("sadness", 1.5),
            ok.clone().score("sadness", -0.1),
            ok.clone().score("sadness", f32::NAN),
            ok.clone().confidence(-0.5),
            ok.clone().confidence(f32::NAN),
            ok.clone().score("joy", 0.1),
            ok.clone().score("  ", 0.1),
            Reading::new("c", Source::Text),
            Reading::new(" ", Source::Text).score("joy", 0.1),
            Reading::new("c", Source::Custom("bad name".into())).score("joy", 0.1),
            ok.clone().timestamp(crate::time::from_ms(now + 61_000)),
        ];
        for (i, c) in cases.iter().enumerate() {
            let e = resolve(c, now, 60_000).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidInput, "case {i}: {e}");
        }
        let sparse_empty =
            Reading::new("c", Source::Face).semantics(Semantics::Sparse { missing: 0.0, vocabulary: None });
        assert!(resolve(&sparse_empty, now, 0).is_ok());
    }
}
