//! Backup, verify and restore with a PostgreSQL store on either side: a PostgreSQL store
//! backs up into the same file format as a directory's, and a backup of either backend
//! restores into a directory or into an empty PostgreSQL database (see `postgres.rs` for the
//! test cluster).

use std::path::Path;

use memorable_core::emotion::{Reading, Source};
use memorable_core::{ErrorCode, Memorable, MemoryUpdate, NewMemory, Recall};

use crate::common::{open_hashing, seed};
use crate::postgres::{open_postgres, TestDb};

/// Everything a reader can tell about a store: each user's recall for a few queries, every
/// memory with its history, and an emotion context's state.
fn fingerprint(mem: &Memorable, ids: &[u64]) -> Vec<String> {
    let mut out = Vec::new();
    for (user, q) in [("alice", "puppy"), ("alice", "budget review"), ("bob", "marathon"), ("bob", "cat")] {
        let hits = mem.recall(&Recall::new(user, q).limit(10)).unwrap();
        out.push(format!("{user}/{q}: {:?}", hits.iter().map(|h| h.memory.id).collect::<Vec<_>>()));
    }
    for id in ids {
        match mem.get(*id) {
            Ok(m) => {
                let history: Vec<String> = mem.history(*id).unwrap().into_iter().map(|v| v.text).collect();
                out.push(format!("{id}: {} {} {:?} v{} {history:?}", m.user, m.text, m.tags, m.version));
            }
            Err(e) => out.push(format!("{id}: {:?}", e.code())),
        }
    }
    let state = mem.emotional_state("chat-1").unwrap();
    out.push(format!("chat-1: {:?} {:.3} {}", state.dominant, state.score("joy"), state.updated_at));
    out
}

/// A store with two users, an edit (history), a forgotten memory (the newest: its id must
/// not be handed out again) and an emotion context.
fn populate(mem: &Memorable) -> Vec<u64> {
    let mut ids = seed(mem);
    mem.update(ids[0], MemoryUpdate::default().text("I adopted a beagle puppy named Biscuit in May"))
        .unwrap();
    let last = mem.remember(NewMemory::new("bob", "a memory that will be forgotten")).unwrap();
    mem.forget(last).unwrap();
    ids.push(last);
    mem.observe(Reading::new("chat-1", Source::Text).score("joy", 0.8)).unwrap();
    ids
}

#[test]
fn a_postgres_store_backs_up_and_restores_into_a_directory_and_a_database() {
    let Some(src) = TestDb::create("bk_src") else { return };
    let Some(dst) = TestDb::create("bk_dst") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mem = open_postgres(&src.url);
    let ids = populate(&mem);
    let expected = fingerprint(&mem, &ids);
    let file = tmp.path().join("pg.mrbak");
    let report = mem.backup(&file).unwrap();
    assert_eq!((report.memories, report.users, report.index_files), (6, 2, 0), "{report:?}");
    assert!(memorable_core::verify(&file).unwrap().ok);
    let live = memorable_core::verify(&src.url).unwrap();
    assert!(live.ok && live.kind == "store" && live.memories == 6, "{live:?}");

    // Into a directory.
    let dir = tmp.path().join("restored");
    memorable_core::restore(&file, &dir).unwrap();
    let restored = open_hashing(&dir);
    assert_eq!(fingerprint(&restored, &ids), expected);
    let next = restored.remember(NewMemory::new("bob", "after the restore")).unwrap();
    assert!(next > *ids.last().unwrap(), "a forgotten id is not handed out again: {next}");
    restored.close().unwrap();

    // Into an empty database.
    let r = memorable_core::restore(&file, &dst.url).unwrap();
    assert_eq!((r.memories, r.users), (6, 2));
    assert!(!r.path.contains(&password(&dst.url)) || password(&dst.url).is_empty());
    let restored = open_postgres(&dst.url);
    assert_eq!(fingerprint(&restored, &ids), expected);
    let next = restored.remember(NewMemory::new("bob", "after the restore")).unwrap();
    assert!(next > *ids.last().unwrap(), "a forgotten id is not handed out again: {next}");
    assert!(memorable_core::verify(&dst.url).unwrap().ok);

    // Never over a database that holds a store: refused, nothing changed.
    let e = memorable_core::restore(&file, &dst.url).unwrap_err();
    assert_eq!(e.code(), ErrorCode::DestinationExists, "{e}");
    assert_eq!(restored.stats().unwrap().memories, 7);
}

fn password(url: &str) -> String {
    url.split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(auth, _)| auth.split_once(':'))
        .map(|(_, p)| p.to_owned())
        .unwrap_or_default()
}

/// The way from one machine's store to a shared database: a directory's backup restores
/// into PostgreSQL with everything in it.
#[test]
fn a_directory_backup_restores_into_postgres() {
    let Some(dst) = TestDb::create("bk_dir") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mem = open_hashing(&tmp.path().join("store"));
    let ids = populate(&mem);
    let expected = fingerprint(&mem, &ids);
    let file = tmp.path().join("dir.mrbak");
    mem.backup(&file).unwrap();
    let mut seen = Vec::new();
    memorable_core::restore_with_progress(&file, &dst.url, &mut |done, total| seen.push((done, total)))
        .unwrap();
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "progress only grows: {seen:?}");
    assert_eq!(seen.last().map(|(d, t)| d == t), Some(true), "{seen:?}");
    let restored = open_postgres(&dst.url);
    assert_eq!(fingerprint(&restored, &ids), expected);
}

/// A damaged backup is refused before the database is touched: no schema appears.
#[test]
fn a_damaged_backup_leaves_the_database_untouched() {
    let Some(dst) = TestDb::create("bk_bad") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mem = open_hashing(&tmp.path().join("store"));
    seed(&mem);
    let file = tmp.path().join("b.mrbak");
    mem.backup(&file).unwrap();
    flip_a_byte(&file);
    let e = memorable_core::restore(&file, &dst.url).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Corrupt, "{e}");
    let mut c = postgres::Client::connect(&dst.url, postgres::NoTls).unwrap();
    let tables: i64 =
        c.query_one("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", &[]).unwrap().get(0);
    assert_eq!(tables, 0);
}

fn flip_a_byte(file: &Path) {
    let mut bytes = std::fs::read(file).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x55;
    std::fs::write(file, bytes).unwrap();
}

/// `verify` on a database URL runs the same checks as on a directory: a vector row removed
/// behind the store's back is found.
#[test]
fn verify_finds_a_memory_without_its_vector_in_postgres() {
    let Some(db) = TestDb::create("bk_verify") else { return };
    let mem = open_postgres(&db.url);
    let ids = seed(&mem);
    assert!(memorable_core::verify(&db.url).unwrap().ok);
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    c.execute("DELETE FROM vectors WHERE memory_id = $1", &[&(ids[2] as i64)]).unwrap();
    let report = memorable_core::verify(&db.url).unwrap();
    assert!(!report.ok, "{report:?}");
    assert!(report.problems.iter().any(|p| p.contains("1 memories have no vector")), "{report:?}");
    // A database without a store is not sound either (and is not created by looking).
    let Some(empty) = TestDb::create("bk_empty") else { return };
    let report = memorable_core::verify(&empty.url).unwrap();
    assert!(!report.ok && report.problems[0].contains("no MemoRable schema"), "{report:?}");
}
