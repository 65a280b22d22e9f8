//! Every kind of bad input gets its error code and leaves the store exactly as it was (on
//! both backends).

use std::sync::Arc;

use memorable_core::{Config, Embedder, ErrorCode, Memorable, MemoryUpdate, NewMemory, Recall};
use serde_json::json;

/// What a caller can observe of a store: counts, every memory, and a recall.
fn snapshot(mem: &Memorable) -> (u64, u64, Vec<memorable_core::Memory>, Vec<u64>) {
    let s = mem.stats().unwrap();
    let mut all = mem.recent_matching(&Recall::new("alice", "").limit(1000)).unwrap();
    all.extend(mem.recent_matching(&Recall::new("bob", "").limit(1000)).unwrap());
    (s.memories, s.versions, all, crate::common::ids(mem, &Recall::new("alice", "puppy Biscuit")))
}

fn code<T: std::fmt::Debug>(r: memorable_core::Result<T>) -> ErrorCode {
    r.expect_err("expected an error").code()
}

on_both_backends!(rejected_inputs_change_nothing);

fn rejected_inputs_change_nothing(backend: crate::common::Backend) {
    let mut config = Config::default();
    config.max_text_chars = 100;
    let Some(fresh) = crate::common::Fresh::new(backend, config.clone()) else { return };
    let mem = &fresh.mem;
    let ids = crate::common::seed(mem);
    let before = snapshot(mem);

    let ok = || NewMemory::new("alice", "fine text");
    let cases: Vec<(NewMemory, ErrorCode)> = vec![
        (NewMemory::new("alice", ""), ErrorCode::EmptyText),
        (NewMemory::new("alice", " \n\t "), ErrorCode::EmptyText),
        (NewMemory::new("alice", "x".repeat(101)), ErrorCode::TextTooLong),
        (NewMemory::new("", "text"), ErrorCode::MissingUser),
        (NewMemory::new("   ", "text"), ErrorCode::MissingUser),
        (ok().metadata(json!(["not", "an", "object"])), ErrorCode::InvalidMetadata),
        (ok().metadata(json!("string")), ErrorCode::InvalidMetadata),
        (ok().embedding(vec![0.1; 3]), ErrorCode::InvalidVector),
        (ok().embedding(vec![f32::NAN; 384]), ErrorCode::InvalidVector),
        (ok().embedding(vec![f32::INFINITY; 384]), ErrorCode::InvalidVector),
        (ok().embedding(vec![0.0; 384]), ErrorCode::InvalidVector),
        (ok().importance(1.5), ErrorCode::InvalidInput),
        (ok().importance(f32::NAN), ErrorCode::InvalidInput),
        (ok().coordinates(91.0, 0.0), ErrorCode::InvalidInput),
    ];
    for (m, want) in cases {
        assert_eq!(code(mem.remember(m.clone())), want, "{m:?}");
        // In a batch, one bad item rejects the whole batch.
        assert_eq!(code(mem.remember_batch(vec![ok(), m, ok()])), want);
    }
    // 100 chars is fine, counted in characters, not bytes.
    let max = mem.remember(NewMemory::new("carol", "é".repeat(100))).unwrap();
    mem.forget_user("carol").unwrap();
    assert_eq!(code(mem.get(max)), ErrorCode::NotFound);

    assert_eq!(code(mem.get(999_999)), ErrorCode::NotFound);
    assert_eq!(code(mem.forget(999_999)), ErrorCode::NotFound);
    assert_eq!(code(mem.history(999_999)), ErrorCode::NotFound);
    assert_eq!(code(mem.update(999_999, MemoryUpdate::default().text("x"))), ErrorCode::NotFound);
    assert_eq!(code(mem.update(ids[0], MemoryUpdate::default().text(""))), ErrorCode::EmptyText);
    assert_eq!(
        code(mem.update(ids[0], MemoryUpdate::default().metadata(json!(1)))),
        ErrorCode::InvalidMetadata
    );
    assert_eq!(code(mem.update(ids[0], MemoryUpdate::default().importance(-0.1))), ErrorCode::InvalidInput);
    assert_eq!(code(mem.recall(&Recall::new("", "q"))), ErrorCode::MissingUser);
    assert_eq!(code(mem.recall(&Recall::new("alice", " "))), ErrorCode::EmptyText);
    assert_eq!(code(mem.recall(&Recall::new("alice", "q").limit(0))), ErrorCode::InvalidInput);
    assert_eq!(code(mem.forget_user(" ")), ErrorCode::MissingUser);
    let t = time::OffsetDateTime::now_utc();
    let backwards = Recall::new("alice", "q").between(t, t - time::Duration::hours(1));
    assert_eq!(code(mem.recall(&backwards)), ErrorCode::InvalidInput);

    assert_eq!(snapshot(mem), before);
    mem.close().unwrap();
    let mem = fresh.reopen(config);
    assert_eq!(snapshot(&mem), before);
}

