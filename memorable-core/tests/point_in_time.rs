//! Per-user point-in-time restore: user A back to instant T (updates after T undone,
//! memories added after T gone), user B untouched.

use std::time::Duration;

use memorable_core::{Memory, MemoryUpdate, NewMemory, Recall};
use serde_json::json;
use time::OffsetDateTime;

/// Step the clock past the store's millisecond resolution, so "before T" and "after T" differ.
fn instant() -> OffsetDateTime {
    std::thread::sleep(Duration::from_millis(5));
    let t = OffsetDateTime::now_utc();
    std::thread::sleep(Duration::from_millis(5));
    t
}

/// The fields a memory's history restores.
fn restorable(m: &Memory) -> serde_json::Value {
    json!({
        "text": m.text,
        "kind": m.kind,
        "speaker": m.context.speaker,
        "tags": m.tags,
        "metadata": m.metadata,
        "importance": (m.importance * 1000.0).round(),
        "topics": m.context.topics,
        "place": m.context.place,
    })
}

#[test]
fn restore_user_brings_one_user_back_to_an_instant() {
    let dir = tempfile::tempdir().unwrap();
    let mem = crate::common::open_hashing(dir.path());
    let a1 = mem
        .remember(
            NewMemory::new("alice", "I adopted a beagle puppy named Biscuit")
                .speaker("alice")
                .tags(["pets"])
                .topics(["dog"])
                .place("Porto")
                .metadata(json!({"mood": "happy"})),
        )
        .unwrap();
    let a2 = mem.remember(NewMemory::new("alice", "My sister Lena lives in Lisbon").importance(0.8)).unwrap();
    let a3 = mem.remember(NewMemory::new("alice", "The report is due Friday")).unwrap();
    // An update before T: T must see this version, not the first.
    mem.update(a2, MemoryUpdate::default().text("My sister Lena lives in Lisbon with her cat")).unwrap();
    let b1 = mem.remember(NewMemory::new("bob", "My cat Whiskers hates the vacuum")).unwrap();

    let t = instant();
    let at_t: Vec<Memory> = [a1, a2, a3].iter().map(|id| mem.get(*id).unwrap()).collect();

    // After T: updates (text, speaker, topics, place, tags, metadata, importance), a new memory,
    // a forget, and bob's own changes.
    mem.update(
        a1,
        MemoryUpdate {
            text: Some("Biscuit the beagle is now fully grown".into()),
            speaker: Some("mum".into()),
            topics: Some(vec!["dog".into(), "growth".into()]),
            place: Some("Lisbon".into()),
            tags: Some(vec!["pets".into(), "milestones".into()]),
            metadata: Some(json!({"mood": "proud"})),
            importance: Some(0.9),
            ..Default::default()
        },
    )
    .unwrap();
    mem.update(a2, MemoryUpdate::default().importance(0.1)).unwrap();
    mem.update(a2, MemoryUpdate::default().text("Lena moved to Madrid")).unwrap();
    let a4 = mem.remember(NewMemory::new("alice", "I started learning the cello")).unwrap();
    mem.forget(a3).unwrap();
    mem.update(b1, MemoryUpdate::default().text("Whiskers made peace with the vacuum")).unwrap();
    let b2 = mem.remember(NewMemory::new("bob", "I am training for the Berlin marathon")).unwrap();
    // Alice's index is loaded (and will be rebuilt by the restore).
    assert_eq!(mem.recall(&Recall::new("alice", "Madrid").limit(1)).unwrap()[0].memory.id, a2);
    let bob_before: Vec<Memory> = [b1, b2].iter().map(|id| mem.get(*id).unwrap()).collect();
    let bob_history = mem.history(b1).unwrap();

    let report = mem.restore_user("alice", t).unwrap();
    assert_eq!(report.reverted.len(), 2, "{report:?}");
    assert_eq!(report.removed, vec![a4]);
    assert!(report.unrestorable.is_empty());

    // A's memories are what they were at T ...
    assert_eq!(restorable(&mem.get(a1).unwrap()), restorable(&at_t[0]));
    assert_eq!(restorable(&mem.get(a2).unwrap()), restorable(&at_t[1]));
    // ... the one added after T is gone, and the one forgotten after T stays gone (by design).
    assert_eq!(mem.get(a4).unwrap_err().code(), memorable_core::ErrorCode::NotFound);
    assert_eq!(mem.get(a3).unwrap_err().code(), memorable_core::ErrorCode::NotFound);
    // The restore is itself a version, so it can be audited (and undone the same way).
    let h = mem.history(a1).unwrap();
    assert_eq!(h.len(), 3);
    assert_eq!(h[1].text, "Biscuit the beagle is now fully grown");
    // Recall sees the restored text (vector re-embedded, index rebuilt), not the later one.
    let hits = mem.recall(&Recall::new("alice", "Lisbon cat").limit(3)).unwrap();
    assert_eq!(hits[0].memory.id, a2);
    assert!(mem
        .recall(&Recall::new("alice", "Madrid").limit(5))
        .unwrap()
        .iter()
        .all(|h| !h.memory.text.contains("Madrid")));
    assert!(mem.recall(&Recall::new("alice", "cello").limit(5)).unwrap().iter().all(|h| h.memory.id != a4));

    // B is unchanged, to the last field and version.
    let bob_after: Vec<Memory> = [b1, b2].iter().map(|id| mem.get(*id).unwrap()).collect();
    assert_eq!(bob_after, bob_before);
    assert_eq!(mem.history(b1).unwrap(), bob_history);
    assert_eq!(mem.recall(&Recall::new("bob", "vacuum").limit(1)).unwrap()[0].memory.id, b1);

    // Restoring to the same instant again changes nothing.
    let again = mem.restore_user("alice", t).unwrap();
    assert!(again.reverted.is_empty() && again.removed.is_empty());
    assert_eq!(again.unchanged, 2);
    assert!(memorable_core::verify(dir.path()).unwrap().ok);
    mem.close().unwrap();

    // It survives a reopen.
    let mem = crate::common::open_hashing(dir.path());
    assert_eq!(restorable(&mem.get(a1).unwrap()), restorable(&at_t[0]));
    assert_eq!(mem.restore_user("nobody", t).unwrap().unchanged, 0);
    assert_eq!(mem.restore_user(" ", t).unwrap_err().code(), memorable_core::ErrorCode::MissingUser);
}
