//! Listing users with their counts, the memories derived from one, and paging
//! `recent_matching` and `recall` with `offset` (on both backends).

use memorable_core::{ErrorCode, NewMemory, Recall, UserMemories};
use time::macros::datetime;

use crate::common::{hashing_config, Backend, Fresh};

on_both_backends!(
    users_lists_every_holder_by_id_with_counts_and_prefix,
    recent_pages_cover_every_memory_once_newest_first,
    recall_offset_skips_the_best_hits,
    derived_lists_the_memories_made_from_one,
);

fn store(backend: Backend) -> Option<Fresh> {
    let fresh = Fresh::new(backend, hashing_config())?;
    let mem = &fresh.mem;
    let t0 = datetime!(2026-11-01 10:00 UTC);
    let mut items: Vec<NewMemory> = (0..7)
        // Two memories share each instant: paging must still see each exactly once.
        .map(|i| {
            NewMemory::new("team:ann", format!("note {i} about the garden"))
                .occurred_at(t0 + time::Duration::hours(i / 2))
        })
        .collect();
    items.push(NewMemory::new("team:bob", "bob's only note"));
    items.push(NewMemory::new("solo", "a note of another tenant"));
    mem.remember_batch(items).unwrap();
    Some(fresh)
}

fn users_lists_every_holder_by_id_with_counts_and_prefix(backend: Backend) {
    let Some(fresh) = store(backend) else { return };
    let mem = &fresh.mem;
    let all = mem.users(None).unwrap();
    let pairs: Vec<(&str, u64)> = all.iter().map(|u| (u.user.as_str(), u.memories)).collect();
    assert_eq!(pairs, [("solo", 1), ("team:ann", 7), ("team:bob", 1)]);
    let team = mem.users(Some("team:")).unwrap();
    assert_eq!(team.iter().map(|u| u.user.as_str()).collect::<Vec<_>>(), ["team:ann", "team:bob"]);
    assert_eq!(mem.users(Some("nobody")).unwrap(), Vec::<UserMemories>::new());
    // A user whose memories are all forgotten is no longer listed.
    mem.forget_user("solo").unwrap();
    assert_eq!(mem.users(None).unwrap().len(), 2);
}

fn recent_pages_cover_every_memory_once_newest_first(backend: Backend) {
    let Some(fresh) = store(backend) else { return };
    let mem = &fresh.mem;
    let all = mem.recent_matching(&Recall::new("team:ann", "").limit(100)).unwrap();
    let mut paged = Vec::new();
    for page in 0..4 {
        let r = Recall::new("team:ann", "").limit(2).offset(page * 2);
        paged.extend(mem.recent_matching(&r).unwrap());
    }
    assert_eq!(paged.len(), 7);
    assert_eq!(paged.iter().map(|m| m.id).collect::<Vec<_>>(), all.iter().map(|m| m.id).collect::<Vec<_>>());
    assert!(all.windows(2).all(|w| w[0].context.occurred_at >= w[1].context.occurred_at));
    assert!(mem.recent_matching(&Recall::new("team:ann", "").offset(50)).unwrap().is_empty());
}

fn recall_offset_skips_the_best_hits(backend: Backend) {
    let Some(fresh) = store(backend) else { return };
    let mem = &fresh.mem;
    let first = mem.recall(&Recall::new("team:ann", "garden note").limit(7).track_access(false)).unwrap();
    let second =
        mem.recall(&Recall::new("team:ann", "garden note").limit(3).offset(2).track_access(false)).unwrap();
    let ids = |h: &[memorable_core::Recalled]| h.iter().map(|h| h.memory.id).collect::<Vec<_>>();
    assert_eq!(ids(&second), ids(&first)[2..5]);
    let err = mem.recall(&Recall::new("team:ann", "garden").offset(100_001)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
}

fn derived_lists_the_memories_made_from_one(backend: Backend) {
    let Some(fresh) = store(backend) else { return };
    let mem = &fresh.mem;
    let turns = mem.recent_matching(&Recall::new("team:ann", "").limit(2)).unwrap();
    let (a, b) = (turns[0].id, turns[1].id);
    let summary = mem
        .remember(NewMemory::new("team:ann", "a summary of a and b").kind("summary").derived_from([a, b]))
        .unwrap();
    let fact =
        mem.remember(NewMemory::new("team:ann", "a fact from a").kind("fact").derived_from([a])).unwrap();
    let ids = |v: Vec<memorable_core::Memory>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(ids(mem.derived(a).unwrap()), [summary, fact]);
    assert_eq!(ids(mem.derived(b).unwrap()), [summary]);
    assert!(mem.derived(summary).unwrap().is_empty());
    assert_eq!(mem.derived(999_999).unwrap_err().code(), ErrorCode::NotFound);
}
