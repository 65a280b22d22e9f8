//! Quotas and limits (`limits.*`): each refusal has its own code, writes nothing, and leaves
//! other users alone; forgetting frees quota; usage survives reopening and is rebuilt by the
//! schema-7 migration.

use memorable_core::{Config, ErrorCode, Memorable, MemoryUpdate, NewMemory, Recall};
use serde_json::json;

fn hashing(limits: serde_json::Value) -> Config {
    Config::from_json(&json!({ "embedder": "hashing", "limits": limits }).to_string()).unwrap()
}

fn count(mem: &Memorable, user: &str) -> usize {
    mem.recent_matching(&Recall::new(user, "").limit(1000)).unwrap().len()
}

fn code<T: std::fmt::Debug>(r: memorable_core::Result<T>) -> ErrorCode {
    r.expect_err("expected an error").code()
}

#[test]
fn memories_per_user() {
    let dir = tempfile::tempdir().unwrap();
    let config = hashing(json!({ "max_memories_per_user": 5 }));
    let mem = Memorable::builder(dir.path()).config(config.clone()).open().unwrap();
    let batch =
        |n: usize, user: &str| (0..n).map(|i| NewMemory::new(user, format!("note {i}"))).collect::<Vec<_>>();
    mem.remember_batch(batch(3, "alice")).unwrap();
    // A batch that straddles the quota is refused whole.
    assert_eq!(code(mem.remember_batch(batch(3, "alice"))), ErrorCode::UserQuotaExceeded);
    assert_eq!(count(&mem, "alice"), 3);
    mem.remember_batch(batch(2, "alice")).unwrap();
    assert_eq!(code(mem.remember(NewMemory::new("alice", "one too many"))), ErrorCode::UserQuotaExceeded);
    // Other users have quotas of their own; a mixed batch fails for the user over it.
    mem.remember_batch(batch(5, "bob")).unwrap();
    let mut mixed = batch(1, "carol");
    mixed.extend(batch(1, "alice"));
    assert_eq!(code(mem.remember_batch(mixed)), ErrorCode::UserQuotaExceeded);
    assert_eq!(count(&mem, "carol"), 0, "nothing of a refused batch is written");
    // Forgetting frees a place, also after reopening.
    let first = mem.recent_matching(&Recall::new("alice", "").limit(1)).unwrap()[0].id;
    mem.forget(first).unwrap();
    mem.close().unwrap();
    let mem = Memorable::builder(dir.path()).config(config).open().unwrap();
    mem.remember(NewMemory::new("alice", "fits again")).unwrap();
    assert_eq!(
        code(mem.remember(NewMemory::new("alice", "and now it is full"))),
        ErrorCode::UserQuotaExceeded
    );
    // forget_user frees everything.
    mem.forget_user("alice").unwrap();
    mem.remember_batch(batch(5, "alice")).unwrap();
}

#[test]
fn the_schema_7_migration_counts_what_users_hold() {
    let dir = tempfile::tempdir().unwrap();
    let mem = Memorable::builder(dir.path()).config(hashing(json!({}))).open().unwrap();
    for i in 0..3 {
        mem.remember(NewMemory::new("alice", format!("before quotas {i}"))).unwrap();
    }
    mem.close().unwrap();
    {
        // Back to schema 6: no usage columns, no usage triggers, no classifier tables.
        let conn = rusqlite::Connection::open(dir.path().join("memorable.db")).unwrap();
        conn.execute_batch(
            "DROP TRIGGER memories_usage_delete; DROP TRIGGER memories_usage_update;
             ALTER TABLE users DROP COLUMN memories; ALTER TABLE users DROP COLUMN bytes;
             DROP TABLE classifiers; DROP TABLE examples; DROP TABLE calibrations; DROP TABLE job_checkpoints;
             DROP INDEX memories_client_key; ALTER TABLE memories DROP COLUMN client_key;
             PRAGMA user_version = 6;",
        )
        .unwrap();
    }
    let mem =
        Memorable::builder(dir.path()).config(hashing(json!({ "max_memories_per_user": 4 }))).open().unwrap();
    mem.remember(NewMemory::new("alice", "the fourth")).unwrap();
    assert_eq!(code(mem.remember(NewMemory::new("alice", "the fifth"))), ErrorCode::UserQuotaExceeded);
}

