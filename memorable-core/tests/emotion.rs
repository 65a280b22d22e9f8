//! The emotional layer end to end: the catalog resolves every source vocabulary, fusion
//! matches the hand-computed golden cases (tests/fixtures/emotion-fusion.json, shared with the
//! Python, Node and C tests), state and history survive close and reopen, bad readings
//! change nothing, and `remember` attaches the session's fused state and the text reading.

use std::collections::BTreeMap;
use std::sync::Arc;

use memorable_core::emotion::catalog::{self, Vocabulary};
use memorable_core::emotion::{EmotionConfig, Fusion, HistoryRange, Reading, Semantics, Source};
use memorable_core::{Config, EmotionClassifier, EmotionSnapshot, ErrorCode, Memorable, NewMemory};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::common::{Backend, Fresh};

fn fixture(name: &str) -> Value {
    let path = format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ms(t: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t) * 1_000_000).unwrap()
}

fn config_with(emotion: Value) -> Config {
    Config::from_json(&json!({"embedder": "hashing", "emotion": emotion}).to_string()).unwrap()
}

fn code<T: std::fmt::Debug>(r: memorable_core::Result<T>) -> ErrorCode {
    r.expect_err("expected an error").code()
}

// ---- catalog ----------------------------------------------------------------------------

#[test]
fn catalog_resolves_every_source_spelling() {
    let names = fixture("emotion-names.json");
    let list = |k: &str| -> Vec<String> {
        names[k].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
    };
    let legacy = list("hume_legacy");
    let extra = list("hume_language_extra");
    let go = list("goemotions");
    assert_eq!((legacy.len(), extra.len(), go.len()), (48, 5, 28));
    for name in legacy.iter().chain(&extra) {
        let i = catalog::resolve(name).unwrap_or_else(|| panic!("legacy name {name:?} does not resolve"));
        let e = catalog::expression(i);
        assert_eq!(e.hume_name(), Some(name.as_str()), "display name is Hume's spelling");
        let v1 = name.to_lowercase();
        assert_eq!(catalog::resolve(&v1), Some(i), "v1 spelling {v1:?}");
        assert_eq!(e.hume_v1_name().as_deref(), Some(v1.as_str()));
    }
    assert_eq!(catalog::resolve("surprise (positive)"), catalog::index_of("surprise_positive"));
    assert_eq!(catalog::resolve("surprise (negative)"), catalog::index_of("surprise_negative"));
    for label in &go {
        let i =
            catalog::resolve(label).unwrap_or_else(|| panic!("GoEmotions label {label:?} does not resolve"));
        assert_eq!(catalog::expression(i).goemotions_label(), Some(label.as_str()));
    }
    // The catalog is the union: 53 Hume names + the GoEmotions labels Hume does not have.
    let mut ids: Vec<&str> = legacy
        .iter()
        .chain(&extra)
        .chain(&go)
        .map(|n| catalog::expression(catalog::resolve(n).unwrap()).id)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), catalog::LEN);
    assert_eq!(catalog::expressions().iter().filter(|e| e.in_vocabulary(Vocabulary::Hume)).count(), 48);
    // Aliases round-trip: every spelling of every expression resolves back to it.
    for (i, e) in catalog::expressions().iter().enumerate() {
        for alias in e.aliases() {
            assert_eq!(catalog::resolve(&alias), Some(i), "alias {alias:?} of {}", e.id);
        }
        for spelling in
            [e.hume_name().map(str::to_owned), e.hume_v1_name(), e.goemotions_label().map(str::to_owned)]
                .into_iter()
                .flatten()
        {
            assert_eq!(catalog::resolve(&spelling), Some(i));
        }
    }
    // The fixture's label list is the shared dataset's, when it is here.
    if std::env::var_os("MEMORABLE_SHARED_DATA").is_some() {
        let path = format!("{}/../../shared/data/goemotions/labels.txt", env!("CARGO_MANIFEST_DIR"));
        let shared: Vec<String> = std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect();
        assert_eq!(shared, go);
    }
}

#[test]
fn catalog_palette_and_coordinates() {
    let joy = catalog::get("joy").unwrap();
    assert_eq!((joy.name, joy.color), ("Joy", "#ffd600"));
    assert_eq!(catalog::get("surprise_positive").unwrap().color, "#7affff");
    assert_eq!(catalog::get("calmness").unwrap().color, "#a9cce1");
    assert_ne!(catalog::get("interest").unwrap().color, "#a9cce1", "the palette's repeat got a new colour");
    assert!(joy.valence > 0.9 && catalog::get("sadness").unwrap().valence < -0.8);
    assert!(
        catalog::get("calmness").unwrap().arousal < -0.7
            && catalog::get("nervousness").unwrap().arousal > 0.8
    );
}

