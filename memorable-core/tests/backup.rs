//! Backup / verify / restore: an online backup taken during concurrent writes restores to a
//! sound store holding every memory acknowledged before it started; a damaged backup is
//! refused with nothing written.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use memorable_core::{ErrorCode, NewMemory, Recall};

#[test]
fn backup_during_concurrent_writes_restores_every_acknowledged_memory() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mem = crate::common::open_hashing_with_graphs(&store);
    // Some users have loaded indexes with dumps on disk, so dumps are part of the backup.
    for u in 0..3 {
        mem.remember_batch(
            (0..50).map(|i| NewMemory::new(format!("user{u}"), format!("seed {i} of user {u}"))).collect(),
        )
        .unwrap();
    }
    mem.checkpoint().unwrap();

    let acked: Arc<Mutex<HashMap<u64, String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (mem, acked, stop) = (mem.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let text = format!("writer {w} says number {i} about the garden");
                    let id = mem.remember(NewMemory::new(format!("user{}", i % 4), text.clone())).unwrap();
                    acked.lock().unwrap().insert(id, text);
                    if i % 7 == 0 {
                        mem.recall(&Recall::new(format!("user{}", i % 4), "garden").limit(3)).unwrap();
                    }
                    i += 1;
                }
                i
            })
        })
        .collect();
    // Let the writers get going, then take the backup while they keep writing.
    while acked.lock().unwrap().len() < 200 {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let before: HashMap<u64, String> = acked.lock().unwrap().clone();
    let file = dir.path().join("live.mrbak");
    let report = mem.backup(&file).unwrap();
    let during = acked.lock().unwrap().len();
    stop.store(true, Ordering::Relaxed);
    let written: usize = writers.into_iter().map(|w| w.join().unwrap()).sum();
    assert!(written > before.len(), "writers kept writing");
    assert!(report.memories >= 150 + before.len() as u64);
    assert!(report.index_files >= 3, "dumps of the loaded users are included");
    eprintln!(
        "backup: {} memories ({} acknowledged before, {during} when it returned)",
        report.memories,
        before.len()
    );

    let v = memorable_core::verify(&file).unwrap();
    assert!(v.ok, "{:?}", v.problems);
    assert_eq!(v.kind, "backup");
    assert_eq!(v.memories, report.memories);

    let restored = dir.path().join("restored");
    let r = memorable_core::restore(&file, &restored).unwrap();
    assert_eq!(r.memories, report.memories);
    let v = memorable_core::verify(&restored).unwrap();
    assert!(v.ok, "{:?}", v.problems);

    let back = crate::common::open_hashing(&restored);
    for (id, text) in &before {
        assert_eq!(&back.get(*id).unwrap().text, text, "memory {id} acknowledged before the backup");
    }
    // The restored indexes work (dump + catch-up from the store).
    let hits = back.recall(&Recall::new("user1", "garden").limit(5)).unwrap();
    assert!(!hits.is_empty());
    assert_eq!(back.health().unwrap().status, memorable_core::HealthStatus::Ok);
    // The restored store keeps taking writes with fresh ids.
    let max = *before.keys().max().unwrap();
    let next = back.remember(NewMemory::new("user1", "after the restore")).unwrap();
    assert!(next > max);
    back.close().unwrap();
    mem.close().unwrap();
}

fn backup_of_small_store(dir: &Path) -> std::path::PathBuf {
    let mem = crate::common::open_hashing(&dir.join("src"));
    crate::common::seed(&mem);
    mem.checkpoint().unwrap();
    let file = dir.join("small.mrbak");
    mem.backup(&file).unwrap();
    mem.close().unwrap();
    file
}

fn assert_refused(file: &Path, parent: &Path, what: &str) {
    let v = memorable_core::verify(file).unwrap();
    assert!(!v.ok, "{what}: verify must fail");
    assert!(!v.problems.is_empty(), "{what}: a reason is given");
    let target = parent.join("target");
    let err = memorable_core::restore(file, &target).unwrap_err();
    assert_eq!(err.code(), ErrorCode::Corrupt, "{what}: {err}");
    assert!(!target.exists(), "{what}: nothing written");
    let leftovers: Vec<_> = std::fs::read_dir(parent).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(leftovers.is_empty(), "{what}: no staging left behind: {leftovers:?}");
}

