//! The LoCoMo harness cannot rot: it runs on a small hand-written conversation in LoCoMo's
//! format (tests/fixtures/locomo-mini.json) with the hashing embedder, and — only when
//! MEMORABLE_SHARED_DATA is set — on the first two dev conversations of ../shared/data (with the
//! `--cv` slice: hashing embedder, a coarse grid).

use std::process::Command;

use serde_json::Value;

fn run(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_locomo")).args(args).output().expect("run the locomo harness");
    assert!(out.status.success(), "locomo failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("--json prints one JSON object")
}

fn check_shape(report: &Value) {
    for k in ["recall_at_1", "recall_at_5", "recall_at_10"] {
        let v = report["overall"][k].as_f64().unwrap_or_else(|| panic!("overall.{k}"));
        assert!((0.0..=1.0).contains(&v));
    }
    let o = &report["overall"];
    assert!(o["recall_at_1"].as_f64() <= o["recall_at_5"].as_f64());
    assert!(o["recall_at_5"].as_f64() <= o["recall_at_10"].as_f64());
    for c in ["multi_hop", "temporal", "open_domain", "single_hop"] {
        assert!(report["categories"][c]["recall_at_10"].is_number(), "category {c}");
    }
    assert!(report["latency"]["p50_ms"].as_f64().unwrap() > 0.0);
}

#[test]
fn harness_runs_on_a_small_conversation() {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/locomo-mini.json");
    let report = run(&[fixture, "--embedder", "hashing", "--json", "--ablations"]);
    check_shape(&report);
    assert_eq!(report["conversations"], 1);
    assert_eq!(report["memories"], 12);
    assert_eq!(report["overall"]["questions"], 6, "category 5 is left out");
    // 12 turns: the top 10 holds nearly everything, so the check is at k = 5, where the
    // default (re-ranked) must find what plain fusion misses.
    let r5 = |v: &Value| v["overall"]["recall_at_5"].as_f64().unwrap();
    assert!(r5(&report) >= 0.8, "{report:#}");
    assert!(r5(&report) > r5(&report["ablations"]["fused"]), "{report:#}");
    for a in ["bm25", "dense", "rrf", "fused", "no_context", "no_who", "no_date"] {
        assert!(report["ablations"][a]["overall"]["recall_at_10"].is_number(), "ablation {a}");
    }
}

/// `--cv` on two conversations (the fixture twice) with a two-point grid: each fold picks the
/// point that is best on the other conversation, and the pooled held-out figures come out.
#[test]
fn cross_validation_runs_on_two_conversations() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/locomo-mini.json");
    let mut convs: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let mut twin = convs[0].clone();
    twin["sample_id"] = "twin".into();
    convs.push(twin);
    let file = dir.path().join("two.json");
    std::fs::write(&file, serde_json::to_string(&convs).unwrap()).unwrap();
    // Point 1 turns every signal off but keywords, so it cannot beat the defaults here.
    let grid = dir.path().join("grid.json");
    std::fs::write(&grid, r#"[{}, {"semantic": 0.0, "context": 0.0, "who": 0.0, "date": 0.0}]"#).unwrap();
    let report = run(&[
        file.to_str().unwrap(),
        "--embedder",
        "hashing",
        "--json",
        "--cv",
        "--grid",
        grid.to_str().unwrap(),
    ]);
    check_shape(&report);
    let cv = &report["cv"];
    assert_eq!(cv["grid_points"], 2);
    assert_eq!(cv["folds"].as_array().unwrap().len(), 2);
    assert_eq!(cv["overall"]["questions"], 12);
    for f in cv["folds"].as_array().unwrap() {
        assert_eq!(f["chosen"], 0, "the defaults win on the twin conversation: {report:#}");
    }
    // Scored with the defaults on every fold, the pooled figure is the plain one.
    assert_eq!(cv["overall"]["recall_at_5"], report["overall"]["recall_at_5"], "{report:#}");
    let one = Command::new(env!("CARGO_BIN_EXE_locomo"))
        .args([fixture, "--embedder", "hashing", "--cv"])
        .output()
        .unwrap();
    assert!(
        !one.status.success() && String::from_utf8_lossy(&one.stderr).contains("at least 2 conversations")
    );
}

#[test]
fn harness_on_shared_locomo_when_available() {
    let Ok(dir) = std::env::var("MEMORABLE_SHARED_DATA") else {
        eprintln!("MEMORABLE_SHARED_DATA is not set: the LoCoMo dev slice was not run (opt-in)");
        return;
    };
    let path = format!("{dir}/locomo/locomo-dev.json");
    eprintln!("MEMORABLE_SHARED_DATA is set: running the harness and its --cv slice on the first two conversations of {path}");
    // The CI slice of the CV protocol: two conversations, hashing embedder, a coarse grid.
    let dir = tempfile::tempdir().unwrap();
    let grid = dir.path().join("grid.json");
    std::fs::write(&grid, r#"[{}, {"keyword": 0.8}, {"context": 0.4}, {"who": 1.0}]"#).unwrap();
    let args = [
        &path,
        "--embedder",
        "hashing",
        "--json",
        "--conversations",
        "2",
        "--cv",
        "--grid",
        grid.to_str().unwrap(),
    ];
    let report = run(&args);
    check_shape(&report);
    assert_eq!(report["conversations"], 2);
    // Hashing embedder, default configuration: far above the issue's BM25 peer (0.526).
    assert!(report["overall"]["recall_at_10"].as_f64().unwrap() > 0.5, "{report:#}");
    let cv = &report["cv"];
    assert_eq!(cv["folds"].as_array().unwrap().len(), 2);
    assert!(cv["overall"]["recall_at_10"].as_f64().unwrap() > 0.5, "{report:#}");
}
