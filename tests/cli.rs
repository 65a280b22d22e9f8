//! The `memorable` command line, run as a user runs it: every command on a store directory
//! given by `--store` (default `./memorable-data`), `--json` output for scripts, JSONL import,
//! the demo, and errors (with their stable code) including a store held by another process.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use memorable::{Memorable, NewMemory, Recall};
use serde_json::Value;

fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_memorable"))
        .current_dir(dir)
        .args(args)
        .env_remove("MEMORABLE_STORE")
        .env_remove("MEMORABLE_EMBEDDER")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Run a command that must succeed with `--json`, and parse what it printed.
fn json(dir: &Path, args: &[&str]) -> Value {
    let out = cli(dir, args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{args:?} failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {stdout}"))
}

/// Run a command that must fail; returns the error's code from its `--json` output.
fn error_code(dir: &Path, args: &[&str]) -> Option<String> {
    let out = cli(dir, args);
    assert!(!out.status.success(), "{args:?} should fail");
    let v: Value = serde_json::from_slice(&out.stdout).expect("a JSON error object");
    assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    v["error"]["code"].as_str().map(str::to_owned)
}

#[test]
fn remember_recall_get_forget_stats_with_json() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let s = store.to_str().unwrap();
    let base = ["--store", s, "--embedder", "hashing", "--json"];
    let run = |args: &[&str]| json(tmp.path(), &[&base[..], args].concat());

    let puppy = run(&[
        "remember",
        "--user",
        "alice",
        "--speaker",
        "bob",
        "--session",
        "chat-1",
        "--at",
        "2024-05-08T13:56:00Z",
        "--tag",
        "pets",
        "I adopted a beagle puppy named Biscuit",
    ])["id"]
        .as_u64()
        .unwrap();
    let lisbon =
        run(&["remember", "--user", "alice", "My sister Lena lives in Lisbon"])["id"].as_u64().unwrap();
    run(&["remember", "--user", "bob", "Bob's own puppy is called Rex"]);
    assert!(lisbon > puppy);

    let hits = run(&["recall", "--user", "alice", "--limit", "5", "puppy Biscuit"]);
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 2, "alice has two memories; bob's never show: {hits:?}");
    let top = &hits[0];
    assert_eq!(top["id"], puppy);
    assert_eq!(top["text"], "I adopted a beagle puppy named Biscuit");
    assert!(top["score"].as_f64().unwrap() > hits[1]["score"].as_f64().unwrap());
    assert_eq!(
        (&top["user"], &top["speaker"], &top["session"]),
        (&"alice".into(), &"bob".into(), &"chat-1".into())
    );
    assert_eq!(top["occurred_at"], "2024-05-08T13:56:00Z");
    assert_eq!(top["tags"], serde_json::json!(["pets"]));
    assert!(top["breakdown"]["keyword_rank"].is_number(), "{top}");
    let limited = run(&["recall", "--user", "alice", "--limit", "1", "--speaker", "bob", "sister"]);
    assert_eq!(limited.as_array().unwrap().len(), 1);
    assert_eq!(limited[0]["id"], puppy, "the speaker filter applies");

    assert_eq!(run(&["get", &puppy.to_string()])["text"], "I adopted a beagle puppy named Biscuit");
    let stats = run(&["stats"]);
    assert_eq!((stats["memories"].as_u64(), stats["users"].as_u64()), (Some(3), Some(2)));
    assert_eq!(stats["embedder"]["model_id"], "hashing-v1-384");

    assert_eq!(run(&["forget", &puppy.to_string()])["forgotten"], 1);
    let hits = run(&["recall", "--user", "alice", "puppy Biscuit"]);
    assert!(hits.as_array().unwrap().iter().all(|h| h["id"] != puppy));
    assert_eq!(run(&["forget", "--user", "alice"])["forgotten"], 1);
    assert_eq!(run(&["stats"])["memories"], 1);

    // Without --json the same commands print for people.
    let out = cli(tmp.path(), &["--store", s, "--embedder", "hashing", "recall", "--user", "bob", "puppy"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Bob's own puppy is called Rex"));
}

#[test]
fn max_index_memory_mb_reaches_the_store_of_mcp_and_serve() {
    // `mcp` and `serve` (the long-running commands) open their store with it: 0 is refused by
    // the store's configuration check, with its code (here through `mcp` on stdio).
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("store");
    let s = s.to_str().unwrap();
    let args = |mb: &'static str| -> Vec<String> {
        ["--store", s, "--embedder", "hashing", "--json", "--max-index-memory-mb", mb, "mcp", "--user", "ann"]
            .map(str::to_owned)
            .to_vec()
    };
    let refs = |v: &[String]| v.iter().map(String::as_str).collect::<Vec<_>>().join("\u{1}");
    let zero = args("0");
    let zero: Vec<&str> = zero.iter().map(String::as_str).collect();
    assert_eq!(error_code(tmp.path(), &zero).as_deref(), Some("INVALID_CONFIG"));
    // With a valid budget the store opens and MCP waits for its client's `initialize`
    // (none comes: stdin is empty).
    let one = args("1");
    let out = cli(tmp.path(), &one.iter().map(String::as_str).collect::<Vec<_>>());
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains("initialize") && !printed.contains("INVALID_CONFIG"),
        "{}: {printed}",
        refs(&one)
    );
    // And from the environment.
    let out = Command::new(env!("CARGO_BIN_EXE_memorable"))
        .args(["--store", s, "--embedder", "hashing", "--json", "mcp", "--user", "ann"])
        .env("MEMORABLE_MAX_INDEX_MEMORY_MB", "0")
        .env_remove("MEMORABLE_STORE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("INVALID_CONFIG"));
}

