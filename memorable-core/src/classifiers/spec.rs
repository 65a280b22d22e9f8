//! What applications see of their classifiers and examples, and the rules names and labels
//! follow.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::emotion::catalog;
use crate::error::{Error, Result};

pub use crate::deployed::GOEMOTIONS;

/// A classifier: its label set and how each label maps onto the emotion catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClassifierInfo {
    pub name: String,
    pub labels: Vec<String>,
    /// Label → catalog expression id, for the labels that have one (valence, arousal and
    /// fusion read them as that expression).
    pub mapping: BTreeMap<String, String>,
    /// Labels with no catalog expression: kept as extra dimensions of a reading, never
    /// dropped.
    pub unmapped: Vec<String>,
    /// The shipped classifier (`goemotions`).
    pub builtin: bool,
    /// The deployed version (`None`: nothing deployed yet; `builtin` for the shipped one).
    pub deployed: Option<String>,
    /// Examples collected for it (the application's and every user's).
    pub examples: u64,
}

/// A labelled text to add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewExample {
    pub text: String,
    pub labels: Vec<String>,
}

/// A stored example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Example {
    pub id: u64,
    pub text: String,
    pub labels: Vec<String>,
    /// Where it came from: `api`, `import:<file>`, `correction`, ...
    pub source: String,
    /// The user it belongs to (`None`: the application's).
    pub user: Option<String>,
    /// The memory a correction is about.
    pub memory_id: Option<u64>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What an import or an add did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExampleImport {
    pub classifier: String,
    /// Examples new to the store.
    pub added: u64,
    /// Examples whose text was there already (in the store or earlier in the input): the
    /// last labels win, one row is kept.
    pub duplicates: u64,
    /// The classifier did not exist and was created with the labels the input uses.
    pub created: bool,
}

/// Counts of a classifier's examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ExampleStats {
    pub classifier: String,
    pub total: u64,
    /// The application's own examples.
    pub application: u64,
    /// Examples that belong to a user (corrections and user-scoped examples).
    pub user: u64,
    pub corrections: u64,
    /// Users with examples.
    pub users: u64,
    /// Examples per label, every label of the set listed (zero included).
    pub per_label: BTreeMap<String, u64>,
    /// Examples without any label.
    pub unlabelled: u64,
}

/// Longest label name.
const MAX_LABEL: usize = 64;
/// Most labels of a set.
pub const MAX_LABELS: usize = 256;

/// A classifier name usable as a registry name: `[a-z0-9][a-z0-9._-]*`, at most 64.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "classifier name {name:?}: use 1-64 lowercase letters, digits, '.', '-' or '_', starting with a letter or digit"
        )))
    }
}

/// A label set: 1 to 256 distinct, non-blank names of at most 64 characters, trimmed.
pub fn check_labels(labels: &[String]) -> Result<Vec<String>> {
    if labels.is_empty() || labels.len() > MAX_LABELS {
        return Err(Error::InvalidInput(format!(
            "a label set needs 1 to {MAX_LABELS} labels, got {}",
            labels.len()
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(labels.len());
    for l in labels {
        let t = l.trim();
        if t.is_empty() || t.len() > MAX_LABEL || t.contains(',') || t.chars().any(char::is_control) {
            return Err(Error::InvalidInput(format!(
                "label {l:?}: labels are 1-{MAX_LABEL} characters, without commas or control characters"
            )));
        }
        if out.iter().any(|o| o == t) {
            return Err(Error::InvalidInput(format!("label {t:?} appears twice in the label set")));
        }
        out.push(t.to_owned());
    }
    Ok(out)
}

/// The mapping of a label set: the given one (every key a label, every value a catalog
/// expression), and for labels it does not name, the catalog expression of the same name
/// (any vocabulary: `joy`, `anger`, `Surprise (positive)`...). Returns (mapping, unmapped).
pub fn mapping(
    labels: &[String],
    given: &BTreeMap<String, String>,
) -> Result<(BTreeMap<String, String>, Vec<String>)> {
    let mut out = BTreeMap::new();
    for (label, expr) in given {
        if !labels.contains(label) {
            return Err(Error::InvalidInput(format!(
                "the mapping names {label:?}, which is not a label of the set"
            )));
        }
        let i = catalog::resolve(expr).ok_or_else(|| {
            Error::InvalidInput(format!(
                "the mapping of {label:?} names {expr:?}, which is not a catalog expression"
            ))
        })?;
        out.insert(label.clone(), catalog::expression(i).id.to_owned());
    }
    let mut unmapped = Vec::new();
    for l in labels {
        if out.contains_key(l) {
            continue;
        }
        match catalog::resolve(l) {
            Some(i) => {
                out.insert(l.clone(), catalog::expression(i).id.to_owned());
            }
            None => unmapped.push(l.clone()),
        }
    }
    Ok((out, unmapped))
}

/// Label names of `labels` checked against the set: the indices (sorted, distinct), or an
/// error naming the unknown ones.
pub fn label_indices(set: &[String], labels: &[String], classifier: &str) -> Result<Vec<usize>> {
    let mut idx = Vec::with_capacity(labels.len());
    let mut unknown = Vec::new();
    for l in labels {
        match set.iter().position(|s| s == l.trim()) {
            Some(i) => idx.push(i),
            None => unknown.push(l.clone()),
        }
    }
    if !unknown.is_empty() {
        return Err(Error::InvalidInput(format!(
            "unknown label{} {} for classifier {classifier:?} (its labels: {})",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.iter().map(|u| format!("{u:?}")).collect::<Vec<_>>().join(", "),
            set.join(", ")
        )));
    }
    idx.sort_unstable();
    idx.dedup();
    Ok(idx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_labels_and_mappings_are_checked() {
        assert!(check_name("ekman").is_ok() && check_name("my-set_2.v1").is_ok());
        for bad in ["", "Ekman", "-x", "a b", "../x", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        let set = check_labels(&["joy ".into(), "anger".into(), "meh".into()]).unwrap();
        assert_eq!(set, ["joy", "anger", "meh"]);
        assert!(check_labels(&["a".into(), "a".into()]).is_err());
        assert!(check_labels(&["a,b".into()]).is_err());
        assert!(check_labels(&[]).is_err());
        let (m, unmapped) = mapping(&set, &BTreeMap::new()).unwrap();
        assert_eq!(m.get("joy").map(String::as_str), Some("joy"));
        assert_eq!(unmapped, ["meh"]);
        let given = BTreeMap::from([("meh".to_owned(), "boredom".to_owned())]);
        let (m, unmapped) = mapping(&set, &given).unwrap();
        assert_eq!((m.get("meh").map(String::as_str), unmapped.len()), (Some("boredom"), 0));
        assert!(mapping(&set, &BTreeMap::from([("x".to_owned(), "joy".to_owned())])).is_err());
        assert!(mapping(&set, &BTreeMap::from([("meh".to_owned(), "nope".to_owned())])).is_err());
        assert_eq!(label_indices(&set, &["meh".into(), "joy".into(), "joy".into()], "c").unwrap(), [0, 2]);
        let e = label_indices(&set, &["fear".into()], "c").unwrap_err().to_string();
        assert!(e.contains("unknown label \"fear\"") && e.contains("joy, anger, meh"), "{e}");
    }
}