#[test]
fn bytes_per_user() {
    let dir = tempfile::tempdir().unwrap();
    let mem =
        Memorable::builder(dir.path()).config(hashing(json!({ "max_bytes_per_user": 100 }))).open().unwrap();
    // 40 bytes of text + 2 of metadata ("{}") each.
    let text = "x".repeat(40);
    mem.remember(NewMemory::new("alice", text.clone())).unwrap();
    let id = mem.remember(NewMemory::new("alice", text.clone())).unwrap();
    assert_eq!(code(mem.remember(NewMemory::new("alice", text.clone()))), ErrorCode::UserQuotaExceeded);
    // Growing a memory's text past the quota is refused too; shrinking is fine.
    let grow = MemoryUpdate { text: Some("y".repeat(60)), ..Default::default() };
    assert_eq!(code(mem.update(id, grow)), ErrorCode::UserQuotaExceeded);
    assert_eq!(mem.get(id).unwrap().text, text);
    let shrink = MemoryUpdate { text: Some("short".into()), ..Default::default() };
    mem.update(id, shrink).unwrap();
    mem.remember(NewMemory::new("alice", "z".repeat(40))).unwrap();
}

#[test]
fn batch_and_metadata_limits() {
    let mem = Memorable::builder(tempfile::tempdir().unwrap().path())
        .config(hashing(json!({ "max_batch": 3, "max_metadata_bytes": 64 })))
        .open()
        .unwrap();
    let batch = (0..4).map(|i| NewMemory::new("alice", format!("n {i}"))).collect();
    assert_eq!(code(mem.remember_batch(batch)), ErrorCode::BatchTooLarge);
    let mut big = NewMemory::new("alice", "with metadata");
    big.metadata = Some(json!({ "blob": "m".repeat(100) }));
    assert_eq!(code(mem.remember(big)), ErrorCode::MetadataTooLarge);
    assert_eq!(count(&mem, "alice"), 0);
    let mut small = NewMemory::new("alice", "with metadata");
    small.metadata = Some(json!({ "k": "v" }));
    let id = mem.remember(small).unwrap();
    let update = MemoryUpdate { metadata: Some(json!({ "blob": "m".repeat(100) })), ..Default::default() };
    assert_eq!(code(mem.update(id, update)), ErrorCode::MetadataTooLarge);
    assert_eq!(mem.get(id).unwrap().metadata["k"], "v");
    // Limits are checked at open.
    assert!(Config::from_json(r#"{"limits": {"max_batch": 0}}"#).is_err());
}

#[test]
fn store_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let mem = Memorable::builder(dir.path()).config(hashing(json!({}))).open().unwrap();
    mem.remember(NewMemory::new("alice", "a first memory")).unwrap();
    let on_disk = mem.stats().unwrap().store_bytes;
    mem.close().unwrap();
    let config = hashing(json!({ "max_store_bytes": on_disk + 4096 }));
    let mem = Memorable::builder(dir.path()).config(config).open().unwrap();
    // About 2 KB of vector each: a few fit, then the store is full.
    let mut written = 0;
    let err = loop {
        match mem.remember(NewMemory::new("bob", format!("memory number {written}"))) {
            Ok(_) => written += 1,
            Err(e) => break e,
        }
        assert!(written < 1000, "the limit never took effect");
    };
    assert_eq!(err.code(), ErrorCode::StoreFull);
    assert!(written >= 1);
    assert_eq!(count(&mem, "bob"), written);
    // Forgetting does not make the file smaller at once, but reads keep working.
    assert!(!mem.recall(&Recall::new("bob", "memory number")).unwrap().is_empty());
}
