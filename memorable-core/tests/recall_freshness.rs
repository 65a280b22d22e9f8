//! Recall keeps a user's speakers, session timelines and the rows it ranks between queries
//! (see `store::rank_cache`); a write must make them current again at once. These tests
//! recall, write, and recall again on an on-disk store (read connections see the new
//! commit). The keyword index (`retrieval::keyword`) is held the same way.

use memorable_core::{Config, Memorable, MemoryUpdate, NewMemory, Recall, RecallMode};
use time::macros::datetime;
use time::Duration;

fn open(dir: &std::path::Path) -> Memorable {
    let mut config = Config::default();
    config.embedder = "hashing".into();
    Memorable::builder(dir).config(config).open().unwrap()
}

#[test]
fn a_new_speaker_is_recognised_by_the_next_recall() {
    let dir = tempfile::tempdir().unwrap();
    let mem = open(dir.path());
    mem.remember(NewMemory::new("u", "I adopted a grey kitten last week").speaker("Ana")).unwrap();
    let query = Recall::new("u", "What did Bo adopt?");
    let before = mem.recall(&query).unwrap();
    assert!(before.iter().all(|h| h.breakdown.who == 0.0), "nobody named Bo yet: {before:#?}");

    let bo = mem.remember(NewMemory::new("u", "I adopted a retired racing greyhound").speaker("Bo")).unwrap();
    let after = mem.recall(&query).unwrap();
    let hit = after.iter().find(|h| h.memory.id == bo).expect("Bo's memory is recalled");
    assert!(hit.breakdown.who > 0.0, "Bo is a known speaker now: {hit:#?}");
    assert_eq!(after[0].memory.id, bo, "the speaker's own turn ranks first: {after:#?}");
}

#[test]
fn a_new_turn_joins_its_session_neighbours_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mem = open(dir.path());
    let t0 = datetime!(2024-03-01 10:00 UTC);
    let turn = |text: &str, minutes: i64| {
        NewMemory::new("u", text).session("s1").speaker("Ana").occurred_at(t0 + Duration::minutes(minutes))
    };
    let question = mem.remember(turn("Which instrument are you learning these days?", 0)).unwrap();
    mem.remember(turn("The weather was lovely on the coast", 60)).unwrap();
    let query = Recall::new("u", "instrument learning");
    let first = mem.recall(&query).unwrap();
    assert_eq!(first[0].memory.id, question);

    // The answer comes right after the question: it must now lend and borrow context.
    let answer = mem.remember(turn("The cello, with a teacher on Fridays", 1)).unwrap();
    let second = mem.recall(&query).unwrap();
    let hit = second.iter().find(|h| h.memory.id == answer).expect("the new neighbour is a candidate");
    assert!(hit.breakdown.context > 0.0, "the new turn borrows its neighbour's relevance: {hit:#?}");
}

#[test]
fn an_updated_memory_is_ranked_and_returned_as_it_is_now() {
    let dir = tempfile::tempdir().unwrap();
    let mem = open(dir.path());
    let id = mem.remember(NewMemory::new("u", "I play the violin in a quartet").importance(0.1)).unwrap();
    mem.remember(NewMemory::new("u", "We hiked up the ridge at dawn")).unwrap();
    let before = mem.recall(&Recall::new("u", "violin quartet")).unwrap();
    assert_eq!(before[0].memory.id, id);

    mem.update(id, MemoryUpdate::default().text("I play the cello in a quartet").importance(0.9)).unwrap();
    let after = mem.recall(&Recall::new("u", "cello quartet")).unwrap();
    let hit = after.iter().find(|h| h.memory.id == id).expect("the updated memory is recalled");
    assert_eq!(hit.memory.text, "I play the cello in a quartet");
    assert!(hit.breakdown.keyword.is_some(), "its new words match: {hit:#?}");
    let weight = Recall::new("u", "").weights.importance;
    assert!((hit.breakdown.importance - weight * 0.9).abs() < 1e-6, "new importance: {hit:#?}");
    let old = mem.recall(&Recall::new("u", "violin")).unwrap();
    assert!(old.iter().all(|h| !h.memory.text.contains("violin")), "no stale text: {old:#?}");
}

#[test]
fn a_forgotten_memory_is_not_recalled_again() {
    let dir = tempfile::tempdir().unwrap();
    let mem = open(dir.path());
    let gone = mem.remember(NewMemory::new("u", "My locker code is 4512")).unwrap();
    let kept = mem.remember(NewMemory::new("u", "My bike lock code is 9031")).unwrap();
    let query = Recall::new("u", "code");
    assert_eq!(mem.recall(&query).unwrap().len(), 2);
    mem.forget(gone).unwrap();
    let after = mem.recall(&query).unwrap();
    assert_eq!(after.iter().map(|h| h.memory.id).collect::<Vec<_>>(), vec![kept]);
}