#[test]
fn closed_handle_and_clones_fail_cleanly() {
    let mem = Memorable::open_in_memory().unwrap();
    let clone = mem.clone();
    mem.close().unwrap();
    mem.close().unwrap();
    assert_eq!(code(clone.remember(NewMemory::new("a", "b"))), ErrorCode::Closed);
    assert_eq!(code(clone.stats()), ErrorCode::Closed);
}

#[test]
fn store_problems_have_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mem = Memorable::open(dir.path()).unwrap();
    crate::common::seed(&mem);
    // A second open of a live store (same or another process) is refused.
    assert_eq!(code(Memorable::open(dir.path())), ErrorCode::Locked);
    mem.close().unwrap();
    // After close the directory is free again.
    Memorable::open(dir.path()).unwrap().close().unwrap();

    // A directory that cannot be created.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    assert_eq!(code(Memorable::open(file.join("store"))), ErrorCode::NotWritable);

    // A database that is not one.
    let bogus = tempfile::tempdir().unwrap();
    std::fs::write(bogus.path().join("memorable.db"), vec![7u8; 4096]).unwrap();
    assert_eq!(code(Memorable::open(bogus.path())), ErrorCode::Corrupt);

    // A store from a newer MemoRable is refused and left untouched.
    {
        let conn = rusqlite::Connection::open(dir.path().join("memorable.db")).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
    }
    let err = Memorable::open(dir.path()).err().unwrap();
    assert_eq!(err.code(), ErrorCode::NewerVersion);
    assert!(err.to_string().contains("newer"), "{err}");
    let conn = rusqlite::Connection::open(dir.path().join("memorable.db")).unwrap();
    let v: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, 99);
}

struct OtherModel;
impl Embedder for OtherModel {
    fn embed(&self, texts: &[&str]) -> memorable_core::Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|_| vec![1.0, 0.0]).collect())
    }
    fn dim(&self) -> usize {
        2
    }
    fn model_id(&self) -> &str {
        "other-model"
    }
}

struct BrokenModel;
impl Embedder for BrokenModel {
    fn embed(&self, texts: &[&str]) -> memorable_core::Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|_| vec![f32::NAN, 1.0]).collect())
    }
    fn dim(&self) -> usize {
        2
    }
    fn model_id(&self) -> &str {
        "broken"
    }
}

#[test]
fn embedder_problems_have_codes() {
    let dir = tempfile::tempdir().unwrap();
    Memorable::open(dir.path()).unwrap().remember(NewMemory::new("a", "made by hashing")).unwrap();
    let err = Memorable::builder(dir.path()).embedder(Arc::new(OtherModel)).open().err().unwrap();
    assert_eq!(err.code(), ErrorCode::ModelMismatch);
    let broken = memorable_core::Builder::in_memory().embedder(Arc::new(BrokenModel)).open().unwrap();
    assert_eq!(code(broken.remember(NewMemory::new("a", "text"))), ErrorCode::InvalidVector);
    assert_eq!(broken.stats().unwrap().memories, 0);
}