// ---- fusion golden cases ----------------------------------------------------------------

struct Case {
    name: String,
    config: Value,
    readings: Vec<Reading>,
    at: OffsetDateTime,
    expected: Value,
}

fn golden_cases() -> (Vec<Case>, f64) {
    let f = fixture("emotion-fusion.json");
    let t0 = f["t0_ms"].as_i64().unwrap();
    let cases = f["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c["name"].as_str().unwrap().to_owned();
            let readings = c["readings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    let t = r.as_object_mut().unwrap().remove("t_ms").unwrap().as_i64().unwrap();
                    r["context"] = json!(name);
                    let mut reading: Reading = serde_json::from_value(r).unwrap();
                    reading.timestamp = Some(ms(t0 + t));
                    reading
                })
                .collect();
            Case {
                config: c["config"].clone(),
                at: ms(t0 + c["at_ms"].as_i64().unwrap()),
                expected: c["expected"].clone(),
                readings,
                name,
            }
        })
        .collect();
    (cases, f["tolerance"].as_f64().unwrap())
}

fn check(case: &Case, s: &memorable_core::EmotionalState, tol: f64) {
    let name = &case.name;
    let want = case.expected["scores"].as_object().unwrap();
    assert_eq!(s.scores.len(), catalog::LEN, "{name}: full catalog vector");
    for (id, got) in &s.scores {
        let w = want.get(id).map_or(0.0, |v| v.as_f64().unwrap());
        assert!((f64::from(*got) - w).abs() <= tol, "{name}: {id} = {got}, want {w}");
    }
    for id in want.keys() {
        assert!(s.scores.contains_key(id), "{name}: {id} is not a catalog id");
    }
    let close = |what: &str, got: f32, key: &str| {
        if let Some(w) = case.expected.get(key) {
            let w = w.as_f64().unwrap();
            assert!((f64::from(got) - w).abs() <= tol, "{name}: {what} = {got}, want {w}");
        }
    };
    close("confidence", s.confidence, "confidence");
    close("valence", s.valence, "valence");
    close("arousal", s.arousal, "arousal");
    assert_eq!(s.dominant.as_deref(), case.expected["dominant"].as_str(), "{name}: dominant");
    if let Some(extras) = case.expected.get("extras").and_then(Value::as_object) {
        assert_eq!(s.extras.len(), extras.len(), "{name}: extras");
        for (k, v) in extras {
            assert!((f64::from(s.extras[k]) - v.as_f64().unwrap()).abs() <= tol, "{name}: extra {k}");
        }
    }
    if let Some(sources) = case.expected.get("sources").and_then(Value::as_object) {
        for (src, want) in sources {
            let b = s.sources.iter().find(|b| b.source.to_string() == *src).unwrap();
            for (k, got) in [("confidence", b.confidence), ("share", b.share)] {
                let w = want[k].as_f64().unwrap();
                assert!((f64::from(got) - w).abs() <= tol, "{name}: {src}.{k} = {got}, want {w}");
            }
        }
    }
    // The top list agrees with the scores.
    if let Some(d) = &s.dominant {
        assert_eq!(&s.top[0].id, d);
    } else {
        assert!(s.top.is_empty());
    }
}

#[test]
fn fusion_matches_the_golden_cases() {
    let (cases, tol) = golden_cases();
    assert!(cases.len() >= 12);
    for case in &cases {
        // Through a store, one reading at a time ...
        let mem = Memorable::builder_in_memory_with(config_with(case.config.clone()));
        for r in &case.readings {
            mem.observe(r.clone()).unwrap();
        }
        check(case, &mem.emotional_state_at(&case.name, case.at).unwrap(), tol);
        // ... in one batch ...
        let batch = Memorable::builder_in_memory_with(config_with(case.config.clone()));
        assert_eq!(batch.observe_batch(case.readings.clone()).unwrap(), case.readings.len());
        check(case, &batch.emotional_state_at(&case.name, case.at).unwrap(), tol);
        // ... and with the store-less engine.
        let emotion: EmotionConfig = serde_json::from_value(case.config.clone()).unwrap();
        let mut fusion = Fusion::new(emotion).unwrap();
        for r in &case.readings {
            fusion.observe(r, OffsetDateTime::now_utc()).unwrap();
        }
        check(case, &fusion.state(&case.name, case.at).unwrap(), tol);
    }
}

