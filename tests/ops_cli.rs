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

/// The CLI with `MEMORABLE_KEY` set (and any other variables given).
fn keyed(store: &Path, key: Option<&str>, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_memorable"));
    c.arg("--store").arg(store).args(args).env("MEMORABLE_EMBEDDER", "hashing").env_remove("MEMORABLE_LOG");
    c.env_remove("MEMORABLE_KEY").env_remove("MEMORABLE_NEW_KEY");
    if let Some(k) = key {
        c.env("MEMORABLE_KEY", k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn count(store: &Path, key: &str) -> Option<u64> {
    let out = keyed(store, Some(key), &[], &["stats", "--json"]);
    out.status.success().then(|| json(&out)["memories"].as_u64().unwrap())
}

#[test]
fn an_encrypted_store_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let key = "sesame-Kq93xP";
    let out = keyed(&store, Some(key), &[], &["remember", "--user", "ann", "the vault code is Plumbrix"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Without the key, or with another: WRONG_KEY, and neither key is printed or logged.
    for k in [None, Some("other-key")] {
        let out = keyed(&store, k, &[], &["-vvv", "--json", "recall", "--user", "ann", "vault"]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(json(&out)["error"]["code"], "WRONG_KEY");
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!all.contains(key) && !all.contains("other-key"), "a key leaked: {all}");
    }
    let out = keyed(&store, Some(key), &[], &["-vvv", "--json", "recall", "--user", "ann", "vault"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Plumbrix"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(key), "the key reached the log");
    // A file export is sealed; verify, backup and restore take the key from MEMORABLE_KEY.
    let export = dir.path().join("ann.jsonl");
    let out = keyed(&store, Some(key), &[], &["export", "--user", "ann", "--out", export.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&std::fs::read(&export).unwrap()).contains("Plumbrix"));
    let backup = dir.path().join("b.mrbak");
    assert!(keyed(&store, Some(key), &[], &["backup", backup.to_str().unwrap()]).status.success());
    assert_eq!(keyed(&store, None, &[], &["verify", backup.to_str().unwrap()]).status.code(), Some(1));
    assert!(keyed(&store, Some(key), &[], &["verify", backup.to_str().unwrap()]).status.success());
    assert!(keyed(&store, Some(key), &[], &["verify", store.to_str().unwrap()]).status.success());
    // rekey: the new key from MEMORABLE_NEW_KEY, or from stdin.
    let out = keyed(&store, Some(key), &[], &["rekey"]);
    assert_eq!(out.status.code(), Some(1), "no new key given");
    let out = keyed(&store, Some(key), &[("MEMORABLE_NEW_KEY", "second")], &["rekey"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&store, key), None);
    assert_eq!(count(&store, "second"), Some(1));
    let mut child = Command::new(env!("CARGO_BIN_EXE_memorable"))
        .args(["--store", store.to_str().unwrap(), "rekey", "--new-key-stdin"])
        .env("MEMORABLE_KEY", "second")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(b"third\n").unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(count(&store, "third"), Some(1));
    // The sealed export still opens with the key it was sealed with, into a store with that key.
    let other = dir.path().join("other");
    let out = keyed(&other, Some(key), &[], &["import", export.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&other, key), Some(1));
}

#[test]
fn an_interrupted_rekey_leaves_one_key_that_opens_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let items = dir.path().join("items.jsonl");
    let lines: String = (0..2000)
        .map(|i| format!("{{\"user\":\"u{}\",\"text\":\"memory number {i} of a long life\"}}\n", i % 7))
        .collect();
    std::fs::write(&items, lines).unwrap();
    assert!(keyed(&store, Some("k0"), &[], &["import", items.to_str().unwrap()]).status.success());
    // Killed right after the database was rekeyed, before the key marker was rewritten.
    let out = keyed(
        &store,
        Some("k0"),
        &[("MEMORABLE_NEW_KEY", "k1"), ("MEMORABLE_CRASH_AT", "rekey:before-marker")],
        &["rekey"],
    );
    assert!(!out.status.success());
    assert_eq!(count(&store, "k0"), None);
    assert_eq!(count(&store, "k1"), Some(2000));
    // Killed at arbitrary moments: exactly one of the two keys opens the store, with all of it.
    let mut current = "k1".to_string();
    for round in 0..8u64 {
        let next = format!("k{}", round + 2);
        let mut child = Command::new(env!("CARGO_BIN_EXE_memorable"))
            .args(["--store", store.to_str().unwrap(), "rekey"])
            .env("MEMORABLE_KEY", &current)
            .env("MEMORABLE_NEW_KEY", &next)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(10 + 25 * round));
        let _ = child.kill();
        let _ = child.wait();
        let (old, new) = (count(&store, &current), count(&store, &next));
        assert!(old.is_some() != new.is_some(), "round {round}: old {old:?}, new {new:?}");
        assert_eq!(old.or(new), Some(2000), "round {round}");
        if new.is_some() {
            current = next;
        }
    }
}

/// `reembed` killed with SIGKILL part-way, twice, then run to the end: after each kill every
/// memory is there and readable under the old model, the progress is kept, and the finished
/// migration leaves a sound store on the new model (MiniLM from the model cache).
#[test]
fn a_killed_reembed_resumes_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let items = dir.path().join("items.jsonl");
    let lines: String = (0..3000)
        .map(|i| {
            format!("{{\"user\":\"ann\",\"text\":\"note {i}: the lighthouse keeper counted {i} gulls\"}}\n")
        })
        .collect();
    std::fs::write(&items, lines).unwrap();
    assert!(cli(&store, &["import", items.to_str().unwrap()]).status.success());
    let stats = |embedder: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_memorable"))
            .args(["--store", store.to_str().unwrap(), "--embedder", embedder, "stats", "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        json(&out)
    };
    let mut last_done = 0;
    for delay_ms in [800u64, 1_600] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_memorable"))
            .args(["--store", store.to_str().unwrap(), "reembed", "--model", "minilm"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill();
        let _ = child.wait();
        assert!(!finished, "the re-embedding ended before the kill: make the store larger");
        let s = stats("auto");
        assert_eq!(s["memories"], 3000);
        assert_eq!(s["embedder"]["model_id"], "hashing-v1-384", "still on the old model until the end");
        let done = s["reembed"]["done"].as_u64().unwrap_or(0);
        assert!(done >= last_done, "progress went back: {done} < {last_done}");
        last_done = done;
        assert!(cli(&store, &["verify", store.to_str().unwrap()]).status.success());
    }
    let out = Command::new(env!("CARGO_BIN_EXE_memorable"))
        .args(["--store", store.to_str().unwrap(), "--json", "reembed", "--model", "minilm"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = json(&out);
    assert_eq!(report["completed"], true);
    assert_eq!(
        report["reembedded"].as_u64().unwrap() + last_done,
        3000,
        "no memory embedded twice or skipped"
    );
    let s = stats("auto");
    assert_eq!(s["memories"], 3000);
    assert_ne!(s["embedder"]["model_id"], "hashing-v1-384");
    let out = Command::new(env!("CARGO_BIN_EXE_memorable"))
        .args([
            "--store",
            store.to_str().unwrap(),
            "--json",
            "recall",
            "--user",
            "ann",
            "how many seabirds at the lighthouse, 123",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("counted 123 gulls"));
    assert!(cli(&store, &["verify", store.to_str().unwrap()]).status.success());
}
