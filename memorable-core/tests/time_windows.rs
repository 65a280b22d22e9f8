//! Time windows and explicit ranges include and exclude at their boundaries as documented:
//! a window of length d anchored at `at` holds `at - d <= occurred_at <= at`; a range is
//! `[since, until)`. Every test runs on both backends (a directory and PostgreSQL).

use memorable_core::{Config, NewMemory, Recall, TimeWindow};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::common::{Backend, Fresh};

fn store(backend: Backend) -> Option<Fresh> {
    let mut config = Config::default();
    config.embedder = "hashing".into();
    config.windows.short_secs = 20 * 60;
    Fresh::new(backend, config)
}

on_both_backends!(
    window_boundaries_are_inclusive_at_both_ends,
    explicit_range_is_half_open_and_intersects_a_window,
    recent_lists_a_window_before_now_newest_first,
    a_named_day_finds_its_memories_without_shared_words,
);

fn texts(list: Vec<memorable_core::Memory>) -> Vec<String> {
    list.into_iter().map(|m| m.text).collect()
}

fn window_boundaries_are_inclusive_at_both_ends(backend: Backend) {
    let Some(fresh) = store(backend) else { return };
    let mem = &fresh.mem;
    let at: OffsetDateTime = datetime!(2024-06-01 12:00 UTC);
    let ms = Duration::milliseconds(1);
    let short = Duration::minutes(20);
    for (text, when) in [
        ("future", at + ms),
        ("at anchor", at),
        ("inside", at - Duration::minutes(5)),
        ("exactly twenty minutes", at - short),
        ("just outside", at - short - ms),
        ("an hour ago", at - Duration::minutes(59)),
        ("a day ago", at - Duration::hours(24)),
        ("older", at - Duration::hours(24) - ms),
    ] {
        mem.remember(NewMemory::new("u", format!("memory {text}")).occurred_at(when)).unwrap();
    }
    let listed = |w: TimeWindow| {
        texts(mem.recent_matching(&Recall::new("u", "").limit(100).window(w).at(at)).unwrap())
    };
    assert_eq!(
        listed(TimeWindow::Short),
        ["memory at anchor", "memory inside", "memory exactly twenty minutes"]
    );
    assert_eq!(listed(TimeWindow::Medium).len(), 5);
    // 24 hours: everything from the anchor back to exactly a day, nothing older or later.
    let long = listed(TimeWindow::Long);
    assert_eq!(long.len(), 6, "{long:?}");
    assert_eq!(long.last().map(String::as_str), Some("memory a day ago"));
    assert_eq!(listed(TimeWindow::Seconds(1)), ["memory at anchor"]);
    // Recall applies the same window.
    let hits = mem.recall(&Recall::new("u", "memory").limit(100).window(TimeWindow::Short).at(at)).unwrap();
    let mut got: Vec<String> = hits.into_iter().map(|h| h.memory.text).collect();
    got.sort();
    assert_eq!(got, ["memory at anchor", "memory exactly twenty minutes", "memory inside"]);
}

fn explicit_range_is_half_open_and_intersects_a_window(backend: Backend) {
    let Some(fresh) = store(backend) else { return };
    let mem = &fresh.mem;
    let t0: OffsetDateTime = datetime!(2024-06-01 12:00 UTC);
    for i in 0..5 {
        mem.remember(NewMemory::new("u", format!("hour {i}")).occurred_at(t0 + Duration::hours(i))).unwrap();
    }
    let r = Recall::new("u", "").limit(100).between(t0 + Duration::hours(1), t0 + Duration::hours(3));
    assert_eq!(texts(mem.recent_matching(&r).unwrap()), ["hour 2", "hour 1"]);
    // Window [t0+2h40m, t0+4h] ∩ [t0+1h, t0+3h) = hour 3 excluded by until, hour 2 before the window.
    let r = r.clone().window(TimeWindow::Seconds(80 * 60)).at(t0 + Duration::hours(4));
    assert!(mem.recent_matching(&r).unwrap().is_empty());
    let r = Recall::new("u", "")
        .limit(100)
        .since(t0 + Duration::hours(3))
        .window(TimeWindow::Medium)
        .at(t0 + Duration::hours(4));
    assert_eq!(texts(mem.recent_matching(&r).unwrap()), ["hour 4", "hour 3"]);
    let bad = Recall::new("u", "x").between(t0 + Duration::hours(2), t0);
    assert_eq!(mem.recall(&bad).unwrap_err().code(), memorable_core::ErrorCode::InvalidInput);
    assert_eq!(
        mem.recall(&Recall::new("u", "x").window(TimeWindow::Seconds(0))).unwrap_err().code(),
        memorable_core::ErrorCode::InvalidInput
    );
}

