//! The same question one level up: do the crate's top-level modules (`config`, `store`,
//! `engine`, `retrieval`, ...) import each other in a circle? Files can be acyclic while
//! their modules are not (a feature's leaf config file imported by `config`, while the
//! feature's other files import the engine that imports `config`), and a reader sees
//! modules first. Deliberately textual and strict, like `../shared/tools/core_cycles.py`:
//! every `crate::<module>` mention outside a file's unit-test module counts, doc comments
//! and `pub use` lines included.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::graph::{circles, rust_files};

/// The top-level module a file of `src` belongs to (`None` for the crate root).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_owned())
}

fn ident_at(s: &str) -> Option<&str> {
    let end =
        s.find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')).unwrap_or(s.len());
    let id = &s[..end];
    (!id.is_empty() && !id.starts_with(|c: char| c.is_ascii_digit())).then_some(id)
}

/// The top-level modules `src` names through `crate::` (unit-test module excluded).
pub fn mentions(src: &str) -> BTreeSet<String> {
    let body = match src.find("#[cfg(test)]") {
        Some(at) if src[at + 12..].trim_start().starts_with("mod tests") => &src[..at],
        _ => src,
    };
    let mut out = BTreeSet::new();
    for (at, _) in body.match_indices("crate::") {
        let rest = &body[at + 7..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                if let Some(id) = ident_at(item.trim_start()) {
                    out.insert(id.to_owned());
                }
            }
        } else if let Some(id) = ident_at(rest) {
            out.insert(id.to_owned());
        }
    }
    out.remove("self");
    out
}

/// Module-level edges of the crate in `src`: names, and for each its targets (by index).
pub fn module_graph(src: &Path) -> (Vec<String>, Vec<BTreeSet<usize>>) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut named: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let Some(m) = top_module(src, f) else { continue };
        let text = std::fs::read_to_string(f).unwrap();
        let targets: Vec<String> = mentions(&text).into_iter().filter(|t| *t != m).collect();
        named.entry(m).or_default().extend(targets);
    }
    let mut names: BTreeSet<String> = named.keys().cloned().collect();
    names.extend(named.values().flatten().cloned());
    let names: Vec<String> = names.into_iter().collect();
    let at = |n: &String| names.binary_search(n).unwrap();
    let mut edges = vec![BTreeSet::new(); names.len()];
    for (m, ts) in &named {
        edges[at(m)].extend(ts.iter().map(at));
    }
    (names, edges)
}

/// Each circle of top-level modules as a line (empty: none).
pub fn module_circle_report(src: &Path) -> String {
    let (names, edges) = module_graph(src);
    let mut report = String::new();
    for comp in circles(&edges) {
        let members: BTreeSet<usize> = comp.iter().copied().collect();
        report.push_str(&format!("circle of {} modules:\n", comp.len()));
        for &m in &comp {
            let inside: Vec<&str> =
                edges[m].iter().filter(|t| members.contains(t)).map(|&t| names[t].as_str()).collect();
            report.push_str(&format!("  {} -> {}\n", names[m], inside.join(", ")));
        }
    }
    report
}
