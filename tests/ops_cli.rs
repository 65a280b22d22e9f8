//! The operations commands of the CLI, as a script would use them: exit codes, --json.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn cli(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_memorable"))
        .arg("--store")
        .arg(store)
        .args(args)
        .env("MEMORABLE_EMBEDDER", "hashing")
        .env_remove("MEMORABLE_LOG")
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {text} / {}", String::from_utf8_lossy(&out.stderr)))
}

fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn backup_verify_restore_health_metrics_export_import() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let s = store.to_str().unwrap();
    ok(cli(&store, &["remember", "--user", "alice", "--place", "Porto", "I adopted a puppy named Biscuit"]));
    ok(cli(&store, &["remember", "--user", "bob", "The quarterly report is due on Friday"]));

    // health --json: ok, exit 0.
    let h = json(&ok(cli(&store, &["health", "--json"])));
    assert_eq!(h["status"], "ok");
    assert_eq!(h["checks"][0]["name"], "store");

    // metrics --prometheus and --json.
    let prom = String::from_utf8(ok(cli(&store, &["metrics", "--prometheus"])).stdout).unwrap();
    assert!(prom.contains("# TYPE memorable_recall_duration_seconds summary"));
    assert!(prom.contains("memorable_memories 2\n"));
    let m = json(&ok(cli(&store, &["metrics", "--json"])));
    assert_eq!(m["gauges"]["users"], 2);

    // backup → verify (exit 0) → restore → a working store.
    let file = dir.path().join("b.mrbak");
    let b = json(&ok(cli(&store, &["backup", file.to_str().unwrap(), "--json"])));
    assert_eq!(b["memories"], 2);
    let v = json(&ok(cli(&store, &["verify", file.to_str().unwrap(), "--json"])));
    assert_eq!(v["ok"], true);
    assert_eq!(json(&ok(cli(&store, &["verify", s, "--json"])))["kind"], "store");
    let restored = dir.path().join("restored");
    ok(cli(&store, &["restore", file.to_str().unwrap(), restored.to_str().unwrap()]));
    let hits = json(&ok(cli(&restored, &["recall", "--user", "alice", "puppy", "--json"])));
    assert_eq!(hits[0]["text"], "I adopted a puppy named Biscuit");
    // Restoring over an existing store is refused (exit 1, code DESTINATION_EXISTS).
    let again = cli(&store, &["restore", file.to_str().unwrap(), s, "--json"]);
    assert!(!again.status.success());
    assert_eq!(json(&again)["error"]["code"], "DESTINATION_EXISTS");

    // A damaged backup: verify exits 1 and says why; restore refuses it.
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 3;
    bytes[mid] ^= 1;
    let bad = dir.path().join("bad.mrbak");
    std::fs::write(&bad, &bytes).unwrap();
    let out = cli(&store, &["verify", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("UNSOUND"));
    let out =
        cli(&store, &["restore", bad.to_str().unwrap(), dir.path().join("nope").to_str().unwrap(), "--json"]);
    assert_eq!(json(&out)["error"]["code"], "CORRUPT");
    assert!(!dir.path().join("nope").exists());

    // restore-user --at
    let before = time::OffsetDateTime::now_utc();
    std::thread::sleep(std::time::Duration::from_millis(10));
    ok(cli(&store, &["update", "1", "Biscuit is a grown dog now"]));
    ok(cli(&store, &["remember", "--user", "alice", "I started learning the cello"]));
    let at = before.format(&time::format_description::well_known::Rfc3339).unwrap();
    let r = json(&ok(cli(&store, &["restore-user", "alice", "--at", &at, "--json"])));
    assert_eq!(r["reverted"], serde_json::json!([1]));
    assert_eq!(r["removed"], serde_json::json!([3]));
    let got = json(&ok(cli(&store, &["get", "1", "--json"])));
    assert_eq!(got["text"], "I adopted a puppy named Biscuit");

    // export --vectors → import into a new store keeps the vectors.
    let out = ok(cli(&store, &["export", "--user", "alice", "--vectors"]));
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["place"], "Porto");
    assert_eq!(lines[0]["embedding"].as_array().unwrap().len(), 384);
    let jsonl = dir.path().join("alice.jsonl");
    ok(cli(&store, &["export", "--user", "alice", "--vectors", "--out", jsonl.to_str().unwrap()]));
    let other = dir.path().join("other");
    let imp = json(&ok(cli(&other, &["import", jsonl.to_str().unwrap(), "--json"])));
    assert_eq!((imp["imported"].as_u64(), imp["vectors_kept"].as_u64()), (Some(1), Some(1)));
    let hits = json(&ok(cli(&other, &["recall", "--user", "alice", "puppy", "--json"])));
    assert_eq!(hits[0]["place"], "Porto");

    // --log-format json: log records are JSON objects on stderr.
    let out = ok(cli(&store, &["-v", "--log-format", "json", "recall", "--user", "alice", "puppy"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().next().expect("some log records at -v");
    let rec: Value = serde_json::from_str(first).unwrap_or_else(|e| panic!("{e}: {first}"));
    assert!(rec["level"].is_string() && rec["fields"].is_object(), "{rec}");
    assert!(!stderr.contains("puppy"), "memory text and queries stay out of logs by default");
}

#[test]
fn health_exits_non_zero_when_failing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    std::fs::write(store.join("memorable.db"), vec![7u8; 8192]).unwrap();
    let out = cli(&store, &["health", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let h = json(&out);
    assert_eq!(h["status"], "failing");
    assert!(h["checks"][0]["reason"].as_str().unwrap().contains("not a MemoRable store"), "{h}");
    let out = cli(&store, &["verify", store.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
}