fn recent_lists_a_window_before_now_newest_first(backend: Backend) {
    let Some(fresh) = store(backend) else { return };
    let mem = &fresh.mem;
    let now = OffsetDateTime::now_utc();
    mem.remember(NewMemory::new("u", "two hours ago").occurred_at(now - Duration::hours(2))).unwrap();
    mem.remember(NewMemory::new("u", "half an hour ago").occurred_at(now - Duration::minutes(30))).unwrap();
    mem.remember(NewMemory::new("u", "a minute ago").occurred_at(now - Duration::minutes(1))).unwrap();
    mem.remember(NewMemory::new("other", "not yours").occurred_at(now - Duration::minutes(1))).unwrap();
    assert_eq!(texts(mem.recent("u", TimeWindow::Short).unwrap()), ["a minute ago"]);
    assert_eq!(texts(mem.recent("u", TimeWindow::Medium).unwrap()), ["a minute ago", "half an hour ago"]);
    assert_eq!(texts(mem.recent("u", None).unwrap()).len(), 3);
    assert!(mem.recent("nobody", TimeWindow::Long).unwrap().is_empty());
    assert_eq!(mem.recent(" ", TimeWindow::Long).unwrap_err().code(), memorable_core::ErrorCode::MissingUser);
}

/// A question that names a day finds what happened that day even when the answer shares no
/// word with it and a hundred other memories match its words better: the memories of a named
/// date are candidates of their own, and date grounding ranks them up. A span that holds more
/// memories than the candidate pool (a busy year) proposes none.
fn a_named_day_finds_its_memories_without_shared_words(backend: Backend) {
    let Some(fresh) = store(backend) else { return };
    let mem = &fresh.mem;
    let first: OffsetDateTime = datetime!(2022-01-03 18:00 UTC);
    let topics = ["video games", "a movie script", "his turtles", "dairy-free desserts", "a tournament"];
    let mut items: Vec<NewMemory> = (0..120)
        .map(|i| {
            NewMemory::new(
                "ada",
                format!("Nate did something for Joanna: they talked about {}", topics[i % 5]),
            )
            .speaker(if i % 2 == 0 { "Nate" } else { "Joanna" })
            .occurred_at(first + Duration::days(i as i64))
        })
        .collect();
    // 2022-05-25 is day 142: no other memory within a day of it.
    let pup = "Looky here, a stuffed pup for you!";
    items.push(NewMemory::new("ada", pup).speaker("Nate").occurred_at(datetime!(2022-05-25 14:00 UTC)));
    mem.remember_batch(items).unwrap();
    let question = |q: &str| Recall::new("ada", q).limit(5);

    let hits = mem.recall(&question("What did Nate do for Joanna on 25 May, 2022?")).unwrap();
    let found = hits.iter().find(|h| h.memory.text == pup).expect("the memory of the named day is recalled");
    assert!(found.breakdown.date > 0.0 && found.breakdown.keyword.is_none());

    // Date grounding off: nothing proposes it, so it is not among the five.
    let mut off = question("What did Nate do for Joanna on 25 May, 2022?");
    off.weights.date = 0.0;
    assert!(mem.recall(&off).unwrap().iter().all(|h| h.memory.text != pup));

    // "in 2022" spans all 121 memories, more than the pool of 50: no date candidates, and
    // the words decide.
    let hits = mem.recall(&question("What did Nate do for Joanna in 2022?")).unwrap();
    assert!(hits.iter().all(|h| h.memory.text != pup));
}
