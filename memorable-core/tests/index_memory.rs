//! The memory budget of the loaded per-user indexes (`max_index_memory_mb`): each loaded index
//! reports its estimated bytes, loading one evicts the least recently used others until the
//! estimate fits (the one just loaded always stays), an evicted user's next call reloads it
//! with the same results, and without a budget only `max_loaded_indexes` bounds them.

use memorable_core::{Config, ErrorCode, Memorable, NewMemory, Recall};

const USERS: [&str; 3] = ["ann", "bob", "cy"];

/// 2,000 memories for each user, with the hashing embedder (fast, and its sparse postings
/// count too).
fn store(dir: &std::path::Path, budget_mb: Option<u64>) -> Memorable {
    open(dir, budget_mb).unwrap()
}

fn open(dir: &std::path::Path, budget_mb: Option<u64>) -> memorable_core::Result<Memorable> {
    let mut config = Config::default();
    config.embedder = "hashing".into();
    config.max_index_memory_mb = budget_mb;
    Memorable::builder(dir).config(config).open()
}

fn fill(mem: &Memorable) {
    for user in USERS {
        let items = (0..2_000)
            .map(|i| NewMemory::new(user, format!("{user} note {i} about topic {}", i % 37)))
            .collect();
        mem.remember_batch(items).unwrap();
    }
}

fn loaded(mem: &Memorable) -> Vec<(String, u64)> {
    mem.stats().unwrap().loaded_indexes.into_iter().map(|i| (i.user, i.approx_bytes)).collect()
}

fn top(mem: &Memorable, user: &str) -> Vec<String> {
    let hits = mem.recall(&Recall::new(user, "note about topic 5").limit(5).track_access(false)).unwrap();
    hits.into_iter().map(|h| h.memory.text).collect()
}

#[test]
fn a_byte_budget_evicts_least_recently_used_indexes() {
    let dir = tempfile::tempdir().unwrap();
    // No byte budget: every user's index stays loaded, each with its estimate.
    let mem = store(dir.path(), None);
    fill(&mem);
    let before: Vec<Vec<String>> = USERS.iter().map(|u| top(&mem, u)).collect();
    let all = loaded(&mem);
    assert_eq!(all.len(), 3, "{all:?}");
    let each = all[0].1;
    // 2,000 points: vectors of 384 floats, graph links, sparse postings: a few MB.
    assert!(each > 2_000 * 1_536 && each < 2_000 * 20_000, "{all:?}");
    mem.close().unwrap();

    // A budget for about one index: loading the next evicts the least recently used.
    let budget_mb = each.div_ceil(1 << 20) + 1;
    assert!(2 * each > budget_mb << 20, "the budget must not hold two indexes");
    let mem = store(dir.path(), Some(budget_mb));
    for (user, want) in USERS.iter().zip(&before) {
        assert_eq!(&top(&mem, user), want, "{user}");
        let now = loaded(&mem);
        assert_eq!(now.iter().map(|l| l.0.as_str()).collect::<Vec<_>>(), [*user], "{now:?}");
    }
    // An evicted user's index comes back (from its dump) with the same results.
    assert_eq!(top(&mem, "ann"), before[0]);
    assert_eq!(loaded(&mem).len(), 1);
    mem.close().unwrap();

    // A budget below one index keeps the one in use.
    let mem = store(dir.path(), Some(1));
    assert_eq!(top(&mem, "bob"), before[1]);
    assert_eq!(top(&mem, "cy"), before[2]);
    assert_eq!(loaded(&mem).iter().map(|l| l.0.as_str()).collect::<Vec<_>>(), ["cy"]);
    mem.close().unwrap();

    // Writes count too: filling a fresh store under the budget keeps the index written last.
    let dir = tempfile::tempdir().unwrap();
    let mem = store(dir.path(), Some(budget_mb));
    fill(&mem);
    assert_eq!(loaded(&mem).iter().map(|l| l.0.as_str()).collect::<Vec<_>>(), ["cy"]);
    let again: Vec<Vec<String>> = USERS.iter().map(|u| top(&mem, u)).collect();
    assert_eq!(again, before);
}

#[test]
fn a_zero_budget_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = open(dir.path(), Some(0)).map(|_| ()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidConfig, "{err}");
}
