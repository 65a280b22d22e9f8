//! Update procedure: a store written at schema 1 (the fixture tests/fixtures/store-v1, made
//! by MemoRable 0.1.0) migrates forward after an automatic backup; a failure mid-migration
//! rolls back and leaves the store as it was.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use memorable_core::{ErrorCode, Recall};

/// The failure hook is process-wide: these tests take turns.
static SERIAL: Mutex<()> = Mutex::new(());

fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/store-v1/memorable.db");
    std::fs::copy(src, store.join("memorable.db")).unwrap();
    (dir, store)
}

/// The first column of every row of `sql`.
fn column<T: rusqlite::types::FromSql>(conn: &rusqlite::Connection, sql: &str) -> Vec<T> {
    conn.prepare(sql).unwrap().query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

/// Every table's schema and rows, as text: equal dumps mean an equal database.
fn logical_dump(db: &Path) -> (u32, Vec<String>) {
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    let mut out = Vec::new();
    let tables: Vec<(String, String)> = conn
        .prepare("SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type IN ('table','index','trigger') ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (name, sql) in tables {
        out.push(sql.clone());
        if sql.starts_with("CREATE TABLE") {
            let mut stmt = conn.prepare(&format!("SELECT * FROM \"{name}\"")).unwrap();
            let cols = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    Ok((0..cols)
                        .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                        .collect::<Vec<_>>()
                        .join("|"))
                })
                .unwrap();
            for row in rows {
                out.push(format!("{name}: {}", row.unwrap()));
            }
        }
    }
    (version, out)
}

#[test]
fn a_v1_store_migrates_after_an_automatic_backup() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_dir, store) = fixture_copy();
    let before = logical_dump(&store.join("memorable.db"));
    assert_eq!(before.0, 1);

    let mem = crate::common::open_hashing(&store);
    let stats = mem.stats().unwrap();
    assert_eq!(stats.schema_version, memorable_core::SCHEMA_VERSION);
    assert_eq!(stats.memories, 3);
    assert_eq!(mem.history(1).unwrap().len(), 2, "history survives the migration");
    assert_eq!(mem.recall(&Recall::new("alice", "puppy").limit(1)).unwrap()[0].memory.id, 1);
    // Versions written from now on record topics and place: a v1 version restores without them.
    assert_eq!(mem.health().unwrap().status, memorable_core::HealthStatus::Ok);
    mem.close().unwrap();

    // The automatic backup holds the store as it was (schema 1) and restores to it.
    let backups: Vec<PathBuf> =
        std::fs::read_dir(store.join("backups")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let name = backups[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("pre-migration-v1-to-v{}-", memorable_core::SCHEMA_VERSION))
            && name.ends_with(".mrbak"),
        "{name}"
    );
    let v = memorable_core::verify(&backups[0]).unwrap();
    assert!(v.ok, "{:?}", v.problems);
    assert_eq!(v.schema_version, Some(1));
    let rolled_back = store.parent().unwrap().join("rolled-back");
    memorable_core::restore(&backups[0], &rolled_back).unwrap();
    assert_eq!(logical_dump(&rolled_back.join("memorable.db")), before);
}

#[test]
fn a_failed_migration_leaves_the_store_as_it_was() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_dir, store) = fixture_copy();
    let db = store.join("memorable.db");
    let before = logical_dump(&db);

    memorable_core::testing::fail_next_migration_to(2);
    let err = memorable_core::Memorable::builder(&store)
        .config(crate::common::hashing_config())
        .open()
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::MigrationFailed, "{err}");
    assert!(err.to_string().contains("rolled back"), "{err}");
    assert!(err.to_string().contains("backup"), "the error says where the backup is: {err}");
    // Schema, tables and rows are exactly as before.
    assert_eq!(logical_dump(&db), before);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let cols: Vec<String> = column(&conn, "SELECT name FROM pragma_table_info('memory_versions')");
    assert!(!cols.contains(&"topics".to_string()), "no column of schema 2 was left behind");
    drop(conn);

    // Without the injected failure the same store migrates.
    let mem = crate::common::open_hashing(&store);
    assert_eq!(mem.stats().unwrap().schema_version, memorable_core::SCHEMA_VERSION);
    assert_eq!(mem.stats().unwrap().memories, 3);
}