#[test]
fn default_store_is_memorable_data_in_the_working_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let id = json(tmp.path(), &["--embedder", "hashing", "--json", "remember", "--user", "u", "hello"])["id"]
        .as_u64()
        .unwrap();
    assert!(tmp.path().join("memorable-data").join("memorable.db").is_file());
    let mem = Memorable::open(tmp.path().join("memorable-data")).unwrap();
    assert_eq!(mem.get(id).unwrap().text, "hello");
}

#[test]
fn import_jsonl_in_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("memories.jsonl");
    let mut lines: Vec<String> = (0..2_500)
        .map(|i| {
            serde_json::json!({"user": "alice", "text": format!("imported note number {i}")}).to_string()
        })
        .collect();
    lines.insert(10, String::new()); // blank lines are skipped
    lines.push(
        serde_json::json!({"user": "alice", "text": "The zebra crossing on Elm Street", "speaker": "carol",
            "tags": ["walk"], "occurred_at": "2024-01-02T03:04:05Z", "metadata": {"src": "import"}})
        .to_string(),
    );
    std::fs::write(&file, lines.join("\n")).unwrap();
    let s = tmp.path().join("store");
    let s = s.to_str().unwrap();
    let base = ["--store", s, "--embedder", "hashing", "--json"];
    let out = json(tmp.path(), &[&base[..], &["import", file.to_str().unwrap(), "--batch", "1000"]].concat());
    assert_eq!(out["imported"], 2_501);
    assert_eq!(json(tmp.path(), &[&base[..], &["stats"]].concat())["memories"], 2_501);
    let hits =
        json(tmp.path(), &[&base[..], &["recall", "--user", "alice", "--limit", "1", "zebra Elm"]].concat());
    assert_eq!(hits[0]["text"], "The zebra crossing on Elm Street");
    assert_eq!((&hits[0]["speaker"], &hits[0]["metadata"]["src"]), (&"carol".into(), &"import".into()));
    assert_eq!(hits[0]["occurred_at"], "2024-01-02T03:04:05Z");

    // A bad memory stops the import with its code; the line is named.
    let bad = tmp.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"user\": \"alice\", \"text\": \"fine\"}\n{\"user\": \"alice\", \"text\": \"  \"}\n",
    )
    .unwrap();
    assert_eq!(
        error_code(tmp.path(), &[&base[..], &["import", bad.to_str().unwrap()]].concat()).as_deref(),
        Some("EMPTY_TEXT")
    );
    std::fs::write(&bad, "not json\n").unwrap();
    let out = cli(tmp.path(), &[&base[..], &["import", bad.to_str().unwrap()]].concat());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("line 1"));
    assert_eq!(
        json(tmp.path(), &[&base[..], &["stats"]].concat())["memories"],
        2_501,
        "nothing half-imported"
    );
}

