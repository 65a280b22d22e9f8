//! A user's recall never sees another user's memories (on both backends, the property test
//! included), and forgetting a user touches no one else.

use std::sync::OnceLock;

use crate::common::{seed, Backend, Fresh};
use memorable_core::{Memorable, NewMemory, Recall};
use proptest::prelude::*;

/// The key of `user` in the users table.
fn user_key(dir: &std::path::Path, user: &str) -> i64 {
    let db = rusqlite::Connection::open(dir.join("memorable.db")).unwrap();
    db.query_row("SELECT user_key FROM users WHERE name = ?1", [user], |r| r.get(0)).unwrap()
}

/// Rows of `user` in every table that holds memory data: memories, vectors, tags, previous
/// versions, keyword-index entries (FTS rows whose memory belongs to the user), and a
/// checksum of the memories' columns so a changed row shows.
fn rows_of(dir: &std::path::Path, user: &str) -> [i64; 6] {
    let db = rusqlite::Connection::open(dir.join("memorable.db")).unwrap();
    let ids = "SELECT m.id FROM memories m JOIN users u ON u.user_key = m.user_key WHERE u.name = ?1";
    let q = |sql: String| -> i64 { db.query_row(&sql, [user], |r| r.get(0)).unwrap() };
    [
        q(format!("SELECT count(*) FROM ({ids})")),
        q("SELECT count(*) FROM vectors v JOIN users u ON u.user_key = v.user_key WHERE u.name = ?1".into()),
        q(format!("SELECT count(*) FROM memory_tags WHERE memory_id IN ({ids})")),
        q(format!("SELECT count(*) FROM memory_versions WHERE memory_id IN ({ids})")),
        q(format!("SELECT count(*) FROM memories_fts WHERE rowid IN ({ids})")),
        q(format!(
            "SELECT coalesce(sum(length(m.text || m.tags || m.metadata || m.version || m.updated_at)), 0)
             FROM memories m WHERE m.id IN ({ids})"
        )),
    ]
}

/// One seeded store per backend, shared by every case (recall only reads).
fn seeded(backend: Backend) -> Option<&'static Memorable> {
    static DIRECTORY: OnceLock<Option<Fresh>> = OnceLock::new();
    static POSTGRES: OnceLock<Option<Fresh>> = OnceLock::new();
    let cell = match backend {
        Backend::Directory => &DIRECTORY,
        Backend::Postgres => &POSTGRES,
    };
    cell.get_or_init(|| {
        let fresh = Fresh::new(backend, crate::common::hashing_config())?;
        seed(&fresh.mem);
        Some(fresh)
    })
    .as_ref()
    .map(|f| &f.mem)
}

fn never_crosses(backend: Backend, query: &str, limit: usize, speaker: Option<&str>, tag: Option<&str>) {
    let Some(mem) = seeded(backend) else { return };
    for user in ["alice", "bob"] {
        let mut r = Recall::new(user, query).limit(limit);
        r.speaker = speaker.map(String::from);
        if let Some(t) = tag {
            r.tags = vec![t.to_string()];
        }
        for hit in mem.recall(&r).unwrap() {
            assert_eq!(hit.memory.user, user, "{backend:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn recall_never_crosses_users(
        query in "[a-zA-Z ]{1,40}",
        limit in 1usize..20,
        speaker in proptest::option::of(prop_oneof![Just("alice"), Just("bob")]),
        tag in proptest::option::of(prop_oneof![Just("pets"), Just("sport"), Just("food")]),
    ) {
        prop_assume!(!query.trim().is_empty());
        never_crosses(Backend::Directory, &query, limit, speaker, tag);
        never_crosses(Backend::Postgres, &query, limit, speaker, tag);
    }
}

on_both_backends!(shared_words_stay_with_their_user);

fn shared_words_stay_with_their_user(backend: Backend) {
    let Some(mem) = seeded(backend) else { return };
    // Both users have a "pets" memory; each sees only their own.
    let alice = mem.recall(&Recall::new("alice", "Whiskers cat vacuum").limit(10)).unwrap();
    assert!(alice.iter().all(|h| h.memory.user == "alice"));
    assert!(alice.iter().all(|h| !h.memory.text.contains("Whiskers")));
}

#[test]
fn forget_user_leaves_others_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let mem = crate::common::open_hashing_with_graphs(dir.path());
    let ids = seed(&mem);
    let bob_ids = &ids[4..];
    let bob_update = mem
        .update(bob_ids[0], memorable_core::MemoryUpdate::default().text("My cat Whiskers loves boxes"))
        .unwrap();
    let bob_before: Vec<_> = bob_ids.iter().map(|id| mem.get(*id).unwrap()).collect();
    // BM25 statistics are store-wide, so compare what is found and in which order, not the
    // keyword score's magnitude.
    let found = |mem: &Memorable| -> Vec<(u64, memorable_core::Memory)> {
        mem.recall(&Recall::new("bob", "cat boxes").limit(5))
            .unwrap()
            .into_iter()
            .map(|h| (h.memory.id, h.memory))
            .collect()
    };
    let bob_recall_before = found(&mem);
    mem.recall(&Recall::new("alice", "Biscuit").limit(1)).unwrap(); // alice's index is loaded
    mem.checkpoint().unwrap();
    let alice_dump = dir.path().join("index").join(format!("u{}.json", user_key(dir.path(), "alice")));
    assert!(alice_dump.is_file(), "alice's index was dumped");
    let bob_rows = rows_of(dir.path(), "bob");

    assert_eq!(mem.forget_user("alice").unwrap(), 4);
    assert_eq!(mem.forget_user("alice").unwrap(), 0);
    assert!(mem.recall(&Recall::new("alice", "Biscuit").limit(5)).unwrap().is_empty());
    for (id, before) in bob_ids.iter().zip(&bob_before) {
        assert_eq!(&mem.get(*id).unwrap(), before);
    }
    assert_eq!(mem.history(bob_update.id).unwrap().len(), 2, "bob's history kept");
    assert_eq!(found(&mem), bob_recall_before);
    let fts = mem.recall(&Recall::new("bob", "marathon").limit(1)).unwrap();
    assert_eq!(fts[0].breakdown.keyword_rank, Some(1));
    // In the store itself: nothing of alice is left (rows, vectors, tags, versions, keywords,
    // the user, the index dump) and every row of bob is exactly as before.
    assert_eq!(rows_of(dir.path(), "alice"), [0; 6]);
    assert_eq!(rows_of(dir.path(), "bob"), bob_rows);
    let db = rusqlite::Connection::open(dir.path().join("memorable.db")).unwrap();
    let users: i64 =
        db.query_row("SELECT count(*) FROM users WHERE name = 'alice'", [], |r| r.get(0)).unwrap();
    assert_eq!(users, 0);
    let alice_words: i64 = db
        .query_row(
            "SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'biscuit OR lisbon OR dumplings OR budget'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(alice_words, 0, "alice's words left the keyword index");
    assert!(!alice_dump.exists(), "alice's index dump is removed");
    mem.close().unwrap();

    let mem = crate::common::open_hashing(dir.path());
    assert_eq!(mem.stats().unwrap().users, 1);
    assert!(mem.recall(&Recall::new("alice", "Biscuit").limit(5)).unwrap().is_empty());
    assert_eq!(found(&mem), bob_recall_before);
    // A new alice starts empty.
    mem.remember(NewMemory::new("alice", "hello again")).unwrap();
    assert_eq!(mem.recall(&Recall::new("alice", "Biscuit hello").limit(5)).unwrap().len(), 1);
}
