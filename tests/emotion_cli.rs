//! `memorable emotion observe | state | history | plot | contexts | close` drive a store's emotional
//! contexts from the shell, with `--json` output and error codes.

use std::process::{Command, Output};

use serde_json::Value;

fn memorable(store: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_memorable"))
        .arg("--store")
        .arg(store)
        .args(["--embedder", "hashing", "--quiet"])
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn observe_state_history_contexts_close() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let t0 = "2024-05-01T09:00:00Z";
    let t1 = "2024-05-01T09:01:00Z";
    let s = json(&memorable(
        &store,
        &[
            "--json",
            "emotion",
            "observe",
            "--context",
            "call",
            "--source",
            "evi",
            "--score",
            "Joy=0.8",
            "--score",
            "Surprise (positive)=0.3",
            "--at",
            t0,
        ],
    ));
    assert_eq!(s["dominant"], "joy");
    let out = memorable(
        &store,
        &[
            "emotion",
            "observe",
            "--context",
            "call",
            "--source",
            "face",
            "--scores",
            r#"{"sadness": 0.9, "jaw drop": 0.4}"#,
            "--confidence",
            "0.5",
            "--at",
            t1,
        ],
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("not in the catalog: jaw drop"));

    let state = json(&memorable(&store, &["--json", "emotion", "state", "--context", "call", "--at", t1]));
    assert_eq!(state["context"], "call");
    assert_eq!(state["dominant"], "sadness", "only face measured sadness: {state}");
    assert_eq!(state["scores"].as_object().unwrap().len(), 62, "the full catalog vector");
    assert!((state["scores"]["sadness"].as_f64().unwrap() - 0.9).abs() < 1e-6);
    assert!((state["extras"]["jaw drop"].as_f64().unwrap() - 0.4).abs() < 1e-6);
    assert_eq!(state["sources"].as_array().unwrap().len(), 2);

    let history = json(&memorable(&store, &["--json", "emotion", "history", "--context", "call"]));
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["at"], "2024-05-01T09:00:00Z");
    assert_eq!(history[1]["readings"], 2);
    let last =
        json(&memorable(&store, &["--json", "emotion", "history", "--context", "call", "--limit", "1"]));
    assert_eq!(last.as_array().unwrap().len(), 1);

    let file = dir.path().join("readings.jsonl");
    std::fs::write(
        &file,
        "{\"context\":\"c2\",\"source\":\"text\",\"scores\":{\"gratitude\":0.7}}\n\n\
         {\"context\":\"c2\",\"source\":\"custom:ring\",\"scores\":{\"calmness\":0.6},\"confidence\":0.4}\n",
    )
    .unwrap();
    let n = json(&memorable(&store, &["--json", "emotion", "observe", "--file", file.to_str().unwrap()]));
    assert_eq!(n["observed"], 2);
    json(&memorable(&store, &["--json", "emotion", "close", "--context", "c2"]));
    let contexts = json(&memorable(&store, &["--json", "emotion", "contexts"]));
    let list: Vec<(String, bool)> = contexts
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["context"].as_str().unwrap().to_owned(), c["open"].as_bool().unwrap()))
        .collect();
    assert_eq!(list, [("c2".to_owned(), false), ("call".to_owned(), true)]);
    let stats = json(&memorable(&store, &["--json", "stats"]));
    assert_eq!(stats["emotion"]["readings"], 4);
    assert_eq!(stats["emotion"]["unknown_names"]["jaw drop"], 1);
}