#[test]
fn errors_carry_their_code() {
    let tmp = tempfile::tempdir().unwrap();
    let s = tmp.path().join("store");
    let s = s.to_str().unwrap();
    let base = ["--store", s, "--embedder", "hashing", "--json"];
    let code = |args: &[&str]| error_code(tmp.path(), &[&base[..], args].concat());
    assert_eq!(code(&["remember", "--user", "alice", "   "]).as_deref(), Some("EMPTY_TEXT"));
    assert_eq!(code(&["remember", "--user", "", "text"]).as_deref(), Some("MISSING_USER"));
    assert_eq!(
        code(&["remember", "--user", "a", "--metadata", "[1]", "text"]).as_deref(),
        Some("INVALID_METADATA")
    );
    assert_eq!(code(&["get", "4242"]).as_deref(), Some("NOT_FOUND"));
    assert_eq!(code(&["forget", "4242"]).as_deref(), Some("NOT_FOUND"));
    assert_eq!(code(&["recall", "--user", "a", "--limit", "0", "q"]).as_deref(), Some("INVALID_INPUT"));
    // A malformed time is the CLI's own error (no core code), still reported as JSON.
    assert_eq!(code(&["remember", "--user", "a", "--at", "yesterday", "text"]), None);
    assert_eq!(json(tmp.path(), &[&base[..], &["stats"]].concat())["memories"], 0, "nothing was written");
}

#[test]
fn a_store_open_in_another_process_is_locked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let mut config = memorable::Config::default();
    config.embedder = "hashing".into();
    let mem = Memorable::builder(&dir).config(config).open().unwrap();
    let id = mem.remember(NewMemory::new("alice", "held by the test process")).unwrap();
    let s = dir.to_str().unwrap();
    assert_eq!(error_code(tmp.path(), &["--store", s, "--json", "stats"]).as_deref(), Some("LOCKED"));
    assert_eq!(
        error_code(tmp.path(), &["--store", s, "--json", "remember", "--user", "alice", "x"]).as_deref(),
        Some("LOCKED")
    );
    // The refused process changed nothing; once closed here, the CLI opens it.
    assert_eq!(mem.recall(&Recall::new("alice", "held").limit(10)).unwrap().len(), 1);
    mem.close().unwrap();
    assert_eq!(
        json(tmp.path(), &["--store", s, "--json", "get", &id.to_string()])["text"],
        "held by the test process"
    );
}

#[test]
fn demo_runs_on_a_fresh_machine() {
    // What a newcomer runs first: the default embedder (MiniLM when cached, else the
    // hashing fallback), a temporary store, four questions answered.
    let tmp = tempfile::tempdir().unwrap();
    let out = json(tmp.path(), &["demo", "--json"]);
    assert!(out["embedder"]["model_id"].as_str().is_some_and(|m| !m.is_empty()));
    let queries = out["queries"].as_array().unwrap();
    assert_eq!(queries.len(), 4);
    for q in queries {
        let hits = q["hits"].as_array().unwrap();
        assert!(!hits.is_empty() && hits.len() <= 3, "{q}");
        assert!(hits.iter().all(|h| h["id"].is_u64() && h["text"].is_string() && h["score"].is_f64()));
    }
    assert!(!tmp.path().join("memorable-data").exists(), "the demo leaves no store behind");
    let text = cli(tmp.path(), &["--embedder", "hashing", "demo"]);
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("10 turns remembered") && text.contains("fallback"), "{text}");
}