/// `Builder::in_memory().config(c).open()` in one call.
trait InMemoryWith {
    fn builder_in_memory_with(config: Config) -> Memorable;
}
impl InMemoryWith for Memorable {
    fn builder_in_memory_with(config: Config) -> Memorable {
        // An explicit embedder skips model selection (which checksums the model cache).
        memorable_core::Builder::in_memory()
            .config(config)
            .embedder(Arc::new(memorable_core::HashingEmbedder::new(384)))
            .open()
            .unwrap()
    }
}

#[test]
fn zero_weight_mutes_a_source_whatever_it_says() {
    let mem = Memorable::builder_in_memory_with(config_with(json!({"weights": {"voice": 0.0}})));
    mem.observe(Reading::new("c", Source::Text).score("joy", 0.6)).unwrap();
    let before = mem.emotional_state("c").unwrap();
    for v in [0.0, 0.5, 1.0] {
        mem.observe(Reading::new("c", Source::Voice).score("joy", v).score("anger", v)).unwrap();
    }
    let after = mem.emotional_state("c").unwrap();
    assert_eq!(after.scores, before.scores);
    assert_eq!(after.dominant, before.dominant);
    let voice = after.sources.iter().find(|s| s.source == Source::Voice).unwrap();
    assert_eq!((voice.weight, voice.share, voice.readings), (0.0, 0.0, 3));
}

on_both_backends!(
    per_user_sessions_keep_users_out_of_each_others_contexts,
    state_and_history_survive_close_and_reopen,
    history_is_bounded_ordered_and_filtered,
);

fn per_user_sessions_keep_users_out_of_each_others_contexts(backend: Backend) {
    let Some(fresh) = Fresh::new(backend, config_with(json!({"per_user_sessions": true}))) else { return };
    let mem = &fresh.mem;
    let alice_s = memorable_core::user_context("alice", "s");
    assert_ne!(alice_s, memorable_core::user_context("alice/", ""), "ids are unambiguous");
    mem.observe(Reading::new(alice_s.as_str(), Source::Face).score("joy", 0.9)).unwrap();
    // The shared id "s" is another context: what is read there reaches neither user.
    mem.observe(Reading::new("s", Source::Face).score("anger", 0.9)).unwrap();
    let a = mem.remember(NewMemory::new("alice", "a good day").session("s")).unwrap();
    let b = mem.remember(NewMemory::new("bob", "a day").session("s")).unwrap();
    let snap = mem.get(a).unwrap().emotion.expect("alice's session state");
    assert_eq!(snap.dominant.as_deref(), Some("joy"));
    assert!(!snap.scores.contains_key("anger"), "{:?}", snap.scores);
    assert!(mem.get(b).unwrap().emotion.is_none(), "bob has no state in his own \"s\"");

    // forget_user erases the user's own contexts with their history, not the shared one
    // and not another user's — even for a user who has no memory left.
    mem.observe(
        Reading::new(memorable_core::user_context("bob", "s").as_str(), Source::Face).score("fear", 0.5),
    )
    .unwrap();
    mem.observe(
        Reading::new(memorable_core::user_context("carol", "c").as_str(), Source::Face).score("joy", 0.5),
    )
    .unwrap();
    assert_eq!(mem.forget_user("alice").unwrap(), 1);
    assert_eq!(code(mem.emotional_state(&alice_s)), ErrorCode::NotFound);
    assert_eq!(code(mem.emotional_history(&alice_s, &HistoryRange::default())), ErrorCode::NotFound);
    assert!(
        mem.emotional_state("s").is_ok()
            && mem.emotional_state(&memorable_core::user_context("bob", "s")).is_ok()
    );
    assert_eq!(mem.forget_user("carol").unwrap(), 0, "carol has contexts but no memories");
    assert_eq!(code(mem.emotional_state(&memorable_core::user_context("carol", "c"))), ErrorCode::NotFound);

    // Off (the default), the session id is the context, shared by every user.
    let Some(other) = Fresh::new(backend, config_with(json!({}))) else { return };
    let shared = &other.mem;
    shared.observe(Reading::new("s", Source::Face).score("anger", 0.9)).unwrap();
    let b = shared.remember(NewMemory::new("bob", "a day").session("s")).unwrap();
    assert_eq!(shared.get(b).unwrap().emotion.unwrap().dominant.as_deref(), Some("anger"));
}

// ---- persistence ------------------------------------------------------------------------

