//! Forget erases: once `forget` / `forget_user` return, the forgotten text and its keyword
//! tokens are in no byte of any file of the store directory (database, WAL, shared memory):
//! SQLite's `secure_delete` zeroes freed content, FTS5's `secure-delete` removes the tokens
//! from the index segments, and a truncating checkpoint drops the WAL frames that held them.
//! Its vector leaves the index dumps: zeroed in place in the dump on disk, and as a tombstone
//! in every later dump.

use std::path::Path;

use memorable_core::{Memorable, NewMemory, Recall};

use crate::common::{files_containing, open_hashing};

/// A token no other text shares, in the text and in its lower-case (FTS) form.
const SECRET: &str = "Zorblaxquim";
const SECRET_TOKEN: &str = "zorblaxquim";

fn fill(mem: &Memorable, user: &str, n: usize) {
    for i in 0..n {
        mem.remember(
            NewMemory::new(user, format!("an ordinary note number {i} about the weather")).session("s"),
        )
        .unwrap();
    }
}

fn assert_gone(dir: &Path) {
    for needle in [SECRET, SECRET_TOKEN] {
        let found = files_containing(dir, needle.as_bytes());
        assert!(found.is_empty(), "{needle:?} is still on disk in {found:?}");
    }
}

#[test]
fn a_forgotten_text_is_in_no_file_of_the_store() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let mem = open_hashing(&dir);
    let secret = mem
        .remember(NewMemory::new("ann", format!("my bank PIN hint is {SECRET} the cat")).session("s"))
        .unwrap();
    fill(&mem, "ann", 20);
    assert!(!files_containing(&dir, SECRET.as_bytes()).is_empty(), "the text was written");
    assert_eq!(mem.recall(&Recall::new("ann", SECRET_TOKEN).limit(1)).unwrap()[0].memory.id, secret);
    mem.forget(secret).unwrap();
    assert_gone(&dir);
    assert!(mem.recall(&Recall::new("ann", SECRET_TOKEN)).unwrap().iter().all(|h| h.memory.id != secret));
    // Still gone after more writes, a close and a reopen.
    fill(&mem, "ann", 5);
    mem.close().unwrap();
    let mem = open_hashing(&dir);
    assert_eq!(mem.stats().unwrap().memories, 25);
    mem.close().unwrap();
    assert_gone(&dir);
}

#[test]
fn forget_user_erases_every_text_of_the_user() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let mem = open_hashing(&dir);
    mem.remember(NewMemory::new("bea", format!("{SECRET} is my childhood nickname"))).unwrap();
    mem.remember(NewMemory::new("bea", format!("only my sister calls me {SECRET}"))).unwrap();
    fill(&mem, "cal", 10);
    mem.forget_user("bea").unwrap();
    assert_gone(&dir);
    mem.close().unwrap();
    assert_gone(&dir);
}

/// What consolidation derived from a forgotten turn goes with it: the summary and facts
/// quoting it (cascade), their history, and the job's stored report (ids only, no text).
#[test]
fn forgetting_a_source_erases_what_consolidation_wrote_from_it() {
    use memorable_core::ConsolidateRequest;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let mut config = crate::common::hashing_config();
    config.generator = "none".into();
    let mem = Memorable::builder(&dir).config(config).open().unwrap();
    let secret = mem
        .remember(
            NewMemory::new("dan", format!("I told my therapist about {SECRET} yesterday")).session("s1"),
        )
        .unwrap();
    mem.remember(NewMemory::new("dan", "The weather was lovely on the walk home.").session("s1")).unwrap();
    let report = mem.consolidate(&ConsolidateRequest::new("dan")).unwrap();
    assert!(report.summaries[0].text.contains(SECRET), "the summary quotes the turn: {report:?}");
    let job = mem.job(report.job).unwrap();
    let stored = serde_json::to_string(&job.result).unwrap();
    assert!(!stored.contains(SECRET) && stored.contains("derived_from"), "{stored}");
    mem.forget(secret).unwrap();
    assert_gone(&dir);
    mem.close().unwrap();
    assert_gone(&dir);
}