/// `generate` on the real SmolLM2 GGUF (scripts/fetch-model.sh smollm2; fails without it):
/// greedy raw completion as llama.cpp gives it, the `--json` object's shape, streaming.
#[test]
fn generate_with_smollm2_prints_the_generation() {
    let tmp = tempfile::tempdir().unwrap();
    let args = ["generate", "--model", "smollm2", "--raw", "--temperature", "0", "--max-tokens", "8"];
    let g = json(tmp.path(), &[&args[..], &["--json", "1, 2, 3,"]].concat());
    assert!(g["text"].as_str().unwrap().starts_with(" 4, 5, 6"), "{g}");
    assert_eq!(g["tokens"].as_array().unwrap().len(), 8);
    assert_eq!((g["completion_tokens"].as_u64(), g["finish_reason"].as_str()), (Some(8), Some("length")));
    assert!(g["prompt_tokens"].as_u64().unwrap() > 0);
    assert_eq!(g["model"], "smollm2");
    // Streamed, the text on stdout is the same answer.
    let out = cli(tmp.path(), &[&args[..], &["--stream", "1, 2, 3,"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), g["text"].as_str().unwrap().trim_end());
    assert_eq!(
        error_code(tmp.path(), &["--json", "generate", "--model", "none", "hi"]).as_deref(),
        Some("NO_GENERATOR")
    );
}

/// `consolidate --json` writes linked summaries and facts (extractively without a generator),
/// and `get --json` shows their kind and derived_from.
#[test]
fn consolidate_writes_linked_memories() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let s = store.to_str().unwrap();
    let base = ["--store", s, "--embedder", "hashing", "--generator", "none", "--json"];
    let run = |args: &[&str]| json(tmp.path(), &[&base[..], args].concat());
    let mut sources = Vec::new();
    for (who, text) in [
        ("Caroline", "I adopted a beagle called Max last Saturday."),
        ("Melanie", "I went hiking in Yosemite with my sister."),
        ("Caroline", "Max loves the park near my flat in Lisbon."),
    ] {
        sources.push(
            run(&["remember", "--user", "u", "--session", "s1", "--speaker", who, text])["id"]
                .as_u64()
                .unwrap(),
        );
    }
    let report = run(&["consolidate", "--user", "u", "--session", "s1"]);
    assert_eq!(report["path"], "extractive", "{report}");
    let summaries = report["summaries"].as_array().unwrap();
    assert_eq!(summaries.len(), 1, "{report}");
    assert!(!report["facts"].as_array().unwrap().is_empty(), "{report}");
    let id = summaries[0]["id"].as_u64().unwrap().to_string();
    let got = run(&["get", &id]);
    assert_eq!(got["kind"], "summary", "{got}");
    let from: Vec<u64> =
        got["derived_from"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert!(!from.is_empty() && from.iter().all(|f| sources.contains(f)), "{got}");
}

/// The test cluster's admin URL (`scripts/test.sh` starts it: MEMORABLE_TEST_PG_URL); `None`,
/// said, when MEMORABLE_SKIP_PG=1 skips the PostgreSQL tests; a failure without either.
fn test_cluster() -> Option<String> {
    let Ok(admin) = std::env::var("MEMORABLE_TEST_PG_URL") else {
        assert_eq!(
            std::env::var("MEMORABLE_SKIP_PG").as_deref(),
            Ok("1"),
            "MEMORABLE_TEST_PG_URL is not set (scripts/pg-cluster.sh start)"
        );
        eprintln!("MEMORABLE_SKIP_PG=1: skipped");
        return None;
    };
    Some(admin)
}

fn psql(admin: &str, sql: &str) {
    let ok = Command::new("psql").args([admin, "-qc", sql]).status().unwrap().success();
    assert!(ok, "psql {sql}");
}

/// `--store postgres://...`: the same commands on a PostgreSQL database (the cluster
/// `scripts/test.sh` starts, MEMORABLE_TEST_PG_URL; MEMORABLE_SKIP_PG=1 skips, saying so).
#[test]
fn a_postgres_url_is_a_store() {
    let Some(admin) = test_cluster() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let name = format!("cli_{}", std::process::id());
    let psql = |sql: &str| psql(&admin, sql);
    psql(&format!("CREATE DATABASE {name}"));
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let base = ["--store", url.as_str(), "--embedder", "hashing", "--json"];
    let run = |args: &[&str]| json(tmp.path(), &[&base[..], args].concat());
    let id = run(&["remember", "--user", "alice", "I adopted a beagle puppy named Biscuit"])["id"]
        .as_u64()
        .unwrap();
    run(&["remember", "--user", "bob", "Bob's own puppy is called Rex"]);
    let hits = run(&["recall", "--user", "alice", "--limit", "5", "puppy"]);
    assert_eq!(hits.as_array().unwrap().len(), 1, "{hits}");
    assert_eq!(hits[0]["id"].as_u64(), Some(id));
    // --client-key: the same command twice stores one memory.
    let keyed = |text: &str| {
        run(&["remember", "--user", "alice", "--client-key", "k-1", text])["id"].as_u64().unwrap()
    };
    assert_eq!(keyed("the bill is paid"), keyed("the bill is paid"));
    run(&["forget", &id.to_string()]);
    let hits = run(&["recall", "--user", "alice", "--limit", "5", "puppy"]);
    assert!(hits.as_array().unwrap().iter().all(|h| h["id"].as_u64() != Some(id)), "{hits}");
    assert!(!tmp.path().join("memorable-data").exists(), "no directory store was made");

    // backup, verify and restore: the database backs up into a file, which restores into a
    // directory and into another (empty) database.
    let file = tmp.path().join("pg.mrbak");
    assert_eq!(run(&["backup", file.to_str().unwrap()])["memories"], 2);
    assert_eq!(json(tmp.path(), &["verify", &url, "--json"])["ok"], true);
    let dir = tmp.path().join("restored");
    json(tmp.path(), &["restore", file.to_str().unwrap(), dir.to_str().unwrap(), "--json"]);
    psql(&format!("CREATE DATABASE {name}_r"));
    let other = format!("{url}_r");
    let r = json(tmp.path(), &["restore", file.to_str().unwrap(), &other, "--json"]);
    assert_eq!(r["memories"], 2, "{r}");
    for store in [dir.to_str().unwrap(), other.as_str()] {
        let args = ["--store", store, "--embedder", "hashing", "--json", "recall", "--user", "bob", "puppy"];
        let hits = json(tmp.path(), &args);
        assert_eq!(hits.as_array().unwrap().len(), 1, "{store}: {hits}");
    }
    psql(&format!("DROP DATABASE {name}_r WITH (FORCE)"));

    // A wrong password: a coded error that never shows the password.
    let (head, tail) = url.split_once('@').unwrap();
    let wrong = format!("{}:not-the-password-42@{tail}", head.rsplit_once(':').unwrap().0);
    let out = cli(tmp.path(), &["--store", &wrong, "--embedder", "hashing", "--json", "stats"]);
    assert!(!out.status.success());
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(printed.contains("STORE_UNAVAILABLE"), "{printed}");
    assert!(!printed.contains("not-the-password-42"), "{printed}");
    psql(&format!("DROP DATABASE {name} WITH (FORCE)"));
}

/// Two processes on one PostgreSQL database: what the CLI (another process) remembers, this
/// process's handle — its index already loaded — recalls within the sync bound; what the CLI
/// forgets, it stops returning. And the password may come from PGPASSWORD or a .pgpass file.
#[test]
fn two_processes_on_one_postgres_database() {
    let Some(admin) = test_cluster() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let name = format!("cli2_{}", std::process::id());
    let psql = |sql: &str| psql(&admin, sql);
    psql(&format!("CREATE DATABASE {name}"));
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    // postgres://user:password@host:port/db
    let (userinfo, hostpart) = url.trim_start_matches("postgres://").split_once('@').unwrap();
    let (user, password) = userinfo.split_once(':').unwrap();
    let (hostport, _) = hostpart.split_once('/').unwrap();
    let (host, port) = hostport.split_once(':').unwrap();
    let bare = format!("postgres://{user}@{hostport}/{name}");
    let cli_env = |store: &str, env: &[(&str, &str)], args: &[&str]| -> Value {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_memorable"));
        cmd.current_dir(tmp.path()).args(["--store", store, "--embedder", "hashing", "--json"]).args(args);
        cmd.env_remove("PGPASSWORD").env_remove("PGPASSFILE").env("HOME", tmp.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.stdin(Stdio::null()).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stdout));
        serde_json::from_slice(&out.stdout).unwrap()
    };

    let mut config = memorable::Config::default();
    config.embedder = "hashing".into();
    let mem = Memorable::builder(&url).config(config).open().unwrap();
    let first = mem.remember(NewMemory::new("dana", "the heron fishes at the pond")).unwrap();
    let recalled = |mem: &Memorable| -> Vec<u64> {
        mem.recall(&Recall::new("dana", "heron").limit(10)).unwrap().iter().map(|h| h.memory.id).collect()
    };
    assert_eq!(recalled(&mem), vec![first], "this process's index for dana is loaded");
    let within = |f: &dyn Fn() -> bool| {
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_secs(5) {
            if f() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        false
    };

    // The other process, with its password from PGPASSWORD.
    let theirs = cli_env(
        &bare,
        &[("PGPASSWORD", password)],
        &["remember", "--user", "dana", "a heron nests by the pond"],
    )["id"]
        .as_u64()
        .unwrap();
    assert!(within(&|| recalled(&mem).contains(&theirs)), "the other process's memory never reached recall");
    // And with it from a .pgpass file (libpq's format, mode 0600).
    let pgpass = tmp.path().join("pgpass");
    std::fs::write(&pgpass, format!("# test\n{host}:{port}:{name}:{user}:{password}\n")).unwrap();
    let mode = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600);
    std::fs::set_permissions(&pgpass, mode).unwrap();
    cli_env(&bare, &[("PGPASSFILE", pgpass.to_str().unwrap())], &["forget", &first.to_string()]);
    assert!(
        within(&|| !recalled(&mem).contains(&first)),
        "a memory forgotten by the other process kept coming back"
    );
    assert_eq!(recalled(&mem), vec![theirs]);
    mem.close().unwrap();
    psql(&format!("DROP DATABASE {name} WITH (FORCE)"));
}

