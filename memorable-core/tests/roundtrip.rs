//! Round trip through a reopen, keyword recall, filters, update / history, forget. Most run
//! on both backends (a directory and PostgreSQL) from one definition.

use crate::common::{ids, seed, Backend, Fresh};
use memorable_core::{Config, Memorable, MemoryUpdate, NewMemory, Recall};

on_both_backends!(
    remember_reopen_get_and_recall,
    keyword_recall_finds_rare_word,
    filters_restrict_results,
    update_keeps_history_and_reembeds,
    forget_removes_from_recall_and_history,
);
use time::macros::datetime;

fn remember_reopen_get_and_recall(backend: Backend) {
    let Some(fresh) = Fresh::new(backend, Config::default()) else { return };
    let id = {
        let mem = &fresh.mem;
        seed(mem);
        let id =
            mem.remember(NewMemory::new("alice", "Biscuit learned to sit today").importance(0.9)).unwrap();
        mem.close().unwrap();
        id
    };
    let mem = fresh.reopen(Config::default());
    let m = mem.get(id).unwrap();
    assert_eq!(m.text, "Biscuit learned to sit today");
    assert_eq!(m.user, "alice");
    assert!((m.importance - 0.9).abs() < 1e-6);
    let hits = mem.recall(&Recall::new("alice", "what did Biscuit learn?").limit(3)).unwrap();
    assert_eq!(hits[0].memory.id, id);
    assert!(hits[0].breakdown.semantic.is_some());
    assert!(hits[0].breakdown.keyword.is_some(), "FTS should match 'Biscuit'");
    assert_eq!(mem.stats().unwrap().memories, 7);
}

fn keyword_recall_finds_rare_word(backend: Backend) {
    let Some(fresh) = Fresh::new(backend, Config::default()) else { return };
    let mem = &fresh.mem;
    seed(mem);
    let hits = mem.recall(&Recall::new("alice", "Lisbon").limit(2)).unwrap();
    assert!(hits[0].memory.text.contains("Lisbon"));
    assert_eq!(hits[0].breakdown.keyword_rank, Some(1));
    // Stemming: "dumpling" finds "dumplings".
    let hits = mem.recall(&Recall::new("alice", "dumpling").limit(1)).unwrap();
    assert!(hits[0].memory.text.contains("dumplings"));
}

fn filters_restrict_results(backend: Backend) {
    let Some(fresh) = Fresh::new(backend, Config::default()) else { return };
    let mem = &fresh.mem;
    seed(mem);
    let by_speaker = mem.recall(&Recall::new("alice", "food market dumplings").speaker("alice")).unwrap();
    assert!(by_speaker.iter().all(|h| h.memory.context.speaker.as_deref() == Some("alice")));
    assert!(!by_speaker.is_empty());
    let by_session = mem.recall(&Recall::new("alice", "anything at all").session("s2")).unwrap();
    assert_eq!(by_session.len(), 2);
    assert!(by_session.iter().all(|h| h.memory.session.as_deref() == Some("s2")));
    let by_tags = mem.recall(&Recall::new("alice", "friends food").tags(["food", "friends"])).unwrap();
    assert_eq!(by_tags.len(), 1);
    let none = mem.recall(&Recall::new("alice", "pets").tags(["food", "pets"])).unwrap();
    assert!(none.is_empty(), "tags filter requires every tag");
    // Half-open range [since, until): the memory at exactly `until` is excluded.
    let r = Recall::new("alice", "anything")
        .between(datetime!(2024-05-02 09:00 UTC), datetime!(2024-05-04 09:00 UTC));
    let hits = mem.recall(&r).unwrap();
    let times: Vec<_> = hits.iter().map(|h| h.memory.context.occurred_at).collect();
    assert_eq!(hits.len(), 2, "{times:?}");
    assert!(times
        .iter()
        .all(|t| *t >= datetime!(2024-05-02 09:00 UTC) && *t < datetime!(2024-05-04 09:00 UTC)));
    let recent = mem.recent_matching(&Recall::new("alice", "").limit(2)).unwrap();
    assert_eq!(recent[0].context.occurred_at, datetime!(2024-05-04 09:00 UTC));
    assert_eq!(recent.len(), 2);
}

