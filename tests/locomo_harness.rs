//! The LoCoMo harness cannot rot: it runs on a small hand-written conversation in LoCoMo's
//! format (tests/fixtures/locomo-mini.json) with the hashing embedder, and — only when
//! MEMORABLE_SHARED_DATA is set — on the first dev conversation of ../shared/data.

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

#[test]
fn harness_on_shared_locomo_when_available() {
    let Ok(dir) = std::env::var("MEMORABLE_SHARED_DATA") else {
        eprintln!("MEMORABLE_SHARED_DATA is not set: the LoCoMo dev slice was not run (opt-in)");
        return;
    };
    let path = format!("{dir}/locomo/locomo-dev.json");
    eprintln!("MEMORABLE_SHARED_DATA is set: running the harness on the first conversation of {path}");
    let report = run(&[&path, "--embedder", "hashing", "--json", "--conversations", "1"]);
    check_shape(&report);
    assert_eq!(report["conversations"], 1);
    // Hashing embedder, default configuration: far above the BM25 peer (0.526).
    assert!(report["overall"]["recall_at_10"].as_f64().unwrap() > 0.5, "{report:#}");
}
