//! The error-code table has one source (`error_codes!` in the core); everything written
//! elsewhere is compared with it. The C header is checked by memorable-c's own tests, the
//! Python and Node lists by their suites; this file checks docs/errors.md, the names' round
//! trip, and that every code is counted by the metrics.

use std::str::FromStr;

use memorable_core::{ErrorCategory, ErrorCode, Memorable};

/// The rows of docs/errors.md's code table: (number, name, family).
fn documented() -> Vec<(u32, String, String)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/errors.md")).unwrap();
    doc.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            // | code | name | family | when |
            let n = cells.get(1)?.parse::<u32>().ok()?;
            let name = cells.get(2)?.trim_matches('`').to_owned();
            Some((n, name, cells.get(3)?.to_string()))
        })
        .collect()
}

#[test]
fn docs_table_is_the_code_table() {
    let expected: Vec<(u32, String, String)> = ErrorCode::ALL
        .iter()
        .map(|c| (*c as u32, c.name().to_owned(), c.category().label().to_owned()))
        .collect();
    assert_eq!(documented(), expected, "docs/errors.md must list every code, in order, with its family");
}

#[test]
fn names_numbers_and_serde_agree() {
    for &code in ErrorCode::ALL {
        assert_eq!(ErrorCode::from_str(code.name()).unwrap(), code);
        assert_eq!(ErrorCode::from_u32(code as u32), Some(code));
        assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(code.name()));
        assert_eq!(code.to_string(), code.name());
    }
    assert!(ErrorCode::from_str("NOPE").is_err());
    assert_eq!(ErrorCode::from_u32(0), None);
    let numbers: Vec<u32> = ErrorCode::ALL.iter().map(|c| *c as u32).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "ALL is in numeric order: {numbers:?}");
    assert_eq!(ErrorCode::ClassifierUnavailable.category(), ErrorCategory::Model);
}

/// Classifier failures are errors like any other: counted by code and in the total (they
/// were missing from the list the metrics count by, so the error-rate alert never saw them).
#[test]
fn classifier_errors_are_counted() {
    let mut config = memorable_core::Config::default();
    config.embedder = "hashing".into();
    let mem = Memorable::builder(tempfile::tempdir().unwrap().path()).config(config).open().unwrap();
    let e = mem.classify(&["a happy text"]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ClassifierUnavailable);
    let m = mem.metrics().unwrap();
    assert_eq!(m.errors_by_code.get("CLASSIFIER_UNAVAILABLE"), Some(&1), "{:?}", m.errors_by_code);
    assert_eq!(m.counters.errors, 1);
}