/// The vectors of every index dump under `dir` (the `.hnsw.data` files: a header `magic u32,
/// dim u64`, then per point `magic u32, id u64, byte length u64, the f32s`, little-endian).
fn dumped_vectors(dir: &Path) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir.join("index")).unwrap().flatten() {
        if !entry.file_name().to_string_lossy().ends_with(".hnsw.data") {
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        let mut at = 12;
        while at + 20 <= bytes.len() {
            let len = u64::from_le_bytes(bytes[at + 12..at + 20].try_into().unwrap()) as usize;
            let data = &bytes[at + 20..at + 20 + len];
            out.push(data.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect());
            at += 20 + len;
        }
    }
    out
}

/// The forgotten memory's vector leaves the index dump too: the dump written at close before
/// the forget is scrubbed in place when `forget` returns, and later dumps zero tombstones.
#[test]
fn a_forgotten_vector_is_in_no_index_dump() {
    use memorable_core::{Embedder, HashingEmbedder};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let text = format!("the vault code word is {SECRET}");
    let config = crate::common::hashing_config();
    let vector = HashingEmbedder::new(config.hashing_dim).embed(&[text.as_str()]).unwrap().remove(0);
    let dumped_secret = |dir: &Path| {
        dumped_vectors(dir).iter().any(|v| v.iter().zip(&vector).map(|(a, b)| a * b).sum::<f32>() > 0.999)
    };
    let mem = crate::common::open_hashing_with_graphs(&dir);
    let secret = mem.remember(NewMemory::new("eve", &text)).unwrap();
    fill(&mem, "eve", 30);
    mem.close().unwrap();
    assert_eq!(dumped_vectors(&dir).len(), 31);
    assert!(dumped_secret(&dir), "the dump written at close holds the vector");

    let mem = open_hashing(&dir);
    mem.forget(secret).unwrap();
    assert!(!dumped_secret(&dir), "the vector is still in the dump");
    let zeroed = dumped_vectors(&dir).iter().filter(|v| v.iter().all(|x| *x == 0.0)).count();
    assert_eq!(zeroed, 1, "only the forgotten vector is zeroed");
    // The scrubbed dump still loads and answers; the next dump (with the tombstone) is clean.
    assert_eq!(mem.recall(&Recall::new("eve", "ordinary note weather").limit(3)).unwrap().len(), 3);
    fill(&mem, "eve", 2);
    mem.close().unwrap();
    assert!(!dumped_secret(&dir), "the vector is back in a dump");
    let mem = open_hashing(&dir);
    assert_eq!(mem.stats().unwrap().memories, 32);
    assert_eq!(mem.recall(&Recall::new("eve", "ordinary note weather").limit(40)).unwrap().len(), 32);
    assert!(mem.recall(&Recall::new("eve", SECRET_TOKEN)).unwrap().iter().all(|h| h.memory.id != secret));
    mem.close().unwrap();

    // Forgotten before the index was ever dumped: the graph holds it as a tombstone, and the
    // dump written at close zeroes it.
    let dir = tmp.path().join("fresh");
    let mem = crate::common::open_hashing_with_graphs(&dir);
    let secret = mem.remember(NewMemory::new("eve", &text)).unwrap();
    fill(&mem, "eve", 30);
    mem.forget(secret).unwrap();
    mem.close().unwrap();
    // The background indexer may or may not have moved the secret from the pending tail into
    // the graph before the forget: a tombstone of the graph (dumped as a zero vector) or never
    // a point at all. Either way its vector is in no dump.
    let dumped = dumped_vectors(&dir);
    let zeroed = dumped.iter().filter(|v| v.iter().all(|x| *x == 0.0)).count();
    assert!(
        (dumped.len(), zeroed) == (31, 1) || (dumped.len(), zeroed) == (30, 0),
        "{} points dumped, {zeroed} zeroed",
        dumped.len()
    );
    assert!(!dumped_secret(&dir), "the tombstone's vector was dumped");
}
