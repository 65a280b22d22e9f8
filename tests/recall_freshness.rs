//! Recall keeps a user's speakers and session timelines between queries (see
//! `retrieval::cache`); a write must make them current again at once. These tests recall,
//! write, and recall again on an on-disk store (read connections see the new commit).

use memorable::{Config, Memorable, NewMemory, Recall};
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