fn state_and_history_survive_close_and_reopen(backend: Backend) {
    let Some(fresh) = Fresh::new(backend, crate::common::hashing_config()) else { return };
    let t0 = 1_700_000_000_000;
    let at = ms(t0 + 90_000);
    let mem = &fresh.mem;
    mem.observe(Reading::new("call", Source::Evi).score("Joy", 0.8).score("Awe", 0.2).timestamp(ms(t0)))
        .unwrap();
    mem.observe_batch(vec![
        Reading::new("call", Source::Face).score("joy", 0.4).confidence(0.7).timestamp(ms(t0 + 30_000)),
        Reading::new("call", Source::Custom("ring".into())).score("calmness", 0.9).timestamp(ms(t0 + 60_000)),
        Reading::new("other", Source::Voice).score("sadness", 0.9).score("jaw drop", 0.3).timestamp(ms(t0)),
    ])
    .unwrap();
    mem.close_context("other").unwrap();
    let state = mem.emotional_state_at("call", at).unwrap();
    let history = mem.emotional_history("call", &HistoryRange::default()).unwrap();
    let other = mem.emotional_state_at("other", at).unwrap();
    let contexts = mem.contexts().unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(
        contexts.iter().map(|c| (c.context.as_str(), c.open)).collect::<Vec<_>>(),
        [("call", true), ("other", false)]
    );
    assert_eq!(contexts[0].sources, [Source::Face, Source::Evi, Source::Custom("ring".into())]);
    assert_eq!(contexts[0].readings, 3);
    mem.close().unwrap();

    let mem = fresh.reopen(crate::common::hashing_config());
    assert_eq!(mem.emotional_state_at("call", at).unwrap(), state);
    assert_eq!(mem.emotional_state_at("other", at).unwrap(), other);
    assert_eq!(mem.emotional_history("call", &HistoryRange::default()).unwrap(), history);
    assert_eq!(mem.contexts().unwrap(), contexts);
    assert_eq!(other.extras.get("jaw drop"), Some(&0.3));
    // A reading reopens a closed context and continues from its stored state.
    mem.observe(Reading::new("other", Source::Voice).score("sadness", 0.1).timestamp(ms(t0))).unwrap();
    let reopened = mem.emotional_state_at("other", at).unwrap();
    assert_eq!(reopened.readings, 2);
    assert!((reopened.score("sadness") - 0.5).abs() < 1e-6, "(0.9 + 0.1) / 2");
    assert!(mem.contexts().unwrap().iter().all(|c| c.open));
    let stats = mem.stats().unwrap().emotion;
    assert_eq!((stats.contexts, stats.open_contexts, stats.readings), (2, 2, 5));
    assert_eq!(stats.unknown_names.get("jaw drop"), Some(&1));
    assert_eq!(mem.stats().unwrap().schema_version, memorable_core::SCHEMA_VERSION);
}

fn history_is_bounded_ordered_and_filtered(backend: Backend) {
    let Some(fresh) = Fresh::new(backend, config_with(json!({"history_limit": 5}))) else { return };
    let mem = &fresh.mem;
    let t0 = 1_700_000_000_000;
    for i in 0..4 {
        mem.observe(
            Reading::new("c", Source::Text).score("joy", 0.1 * i as f32).timestamp(ms(t0 + i * 1000)),
        )
        .unwrap();
    }
    let batch: Vec<Reading> = (4..12)
        .map(|i| Reading::new("c", Source::Text).score("joy", 0.05 * i as f32).timestamp(ms(t0 + i * 1000)))
        .collect();
    mem.observe_batch(batch).unwrap();
    let all = mem.emotional_history("c", &HistoryRange::default()).unwrap();
    let times: Vec<i64> = all.iter().map(|s| (s.at.unix_timestamp_nanos() / 1_000_000) as i64 - t0).collect();
    assert_eq!(times, [7000, 8000, 9000, 10000, 11000], "the newest 5, oldest first");
    let mut newest = mem.emotional_state_at("c", ms(t0 + 11_000)).unwrap();
    assert_eq!(newest.sources.len(), 1);
    newest.sources.clear(); // history states carry no per-source breakdown,
    newest.source = Some(Source::Text); // but name the source of their reading
    assert_eq!(all.last().unwrap(), &newest);
    assert_eq!(all.iter().map(|s| s.readings).collect::<Vec<_>>(), [8, 9, 10, 11, 12]);
    let some = mem
        .emotional_history("c", &HistoryRange::last(2).since(ms(t0 + 8000)).until(ms(t0 + 11_000)))
        .unwrap();
    assert_eq!(some.iter().map(|s| s.readings).collect::<Vec<_>>(), [10, 11]);
    assert_eq!(code(mem.emotional_history("nope", &HistoryRange::default())), ErrorCode::NotFound);
    assert_eq!(code(mem.emotional_history("c", &HistoryRange::last(0))), ErrorCode::InvalidInput);
}