#[test]
fn corrupted_backups_fail_verify_and_are_refused_by_restore() {
    let dir = tempfile::tempdir().unwrap();
    let file = backup_of_small_store(dir.path());
    assert!(memorable_core::verify(&file).unwrap().ok);
    let bytes = std::fs::read(&file).unwrap();
    let n = bytes.len();
    // Header, inside the database, inside an index dump, the manifest, the footer.
    for (what, at) in [
        ("header", 3),
        ("database", 5000),
        ("late entry", n * 3 / 4),
        ("manifest", n - 120),
        ("footer", n - 3),
    ] {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0x20;
        let case = tempfile::tempdir().unwrap();
        let f = case.path().join("damaged.mrbak");
        std::fs::write(&f, &damaged).unwrap();
        let out = tempfile::tempdir().unwrap();
        assert_refused(&f, out.path(), what);
    }
    for keep in [n - 1, n / 2, 10] {
        let case = tempfile::tempdir().unwrap();
        let f = case.path().join("truncated.mrbak");
        std::fs::write(&f, &bytes[..keep]).unwrap();
        let out = tempfile::tempdir().unwrap();
        assert_refused(&f, out.path(), &format!("truncated to {keep}"));
    }
    // Not a backup at all.
    let case = tempfile::tempdir().unwrap();
    let f = case.path().join("text.mrbak");
    std::fs::write(&f, "hello, this is not a backup at all, just some text that is long enough ...").unwrap();
    let out = tempfile::tempdir().unwrap();
    assert_refused(&f, out.path(), "not a backup");
}

#[test]
fn restore_never_overwrites_and_backup_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let file = backup_of_small_store(dir.path());
    // A live store (and any non-empty directory) is refused.
    let live = dir.path().join("live");
    let mem = crate::common::open_hashing(&live);
    mem.remember(NewMemory::new("zoe", "I live here")).unwrap();
    let err = memorable_core::restore(&file, &live).unwrap_err();
    assert_eq!(err.code(), ErrorCode::DestinationExists);
    assert_eq!(mem.stats().unwrap().memories, 1, "the live store is untouched");
    // An empty directory is fine.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    memorable_core::restore(&file, &empty).unwrap();
    assert_eq!(crate::common::open_hashing(&empty).stats().unwrap().memories, 6);
    // Backup onto an existing file is refused and leaves it alone.
    let err = mem.backup(&file).unwrap_err();
    assert_eq!(err.code(), ErrorCode::DestinationExists);
    assert!(memorable_core::verify(&file).unwrap().ok);
    mem.close().unwrap();
}

#[test]
fn in_memory_stores_back_up_too() {
    let mem = memorable_core::Builder::in_memory().config(crate::common::hashing_config()).open().unwrap();
    crate::common::seed(&mem);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("mem.mrbak");
    let report = mem.backup(&file).unwrap();
    assert_eq!(report.memories, 6);
    memorable_core::restore(&file, dir.path().join("disk")).unwrap();
    let disk = crate::common::open_hashing(&dir.path().join("disk"));
    assert_eq!(
        disk.recall(&Recall::new("alice", "Lisbon").limit(1)).unwrap()[0].memory.text,
        mem.recall(&Recall::new("alice", "Lisbon").limit(1)).unwrap()[0].memory.text
    );
}

#[test]
fn verify_finds_a_memory_without_its_vector() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    {
        let mem = crate::common::open_hashing(&store);
        crate::common::seed(&mem);
        mem.close().unwrap();
    }
    assert!(memorable_core::verify(&store).unwrap().ok);
    let conn = rusqlite::Connection::open(store.join("memorable.db")).unwrap();
    conn.execute("DELETE FROM vectors WHERE memory_id = 2", []).unwrap();
    drop(conn);
    let v = memorable_core::verify(&store).unwrap();
    assert!(!v.ok);
    assert!(v.problems.iter().any(|p| p.contains("1 memories have no vector")), "{:?}", v.problems);
}
