//! Collecting labelled examples: classifiers and their label sets, examples added one by
//! one, corrections of what a classifier said about a memory, bulk imports (JSONL or TSV,
//! all or nothing), export and counts.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::spec::{
    check_labels, check_name, label_indices, mapping, ClassifierInfo, Example, ExampleImport, ExampleStats,
    NewExample, GOEMOTIONS,
};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::models::emotion_adapter::builtin_manifest;
use crate::store::{self, examples as rows};
use crate::time::{from_ms, now_ms};

/// Most examples one import or add takes.
pub const MAX_IMPORT: usize = 1_000_000;

/// A label set and its mapping (label → catalog expression id).
pub(crate) type LabelSet = (Vec<String>, BTreeMap<String, String>);

/// The label set of `name` (`None`: no such classifier).
pub(crate) fn labels_of(engine: &Engine, name: &str) -> Result<Option<LabelSet>> {
    if name == GOEMOTIONS {
        let labels = builtin_manifest().labels;
        let (m, _) = mapping(&labels, &BTreeMap::new())?;
        return Ok(Some((labels, m)));
    }
    let Some((_, labels, map, _)) = engine.store.read(|c| rows::get_classifier(c, name))? else {
        return Ok(None);
    };
    let labels: Vec<String> = serde_json::from_str(&labels)?;
    let map: BTreeMap<String, String> = serde_json::from_str(&map)?;
    Ok(Some((labels, map)))
}

/// The label set of `name`, or `ClassifierNotFound`.
pub(crate) fn require(engine: &Engine, name: &str) -> Result<LabelSet> {
    labels_of(engine, name)?.ok_or_else(|| Error::ClassifierNotFound(name.to_owned()))
}

/// Create a classifier (or change the mapping of one with the same labels).
pub(crate) fn create(
    engine: &Engine,
    name: &str,
    labels: &[String],
    given: &BTreeMap<String, String>,
) -> Result<ClassifierInfo> {
    check_name(name)?;
    if name == GOEMOTIONS {
        return Err(Error::InvalidInput("goemotions is the shipped classifier; its labels are fixed".into()));
    }
    let labels = check_labels(labels)?;
    let (map, _) = mapping(&labels, given)?;
    if let Some((existing, _)) = labels_of(engine, name)? {
        if existing != labels {
            return Err(Error::InvalidInput(format!(
                "classifier {name:?} exists with the labels {}; a label set cannot change (create a classifier under another name)",
                existing.join(", ")
            )));
        }
    }
    let (l, m) = (serde_json::to_string(&labels)?, serde_json::to_string(&map)?);
    rows::put_classifier(&engine.store.locked(), name, &l, &m, now_ms())?;
    info(engine, name)
}

/// One classifier as applications see it.
pub(crate) fn info(engine: &Engine, name: &str) -> Result<ClassifierInfo> {
    let (labels, map) = require(engine, name)?;
    let (mapping, unmapped) = self::mapping_of(&labels, &map);
    // A count, not the rows: `classifiers()` lists every classifier.
    let examples = engine.store.read(|c| rows::count_examples(c, name))?;
    let deployed = match crate::deployed::cache_of(engine.config.model_dir.as_deref())
        .ok()
        .and_then(|cache| crate::models::registry::Registry::read(&cache).ok())
    {
        Some(reg) => reg.active(&crate::deployed::registry_name(name)).map(|v| v.version.clone()),
        None => None,
    };
    let builtin = name == GOEMOTIONS;
    let deployed = deployed.or_else(|| builtin.then(|| "builtin".to_owned()));
    Ok(ClassifierInfo { name: name.to_owned(), labels, mapping, unmapped, builtin, deployed, examples })
}

fn mapping_of(labels: &[String], map: &BTreeMap<String, String>) -> (BTreeMap<String, String>, Vec<String>) {
    let unmapped = labels.iter().filter(|l| !map.contains_key(*l)).cloned().collect();
    (map.clone(), unmapped)
}

/// Every classifier: `goemotions` first, then the application's by name.
pub(crate) fn list(engine: &Engine) -> Result<Vec<ClassifierInfo>> {
    let mut out = vec![info(engine, GOEMOTIONS)?];
    for (name, ..) in engine.store.read(rows::list_classifiers)? {
        out.push(info(engine, &name)?);
    }
    Ok(out)
}

