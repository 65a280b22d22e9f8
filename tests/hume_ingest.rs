//! `Memorable::ingest_hume` / `ingest_hume_lines` and `memorable hume ingest`: recorded Hume
//! messages (tests/fixtures/hume/recorded.jsonl, the samples the parse tests use) move a
//! context's fused state, bad input changes nothing, and a memory remembered in the session
//! carries the fused state.

use std::process::{Command, Output, Stdio};

use memorable::emotion::{HistoryRange, Source};
use memorable::hume::{Family, Severity};
use memorable::{ErrorCode, Memorable, NewMemory};
use serde_json::Value;

const RECORDED: &str = include_str!("fixtures/hume/recorded.jsonl");
const NAMES: &str = include_str!("fixtures/hume/recorded.names.txt");

/// The recorded message named `name` in recorded.names.txt.
fn sample(name: &str) -> &'static str {
    let i = NAMES.lines().position(|n| n == name).unwrap_or_else(|| panic!("no sample {name:?}"));
    RECORDED.lines().nth(i).unwrap()
}

fn store() -> (tempfile::TempDir, Memorable) {
    let dir = tempfile::tempdir().unwrap();
    let mem = open_hashing(dir.path());
    (dir, mem)
}

#[test]
fn recorded_messages_move_the_fused_state() {
    let (_dir, mem) = store();

    // v1 audio: sparse voice reading, interest over amusement.
    let r = mem.ingest_hume("call", sample("v1 audio result")).unwrap();
    assert_eq!((r.messages, r.readings), (1, 1));
    assert_eq!(r.sources, vec![Source::Voice]);
    assert_eq!(r.families, vec![Family::V1Realtime]);
    let state = r.state.unwrap();
    assert_eq!(state.dominant.as_deref(), Some("interest"));
    assert!((state.score("interest") - 0.6231).abs() < 1e-4, "{state:?}");
    assert_eq!(state.readings, 1);

    // EVI (weight 0.5 over voice's 0.2) says joy and excitement: joy becomes dominant, and
    // the breakdown lists both sources.
    let r = mem.ingest_hume("call", sample("evi user_message")).unwrap();
    assert_eq!((r.readings, r.sources.clone()), (1, vec![Source::Evi]));
    let state = r.state.unwrap();
    assert_eq!(state.dominant.as_deref(), Some("joy"), "{:?}", state.top);
    let sources: Vec<Source> = state.sources.iter().map(|s| s.source.clone()).collect();
    assert_eq!(sources, vec![Source::Voice, Source::Evi]);
    assert!(state.valence > 0.0);
    assert_eq!(mem.emotional_state("call").unwrap().dominant.as_deref(), Some("joy"));

    // A name the catalog does not know is kept as an extra dimension.
    let r = mem.ingest_hume("call", sample("v1 audio result, forward compatible")).unwrap();
    assert!(r.state.unwrap().extras.contains_key("feeling uplifted"));

    // Messages without a measurement fuse nothing; warnings and errors come back as notices.
    let before = mem.emotional_state("call").unwrap().readings;
    for name in [
        "v1 session.created",
        "evi user_message interim",
        "evi user_message typed",
        "evi assistant_message",
        "unknown type",
    ] {
        let r = mem.ingest_hume("call", sample(name)).unwrap();
        assert_eq!(r.readings, 0, "{name}");
        assert_eq!(r.state.unwrap().readings, before, "{name}");
    }
    let r = mem.ingest_hume("call", sample("legacy error E0203")).unwrap();
    assert_eq!(r.readings, 0);
    assert_eq!(r.notices.len(), 1);
    assert_eq!((r.notices[0].severity, r.notices[0].code.as_deref()), (Severity::Error, Some("E0203")));
    let r = mem.ingest_hume("fresh", sample("legacy warning, nested")).unwrap();
    assert_eq!((r.readings, r.state, r.notices[0].severity), (0, None, Severity::Warning));

    // Faces: the v1 video result is a face reading with the detector's confidence.
    let r = mem.ingest_hume("cam", sample("v1 video result")).unwrap();
    let state = r.state.unwrap();
    assert_eq!(state.dominant.as_deref(), Some("amusement"));
    assert_eq!(state.sources[0].source, Source::Face);
    // The report is the bindings' wire format.
    let json: Value =
        serde_json::to_value(mem.ingest_hume("cam", sample("v1 image upload")).unwrap()).unwrap();
    assert_eq!(json["sources"], serde_json::json!(["face"]));
    assert_eq!(json["state"]["dominant"], "joy");
}

