//! `memorable emotion observe | state | history | contexts | close` drive a store's emotional
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
