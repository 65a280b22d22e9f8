//! The bindings and the CLI have no import circles either: each shares its helpers from leaf
//! files (the core's layering is checked by memorable-core's own tests, with the same
//! checker).

#[path = "../memorable-core/tests/architecture/graph.rs"]
mod graph;

use std::path::Path;

fn check(dir: &str) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let report = graph::circle_report(&src);
    assert!(report.is_empty(), "{dir} has import circles:\n{report}");
}

#[test]
fn python_binding_has_no_circle() {
    check("memorable-py/src");
}

#[test]
fn node_binding_has_no_circle() {
    check("memorable-node/src");
}

#[test]
fn c_binding_has_no_circle() {
    check("memorable-c/src");
}

#[test]
fn cli_has_no_circle() {
    check("src/bin/memorable");
}
