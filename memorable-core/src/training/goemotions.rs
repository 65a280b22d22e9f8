//! The GoEmotions data set as shipped in `../shared/data/goemotions`: `labels.txt` (one label
//! a line) and `train.tsv` / `dev.tsv` with columns text, comma-separated label indices,
//! comment id. Texts containing quotes are CSV-quoted (`"..."` with `""` inside).

use std::path::Path;

use crate::error::{Error, Result};
use crate::models::cache::sha256_file;

/// Texts with their gold label indices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelledTexts {
    pub texts: Vec<String>,
    pub labels: Vec<Vec<usize>>,
}

impl LabelledTexts {
    pub fn len(&self) -> usize {
        self.texts.len()
    }
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }
    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> LabelledTexts {
        LabelledTexts {
            texts: indices.iter().map(|&i| self.texts[i].clone()).collect(),
            labels: indices.iter().map(|&i| self.labels[i].clone()).collect(),
        }
    }
}

/// The data set and the checksums of its files.
#[derive(Debug, Clone)]
pub struct GoEmotions {
    pub labels: Vec<String>,
    pub train: LabelledTexts,
    pub dev: LabelledTexts,
    pub train_sha256: String,
    pub dev_sha256: String,
    pub labels_sha256: String,
}

fn data_err(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::InvalidInput(format!("{}: {why}", path.display()))
}

/// Read `labels.txt`, `train.tsv` and `dev.tsv` from `dir`.
pub fn load(dir: &Path) -> Result<GoEmotions> {
    let labels_path = dir.join("labels.txt");
    let labels: Vec<String> = std::fs::read_to_string(&labels_path)
        .map_err(|e| data_err(&labels_path, e))?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if labels.is_empty() {
        return Err(data_err(&labels_path, "no labels"));
    }
    let sha = |p: &Path| sha256_file(p).map_err(|e| data_err(p, e));
    let (train_path, dev_path) = (dir.join("train.tsv"), dir.join("dev.tsv"));
    Ok(GoEmotions {
        train: read_tsv(&train_path, labels.len())?,
        dev: read_tsv(&dev_path, labels.len())?,
        train_sha256: sha(&train_path)?,
        dev_sha256: sha(&dev_path)?,
        labels_sha256: sha(&labels_path)?,
        labels,
    })
}

/// Read one split; label indices must be below `n_labels`.
pub fn read_tsv(path: &Path, n_labels: usize) -> Result<LabelledTexts> {
    let content = std::fs::read_to_string(path).map_err(|e| data_err(path, e))?;
    parse_tsv(&content, n_labels).map_err(|(line, why)| data_err(path, format!("line {line}: {why}")))
}

/// Parse TSV text (with a header row); errors carry the 1-based line number.
pub fn parse_tsv(content: &str, n_labels: usize) -> std::result::Result<LabelledTexts, (usize, String)> {
    let mut out = LabelledTexts::default();
    for (i, line) in content.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        // The id and the labels are the last two fields; the text is everything before.
        let mut fields = line.rsplitn(3, '\t');
        let (_id, labels, text) = match (fields.next(), fields.next(), fields.next()) {
            (Some(id), Some(labels), Some(text)) => (id, labels, text),
            _ => return Err((i + 1, "expected 3 tab-separated fields".into())),
        };
        let labels = labels
            .split(',')
            .map(|l| match l.trim().parse::<usize>() {
                Ok(n) if n < n_labels => Ok(n),
                _ => Err((i + 1, format!("bad label index {l:?}"))),
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        out.texts.push(unquote(text));
        out.labels.push(labels);
    }
    Ok(out)
}

/// Undo CSV quoting: `"a ""b"""` → `a "b"`; unquoted text is returned as is.
fn unquote(field: &str) -> String {
    match field.strip_prefix('"').and_then(|f| f.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => field.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quoted_and_multi_label_rows() {
        let tsv = "text\tlabel\tid\nplain text\t27\ta1\n\"He said \"\"hi\"\" \"\t2,3\ta2\n";
        let d = parse_tsv(tsv, 28).unwrap();
        assert_eq!(d.texts, vec!["plain text".to_owned(), "He said \"hi\" ".to_owned()]);
        assert_eq!(d.labels, vec![vec![27], vec![2, 3]]);
    }

    #[test]
    fn rejects_bad_labels_with_the_line() {
        let err = parse_tsv("text\tlabel\tid\nok\t1\tx\nbad\t28\ty\n", 28).unwrap_err();
        assert_eq!(err.0, 3);
        assert!(parse_tsv("text\tlabel\tid\nno tabs here\n", 28).is_err());
    }
}
