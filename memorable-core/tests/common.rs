//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use memorable_core::{Memorable, NewMemory, Recall};
use time::macros::datetime;
use time::OffsetDateTime;

/// A small conversation of two users, with times, sessions, speakers and tags.
pub fn seed(mem: &Memorable) -> Vec<u64> {
    let t0: OffsetDateTime = datetime!(2024-05-01 09:00 UTC);
    let day = time::Duration::days(1);
    let items = vec![
        NewMemory::new("alice", "I adopted a beagle puppy named Biscuit")
            .speaker("alice")
            .session("s1")
            .occurred_at(t0)
            .tags(["pets"]),
        NewMemory::new("alice", "My sister Lena lives in Lisbon and visits in June")
            .speaker("alice")
            .session("s1")
            .occurred_at(t0 + day)
            .tags(["family"]),
        NewMemory::new("alice", "Bob recommended the dumplings at the night market")
            .speaker("bob")
            .session("s2")
            .occurred_at(t0 + day * 2)
            .tags(["food", "friends"]),
        NewMemory::new("alice", "The quarterly budget review moved to Thursday")
            .speaker("alice")
            .session("s2")
            .occurred_at(t0 + day * 3)
            .tags(["work"]),
        NewMemory::new("bob", "My cat Whiskers hates the vacuum cleaner")
            .speaker("bob")
            .session("b1")
            .occurred_at(t0)
            .tags(["pets"]),
        NewMemory::new("bob", "I am training for the Berlin marathon")
            .speaker("bob")
            .session("b1")
            .occurred_at(t0 + day)
            .tags(["sport"]),
    ];
    mem.remember_batch(items).unwrap()
}

pub fn ids(mem: &Memorable, r: &Recall) -> Vec<u64> {
    mem.recall(r).unwrap().into_iter().map(|h| h.memory.id).collect()
}

/// Captures log output of the current thread (for "logged a warning" assertions).
#[derive(Clone, Default)]
pub struct LogBuffer(pub Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Run `f` with this thread's logs (warn and above) captured.
pub fn with_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    let buf = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buf.clone())
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    (out, buf.text())
}

/// A config using the hashing embedder: these tests are about the engine, not the model, and
/// stay fast and lexical whether or not MiniLM is in the model cache.
pub fn hashing_config() -> memorable_core::Config {
    let mut config = memorable_core::Config::default();
    config.embedder = "hashing".into();
    config
}

/// `Memorable::open` with the hashing embedder.
pub fn open_hashing(dir: &std::path::Path) -> Memorable {
    Memorable::builder(dir).config(hashing_config()).open().unwrap()
}

/// `open_hashing` with a graph (and so an index dump) from a user's first vector: for tests
/// of dumps, whose small users would otherwise be searched flat, without a graph to dump.
pub fn open_hashing_with_graphs(dir: &std::path::Path) -> Memorable {
    let mut config = hashing_config();
    config.exact_search_threshold = 0;
    Memorable::builder(dir).config(config).open().unwrap()
}

/// The verified MiniLM cache root (the folder holding `minilm/`), or a failure telling how
/// to get it: model tests fail, never skip, without the weights.
pub fn cache_root() -> std::path::PathBuf {
    use memorable_core::models::cache::{self, Manifest};
    let dir = cache::cache_dir(None).expect("no model cache directory: set MEMORABLE_HOME or HOME");
    let minilm = Manifest::builtin().get("minilm").unwrap().clone();
    if let Err(reason) = cache::verify(&dir.join("minilm"), &minilm) {
        panic!(
            "all-MiniLM-L6-v2 is not usable in the model cache {}: {reason}.\n\
             Run scripts/fetch-model.sh (or `memorable models fetch minilm`) before these tests.",
            dir.display()
        );
    }
    dir
}

pub fn cos(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>()
        / (a.iter().map(|x| x * x).sum::<f32>().sqrt() * b.iter().map(|x| x * x).sum::<f32>().sqrt())
}

/// tests/fixtures/minilm-reference.json: texts embedded by sentence-transformers.
#[derive(serde::Deserialize)]
pub struct Reference {
    pub model: String,
    pub max_seq_length: usize,
    pub items: Vec<RefItem>,
}

#[derive(serde::Deserialize)]
pub struct RefItem {
    pub text: String,
    pub token_count: usize,
    pub embedding: Vec<f32>,
}

pub fn reference() -> Reference {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/minilm-reference.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Token counts and vectors of the reference texts match sentence-transformers' (cosine >=
/// 0.9999, unit norm).
pub fn assert_matches_reference(r: &Reference, counts: &[usize], vectors: &[Vec<f32>]) {
    assert_eq!(vectors.len(), r.items.len());
    assert!(r.items.iter().any(|i| i.token_count == r.max_seq_length), "fixture has a truncated text");
    for ((item, n), v) in r.items.iter().zip(counts).zip(vectors) {
        assert_eq!(*n, item.token_count, "token count of {:?}", item.text);
        let c = cos(v, &item.embedding);
        assert!(c >= 0.9999, "cosine {c} for {:?}", item.text);
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
    }
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

/// Files under `dir` (recursively) whose bytes contain `needle`.
pub fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    files_under(dir)
        .into_iter()
        .filter(|p| std::fs::read(p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle)))
        .map(|p| p.display().to_string())
        .collect()
}

/// The two backends a behavioural test written with `on_both_backends!` runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A store directory (SQLite).
    Directory,
    /// A database of the test's own on the PostgreSQL test cluster.
    Postgres,
}

enum Place {
    Dir(tempfile::TempDir),
    Pg(crate::postgres::TestDb),
}

/// A fresh store on a backend, open as `mem`; its folder or database lives as long as this.
pub struct Fresh {
    pub mem: Memorable,
    place: Place,
}

impl Fresh {
    /// `None` (said) for PostgreSQL when `MEMORABLE_SKIP_PG=1`.
    pub fn new(backend: Backend, config: memorable_core::Config) -> Option<Fresh> {
        let place = match backend {
            Backend::Directory => Place::Dir(tempfile::tempdir().unwrap()),
            Backend::Postgres => Place::Pg(crate::postgres::TestDb::create("b")?),
        };
        let fresh = Fresh { mem: Memorable::builder(location(&place)).config(config).open().unwrap(), place };
        Some(fresh)
    }

    /// Open the same store again (close `mem` first for a directory store).
    pub fn reopen(&self, config: memorable_core::Config) -> Memorable {
        Memorable::builder(location(&self.place)).config(config).open().unwrap()
    }
}

fn location(place: &Place) -> String {
    match place {
        Place::Dir(d) => d.path().to_str().unwrap().to_owned(),
        Place::Pg(db) => db.url.clone(),
    }
}

/// `on_both_backends!(f, g)`: tests `f::directory` and `f::postgres` calling `f(Backend)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn directory() {
                super::$name(crate::common::Backend::Directory)
            }
            #[test]
            fn postgres() {
                super::$name(crate::common::Backend::Postgres)
            }
        }
    )*};
}
