//! The import graph of a crate's `src/`, read from `use` lines and inline `crate::` /
//! `super::` / child-module paths (unit-test modules excluded), with every path resolved
//! through re-exports to the file that defines the item. Shared by the core's layering test
//! and the root crate's test of the bindings and the CLI (`#[path]`-included there).
#![allow(dead_code)]

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// One source file: its module path, what it defines and what it imports.
#[derive(Default, Debug)]
pub struct FileInfo {
    pub rel: String,
    /// Items defined at the top level of the file (and in inline modules, flattened).
    defines: BTreeSet<String>,
    /// Inline `mod name { .. }` blocks: paths through them stay in this file.
    inline_mods: BTreeSet<String>,
    /// Names bound by `use` (alias → absolute path), and whether the binding is `pub`.
    uses: Vec<(String, Vec<String>, bool)>,
    /// Glob imports (absolute module paths), and whether `pub`.
    globs: Vec<(Vec<String>, bool)>,
    /// Absolute paths used in code (after expanding aliases).
    code_paths: Vec<Vec<String>>,
}

pub fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn module_of(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    // `lib.rs` / `main.rs` at the top are the crate root; `mod.rs` is its folder's module.
    let root = parts.is_empty() && (stem == "lib" || stem == "main");
    if stem != "mod" && !root {
        parts.push(stem.to_owned());
    }
    parts
}

/// Remove comments, string and char literals (their contents are not code).
pub fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == b'r'
            && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
            && !prev_ident(b, i)
        {
            // Raw string r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push(c as char);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == b'"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&b'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == b'\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if b.get(i + 1) == Some(&b'\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != b'\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if b.get(i + 2) == Some(&b'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                // Possibly a multi-byte char literal.
                let rest = &src[i + 1..];
                let mut chars = rest.char_indices();
                match (chars.next(), chars.next()) {
                    (Some((_, _)), Some((k, '\''))) => {
                        i += 1 + k + 1;
                        out.push_str("' '");
                    }
                    _ => {
                        out.push('\'');
                        i += 1;
                    }
                }
            }
        } else {
            let ch = src[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn prev_ident(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Sep, // ::
    Punct(char),
}

fn tokenize(s: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < cs.len() && (cs[i].is_alphanumeric() || cs[i] == '_') {
                i += 1;
            }
            toks.push(Tok::Ident(cs[start..i].iter().collect()));
        } else if c == ':' && cs.get(i + 1) == Some(&':') {
            toks.push(Tok::Sep);
            i += 2;
        } else if c.is_whitespace() {
            i += 1;
        } else {
            toks.push(Tok::Punct(c));
            i += 1;
        }
    }
    toks
}