/// Schema 4 keeps a memory's arousal in a column of its own (ranking reads it instead of
/// parsing the snapshot): a schema-3 store gets it filled from the snapshots it holds.
#[test]
fn a_v3_store_gets_the_arousal_of_its_snapshots() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let excited = memorable_core::EmotionSnapshot { valence: 0.5, arousal: 0.8, ..Default::default() };
    let mem = crate::common::open_hashing(dir.path());
    let id = mem.remember(memorable_core::NewMemory::new("u", "We won the final!").emotion(excited)).unwrap();
    mem.close().unwrap();
    // Turn it back into the schema-3 layout: no arousal column (schema 4), nothing of schema 6.
    {
        let conn = rusqlite::Connection::open(dir.path().join("memorable.db")).unwrap();
        conn.execute_batch(
            "ALTER TABLE memories DROP COLUMN arousal; ALTER TABLE memories DROP COLUMN derived_from;
             DROP TABLE memory_sources; DROP TABLE jobs; DROP TRIGGER memories_usage_delete;
             DROP TRIGGER memories_usage_update; ALTER TABLE users DROP COLUMN memories;
             ALTER TABLE users DROP COLUMN bytes;
             DROP TABLE classifiers; DROP TABLE examples; DROP TABLE calibrations; DROP TABLE job_checkpoints;
             DROP INDEX memories_client_key; ALTER TABLE memories DROP COLUMN client_key;
             PRAGMA user_version = 3;",
        )
        .unwrap();
    }
    let mem = crate::common::open_hashing(dir.path());
    assert_eq!(mem.stats().unwrap().schema_version, memorable_core::SCHEMA_VERSION);
    let hits = mem.recall(&Recall::new("u", "final")).unwrap();
    assert_eq!(hits[0].memory.id, id);
    // The default arousal weight (0.1) times arousal mapped to [0, 1]: (0.8 + 1) / 2.
    assert!((hits[0].breakdown.arousal - 0.09).abs() < 1e-4, "{:?}", hits[0].breakdown);
}

/// Schema 5 indexes new memories for FTS from the insert itself instead of a trigger (a
/// trigger made FTS5 flush once per memory). A migrated store must index each new memory
/// exactly once: no trigger left behind to index it a second time.
#[test]
fn a_migrated_store_indexes_new_memories_for_fts_exactly_once() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (_dir, store) = fixture_copy();
    let mem = crate::common::open_hashing(&store);
    let batch = vec![
        memorable_core::NewMemory::new("alice", "A zebra crossed the savanna"),
        memorable_core::NewMemory::new("alice", "The zebra came back at dusk"),
    ];
    let ids = mem.remember_batch(batch).unwrap();
    let one = mem.remember(memorable_core::NewMemory::new("bob", "no zebra here, a giraffe")).unwrap();
    mem.close().unwrap();
    let conn = rusqlite::Connection::open(store.join("memorable.db")).unwrap();
    let triggers: Vec<String> =
        column(&conn, "SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name");
    // No insert trigger (schema 5); usage is counted by the write path on insert (schema 7).
    assert_eq!(
        triggers,
        ["memories_fts_delete", "memories_fts_update", "memories_usage_delete", "memories_usage_update"]
    );
    let hits: Vec<i64> =
        column(&conn, "SELECT rowid FROM memories_fts WHERE memories_fts MATCH 'zebra' ORDER BY rowid");
    let want: Vec<i64> = ids.iter().chain([&one]).map(|&id| id as i64).collect();
    assert_eq!(hits, want);
    // FTS5's own check compares the index with the content table: a memory indexed twice, or
    // not at all, fails it.
    conn.execute("INSERT INTO memories_fts(memories_fts, rank) VALUES ('integrity-check', 1)", []).unwrap();
}