/// Add examples in one transaction: every text and label is checked first, and one bad
/// example (reported with its 1-based position as `line`) changes nothing. A classifier
/// that does not exist is created with the labels the examples use, sorted, when `create`.
pub(crate) fn add(
    engine: &Engine,
    classifier: &str,
    examples: &[NewExample],
    source: &str,
    user: Option<&str>,
    create: bool,
) -> Result<ExampleImport> {
    check_name(classifier)?;
    if examples.len() > MAX_IMPORT {
        return Err(Error::InvalidInput(format!(
            "{} examples in one call; the limit is {MAX_IMPORT}",
            examples.len()
        )));
    }
    if let Some(u) = user {
        crate::memory::validate_user(u)?;
    }
    let at = |i: usize, e: Error| Error::InvalidInput(format!("line {}: {e}", i + 1));
    let mut created = false;
    let (labels, _) = match labels_of(engine, classifier)? {
        Some(l) => l,
        None if create => {
            let mut seen: Vec<String> =
                examples.iter().flat_map(|e| e.labels.iter().map(|l| l.trim().to_owned())).collect();
            seen.sort();
            seen.dedup();
            let set = check_labels(&seen)?;
            let (map, _) = mapping(&set, &BTreeMap::new())?;
            created = true;
            (set, map)
        }
        None => return Err(Error::ClassifierNotFound(classifier.to_owned())),
    };
    let mut checked: Vec<(String, String)> = Vec::with_capacity(examples.len());
    for (i, e) in examples.iter().enumerate() {
        crate::memory::validate_text(&e.text, engine.config.max_text_chars).map_err(|err| at(i, err))?;
        let idx = label_indices(&labels, &e.labels, classifier).map_err(|err| at(i, err))?;
        let names: Vec<&String> = idx.iter().map(|&l| &labels[l]).collect();
        checked.push((e.text.trim().to_owned(), serde_json::to_string(&names)?));
    }
    let now = now_ms();
    let mut writer = engine.store.writer();
    let tx = writer.transaction()?;
    if created {
        let map = mapping(&labels, &BTreeMap::new())?.0;
        rows::put_classifier(
            &tx,
            classifier,
            &serde_json::to_string(&labels)?,
            &serde_json::to_string(&map)?,
            now,
        )?;
    }
    let scope = match user {
        Some(u) => store::ensure_user(&tx, u, now)?,
        None => rows::APP_SCOPE,
    };
    let (mut added, mut duplicates) = (0u64, 0u64);
    for (text, labels) in &checked {
        if rows::upsert_example(&tx, classifier, scope, text, labels, source, None, now)? {
            added += 1;
        } else {
            duplicates += 1;
        }
    }
    tx.commit()?;
    Ok(ExampleImport { classifier: classifier.to_owned(), added, duplicates, created })
}

/// Record a user's correction of what `classifier` says about memory `memory_id`: the
/// memory's text with `labels`, in its owner's scope, source `correction`.
pub(crate) fn correct(
    engine: &Engine,
    memory_id: u64,
    labels: &[String],
    classifier: &str,
) -> Result<Example> {
    let memory = engine.get(memory_id)?;
    let (set, _) = require(engine, classifier)?;
    let idx = label_indices(&set, labels, classifier)?;
    let names: Vec<&String> = idx.iter().map(|&l| &set[l]).collect();
    let now = now_ms();
    let mut writer = engine.store.writer();
    let tx = writer.transaction()?;
    let scope = store::ensure_user(&tx, &memory.user, now)?;
    rows::upsert_example(
        &tx,
        classifier,
        scope,
        memory.text.trim(),
        &serde_json::to_string(&names)?,
        "correction",
        Some(memory_id),
        now,
    )?;
    tx.commit()?;
    drop(writer);
    let stored = examples(engine, classifier, Some(&memory.user))?;
    stored
        .into_iter()
        .rev()
        .find(|e| e.memory_id == Some(memory_id))
        .ok_or_else(|| Error::Internal("a correction was written but not found".into()))
}

/// Examples of `classifier`: every one, or (`user`) that user's only.
pub(crate) fn examples(engine: &Engine, classifier: &str, user: Option<&str>) -> Result<Vec<Example>> {
    require(engine, classifier)?;
    let scope = match user {
        Some(u) => match engine.store.read(|c| store::user_key(c, u))? {
            Some(k) => Some(k),
            None => return Ok(Vec::new()),
        },
        None => None,
    };
    engine
        .store
        .read(|c| rows::list_examples(c, classifier, scope))?
        .into_iter()
        .map(|r| {
            Ok(Example {
                id: r.id,
                text: r.text,
                labels: serde_json::from_str(&r.labels)?,
                source: r.source,
                user: r.user,
                memory_id: r.memory_id,
                created_at: from_ms(r.created_at),
            })
        })
        .collect()
}

/// Counts of `classifier`'s examples.
pub(crate) fn stats(engine: &Engine, classifier: &str) -> Result<ExampleStats> {
    let (labels, _) = require(engine, classifier)?;
    let all = examples(engine, classifier, None)?;
    let mut per_label: BTreeMap<String, u64> = labels.iter().map(|l| (l.clone(), 0)).collect();
    let mut users: HashMap<&str, ()> = HashMap::new();
    let mut s = ExampleStats {
        classifier: classifier.to_owned(),
        total: all.len() as u64,
        application: 0,
        user: 0,
        corrections: 0,
        users: 0,
        per_label: BTreeMap::new(),
        unlabelled: 0,
    };
    for e in &all {
        match &e.user {
            Some(u) => {
                s.user += 1;
                users.insert(u, ());
            }
            None => s.application += 1,
        }
        s.corrections += u64::from(e.source == "correction");
        s.unlabelled += u64::from(e.labels.is_empty());
        for l in &e.labels {
            *per_label.entry(l.clone()).or_default() += 1;
        }
    }
    s.users = users.len() as u64;
    s.per_label = per_label;
    Ok(s)
}

