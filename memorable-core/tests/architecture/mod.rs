//! The crate's layering, checked: the import graph of `src/` has no circle, and no file
//! grows past the size a reader can hold in their head.
//!
//! The graph is read from `use` lines and inline `crate::` / `super::` paths (unit-test
//! modules excluded). A path is resolved through re-exports to the file that defines the
//! item, so a `mod.rs` that re-exports its children is not itself a dependency; `pub use`
//! lines are presentation, not imports. Run it alone with
//! `cargo test -p memorable-core --test main architecture` (it prints every circle found).
//! The bindings and the CLI are checked the same way by the root crate's `tests/layers.rs`.

mod graph;
mod modules;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use graph::{circle_report, circles, rust_files, strip, Crate};

/// Longest file allowed in memorable-core/src.
const MAX_LINES: usize = 800;

/// The layers, bottom (0) to top: a file may import only from its own layer or below (and
/// never in a circle, which the graph test checks). The longest matching prefix of a file's
/// path names its layer. docs/architecture.md draws the same table.
const LAYERS: &[(&str, u8)] = &[
    // Leaves: no imports but each other.
    ("error.rs", 0),
    ("time.rs", 0),
    ("text.rs", 0),
    ("scratch.rs", 0),
    ("memory.rs", 0),
    ("named.rs", 0),
    ("crypto/", 0),
    ("crash.rs", 0),
    ("batching.rs", 0),
    ("packed_scores.rs", 0),
    // The store (SQLite, the source of truth, and its caches of rows) and the models.
    ("store/", 1),
    ("models/", 1),
    // What the engine is made of besides: indexes (vector and keyword), the emotional
    // layer, the classifier slot, the metrics registry, training.
    ("index/", 2),
    ("emotion/", 2),
    ("classify.rs", 2),
    ("deployed.rs", 2),
    ("metrics/", 2),
    ("training/", 2),
    // Pictures drawn from the emotional layer's states (the timeline SVG).
    ("plot/", 2),
    // The configuration: the sections of the features above the engine, and the
    // re-exported sections of the layers below.
    ("config/", 3),
    // The engine: open, the write path, reads, reembed, stats, metrics snapshots.
    ("engine/", 4),
    // Features: functions of &Engine.
    ("retrieval/", 5),
    ("attention/", 5),
    ("maintenance/", 5),
    ("health/", 5),
    ("alerts/", 5),
    ("hume/", 5),
    ("jobs/", 5),
    ("consolidate/", 5),
    ("classifiers/", 5),
    // The operations thread, then the facade, then the crate root's re-exports.
    ("ops.rs", 6),
    ("handle/", 7),
    ("lib.rs", 8),
];

fn layer(rel: &str) -> Option<u8> {
    LAYERS.iter().filter(|(p, _)| rel.starts_with(p)).max_by_key(|(p, _)| p.len()).map(|(_, l)| *l)
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn import_graph_has_no_circle() {
    let report = circle_report(&src_dir());
    assert!(report.is_empty(), "memorable-core/src has import circles:\n{report}");
}

/// The same at the level of top-level modules (what `python3 ../shared/tools/core_cycles.py`
/// checks from the repository root).
#[test]
fn top_level_modules_have_no_circle() {
    let report = modules::module_circle_report(&src_dir());
    assert!(report.is_empty(), "memorable-core/src has module circles:\n{report}");
}

#[test]
fn every_import_goes_down_the_layers() {
    let krate = Crate::load(&src_dir());
    let edges = krate.edges();
    let mut unplaced = Vec::new();
    let mut upward = Vec::new();
    for (f, targets) in edges.iter().enumerate() {
        let from = &krate.files[f].rel;
        let Some(lf) = layer(from) else {
            unplaced.push(from.clone());
            continue;
        };
        for &t in targets {
            let to = &krate.files[t].rel;
            // The crate root's constants (VERSION, SCHEMA_VERSION) are read anywhere.
            if to == "lib.rs" {
                continue;
            }
            match layer(to) {
                Some(lt) if lt <= lf => {}
                Some(lt) => upward.push(format!("{from} (layer {lf}) -> {to} (layer {lt})")),
                None => unplaced.push(to.clone()),
            }
        }
    }
    unplaced.sort();
    unplaced.dedup();
    assert!(unplaced.is_empty(), "files in no layer (add them to LAYERS): {unplaced:?}");
    assert!(upward.is_empty(), "imports that go up the layers:\n{}", upward.join("\n"));
}

#[test]
fn files_fit_in_a_head() {
    let mut paths = Vec::new();
    rust_files(&src_dir(), &mut paths);
    let long: BTreeMap<String, usize> = paths
        .iter()
        .map(|p| (p.display().to_string(), std::fs::read_to_string(p).unwrap().lines().count()))
        .filter(|(_, n)| *n > MAX_LINES)
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:?}");
}

#[test]
fn no_facade_methods_outside_handle() {
    let mut paths = Vec::new();
    rust_files(&src_dir(), &mut paths);
    let handle = src_dir().join("handle");
    let outside: Vec<String> = paths
        .iter()
        .filter(|p| !p.starts_with(&handle))
        .filter(|p| {
            let text = strip(&std::fs::read_to_string(p).unwrap());
            text.contains("impl Memorable") || text.contains("impl crate::Memorable")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(outside.is_empty(), "impl Memorable outside memorable-core/src/handle/: {outside:?}");
}

/// The module-level checker: a circle through a doc link or a `use` group is found.
#[test]
fn module_checker_finds_a_planted_circle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("a")).unwrap();
    std::fs::write(src.join("lib.rs"), "mod a; mod b; mod c;").unwrap();
    std::fs::write(src.join("a/mod.rs"), "use crate::{b::x, c};").unwrap();
    std::fs::write(src.join("b.rs"), "pub fn x() {}\n#[cfg(test)]\nmod tests { use crate::a; }").unwrap();
    std::fs::write(src.join("c.rs"), "").unwrap();
    assert_eq!(modules::module_circle_report(src), "");
    std::fs::write(src.join("c.rs"), "/// See [`crate::a::Thing`].\npub struct Y;").unwrap();
    let report = modules::module_circle_report(src);
    assert!(report.contains("circle of 2 modules") && report.contains("c -> a"), "{report}");
}

/// The checker itself: a circle made on purpose is found, and one through a re-export only
/// is not.
#[test]
fn checker_finds_a_planted_circle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("a")).unwrap();
    std::fs::write(src.join("lib.rs"), "mod a; mod b; pub use a::Thing;").unwrap();
    std::fs::write(src.join("a/mod.rs"), "mod inner; pub use inner::Thing;").unwrap();
    std::fs::write(src.join("a/inner.rs"), "use crate::b::helper; pub struct Thing;").unwrap();
    std::fs::write(src.join("b.rs"), "pub fn helper() {}").unwrap();
    let krate = Crate::load(src);
    assert!(circles(&krate.edges()).is_empty());
    std::fs::write(src.join("b.rs"), "pub fn helper() { let _ = crate::a::Thing; }").unwrap();
    let krate = Crate::load(src);
    let found = circles(&krate.edges());
    assert_eq!(found.len(), 1, "{found:?}");
    let names: Vec<&str> = found[0].iter().map(|&f| krate.files[f].rel.as_str()).collect();
    assert_eq!(names, ["a/inner.rs", "b.rs"]);
}
