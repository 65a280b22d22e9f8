//! The emotion timeline SVG: byte-identical to the golden file for the shared fixture
//! readings (tests/fixtures/timeline-readings.jsonl; the Python, Node and C suites compare
//! with the same golden), with the elements a reader needs, and options that change what
//! they should. Regenerate the golden with `MEMORABLE_UPDATE_GOLDEN=1` after a deliberate
//! change, and look at it.

use memorable_core::{ErrorCode, Memorable, Reading, Theme, TimelineOptions};
use time::macros::datetime;

fn fixture_path(name: &str) -> String {
    format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn store_with_readings() -> Memorable {
    let mem = Memorable::open_in_memory().unwrap();
    let text = std::fs::read_to_string(fixture_path("timeline-readings.jsonl")).unwrap();
    let readings: Vec<Reading> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    mem.observe_batch(readings).unwrap();
    mem
}

#[test]
fn timeline_matches_the_golden_svg() {
    let mem = store_with_readings();
    let svg = mem.emotion_timeline_svg("demo", &TimelineOptions::default()).unwrap();
    let golden = fixture_path("timeline.svg");
    if std::env::var_os("MEMORABLE_UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &svg).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap();
    assert!(
        svg == want,
        "the timeline differs from tests/fixtures/timeline.svg (MEMORABLE_UPDATE_GOLDEN=1 rewrites it)"
    );
    // Drawing twice gives the same bytes.
    assert_eq!(svg, mem.emotion_timeline_svg("demo", &TimelineOptions::default()).unwrap());
}

#[test]
fn timeline_has_lines_markers_axes_and_legend() {
    let mem = store_with_readings();
    let svg = mem.emotion_timeline_svg("demo", &TimelineOptions::default()).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" height=\"540\""));
    assert!(svg.contains("<title id=\"title\">Emotion timeline — demo</title>"));
    // The top 5 expressions by peak, each a line in its catalog colour.
    assert_eq!(svg.matches("class=\"series\"").count(), 5);
    for (id, colour) in [("joy", "#ffd600"), ("calmness", "")] {
        assert!(svg.contains(&format!("data-expression=\"{id}\"")), "{id} missing");
        if !colour.is_empty() {
            assert!(svg.contains(&format!("stroke=\"{colour}\"")), "{id}'s catalog colour missing");
        }
    }
    // One marker per reading in the strip, plus one per source in the legend.
    assert_eq!(svg.matches("data-source=").count(), 12 + 5);
    for source in ["text", "voice", "face", "evi", "custom:wearable"] {
        assert!(svg.contains(&format!("data-source=\"{source}\"")), "{source} marker missing");
    }
    assert!(svg.contains("class=\"valence\"") && svg.contains("class=\"arousal\""));
    // Real dates on the axis and in the subtitle.
    assert!(svg.contains(">Dec 1 09:00<"), "the first tick names the day");
    assert!(svg.contains("2026-12-01 09:00 UTC – 2026-12-01 09:42 UTC · 12 states"));
    assert!(svg.trim_end().ends_with("</svg>"));
}

#[test]
fn options_choose_range_expressions_size_and_theme() {
    let mem = store_with_readings();
    let o = TimelineOptions {
        since: Some(datetime!(2026-12-01 09:10 UTC)),
        until: Some(datetime!(2026-12-01 09:30 UTC)),
        expressions: vec!["Sadness".into(), "anxiety".into()],
        width: 640,
        height: 360,
        theme: Theme::Dark,
        title: Some("<b>Mood</b> & co".into()),
        ..TimelineOptions::default()
    };
    let svg = mem.emotion_timeline_svg("demo", &o).unwrap();
    assert!(svg.contains("width=\"640\" height=\"360\""));
    assert!(svg.contains("fill=\"#0d1117\""), "dark background");
    assert_eq!(svg.matches("class=\"series\"").count(), 2);
    assert!(svg.contains("data-expression=\"sadness\"") && svg.contains("data-expression=\"anxiety\""));
    // 09:12, 09:15, 09:19, 09:24, 09:28 fall in [09:10, 09:30).
    assert!(svg.contains("· 5 states"));
    // The title is text, never markup.
    assert!(svg.contains("&lt;b&gt;Mood&lt;/b&gt; &amp; co") && !svg.contains("<b>"));

    let top2 = TimelineOptions { top: 2, ..TimelineOptions::default() };
    assert_eq!(mem.emotion_timeline_svg("demo", &top2).unwrap().matches("class=\"series\"").count(), 2);

    let empty =
        TimelineOptions { since: Some(datetime!(2027-01-01 00:00 UTC)), ..TimelineOptions::default() };
    let svg = mem.emotion_timeline_svg("demo", &empty).unwrap();
    assert!(svg.contains("No readings in this range"));
}

#[test]
fn bad_options_and_unknown_contexts_are_coded_errors() {
    let mem = store_with_readings();
    let code = |o: TimelineOptions| mem.emotion_timeline_svg("demo", &o).unwrap_err().code();
    assert_eq!(code(TimelineOptions { width: 10, ..Default::default() }), ErrorCode::InvalidInput);
    assert_eq!(code(TimelineOptions { top: 0, ..Default::default() }), ErrorCode::InvalidInput);
    assert_eq!(
        code(TimelineOptions { expressions: vec!["zorg".into()], ..Default::default() }),
        ErrorCode::InvalidInput
    );
    let backwards = TimelineOptions {
        since: Some(datetime!(2026-12-02 00:00 UTC)),
        until: Some(datetime!(2026-12-01 00:00 UTC)),
        ..Default::default()
    };
    assert_eq!(code(backwards), ErrorCode::InvalidInput);
    let err = mem.emotion_timeline_svg("nobody", &TimelineOptions::default()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NotFound);
}

#[test]
fn history_states_carry_their_reading_source() {
    let mem = store_with_readings();
    let states = mem.emotional_history("demo", &Default::default()).unwrap();
    let sources: Vec<String> = states.iter().map(|s| s.source.as_ref().unwrap().as_string()).collect();
    assert_eq!(sources[..5], ["text", "voice", "face", "text", "evi"]);
    assert_eq!(sources[7], "custom:wearable");
    // The live state has a per-source breakdown instead.
    assert!(mem.emotional_state("demo").unwrap().source.is_none());
}

#[test]
fn one_reading_and_a_century_still_draw_sensibly() {
    let mem = Memorable::open_in_memory().unwrap();
    mem.observe(
        Reading::new("one", memorable_core::Source::Face)
            .score("joy", 0.4)
            .timestamp(datetime!(2026-12-01 09:00 UTC)),
    )
    .unwrap();
    let svg = mem.emotion_timeline_svg("one", &TimelineOptions::default()).unwrap();
    // One state: a dot per line, and valence / arousal marked too; the axis gets ticks.
    // Joy, valence and arousal as dots (the face marker is a square).
    assert_eq!(svg.matches("<circle").count(), 3, "{svg}");
    assert!(svg.contains("· 1 state ·") && svg.contains(">Dec 1 "));
    // A century-wide range: a handful of year ticks, not thousands.
    let wide = TimelineOptions {
        since: Some(datetime!(1950-01-01 00:00 UTC)),
        until: Some(datetime!(2050-01-01 00:00 UTC)),
        ..TimelineOptions::default()
    };
    let svg = mem.emotion_timeline_svg("one", &wide).unwrap();
    let ticks = svg.matches("text-anchor=\"middle\" fill=\"#59636e\">").count();
    assert!((3..=9).contains(&ticks), "{ticks} ticks");
    assert!(svg.contains(">2000<"));
}