/// Examples in a file: JSON Lines (`{"text": ..., "labels": [...]}` a line; `labels` may
/// also be one comma-separated string, or `label` one name) or TSV (`text<TAB>labels`,
/// labels comma-separated names, or indices into `set` as GoEmotions' files have them;
/// a CSV-quoted text is unquoted). The format comes from the extension (`.jsonl`, `.json`,
/// `.tsv`), else from the first line. Errors name the line.
pub(crate) fn parse_file(path: &Path, set: Option<&[String]>) -> Result<Vec<NewExample>> {
    let content = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| Error::InvalidInput(format!("cannot read {}: {e}", path.display())))?
    };
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let jsonl = match ext.as_str() {
        "jsonl" | "json" | "ndjson" => true,
        "tsv" | "txt" => false,
        _ => content.trim_start().starts_with('{'),
    };
    if jsonl {
        parse_jsonl(&content)
    } else {
        parse_tsv(&content, set)
    }
}

pub(crate) fn parse_jsonl(content: &str) -> Result<Vec<NewExample>> {
    let mut out = Vec::new();
    for (i, line) in content.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: String| Error::InvalidInput(format!("line {}: {why}", i + 1));
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| bad(format!("not JSON: {e}")))?;
        let text = v.get("text").and_then(|t| t.as_str()).ok_or_else(|| bad("no \"text\" string".into()))?;
        let labels = match v.get("labels").or_else(|| v.get("label")) {
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .map(|l| {
                    l.as_str().map(str::to_owned).ok_or_else(|| bad("\"labels\" holds a non-string".into()))
                })
                .collect::<Result<Vec<_>>>()?,
            Some(serde_json::Value::String(s)) => split_labels(s),
            Some(_) => return Err(bad("\"labels\" must be an array of names or one string".into())),
            None => return Err(bad("no \"labels\"".into())),
        };
        out.push(NewExample { text: text.to_owned(), labels });
    }
    Ok(out)
}

fn split_labels(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

pub(crate) fn parse_tsv(content: &str, set: Option<&[String]>) -> Result<Vec<NewExample>> {
    let mut out = Vec::new();
    for (i, line) in content.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |why: String| Error::InvalidInput(format!("line {}: {why}", i + 1));
        let mut fields = line.split('\t');
        let text = fields.next().unwrap_or_default();
        let labels = fields.next().ok_or_else(|| bad("expected text<TAB>labels".into()))?;
        // A header line (`text<TAB>label(s)...`, as GoEmotions' files start) is skipped.
        if i == 0
            && text.trim().eq_ignore_ascii_case("text")
            && labels.trim().to_ascii_lowercase().starts_with("label")
        {
            continue;
        }
        let text = match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            Some(inner) => inner.replace("\"\"", "\""),
            None => text.to_owned(),
        };
        let mut names = Vec::new();
        for l in split_labels(labels) {
            if l.chars().all(|c| c.is_ascii_digit()) {
                let set = set.ok_or_else(|| {
                    bad(format!("label index {l} needs an existing classifier's label set"))
                })?;
                let i: usize = l.parse().map_err(|_| bad(format!("label index {l}")))?;
                names.push(set.get(i).cloned().ok_or_else(|| {
                    bad(format!("label index {i} is out of the set's {} labels", set.len()))
                })?);
            } else {
                names.push(l);
            }
        }
        out.push(NewExample { text, labels: names });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_and_tsv_parse_with_line_numbers() {
        let j = "{\"text\": \"a\", \"labels\": [\"joy\"]}\n\n{\"text\": \"b\", \"labels\": \"anger, fear\"}\n{\"text\": \"c\", \"label\": \"joy\"}\n";
        let got = parse_jsonl(j).unwrap();
        assert_eq!(got[1].labels, ["anger", "fear"]);
        assert_eq!(got[2].labels, ["joy"]);
        let e = parse_jsonl("{\"text\": \"a\", \"labels\": []}\n{\"labels\": []}\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        let set = vec!["joy".to_owned(), "anger".to_owned()];
        let t = parse_tsv("text\tlabel\tid\n\"say \"\"hi\"\"\"\t1,0\tid1\nplain\tjoy\n", Some(&set)).unwrap();
        assert_eq!(t.len(), 2, "the header line is skipped");
        assert_eq!(
            (t[0].text.as_str(), t[0].labels.clone()),
            ("say \"hi\"", vec!["anger".to_owned(), "joy".to_owned()])
        );
        assert_eq!(t[1].labels, ["joy"]);
        let e = parse_tsv("ok\tjoy\nno tab here\n", None).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        assert!(parse_tsv("x\t7\n", Some(&set)).unwrap_err().to_string().contains("out of"));
    }
}