#[test]
fn a_whole_recording_goes_in_as_one_batch() {
    let (_dir, mem) = store();
    let expected: usize = RECORDED
        .lines()
        .map(|l| {
            memorable::hume::parse(l)
                .unwrap()
                .readings
                .iter()
                .filter(|r| {
                    !r.scores.is_empty() || matches!(r.semantics, memorable::hume::Semantics::Sparse { .. })
                })
                .count()
        })
        .sum();
    let r = mem.ingest_hume_lines("rec", &format!("{RECORDED}\n\n")).unwrap();
    assert_eq!(r.messages, RECORDED.lines().count());
    assert_eq!(r.readings, expected);
    assert!(expected >= 10, "{expected}");
    for s in [Source::Voice, Source::Face, Source::Evi, Source::Text] {
        assert!(r.sources.contains(&s), "{s} missing from {:?}", r.sources);
    }
    assert!(r.families.contains(&Family::Legacy) && r.families.contains(&Family::Evi));
    let state = r.state.unwrap();
    assert_eq!(state.readings as usize, expected);
    assert_eq!(mem.emotional_history("rec", &HistoryRange::default()).unwrap().len(), expected);
}

#[test]
fn bad_input_changes_nothing() {
    let (_dir, mem) = store();
    mem.ingest_hume("c", sample("evi user_message")).unwrap();
    let before = mem.emotional_state("c").unwrap();
    let history = mem.emotional_history("c", &HistoryRange::default()).unwrap().len();

    let e = mem.ingest_hume("c", "{not json").unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(e.to_string().contains("not valid JSON"), "{e}");
    let e = mem.ingest_hume("c", "[1, 2]").unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let e = mem.ingest_hume(" ", sample("evi user_message")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    let e = mem.ingest_hume(&"x".repeat(600), sample("v1 session.created")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput, "a bad context is refused even with no reading");
    // A good line before a bad one: nothing is fused, and the error names the line.
    let lines = format!("{}\n{}\n", sample("v1 audio result"), "{\"type\": ");
    let e = mem.ingest_hume_lines("c", &lines).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(e.to_string().contains("line 2"), "{e}");
    let e = mem.ingest_hume_lines("new", &lines).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);

    let after = mem.emotional_state_at("c", before.at).unwrap();
    assert_eq!(after, before);
    assert_eq!(mem.emotional_history("c", &HistoryRange::default()).unwrap().len(), history);
    assert_eq!(mem.contexts().unwrap().len(), 1, "no context was created");
}

#[test]
fn a_memory_remembered_in_the_session_carries_the_fused_state() {
    let (_dir, mem) = store();
    mem.ingest_hume("call", sample("v1 audio result")).unwrap();
    let state = mem.ingest_hume("call", sample("evi user_message")).unwrap().state.unwrap();
    let id = mem.remember(NewMemory::new("alice", "I finally got the job!").session("call")).unwrap();
    let snap = mem.get(id).unwrap().emotion.expect("the session's fused state is attached");
    assert_eq!(snap.dominant.as_deref(), Some("joy"));
    assert_eq!(snap.dominant, state.dominant);
    assert!((snap.valence - state.valence).abs() < 1e-3, "{snap:?} vs {state:?}");
    assert!((snap.scores["joy"] - state.score("joy")).abs() < 1e-3);
    assert!(snap.scores["interest"] > 0.0, "the voice reading is part of it: {snap:?}");
    // Outside the session: nothing attached (hashing store, no classifier).
    let other = mem.remember(NewMemory::new("alice", "unrelated").session("elsewhere")).unwrap();
    assert_eq!(mem.get(other).unwrap().emotion, None);
}