#[test]
fn a_schema_9_store_with_plain_score_maps_reads_the_same() {
    // Schema 10 packs the score maps of snapshots and history rows; rows a schema-9 build
    // wrote (JSON maps) must read as they did. Write with this build, rewrite the rows the old
    // way, mark the store as 9, reopen.
    let dir = tempfile::tempdir().unwrap();
    let mem = crate::common::open_hashing(dir.path());
    let t0 = 1_700_000_000_000;
    mem.observe(Reading::new("s1", Source::Face).score("joy", 0.5).score("jaw drop", 0.3).timestamp(ms(t0)))
        .unwrap();
    mem.observe(Reading::new("s1", Source::Voice).score("sadness", 0.25).timestamp(ms(t0 + 1000))).unwrap();
    let id = mem.remember(NewMemory::new("alice", "Biscuit learned to sit").session("s1")).unwrap();
    let memory = mem.get(id).unwrap();
    assert!(memory.emotion.as_ref().unwrap().scores.len() >= 2);
    let history = mem.emotional_history("s1", &HistoryRange::default()).unwrap();
    assert_eq!(history[0].extras.get("jaw drop"), Some(&0.3));
    mem.close().unwrap();
    {
        let conn = rusqlite::Connection::open(dir.path().join("memorable.db")).unwrap();
        let stored: String =
            conn.query_row("SELECT emotion FROM memories WHERE id = ?1", [id as i64], |r| r.get(0)).unwrap();
        assert!(serde_json::from_str::<Value>(&stored).unwrap()["scores"].is_string(), "packed: {stored}");
        let old = serde_json::to_string(memory.emotion.as_ref().unwrap()).unwrap();
        conn.execute("UPDATE memories SET emotion = ?1 WHERE id = ?2", rusqlite::params![old, id as i64])
            .unwrap();
        let rows: Vec<(i64, i64, String)> = conn
            .prepare("SELECT context_key, seq, state FROM emotion_history ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(rows.len(), history.len());
        for ((key, seq, state), h) in rows.iter().zip(&history) {
            let mut v: Value = serde_json::from_str(state).unwrap();
            assert!(v["scores"].is_string(), "packed: {state}");
            v["scores"] = serde_json::to_value(&h.scores).unwrap();
            v["extras"] = serde_json::to_value(&h.extras).unwrap();
            conn.execute(
                "UPDATE emotion_history SET state = ?1 WHERE context_key = ?2 AND seq = ?3",
                rusqlite::params![v.to_string(), key, seq],
            )
            .unwrap();
        }
        conn.pragma_update(None, "user_version", 9).unwrap();
    }
    let mem = crate::common::open_hashing(dir.path());
    assert_eq!(mem.stats().unwrap().schema_version, memorable_core::SCHEMA_VERSION);
    assert_eq!(mem.get(id).unwrap(), memory);
    assert_eq!(mem.emotional_history("s1", &HistoryRange::default()).unwrap(), history);
}

#[test]
fn a_schema_v1_store_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let src = format!("{}/../tests/fixtures/store-v1/memorable.db", env!("CARGO_MANIFEST_DIR"));
    std::fs::copy(src, dir.path().join("memorable.db")).unwrap();
    let mem = crate::common::open_hashing(dir.path());
    let stats = mem.stats().unwrap();
    assert_eq!((stats.schema_version, stats.memories), (memorable_core::SCHEMA_VERSION, 3));
    assert_eq!(mem.get(1).unwrap().emotion, None);
    assert!(mem.contexts().unwrap().is_empty());
    mem.observe(Reading::new("s1", Source::Face).score("joy", 0.5)).unwrap();
    // Remembering in a session with a state now attaches it (no classifier: state only).
    let id = mem.remember(NewMemory::new("alice", "Biscuit learned to sit").session("s1")).unwrap();
    assert_eq!(mem.get(id).unwrap().emotion.unwrap().dominant.as_deref(), Some("joy"));
    mem.close().unwrap();
    let mem = crate::common::open_hashing(dir.path());
    assert_eq!(mem.contexts().unwrap().len(), 1);
    assert_eq!(mem.get(3).unwrap().text, "The quarterly report is due on Friday");
}

// ---- bad input --------------------------------------------------------------------------

