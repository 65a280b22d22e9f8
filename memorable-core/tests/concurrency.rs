//! Readers recall while a writer remembers, on clones of one handle: no panic, no lost write.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use memorable_core::{Memorable, NewMemory, Recall};

#[test]
fn readers_and_writer_share_one_handle() {
    let dir = tempfile::tempdir().unwrap();
    let mem = crate::common::open_hashing(dir.path());
    crate::common::seed(&mem);
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|t| {
            let (mem, done) = (mem.clone(), done.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !done.load(Ordering::Acquire) || n < 20 {
                    let user = if t % 2 == 0 { "alice" } else { "writer" };
                    for h in mem.recall(&Recall::new(user, format!("entry {n} puppy")).limit(5)).unwrap() {
                        assert_eq!(h.memory.user, user);
                    }
                    n += 1;
                }
                n
            })
        })
        .collect();
    let writer = {
        let mem = mem.clone();
        std::thread::spawn(move || {
            let mut ids = Vec::new();
            for i in 0..300 {
                if i % 50 == 0 {
                    let batch =
                        (0..20).map(|j| NewMemory::new("writer", format!("batch {i} entry {j}"))).collect();
                    ids.extend(mem.remember_batch(batch).unwrap());
                } else {
                    ids.push(mem.remember(NewMemory::new("writer", format!("entry {i}"))).unwrap());
                }
            }
            ids
        })
    };
    let ids = writer.join().unwrap();
    done.store(true, Ordering::Release);
    for r in readers {
        assert!(r.join().unwrap() >= 20);
    }
    assert_eq!(ids.len(), 294 + 6 * 20);
    for id in &ids {
        mem.get(*id).unwrap();
    }
    let stats = mem.stats().unwrap();
    let idx = stats.loaded_indexes.iter().find(|i| i.user == "writer").unwrap();
    assert_eq!(idx.live, ids.len(), "every write reached the index");
    let hits = mem.recall(&Recall::new("writer", "entry 299").limit(3)).unwrap();
    assert!(hits.iter().any(|h| h.memory.text == "entry 299"));
}

#[test]
fn many_users_with_a_small_index_cache() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::common::hashing_config();
    config.max_loaded_indexes = 3;
    let mem = Memorable::builder(dir.path()).config(config.clone()).open().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let mem = mem.clone();
            std::thread::spawn(move || {
                for round in 0..10 {
                    for u in 0..5 {
                        let user = format!("user{u}");
                        mem.remember(NewMemory::new(
                            &user,
                            format!("thread {t} round {round} note for {user}"),
                        ))
                        .unwrap();
                        let hits =
                            mem.recall(&Recall::new(&user, format!("round {round} note")).limit(3)).unwrap();
                        assert!(hits.iter().all(|h| h.memory.user == user));
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(mem.stats().unwrap().loaded_indexes.len() <= 3);
    mem.close().unwrap();
    let mem = Memorable::builder(dir.path()).config(config).open().unwrap();
    for u in 0..5 {
        let user = format!("user{u}");
        // Every memory of every user is reachable through its (reloaded or rebuilt) index.
        let hits = mem.recall(&Recall::new(&user, "thread round note").limit(100)).unwrap();
        assert_eq!(hits.len(), 40, "{user}");
    }
}
