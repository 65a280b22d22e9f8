//! Idempotent writes: `remember` with a client key stores a memory once per user and key,
//! on both backends (one definition, run on a directory store and on PostgreSQL).

use memorable_core::{ErrorCode, Memorable, NewMemory, Recall};

use crate::common::open_hashing;
use crate::postgres::{open_postgres, TestDb};

fn idempotent_remember(mem: &Memorable) {
    let first =
        mem.remember(NewMemory::new("alice", "paid the plumber 120 euros").client_key("req-1")).unwrap();
    // A retry (any text: the key decides) answers the same id and stores nothing.
    let again =
        mem.remember(NewMemory::new("alice", "paid the plumber 120 euros").client_key("req-1")).unwrap();
    assert_eq!(again, first);
    // Keys are per user.
    let bob = mem.remember(NewMemory::new("bob", "paid the plumber 80 euros").client_key("req-1")).unwrap();
    assert_ne!(bob, first);
    // In a batch: a stored key, a new one, and the new one repeated.
    let ids = mem
        .remember_batch(vec![
            NewMemory::new("alice", "paid the plumber 120 euros").client_key("req-1"),
            NewMemory::new("alice", "booked the boiler check").client_key("req-2"),
            NewMemory::new("alice", "booked the boiler check").client_key("req-2"),
            NewMemory::new("alice", "no key: always stored"),
        ])
        .unwrap();
    assert_eq!(ids[0], first);
    assert_eq!(ids[1], ids[2]);
    assert!(ids[1] > first && ids[3] > ids[1]);
    assert_eq!(
        mem.stats().unwrap().memories,
        4,
        "req-1 once for alice, once for bob, req-2 once, one without"
    );
    let hits = mem.recall(&Recall::new("alice", "plumber").limit(10)).unwrap();
    assert_eq!(hits.iter().filter(|h| h.memory.text.contains("plumber")).count(), 1);
    // A forgotten memory's key is free again.
    mem.forget(first).unwrap();
    let fresh =
        mem.remember(NewMemory::new("alice", "paid the plumber 120 euros").client_key("req-1")).unwrap();
    assert_ne!(fresh, first);
    // Bad keys change nothing.
    for bad in [String::new(), "k".repeat(201)] {
        let e = mem.remember(NewMemory::new("alice", "x").client_key(bad)).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{e}");
    }
    assert_eq!(mem.stats().unwrap().memories, 4);
}

#[test]
fn idempotent_remember_on_a_directory_store() {
    let dir = tempfile::tempdir().unwrap();
    idempotent_remember(&open_hashing(dir.path()));
}

#[test]
fn idempotent_remember_on_postgres() {
    let Some(db) = TestDb::create("client_keys") else { return };
    idempotent_remember(&open_postgres(&db.url));
}

/// Two instances retrying the same keyed write at once store it once.
#[test]
fn concurrent_retries_on_two_instances_store_once() {
    let Some(db) = TestDb::create("client_race") else { return };
    let (a, b) = (open_postgres(&db.url), open_postgres(&db.url));
    a.remember(NewMemory::new("carol", "warm-up: the user exists")).unwrap();
    for round in 0..20 {
        let key = format!("race-{round}");
        let (x, y) = std::thread::scope(|s| {
            let x = s.spawn(|| a.remember(NewMemory::new("carol", "the same write").client_key(key.clone())));
            let y = s.spawn(|| b.remember(NewMemory::new("carol", "the same write").client_key(key.clone())));
            (x.join().unwrap().unwrap(), y.join().unwrap().unwrap())
        });
        assert_eq!(x, y, "round {round}: both retries answer one id");
    }
    assert_eq!(a.stats().unwrap().memories, 21);
}

/// A schema-8 store (before client keys) migrates, and takes keys afterwards.
#[test]
fn a_schema_8_store_migrates_to_client_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mem = open_hashing(dir.path());
    let old = mem.remember(NewMemory::new("alice", "written at schema 8")).unwrap();
    mem.close().unwrap();
    {
        let conn = rusqlite::Connection::open(dir.path().join("memorable.db")).unwrap();
        conn.execute_batch(
            "DROP INDEX memories_client_key; ALTER TABLE memories DROP COLUMN client_key; PRAGMA user_version = 8;",
        )
        .unwrap();
    }
    let mem = open_hashing(dir.path());
    assert_eq!(mem.get(old).unwrap().text, "written at schema 8");
    let id = mem.remember(NewMemory::new("alice", "keyed").client_key("k")).unwrap();
    assert_eq!(mem.remember(NewMemory::new("alice", "keyed").client_key("k")).unwrap(), id);
}