#[test]
fn bad_readings_are_errors_that_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mem = crate::common::open_hashing(dir.path());
    mem.observe(Reading::new("c", Source::Face).score("joy", 0.5)).unwrap();
    let look = |mem: &Memorable| {
        (
            mem.contexts().unwrap(),
            mem.emotional_state_at("c", ms(2_000_000_000_000)).unwrap(),
            mem.emotional_history("c", &HistoryRange::default()).unwrap(),
            mem.stats().unwrap().emotion,
        )
    };
    let before = look(&mem);
    let ok = || Reading::new("c", Source::Face).score("joy", 0.5);
    let far_future = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let cases: Vec<(&str, Reading)> = vec![
        ("score above 1", ok().score("anger", 1.5)),
        ("negative score", ok().score("anger", -0.1)),
        ("NaN score", ok().score("anger", f32::NAN)),
        ("infinite score", ok().score("anger", f32::INFINITY)),
        ("negative confidence", ok().confidence(-0.2)),
        ("confidence above 1", ok().confidence(1.2)),
        ("NaN confidence", ok().confidence(f32::NAN)),
        ("empty scores", Reading::new("c", Source::Face)),
        ("future timestamp", ok().timestamp(far_future)),
        ("blank context", Reading::new("  ", Source::Face).score("joy", 0.5)),
        ("bad custom source", Reading::new("c", Source::Custom(String::new())).score("joy", 0.5)),
        ("same expression twice", ok().score("Joy", 0.2)),
        ("blank name", ok().score(" ", 0.2)),
        ("sparse missing out of range", ok().semantics(Semantics::Sparse { missing: 2.0, vocabulary: None })),
        ("new context, bad score", Reading::new("fresh", Source::Text).score("joy", 7.0)),
    ];
    for (what, r) in cases {
        let e = mem.observe(r.clone()).expect_err(what);
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{what}: {e}");
        let e = mem.observe_batch(vec![ok(), r, ok()]).expect_err(what);
        assert_eq!(e.code(), ErrorCode::InvalidInput, "{what} in a batch");
        assert!(e.to_string().contains("reading 1"), "{what}: the error names the item: {e}");
    }
    // An unknown source name without the custom: prefix, as every binding passes it.
    for s in ["camera", "Face", "custom:", ""] {
        let e = s.parse::<Source>().unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidInput);
        assert!(e.to_string().contains("custom"), "{e}");
        let json = json!({"context": "c", "source": s, "scores": {"joy": 0.5}}).to_string();
        assert!(serde_json::from_str::<Reading>(&json).is_err());
    }
    assert_eq!(code(mem.emotional_state("never")), ErrorCode::NotFound);
    assert_eq!(code(mem.close_context("never")), ErrorCode::NotFound);
    assert_eq!(code(mem.emotional_state(" ")), ErrorCode::InvalidInput);
    assert_eq!(look(&mem), before);
    drop(mem);
    assert_eq!(look(&crate::common::open_hashing(dir.path())), before, "nothing reached the store either");

    for bad in [
        json!({"half_life_secs": 0}),
        json!({"half_life_secs": -1}),
        json!({"weights": {"evi": -0.5}}),
        json!({"weights": {"custom_sources": {"bad name": 0.1}}}),
        json!({"history_limit": 0}),
        json!({"top_k": 0}),
        json!({"nope": 1}),
    ] {
        let e = Config::from_json(&json!({"emotion": bad}).to_string()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidConfig, "{bad}");
    }
}

// ---- snapshot on remember ---------------------------------------------------------------

/// A TEST DOUBLE of a text emotion classifier: deterministic keyword rules over the 28
/// GoEmotions labels. It exists only in this test; the real classifier is a trained model.
struct KeywordClassifier {
    labels: Vec<String>,
    thresholds: Vec<f32>,
    embedder: String,
}

