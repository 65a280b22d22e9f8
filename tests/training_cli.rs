//! Custom classifiers through the CLI, as the issue names the commands: `examples import`,
//! `examples stats`, `train emotion --classifier --wait --json`, `jobs list|show|cancel|
//! resume`, `models deploy|rollback`, `classify --classifier NAME`. A training process killed
//! with SIGKILL (and one aborted at a crash point right after a checkpoint) resumes with
//! `jobs resume` and finishes. Needs the real MiniLM (scripts/fetch-model.sh).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use memorable::models::cache::{self, Manifest};
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/emotion_examples.jsonl")
}

/// A private model cache linking the verified MiniLM, so trained versions stay the test's.
fn model_cache(root: &Path) -> PathBuf {
    let real = cache::cache_dir(None).expect("a model cache directory");
    let minilm = Manifest::builtin().get("minilm").unwrap().clone();
    cache::verify(&real.join("minilm"), &minilm).unwrap_or_else(|r| {
        panic!("MiniLM not usable in {}: {r}; run scripts/fetch-model.sh", real.display())
    });
    let models = root.join("models");
    for f in &minilm.files {
        let to = models.join("minilm").join(&f.path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(real.join("minilm").join(&f.path), &to).unwrap();
    }
    models
}

fn command(root: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_memorable"));
    c.arg("--store")
        .arg(root.join("store"))
        .args(args)
        .env("MEMORABLE_MODEL_DIR", root.join("models"))
        .env_remove("MEMORABLE_LOG")
        .env_remove("MEMORABLE_CRASH_AT")
        .env_remove("MEMORABLE_EMBEDDER");
    c
}

fn cli(root: &Path, args: &[&str]) -> Output {
    command(root, args).output().unwrap()
}

fn ok(out: Output) -> Value {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or_default()).unwrap_or(Value::Null)
}

fn jobs(root: &Path) -> Vec<Value> {
    ok(cli(root, &["jobs", "list", "--json"])).as_array().unwrap().clone()
}

#[test]
fn import_train_kill_resume_deploy_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    model_cache(root);
    let file = fixture();
    let r = ok(cli(root, &["examples", "import", "--classifier", "moods", file.to_str().unwrap(), "--json"]));
    assert_eq!((r["added"].as_u64(), r["created"].as_bool()), (Some(270), Some(true)));
    let stats = ok(cli(root, &["examples", "stats", "--classifier", "moods", "--json"]));
    assert_eq!(stats["per_label"]["joy"], 90);

    // A bad import: a coded error naming the line, and nothing changes.
    let bad = root.join("bad.tsv");
    std::fs::write(&bad, "good text\tjoy\nbad text\tecstasy\n").unwrap();
    let out = cli(root, &["examples", "import", "--classifier", "moods", bad.to_str().unwrap(), "--json"]);
    assert!(!out.status.success());
    let err: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "INVALID_INPUT");
    assert!(err["error"]["message"].as_str().unwrap().contains("line 2"), "{err}");
    assert_eq!(ok(cli(root, &["examples", "stats", "--classifier", "moods", "--json"])), stats);

    // Aborted right after its first checkpoint (as kill -9 there would), then resumed.
    let out = command(root, &["train", "emotion", "--classifier", "moods", "--wait", "--json"])
        .env("MEMORABLE_CRASH_AT", "train:after-checkpoint")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the crash point aborts the process");
    let j = &jobs(root)[0];
    assert_eq!(j["state"], "queued", "an interrupted training job goes back to the queue: {j}");
    let id = j["id"].as_u64().unwrap().to_string();
    let done = ok(cli(root, &["jobs", "resume", &id, "--json"]));
    assert_eq!(done["state"], "succeeded", "{done}");
    assert!(done["log"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l.as_str().unwrap().starts_with("resuming from checkpoint")));
    assert_eq!(done["result"]["deployed"], true);
    let v1 = done["result"]["version"].as_str().unwrap().to_owned();

    // A real SIGKILL in the middle of training, then `jobs resume` finishes the job.
    let mut child = command(root, &["train", "emotion", "--classifier", "moods", "--wait", "--seed", "9"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    for line in stderr.lines() {
        if line.unwrap().starts_with("epoch 1.00") {
            break;
        }
    }
    child.kill().unwrap();
    assert!(!child.wait().unwrap().success());
    let j = &jobs(root)[0];
    assert_eq!(j["state"], "queued", "{j}");
    let id2 = j["id"].as_u64().unwrap().to_string();
    let done = ok(cli(root, &["jobs", "resume", &id2, "--json"]));
    assert_eq!(done["state"], "succeeded", "{done}");
    let shown = ok(cli(root, &["jobs", "show", &id2, "--json"]));
    assert_eq!(shown["result"]["version"], done["result"]["version"]);

    // Queued without --wait, then cancelled: the deployed version is untouched.
    let deployed = ok(cli(root, &["classifiers", "show", "moods", "--json"]))["deployed"].clone();
    let q = ok(cli(root, &["train", "emotion", "--classifier", "moods", "--json"]));
    assert_eq!(q["state"], "queued");
    let qid = q["job"].as_u64().unwrap().to_string();
    assert_eq!(ok(cli(root, &["jobs", "cancel", &qid, "--json"]))["state"], "cancelled");
    assert_eq!(ok(cli(root, &["classifiers", "show", "moods", "--json"]))["deployed"], deployed);

    // A candidate deployed by hand, then rolled back to the exact predictions before.
    let classify = |root: &Path| {
        let out = cli(root, &["classify", "--classifier", "moods", "I am furious", "such a happy day"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let before = classify(root);
    assert!(before.lines().next().unwrap().contains("\"labels\":[\"anger\"]"), "{before}");
    let cand = ok(cli(
        root,
        &[
            "train",
            "emotion",
            "--classifier",
            "moods",
            "--wait",
            "--json",
            "--deploy",
            "never",
            "--seed",
            "3",
            "--epochs",
            "2",
        ],
    ));
    assert_eq!(cand["result"]["deployed"], false);
    let deployed_now = ok(cli(root, &["classifiers", "show", "moods", "--json"]))["deployed"].clone();
    let d = ok(cli(root, &["models", "deploy", "moods", "--json"]));
    assert_eq!(d["version"], cand["result"]["version"]);
    assert_ne!(classify(root), before);
    let back = ok(cli(root, &["models", "rollback", "moods", "--json"]));
    assert_eq!(back["version"], deployed_now);
    assert_eq!(classify(root), before);
    assert!(v1.starts_with('j'));
}