/// `minilm-int8` from the command line: `embed --model`, a store made with `--embedder`
/// that keeps its model id (the f32 model is refused on it), and `models list`.
#[test]
fn the_int8_model_embeds_and_keeps_its_stores() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cli(tmp.path(), &["embed", "--model", "minilm-int8", "my dog learned to sit"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    let v: Vec<f64> = line["embedding"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
    assert_eq!(v.len(), 384);
    assert!((v.iter().map(|x| x * x).sum::<f64>().sqrt() - 1.0).abs() < 1e-3);
    let s = "store";
    let base = ["--store", s, "--embedder", "minilm-int8", "--json"];
    let remembered = json(
        tmp.path(),
        &[&base[..], &["remember", "--user", "ann", "Biscuit the puppy learned to sit"]].concat(),
    );
    assert!(remembered["id"].is_u64(), "{remembered}");
    let stats = json(tmp.path(), &[&base[..], &["stats"]].concat());
    assert_eq!(stats["embedder"]["model_id"], "sentence-transformers/all-MiniLM-L6-v2+int8");
    let code = error_code(tmp.path(), &["--store", s, "--embedder", "minilm", "--json", "stats"]);
    assert_eq!(code.as_deref(), Some("MODEL_MISMATCH"));
    let models = json(tmp.path(), &["--json", "models", "list"]);
    assert!(models.to_string().contains("minilm-int8"), "{models}");
}