#[test]
fn bad_input_is_a_coded_error_that_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    json(&memorable(
        &store,
        &["--json", "emotion", "observe", "--context", "c", "--source", "voice", "--score", "calmness=0.5"],
    ));
    let before = json(&memorable(&store, &["--json", "emotion", "contexts"]));
    let bad: &[&[&str]] = &[
        &["--source", "camera", "--score", "joy=0.5"],
        &["--source", "voice", "--score", "joy=1.5"],
        &["--source", "voice", "--score", "joy=NaN"],
        &["--source", "voice", "--score", "joy=0.5", "--confidence=-1"],
        &["--source", "voice"],
        &["--source", "voice", "--score", "joy=0.5", "--at", "2999-01-01T00:00:00Z"],
    ];
    for args in bad {
        let mut all = vec!["--json", "emotion", "observe", "--context", "c"];
        all.extend_from_slice(args);
        let out = memorable(&store, &all);
        assert!(!out.status.success(), "{args:?}");
        let err: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        assert_eq!(
            err["error"]["code"],
            "INVALID_INPUT",
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let out = memorable(&store, &["--json", "emotion", "state", "--context", "nope"]);
    assert!(!out.status.success());
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "NOT_FOUND");
    assert_eq!(json(&memorable(&store, &["--json", "emotion", "contexts"])), before);
}

/// `memorable emotion plot` draws the golden picture of the shared readings, and a real SVG
/// renderer (rsvg-convert, Debian's librsvg2-bin) turns it into a PNG that is not blank.
#[test]
fn plot_writes_the_golden_svg_and_it_renders() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let readings = format!("{fixtures}/timeline-readings.jsonl");
    assert_eq!(
        json(&memorable(&store, &["--json", "emotion", "observe", "--file", &readings]))["observed"],
        12
    );
    let svg_path = dir.path().join("timeline.svg");
    let out =
        memorable(&store, &["emotion", "plot", "--context", "demo", "--out", svg_path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert_eq!(svg, std::fs::read_to_string(format!("{fixtures}/timeline.svg")).unwrap());

    let png_path = dir.path().join("timeline.png");
    let rendered =
        Command::new("rsvg-convert").arg("-o").arg(&png_path).arg(&svg_path).output().unwrap_or_else(|e| {
            panic!("rsvg-convert is needed to check the picture renders (apt-get install librsvg2-bin): {e}")
        });
    assert!(rendered.status.success(), "{}", String::from_utf8_lossy(&rendered.stderr));
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png_path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (960, 540));
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let mut inked = 0usize;
    let mut colours = std::collections::HashSet::new();
    for p in pixels.chunks(channels) {
        if p[..3].iter().any(|&c| c < 240) {
            inked += 1;
        }
        colours.insert((p[0], p[1], p[2]));
    }
    let share = inked as f64 / (pixels.len() / channels) as f64;
    // Lines, text, markers and the valence band cover a few percent; a blank or black
    // picture would be 0 or 1.
    assert!(share > 0.02 && share < 0.6, "inked share {share}");
    assert!(colours.len() > 50, "{} colours", colours.len());

    // Bad options are coded errors, and stdout output works.
    let bad = memorable(&store, &["emotion", "plot", "--context", "demo", "--top", "0", "--out", "-"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("top must be"));
    let to_stdout =
        memorable(&store, &["emotion", "plot", "--context", "demo", "--theme", "dark", "--out", "-"]);
    assert!(String::from_utf8_lossy(&to_stdout.stdout).contains("#0d1117"));
}

/// `emotion context-id`: the id of a user's own context, as `serve` names it (the user's
/// length in bytes, so "zoë" is 4), usable as any command's `--context`.
#[test]
fn context_id_names_a_users_own_context() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let out = memorable(&store, &["emotion", "context-id", "--user", "zoë", "s1"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "@4:zoë/s1");
    let id = json(&memorable(&store, &["--json", "emotion", "context-id", "--user", "alice", "s1"]))
        ["context"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(id, "@5:alice/s1");
    json(&memorable(
        &store,
        &["--json", "emotion", "observe", "--context", &id, "--source", "voice", "--score", "Joy=0.7"],
    ));
    let state = json(&memorable(&store, &["--json", "emotion", "state", "--context", &id]));
    assert_eq!(state["dominant"], "joy", "{state}");
}