/// A store holding the spare-key memory (and `filler`), recalled five times by its query.
fn spare_key_store(filler: Vec<NewMemory>) -> (tempfile::TempDir, Memorable, u64, Recall) {
    let dir = tempfile::tempdir().unwrap();
    let mem = open(dir.path());
    let id = mem.remember(NewMemory::new("u", "The spare key is under the blue pot")).unwrap();
    mem.remember_batch(filler).unwrap();
    let query = Recall::new("u", "spare key");
    for _ in 0..5 {
        mem.recall(&query).unwrap();
    }
    (dir, mem, id, query)
}

/// The access term of memory `id` in a recall of `query` that counts no access.
fn access_term(mem: &Memorable, query: &Recall, id: u64) -> f32 {
    let hits = mem.recall(&query.clone().track_access(false)).unwrap();
    hits.iter().find(|h| h.memory.id == id).unwrap().breakdown.access
}

#[test]
fn access_counts_are_neither_lost_nor_doubled_when_written_out() {
    let (_dir, mem, id, query) = spare_key_store(vec![NewMemory::new("u", "Lunch was a lentil soup")]);
    let pending = access_term(&mem, &query, id);
    assert!(pending > 0.0, "five accesses count before they are written");
    mem.checkpoint().unwrap();
    assert_eq!(access_term(&mem, &query, id), pending, "written out: the same count");
    mem.recall(&query).unwrap();
    assert!(access_term(&mem, &query, id) > pending, "a new access still counts");
}

/// Recall writes its access log out itself once it holds about a thousand memories; the rows
/// it cached before must then carry the written counts (not lose them, nor count them twice).
#[test]
fn access_counts_survive_the_log_written_out_by_recall() {
    let filler = (0..1_100).map(|i| NewMemory::new("u", format!("entry {i} filed in group{}", i % 11)));
    let (_dir, mem, id, query) = spare_key_store(filler.collect());
    let pending = access_term(&mem, &query, id);
    assert!(pending > 0.0);
    // Eleven recalls of 100 different memories each: more than the log holds.
    for g in 0..11 {
        let hits = mem.recall(&Recall::new("u", format!("group{g}")).limit(100)).unwrap();
        assert_eq!(hits.len(), 100);
    }
    assert_eq!(access_term(&mem, &query, id), pending, "the same count once written out by recall");
    mem.recall(&query).unwrap();
    assert!(access_term(&mem, &query, id) > pending, "a new access still counts");
}

/// Ids of a keyword-only recall, best first.
fn keyword_ids(mem: &Memorable, user: &str, query: &str) -> Vec<u64> {
    let r = Recall::new(user, query).mode(RecallMode::Keyword).track_access(false);
    mem.recall(&r).unwrap().iter().map(|h| h.memory.id).collect()
}

#[test]
fn keyword_search_sees_added_updated_and_forgotten_texts_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mem = open(dir.path());
    let a = mem.remember(NewMemory::new("u", "We stopped at the zebra crossing")).unwrap();
    assert_eq!(keyword_ids(&mem, "u", "zebra"), vec![a]);

    // Added after the index was built: appended by the next recall.
    let b = mem.remember(NewMemory::new("u", "Zebras grazing at the zoo")).unwrap();
    let mut both = keyword_ids(&mem, "u", "zebra");
    both.sort();
    assert_eq!(both, vec![a, b], "stemming matches zebras, and the new memory is found");

    // An update replaces the old words; a forget removes them.
    mem.update(a, MemoryUpdate::default().text("We stopped at the giraffe crossing")).unwrap();
    assert_eq!(keyword_ids(&mem, "u", "zebra"), vec![b]);
    assert_eq!(keyword_ids(&mem, "u", "giraffes"), vec![a]);
    mem.forget(b).unwrap();
    assert!(keyword_ids(&mem, "u", "zebra").is_empty());
    let c = mem.remember(NewMemory::new("u", "A zebra on a mug")).unwrap();
    assert_eq!(keyword_ids(&mem, "u", "zebra"), vec![c], "an add after a rebuild is found too");
}

#[test]
fn keyword_scores_depend_only_on_the_users_own_memories() {
    let dir = tempfile::tempdir().unwrap();
    let mem = open(dir.path());
    for text in ["The zebra at the zoo", "Lunch by the river", "A long walk home", "Reading in the garden"] {
        mem.remember(NewMemory::new("u", text)).unwrap();
    }
    let score = |mem: &Memorable| {
        let r = Recall::new("u", "zebra").mode(RecallMode::Keyword).track_access(false);
        mem.recall(&r).unwrap()[0].breakdown.keyword.unwrap()
    };
    let alone = score(&mem);
    // Another user's memories full of the same word: with statistics over the whole store
    // (FTS5's bm25) the word would turn common and u's score would fall.
    let many: Vec<NewMemory> = (0..60).map(|i| NewMemory::new("v", format!("zebra number {i}"))).collect();
    mem.remember_batch(many).unwrap();
    assert_eq!(score(&mem), alone);
}