/// Drop `#[cfg(test)]` items (unit-test modules): their imports are not the crate's.
fn drop_test_modules(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let is_cfg_test = toks[i] == Tok::Punct('#')
            && toks.get(i + 1) == Some(&Tok::Punct('['))
            && toks.get(i + 2) == Some(&Tok::Ident("cfg".into()))
            && toks.get(i + 3) == Some(&Tok::Punct('('))
            && toks.get(i + 4) == Some(&Tok::Ident("test".into()))
            && toks.get(i + 5) == Some(&Tok::Punct(')'));
        if is_cfg_test {
            // Skip to the item's body and past its matching brace (or to a `;`).
            let mut j = i + 7;
            while j < toks.len() && toks[j] != Tok::Punct('{') && toks[j] != Tok::Punct(';') {
                j += 1;
            }
            if toks.get(j) == Some(&Tok::Punct('{')) {
                let mut depth = 0;
                while j < toks.len() {
                    match toks[j] {
                        Tok::Punct('{') => depth += 1,
                        Tok::Punct('}') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
            }
            i = j + 1;
            continue;
        }
        out.push(toks[i].clone());
        i += 1;
    }
    out
}

const DEF_KEYWORDS: [&str; 9] = ["struct", "enum", "fn", "trait", "type", "const", "static", "union", "mod"];

/// Make a path absolute: `crate::a` → [a], `super::x` / `self::x` / `child::x` relative to
/// `module` (a 2018-edition `use` may name a child module without `self::`).
fn absolute(module: &[String], path: &[String], modules: &BTreeSet<Vec<String>>) -> Option<Vec<String>> {
    let mut base: Vec<String>;
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => {
            base = Vec::new();
            rest = &path[1..];
        }
        Some("self") => {
            base = module.to_vec();
            rest = &path[1..];
        }
        Some("super") => {
            base = module.to_vec();
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        Some(first) => {
            let mut child = module.to_vec();
            child.push(first.to_owned());
            if !modules.contains(&child) {
                return None;
            }
            base = module.to_vec();
        }
        None => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// Parse a use tree starting at `toks[i]` (after `use`), pushing (alias, path) leaves.
fn use_tree(toks: &[Tok], i: &mut usize, prefix: Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    let mut path = prefix;
    loop {
        match toks.get(*i) {
            Some(Tok::Ident(id)) => {
                path.push(id.clone());
                *i += 1;
                if toks.get(*i) == Some(&Tok::Sep) {
                    *i += 1;
                    continue;
                }
                // Leaf: maybe `as alias`.
                let mut alias = id.clone();
                if toks.get(*i) == Some(&Tok::Ident("as".into())) {
                    if let Some(Tok::Ident(a)) = toks.get(*i + 1) {
                        alias = a.clone();
                    }
                    *i += 2;
                }
                if alias == "self" {
                    path.pop();
                    alias = path.last().cloned().unwrap_or_default();
                }
                out.push((alias, path));
                return;
            }
            Some(Tok::Punct('*')) => {
                *i += 1;
                out.push(("*".into(), path));
                return;
            }
            Some(Tok::Punct('{')) => {
                *i += 1;
                loop {
                    match toks.get(*i) {
                        Some(Tok::Punct('}')) => {
                            *i += 1;
                            return;
                        }
                        Some(Tok::Punct(',')) => *i += 1,
                        None => return,
                        _ => use_tree(toks, i, path.clone(), out),
                    }
                }
            }
            _ => return,
        }
    }
}

fn parse_file(rel: &str, module: Vec<String>, src: &str, modules: &BTreeSet<Vec<String>>) -> FileInfo {
    let toks = drop_test_modules(tokenize(&strip(src)));
    let mut info = FileInfo { rel: rel.to_owned(), ..Default::default() };
    // First pass: definitions, inline modules and use statements.
    let mut i = 0;
    let mut use_spans = Vec::new();
    while i < toks.len() {
        if let Tok::Ident(kw) = &toks[i] {
            if kw == "use" && !matches!(toks.get(i.wrapping_sub(1)), Some(Tok::Sep)) {
                let public = i > 0
                    && (toks[i - 1] == Tok::Ident("pub".into())
                        || (toks[i - 1] == Tok::Punct(')')
                            && toks.get(i - 4) == Some(&Tok::Ident("pub".into()))));
                let start = i;
                i += 1;
                let mut leaves = Vec::new();
                use_tree(&toks, &mut i, Vec::new(), &mut leaves);
                use_spans.push((start, i));
                for (alias, path) in leaves {
                    // Paths through an inline module's `super::` are approximated by the file.
                    let Some(abs) = absolute(&module, &path, modules) else { continue };
                    if alias == "*" {
                        info.globs.push((abs, public));
                    } else {
                        info.uses.push((alias, abs, public));
                    }
                }
                continue;
            }
            if DEF_KEYWORDS.contains(&kw.as_str()) || kw == "macro_rules" {
                let mut j = i + 1;
                if kw == "macro_rules" && toks.get(j) == Some(&Tok::Punct('!')) {
                    j += 1;
                }
                if let Some(Tok::Ident(name)) = toks.get(j) {
                    info.defines.insert(name.clone());
                    if kw == "mod" && toks.get(j + 1) == Some(&Tok::Punct('{')) {
                        info.inline_mods.insert(name.clone());
                    }
                }
            }
        }
        i += 1;
    }
    // Second pass: paths in code.
    let aliases: HashMap<String, Vec<String>> =
        info.uses.iter().map(|(a, p, _)| (a.clone(), p.clone())).collect();
    let mut i = 0;
    let mut span = use_spans.iter().peekable();
    while i < toks.len() {
        if let Some(&&(s, e)) = span.peek() {
            if i >= s {
                i = e;
                span.next();
                continue;
            }
        }
        let starts_path = matches!(&toks[i], Tok::Ident(_))
            && toks.get(i + 1) == Some(&Tok::Sep)
            && !(i > 0 && toks[i - 1] == Tok::Sep);
        if starts_path {
            let mut path = Vec::new();
            let mut j = i;
            while let Some(Tok::Ident(id)) = toks.get(j) {
                path.push(id.clone());
                if toks.get(j + 1) == Some(&Tok::Sep) {
                    j += 2;
                } else {
                    j += 1;
                    break;
                }
            }
            let abs = match path[0].as_str() {
                "crate" | "self" | "super" => absolute(&module, &path, modules),
                first => match aliases.get(first) {
                    Some(p) => {
                        let mut full = p.clone();
                        full.extend(path[1..].iter().cloned());
                        Some(full)
                    }
                    // A child module named without `self::`.
                    None => absolute(&module, &path, modules),
                },
            };
            if let Some(abs) = abs {
                info.code_paths.push(abs);
            }
            i = j;
            continue;
        }
        i += 1;
    }
    info
}

pub struct Crate {
    pub files: Vec<FileInfo>,
    by_module: HashMap<Vec<String>, usize>,
}

impl Crate {
    pub fn load(src: &Path) -> Crate {
        let mut paths = Vec::new();
        rust_files(src, &mut paths);
        let modules: BTreeSet<Vec<String>> =
            paths.iter().map(|p| module_of(p.strip_prefix(src).unwrap())).collect();
        let mut files = Vec::new();
        let mut by_module = HashMap::new();
        for p in paths {
            let rel = p.strip_prefix(src).unwrap();
            let module = module_of(rel);
            let text = std::fs::read_to_string(&p).unwrap();
            by_module.insert(module.clone(), files.len());
            files.push(parse_file(&rel.to_string_lossy(), module, &text, &modules));
        }
        Crate { files, by_module }
    }

    /// The file that defines the item an absolute path names (following re-exports).
    fn resolve(&self, path: &[String], depth: usize) -> Option<usize> {
        if depth > 16 {
            return None;
        }
        // Longest prefix that is a module file.
        let mut k = path.len();
        let file = loop {
            if let Some(&f) = self.by_module.get(&path[..k]) {
                break f;
            }
            if k == 0 {
                return None;
            }
            k -= 1;
        };
        let info = &self.files[file];
        let Some(item) = path.get(k) else { return Some(file) };
        if info.inline_mods.contains(item) || info.defines.contains(item) {
            return Some(file);
        }
        // A re-export (or a private use that a child reaches with `super::`).
        if let Some((_, target, _)) = info.uses.iter().find(|(a, _, _)| a == item) {
            let mut full = target.clone();
            full.extend(path[k + 1..].iter().cloned());
            return self.resolve(&full, depth + 1).or(Some(file));
        }
        for (glob, _) in &info.globs {
            let mut full = glob.clone();
            full.extend(path[k..].iter().cloned());
            if let Some(f) = self.resolve(&full, depth + 1) {
                if f != file && self.files[f].defines.contains(item) {
                    return Some(f);
                }
            }
        }
        Some(file)
    }

    /// Edges file → files it imports from (re-exports excluded).
    pub fn edges(&self) -> Vec<BTreeSet<usize>> {
        let mut edges = vec![BTreeSet::new(); self.files.len()];
        for (f, info) in self.files.iter().enumerate() {
            let mut add = |path: &[String]| {
                if let Some(t) = self.resolve(path, 0) {
                    if t != f {
                        edges[f].insert(t);
                    }
                }
            };
            for (_, path, public) in &info.uses {
                // A bare module import is an alias; its uses in code are the edges.
                let is_module = self.by_module.contains_key(path);
                if !public && !is_module {
                    add(path);
                }
            }
            for (glob, public) in &info.globs {
                if !public {
                    add(glob);
                }
            }
            for path in &info.code_paths {
                add(path);
            }
        }
        edges
    }
}

/// Strongly connected components with more than one file (Tarjan).
pub fn circles(edges: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    struct T<'a> {
        edges: &'a [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(t: &mut T, v: usize) {
        t.index[v] = Some(t.next);
        t.low[v] = t.next;
        t.next += 1;
        t.stack.push(v);
        t.on[v] = true;
        for &w in t.edges[v].iter() {
            match t.index[w] {
                None => {
                    visit(t, w);
                    t.low[v] = t.low[v].min(t.low[w]);
                }
                Some(iw) if t.on[w] => t.low[v] = t.low[v].min(iw),
                _ => {}
            }
        }
        if Some(t.low[v]) == t.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = t.stack.pop().unwrap();
                t.on[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let n = edges.len();
    let mut t = T {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if t.index[v].is_none() {
            visit(&mut t, v);
        }
    }
    t.out
}

/// The circles of the crate in `src`, each as "a.rs -> b.rs, ..." lines (empty: none).
pub fn circle_report(src: &Path) -> String {
    let krate = Crate::load(src);
    let edges = krate.edges();
    let mut report = String::new();
    for comp in circles(&edges) {
        let members: BTreeSet<usize> = comp.iter().copied().collect();
        report.push_str(&format!("circle of {} files:\n", comp.len()));
        for &f in &comp {
            let inside: Vec<&str> = edges[f]
                .iter()
                .filter(|t| members.contains(t))
                .map(|&t| krate.files[t].rel.as_str())
                .collect();
            report.push_str(&format!("  {} -> {}\n", krate.files[f].rel, inside.join(", ")));
        }
    }
    report
}