// ---- CLI --------------------------------------------------------------------------------

fn memorable(store: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_memorable"))
        .arg("--store")
        .arg(store)
        .args(["--embedder", "hashing", "--quiet"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = stdin.unwrap_or("").to_owned();
    let mut pipe = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut pipe, input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn cli_ingest_then_emotion_state() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let file = dir.path().join("call.jsonl");
    std::fs::write(&file, format!("{}\n{}\n", sample("v1 audio result"), sample("evi user_message")))
        .unwrap();
    let report = json(&memorable(
        &store,
        &["--json", "hume", "ingest", "--context", "call", file.to_str().unwrap()],
        None,
    ));
    assert_eq!((report["messages"].as_u64(), report["readings"].as_u64()), (Some(2), Some(2)));
    assert_eq!(report["sources"], serde_json::json!(["voice", "evi"]));
    assert_eq!(report["state"]["dominant"], "joy");

    let state = json(&memorable(&store, &["--json", "emotion", "state", "--context", "call"], None));
    assert_eq!(state["dominant"], "joy");
    assert_eq!(state["readings"], 2);

    // `-` reads standard input (the sample has two faces); the text output names the state.
    let out =
        memorable(&store, &["hume", "ingest", "--context", "cam", "-"], Some(sample("v1 video result")));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("2 reading(s) fused into cam (face)") && text.contains("dominant amusement"),
        "{text}"
    );

    // A bad line: an error with its code and line, and nothing fused.
    let bad =
        memorable(&store, &["--json", "hume", "ingest", "--context", "call", "-"], Some("{}\nnot json\n"));
    assert!(!bad.status.success());
    let err: Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(err["error"]["code"], "INVALID_INPUT");
    assert!(err["error"]["message"].as_str().unwrap().contains("line 2"), "{err}");
    let state = json(&memorable(&store, &["--json", "emotion", "state", "--context", "call"], None));
    assert_eq!(state["readings"], 2);
}

// ---- end to end: a WAV through the realtime client into a context -----------------------

/// A WAV (16 kHz mono s16le) streamed through the realtime client against the offline server,
/// each result fused into the context as it arrives (the session's callback): the context's
/// state goes from nothing to what the server measured, and a memory remembered in that
/// session carries it. Client and server share a fast clock (20 virtual ms per real ms).
#[cfg(feature = "hume")]
#[test]
fn a_wav_streamed_through_the_client_moves_the_context() {
    use std::sync::Arc;

    use hume_mock::{MockConfig, MockServer, TEST_API_KEY};
    use memorable::hume::{wav, ApiKey, AudioOptions, HumeClient, HumeConfig, HumeEvent};

    const SCALE: f64 = 20.0;
    let server = MockServer::start(MockConfig {
        clock_scale: SCALE,
        idle_timeout_ms: 600_000_000,
        ..Default::default()
    })
    .unwrap();
    let mut config = HumeConfig::new(server.base_url(), ApiKey::new(TEST_API_KEY));
    config.clock_scale = SCALE;
    // Only the fast clock is short: a loaded machine must not fake a lost connection.
    config.connect_timeout_ms = 1_000_000;
    config.close_timeout_ms = 1_000_000;
    config.keepalive_interval_ms = 100_000_000;
    config.keepalive_timeout_ms = 100_000_000;
    config.seed = Some(42);
    let client = HumeClient::new(config).unwrap();

    // 200 ms of silence, then 4 s of a loud 440 Hz tone: the mock reads loud speech as
    // excitement (probability 1) over interest (~0.72).
    let mut pcm = vec![0u8; 200 * 16 * 2];
    pcm.extend((0..4000 * 16).flat_map(|i| {
        let t = f64::from(i) / 16_000.0;
        ((0.3 * 32767.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16).to_le_bytes()
    }));
    let (pcm16k, _) = wav::wav_to_pcm16k(&wav::pcm_to_wav(&pcm)).unwrap();

    let (_dir, mem) = store();
    let mem = Arc::new(mem);
    assert_eq!(mem.emotional_state("call").unwrap_err().code(), ErrorCode::NotFound);
    let (sink, fused) = (mem.clone(), Arc::new(std::sync::atomic::AtomicUsize::new(0)));
    let counter = fused.clone();
    let options = AudioOptions::new().on_event(move |e| {
        if let HumeEvent::Message { message, .. } = e {
            let report = sink.ingest_hume_message("call", message).unwrap();
            counter.fetch_add(report.readings, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let session = client.audio_session(options).unwrap();
    session.send_pcm(&pcm16k).unwrap();
    let summary = session.close().unwrap();
    assert_eq!(summary.results, 2, "an interval result and the final one");
    assert_eq!(fused.load(std::sync::atomic::Ordering::SeqCst), 2);

    let state = mem.emotional_state("call").unwrap();
    assert_eq!(state.readings, 2);
    assert_eq!(state.dominant.as_deref(), Some("excitement"), "{:?}", state.top);
    assert!(state.score("interest") > 0.5 && state.score("excitement") > state.score("interest"));
    assert!(state.extras.contains_key("feeling uplifted"), "unknown v1 names are kept");
    assert_eq!(state.sources.iter().map(|s| s.source.clone()).collect::<Vec<_>>(), vec![Source::Voice]);

    let id = mem.remember(NewMemory::new("alice", "I got the job!").session("call")).unwrap();
    let snap = mem.get(id).unwrap().emotion.expect("the session's fused state is attached");
    assert_eq!(snap.dominant.as_deref(), Some("excitement"));
    assert!((snap.scores["excitement"] - state.score("excitement")).abs() < 1e-3);
}

/// `memorable hume upload --audio FILE.wav --context C` against the offline server: the
/// measured results go into the context of the store, and `emotion state` shows them.
#[cfg(feature = "hume")]
#[test]
fn cli_upload_fuses_its_results_into_the_context() {
    use hume_mock::{MockConfig, MockServer, TEST_API_KEY};

    let server = MockServer::start(MockConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let wav_path = dir.path().join("speech.wav");
    // 200 ms of silence, then 2 s of a loud tone (excitement, interest).
    let mut pcm = vec![0u8; 200 * 16 * 2];
    pcm.extend((0..2000 * 16).flat_map(|i| {
        let t = f64::from(i) / 16_000.0;
        ((0.3 * 32767.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16).to_le_bytes()
    }));
    std::fs::write(&wav_path, memorable::hume::wav::pcm_to_wav(&pcm)).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_memorable"))
        .arg("--store")
        .arg(&store)
        .args(["--embedder", "hashing", "--quiet", "--json", "hume", "upload", "--audio"])
        .arg(&wav_path)
        .args(["--context", "call"])
        .env("HUME_BASE_URL", server.base_url())
        .env("HUME_API_KEY", TEST_API_KEY)
        .output()
        .unwrap();
    let out = json(&out);
    let fused = out["ingest"]["readings"].as_u64().unwrap();
    assert!(fused >= 1, "{out}");
    assert_eq!(out["ingest"]["state"]["dominant"], "excitement", "{out}");

    let state = json(&memorable(&store, &["--json", "emotion", "state", "--context", "call"], None));
    assert_eq!(state["dominant"], "excitement");
    assert_eq!(state["readings"].as_u64(), Some(fused));
}

/// `Memorable::open` with the hashing embedder: these tests are about Hume's messages, not
/// the model.
fn open_hashing(dir: &std::path::Path) -> Memorable {
    let mut config = memorable::Config::default();
    config.embedder = "hashing".into();
    Memorable::builder(dir).config(config).open().unwrap()
}
