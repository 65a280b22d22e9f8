//! The 4W context frame on a small hand-written conversation.

use memorable_core::{AttentionConfig, Builder, Config, NewMemory, TimeWindow};
use time::{Duration, OffsetDateTime};

#[test]
fn context_frame_summarizes_who_what_when_where() {
    let mut config = Config::default();
    config.embedder = "hashing".into();
    config.attention = AttentionConfig { people: vec![], places: vec!["Lisbon".into()] };
    let mem = Builder::in_memory().config(config).open().unwrap();
    let now = OffsetDateTime::now_utc();
    let turn = |speaker: &str, text: &str, mins: i64| {
        NewMemory::new("ann", text)
            .speaker(speaker)
            .session("chat")
            .occurred_at(now - Duration::minutes(mins))
    };
    mem.remember_batch(vec![
        turn("Ann", "Two days ago I baked bread with Priya", 60 * 48),
        turn("Ann", "I am planning a trip to Lisbon with Priya", 50),
        turn("Ben", "Lisbon is lovely in spring, try the tram", 40),
        turn("Ann", "We booked a table at Cafe Roma for the trip", 10),
        turn("Ben", "Ask Priya about the tram passes", 5).place("home").topics(["travel"]),
    ])
    .unwrap();

    let frame = mem.context_frame("ann", TimeWindow::Long).unwrap();
    assert_eq!(frame.memories, 4, "the bread memory is older than 24 h");
    let who: Vec<(&str, u32)> = frame.who.iter().map(|m| (m.name.as_str(), m.count)).collect();
    assert_eq!(who, [("Ann", 2), ("Ben", 2), ("Priya", 2)]);
    let places: Vec<(&str, u32)> = frame.r#where.iter().map(|m| (m.name.as_str(), m.count)).collect();
    assert_eq!(places, [("Lisbon", 2), ("Cafe Roma", 1), ("home", 1)]);
    let what: Vec<&str> = frame.what.iter().take(2).map(|m| m.name.as_str()).collect();
    assert_eq!(what, ["tram", "trip"]);
    assert_eq!((frame.when.short, frame.when.medium, frame.when.long), (2, 4, 4));
    assert!(frame.when.first.unwrap() <= frame.when.last.unwrap());
    let ms = |t: OffsetDateTime| t.unix_timestamp_nanos() / 1_000_000;
    assert_eq!(ms(frame.when.last.unwrap()), ms(now - Duration::minutes(5)), "stored to the millisecond");
    assert_eq!(frame.emotion, None, "no emotional state is kept for the user yet");

    let short = mem.context_frame("ann", TimeWindow::Short).unwrap();
    assert_eq!(short.memories, 2);
    let all = mem.context_frame("ann", None).unwrap();
    assert_eq!(all.memories, 5);
    assert!(all.who.iter().any(|m| m.name == "Priya" && m.count == 3));
    let json = serde_json::to_value(&frame).unwrap();
    assert!(json.get("where").is_some(), "serialized as who/what/when/where");
    let empty = mem.context_frame("nobody", TimeWindow::Short).unwrap();
    assert_eq!(empty.memories, 0);
    assert!(empty.who.is_empty() && empty.when.first.is_none());
}