fn update_keeps_history_and_reembeds(backend: Backend) {
    let Some(fresh) = Fresh::new(backend, Config::default()) else { return };
    let mem = &fresh.mem;
    seed(mem);
    let id = mem.remember(NewMemory::new("alice", "My favourite colour is green")).unwrap();
    let updated = mem
        .update(id, MemoryUpdate::default().text("My favourite colour is purple").tags(["prefs"]))
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.tags, vec!["prefs"]);
    let history = mem.history(id).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].text, "My favourite colour is green");
    assert!(history[0].valid_to.is_some());
    assert_eq!(history[1].text, "My favourite colour is purple");
    assert!(history[1].valid_to.is_none());
    // The index serves the new vector only; the old text no longer matches by keyword.
    let hits = mem.recall(&Recall::new("alice", "purple colour").limit(1)).unwrap();
    assert_eq!(hits[0].memory.id, id);
    let green = mem.recall(&Recall::new("alice", "green").limit(10)).unwrap();
    assert!(green.iter().all(|h| h.breakdown.keyword.is_none()), "old text must leave FTS");
    let hits_for_id = green.iter().filter(|h| h.memory.id == id).count();
    assert!(hits_for_id <= 1, "a memory appears once even after re-embedding");
    mem.close().unwrap();
    let mem = fresh.reopen(Config::default());
    assert_eq!(mem.history(id).unwrap().len(), 2);
    let hits = mem.recall(&Recall::new("alice", "purple colour").limit(1)).unwrap();
    assert_eq!(hits[0].memory.id, id);
}

/// Forget, on either backend: gone from get, history and recall, ids never reused.
fn forget_removes_from_recall_and_history(backend: Backend) {
    let Some(fresh) = Fresh::new(backend, Config::default()) else { return };
    let mem = &fresh.mem;
    let seeded = seed(mem);
    let id = seeded[0];
    mem.update(id, MemoryUpdate::default().text("I adopted a beagle puppy named Biscuit in May")).unwrap();
    mem.forget(id).unwrap();
    assert_eq!(mem.get(id).unwrap_err().code(), memorable_core::ErrorCode::NotFound);
    assert_eq!(mem.history(id).unwrap_err().code(), memorable_core::ErrorCode::NotFound);
    assert!(!ids(mem, &Recall::new("alice", "Biscuit beagle puppy").limit(10)).contains(&id));
    assert_eq!(mem.forget(id).unwrap_err().code(), memorable_core::ErrorCode::NotFound);
    mem.close().unwrap();
    let mem = fresh.reopen(Config::default());
    assert!(!ids(&mem, &Recall::new("alice", "Biscuit beagle puppy").limit(10)).contains(&id));
    let new_id = mem.remember(NewMemory::new("alice", "fresh")).unwrap();
    assert!(new_id > *seeded.iter().max().unwrap());
    assert_eq!(mem.stats().unwrap().versions, 0, "history of a forgotten memory is erased");
}

#[test]
fn forget_removes_from_recall_fts_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let mem = Memorable::open(dir.path()).unwrap();
    let seeded = seed(&mem);
    let id = seeded[0];
    mem.update(id, MemoryUpdate::default().text("I adopted a beagle puppy named Biscuit in May")).unwrap();
    mem.forget(id).unwrap();
    assert_eq!(mem.get(id).unwrap_err().code(), memorable_core::ErrorCode::NotFound);
    assert_eq!(mem.history(id).unwrap_err().code(), memorable_core::ErrorCode::NotFound);
    assert!(!ids(&mem, &Recall::new("alice", "Biscuit beagle puppy").limit(10)).contains(&id));
    assert_eq!(mem.forget(id).unwrap_err().code(), memorable_core::ErrorCode::NotFound);
    // In the store itself: no row, vector, tag, previous version or keyword entry is left.
    let db = rusqlite::Connection::open(dir.path().join("memorable.db")).unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [id as i64], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM memories WHERE id = ?1"), 0);
    assert_eq!(count("SELECT count(*) FROM vectors WHERE memory_id = ?1"), 0);
    assert_eq!(count("SELECT count(*) FROM memory_tags WHERE memory_id = ?1"), 0);
    assert_eq!(count("SELECT count(*) FROM memory_versions WHERE memory_id = ?1"), 0);
    // Both the current and the previous text's words are gone from the FTS index.
    assert_eq!(
        count(
            "SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'beagle OR biscuit' AND rowid = ?1"
        ),
        0
    );
    let fts_total: i64 = db
        .query_row("SELECT count(*) FROM memories_fts WHERE memories_fts MATCH 'beagle'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(fts_total, 0);
    drop(db);
    mem.close().unwrap();
    // Nothing of it comes back after reopen (index dump included), and the ids are not reused.
    let mem = Memorable::open(dir.path()).unwrap();
    assert!(!ids(&mem, &Recall::new("alice", "Biscuit beagle puppy").limit(10)).contains(&id));
    let new_id = mem.remember(NewMemory::new("alice", "fresh")).unwrap();
    assert!(new_id > *seeded.iter().max().unwrap());
    assert_eq!(mem.stats().unwrap().versions, 0, "history of a forgotten memory is erased");
}