impl KeywordClassifier {
    fn new(embedder: &str) -> KeywordClassifier {
        let names = fixture("emotion-names.json");
        let labels: Vec<String> =
            names["goemotions"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
        KeywordClassifier { thresholds: vec![0.5; labels.len()], labels, embedder: embedder.to_owned() }
    }
}

impl EmotionClassifier for KeywordClassifier {
    fn labels(&self) -> &[String] {
        &self.labels
    }
    fn thresholds(&self) -> &[f32] {
        &self.thresholds
    }
    fn classify(&self, texts: &[&str]) -> memorable_core::Result<Vec<Vec<f32>>> {
        let rules = [("happy", "joy"), ("sad", "sadness"), ("angry", "anger"), ("thanks", "gratitude")];
        Ok(texts
            .iter()
            .map(|t| {
                let t = t.to_lowercase();
                self.labels
                    .iter()
                    .map(|l| if rules.iter().any(|(w, lab)| lab == l && t.contains(w)) { 0.9 } else { 0.02 })
                    .collect()
            })
            .collect())
    }
    fn model_id(&self) -> &str {
        "test-keyword-classifier"
    }
    fn embedder_model_id(&self) -> &str {
        &self.embedder
    }
}

fn open_with_classifier(dir: &std::path::Path, embedder_of_classifier: &str, emotion: Value) -> Memorable {
    Memorable::builder(dir)
        .config(config_with(emotion))
        .emotion_classifier(Arc::new(KeywordClassifier::new(embedder_of_classifier)))
        .open()
        .unwrap()
}

#[test]
fn remember_attaches_the_session_state_and_the_text_reading() {
    let dir = tempfile::tempdir().unwrap();
    let mem = open_with_classifier(dir.path(), "hashing-v1-384", json!({}));
    let stats = mem.stats().unwrap().emotion;
    assert!(stats.classification, "{:?}", stats.classification_off_reason);
    assert_eq!(stats.classifier.as_deref(), Some("test-keyword-classifier"));

    // No session: the snapshot is the text reading alone.
    let id = mem.remember(NewMemory::new("alice", "I am so happy about the puppy")).unwrap();
    let snap = mem.get(id).unwrap().emotion.unwrap();
    assert_eq!(snap.dominant.as_deref(), Some("joy"));
    assert!((snap.scores["joy"] - 0.9).abs() < 1e-6 && (snap.scores["sadness"] - 0.02).abs() < 1e-6);
    assert_eq!(snap.scores.len(), 28, "the 28 labels map onto catalog ids");
    assert!(snap.valence > 0.3, "{snap:?}");
    assert!(mem.contexts().unwrap().is_empty(), "no session, no context");

    // A session with a voice reading: the text reading is fed in as `text` and fused.
    let t = OffsetDateTime::now_utc() - time::Duration::seconds(5);
    mem.observe(Reading::new("chat", Source::Voice).score("sadness", 0.8).timestamp(t)).unwrap();
    let id = mem
        .remember(NewMemory::new("alice", "so sad the trip is cancelled").session("chat").occurred_at(t))
        .unwrap();
    let state = mem.emotional_state_at("chat", t).unwrap();
    let snap = mem.get(id).unwrap().emotion.unwrap();
    assert_eq!(snap, state.snapshot());
    assert_eq!(snap.dominant.as_deref(), Some("sadness"));
    // sadness = (0.2*0.8 + 0.3*0.9) / 0.5; gratitude comes from text only.
    assert!((snap.scores["sadness"] - 0.86).abs() < 1e-5, "{snap:?}");
    assert!((snap.scores["gratitude"] - 0.02).abs() < 1e-6);
    let text = state.sources.iter().find(|s| s.source == Source::Text).unwrap();
    assert_eq!(text.readings, 1);
    assert_eq!(mem.emotional_history("chat", &HistoryRange::default()).unwrap().len(), 2);

    // A batch in one session: each memory sees the ones before it; the history grows by 3.
    let ids = mem
        .remember_batch(vec![
            NewMemory::new("alice", "thanks for the help").session("chat").occurred_at(t),
            NewMemory::new("alice", "thanks again").session("chat").occurred_at(t),
            NewMemory::new("bob", "I am angry").session("other").occurred_at(t),
        ])
        .unwrap();
    assert_eq!(mem.emotional_history("chat", &HistoryRange::default()).unwrap().len(), 4);
    let g1 = mem.get(ids[0]).unwrap().emotion.unwrap().scores["gratitude"];
    let g2 = mem.get(ids[1]).unwrap().emotion.unwrap().scores["gratitude"];
    assert!(g2 > g1, "the second thanks adds to the first: {g1} then {g2}");
    assert_eq!(mem.get(ids[2]).unwrap().emotion.unwrap().dominant.as_deref(), Some("anger"));
    assert_eq!(mem.emotional_state("other").unwrap().readings, 1);

    // A snapshot the caller gives is kept as given (the session is still fed).
    let given = EmotionSnapshot {
        scores: BTreeMap::from([("awe".to_owned(), 0.7)]),
        dominant: Some("awe".into()),
        valence: 0.1,
        arousal: 0.2,
        confidence: 0.9,
    };
    let id = mem.remember(NewMemory::new("alice", "happy").session("chat").emotion(given.clone())).unwrap();
    assert_eq!(mem.get(id).unwrap().emotion, Some(given));
    assert_eq!(mem.emotional_history("chat", &HistoryRange::default()).unwrap().len(), 5);

    // Everything survives reopening.
    let chat = mem.emotional_state_at("chat", t).unwrap();
    mem.close().unwrap();
    let mem = crate::common::open_hashing(dir.path());
    assert_eq!(mem.emotional_state_at("chat", t).unwrap(), chat);
    let stats = mem.stats().unwrap().emotion;
    assert!(!stats.classification);
    assert!(stats.classification_off_reason.unwrap().contains("no emotion classifier"));
}

#[test]
fn without_a_usable_classifier_only_the_session_state_is_attached() {
    let dir = tempfile::tempdir().unwrap();
    let mem = open_with_classifier(dir.path(), "minilm-l6-v2-other", json!({}));
    let stats = mem.stats().unwrap().emotion;
    assert!(!stats.classification);
    let reason = stats.classification_off_reason.unwrap();
    assert!(reason.contains("minilm-l6-v2-other") && reason.contains("hashing-v1-384"), "{reason}");

    let id = mem.remember(NewMemory::new("alice", "happy happy").session("s")).unwrap();
    assert_eq!(mem.get(id).unwrap().emotion, None, "no state, no classifier: nothing to attach");
    assert!(mem.contexts().unwrap().is_empty(), "nothing fed, no context created");
    mem.observe(Reading::new("s", Source::Face).score("contempt", 0.6)).unwrap();
    let id = mem.remember(NewMemory::new("alice", "happy happy").session("s")).unwrap();
    let snap = mem.get(id).unwrap().emotion.unwrap();
    assert_eq!(snap.dominant.as_deref(), Some("contempt"));
    assert_eq!(mem.emotional_state("s").unwrap().readings, 1, "no text reading fed");
    let id = mem.remember(NewMemory::new("alice", "no session at all")).unwrap();
    assert_eq!(mem.get(id).unwrap().emotion, None);

    // emotion.enabled = false: no snapshot, no feeding, even with a usable classifier.
    let dir = tempfile::tempdir().unwrap();
    let mem = open_with_classifier(dir.path(), "hashing-v1-384", json!({"enabled": false}));
    mem.observe(Reading::new("s", Source::Face).score("joy", 0.6)).unwrap();
    let id = mem.remember(NewMemory::new("alice", "happy").session("s")).unwrap();
    assert_eq!(mem.get(id).unwrap().emotion, None);
    assert_eq!(mem.emotional_state("s").unwrap().readings, 1);
    let stats = mem.stats().unwrap().emotion;
    assert!(!stats.enabled && !stats.classification);
    assert!(stats.classification_off_reason.unwrap().contains("disabled"));
}

#[test]
fn readings_and_remembers_from_many_threads() {
    let dir = tempfile::tempdir().unwrap();
    let mem = open_with_classifier(dir.path(), "hashing-v1-384", json!({"history_limit": 1000}));
    std::thread::scope(|s| {
        for t in 0..4 {
            let mem = mem.clone();
            s.spawn(move || {
                for i in 0..50 {
                    let ctx = format!("ctx{}", i % 3);
                    mem.observe(Reading::new(&ctx, Source::Face).score("joy", (t * i % 10) as f32 / 10.0))
                        .unwrap();
                    if i % 10 == 0 {
                        mem.remember(NewMemory::new("u", format!("happy {t} {i}")).session(ctx)).unwrap();
                    }
                }
            });
        }
    });
    let contexts = mem.contexts().unwrap();
    assert_eq!(contexts.len(), 3);
    assert_eq!(contexts.iter().map(|c| c.readings).sum::<u64>(), 4 * 50 + 4 * 5);
    for c in &contexts {
        let h = mem.emotional_history(&c.context, &HistoryRange::last(1000)).unwrap();
        assert_eq!(h.len() as u64, c.readings, "one history state per reading");
    }
}

// ---- docs -------------------------------------------------------------------------------

/// docs/emotion.md quotes the runnable examples: every rust / python / js / c snippet in it
/// must appear, line for line (ignoring indentation), in the example of its language.
#[test]
fn docs_snippets_come_from_the_examples() {
    // The repository root (docs and examples live beside the crates).
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let read = |p: &str| std::fs::read_to_string(format!("{root}/{p}")).unwrap();
    let lines = |s: &str| -> Vec<String> {
        s.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
    };
    let doc = read("docs/emotion.md");
    let mut checked = 0;
    for (lang, example) in [
        ("rust", "examples/emotion.rs"),
        ("python", "examples/python/emotion.py"),
        ("js", "examples/node/emotion.mjs"),
        ("c", "examples/c/emotion.c"),
    ] {
        let source = lines(&read(example));
        let fence = format!("```{lang}\n");
        for block in doc.split(&fence).skip(1) {
            let snippet = lines(block.split("```").next().unwrap());
            let found = source.windows(snippet.len()).any(|w| w == snippet.as_slice());
            assert!(
                found,
                "a {lang} snippet of docs/emotion.md is not in {example}:\n{}",
                snippet.join("\n")
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 4, "one snippet per language");
}
