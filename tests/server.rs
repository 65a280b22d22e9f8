//! `memorable serve` over real HTTP on loopback: every route, isolation between keys, bad
//! input, rate limits, settings reload on SIGHUP, graceful shutdown on SIGTERM, and the
//! OpenAPI document against the routes that exist. (MCP: tests/mcp/test_mcp.py.)

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

struct Server {
    child: Child,
    base: String,
    settings: PathBuf,
    store: PathBuf,
    _dir: tempfile::TempDir,
}

fn digest(key: &str) -> String {
    Sha256::digest(key.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn keys_toml(extra: &str) -> String {
    format!(
        "[server]\n{extra}\n\
         [[server.keys]]\nname = \"alice-app\"\nsha256 = \"{}\"\nusers = [\"alice\"]\n\
         [[server.keys]]\nname = \"bob-app\"\nsha256 = \"{}\"\nusers = [\"bob\"]\n\
         [[server.keys]]\nname = \"tenants\"\nsha256 = \"{}\"\nuser_prefix = \"t/\"\n",
        digest("alice-key"),
        digest("bob-key"),
        digest("tenant-key")
    )
}

impl Server {
    fn start(settings: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let path = dir.path().join("server.toml");
        std::fs::write(&path, settings).unwrap();
        Server::start_on(dir, store, path)
    }

    fn start_on(dir: tempfile::TempDir, store: PathBuf, settings: PathBuf) -> Server {
        let log = std::fs::File::create(dir.path().join("server.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_memorable"))
            .args(["--embedder", "hashing", "--store"])
            .arg(&store)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&settings)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        Server::attach(child, settings, store, dir)
    }

    /// A `serve` already spawned with its stdout piped: wait for its `listening on` line.
    fn attach(mut child: Child, settings: PathBuf, store: PathBuf, dir: tempfile::TempDir) -> Server {
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let base = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line:?}")).to_owned();
        Server { child, base, settings, store, _dir: dir }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("server.log")).unwrap()
    }

    fn signal(&self, sig: &str) {
        assert!(Command::new("kill").args([sig, &self.child.id().to_string()]).status().unwrap().success());
    }

    fn stop(&mut self) -> std::process::ExitStatus {
        self.signal("-TERM");
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Answer {
    status: u16,
    body: Value,
    retry_after: Option<String>,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn call(s: &Server, method: &str, path: &str, key: Option<&str>, body: Option<Vec<u8>>) -> Answer {
    let mut req = ureq::http::Request::builder().method(method).uri(format!("{}{path}", s.base));
    if let Some(k) = key {
        req = req.header("Authorization", format!("Bearer {k}"));
    }
    req = req.header("Content-Type", "application/json");
    let mut res = agent().run(req.body(body.unwrap_or_default()).unwrap()).unwrap();
    let retry_after = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let text = res.body_mut().read_to_string().unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer { status: res.status().as_u16(), body, retry_after }
}

fn alice(s: &Server, method: &str, path: &str, body: Option<Value>) -> Answer {
    call(s, method, path, Some("alice-key"), body.map(|b| b.to_string().into_bytes()))
}

fn error_name(a: &Answer) -> &str {
    a.body["error"]["name"].as_str().unwrap_or_else(|| panic!("not an error body: {} {}", a.status, a.body))
}

fn hume_message() -> String {
    let lines = include_str!("fixtures/hume/recorded.jsonl");
    lines.lines().find(|l| l.contains("\"measurement.result\"")).unwrap().to_owned()
}

#[test]
fn every_route_round_trips() {
    let mut s = Server::start(&keys_toml(""));
    let a = alice(
        &s,
        "POST",
        "/v1/memories",
        Some(json!({"user": "alice", "text": "My sister Ana lives in Lisbon",
        "speaker": "alice", "session": "s1", "tags": ["family"], "occurred_at": "2024-05-01T09:00:00Z",
        "place": "home", "metadata": {"source": "chat"}, "importance": 0.8, "kind": "message"})),
    );
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.body["id"].as_u64().unwrap();
    let a = alice(
        &s,
        "POST",
        "/v1/memories:batch",
        Some(json!({"items": [
        {"user": "alice", "text": "I am allergic to peanuts"}, {"user": "alice", "text": "I play the cello"}]})),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let ids: Vec<u64> = serde_json::from_value(a.body["ids"].clone()).unwrap();
    assert_eq!(ids.len(), 2);

    let a = alice(
        &s,
        "POST",
        "/v1/recall",
        Some(json!({"user": "alice", "query": "where does my sister live", "limit": 2})),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let hits = a.body["hits"].as_array().unwrap();
    assert_eq!(hits[0]["id"], id);
    assert_eq!(hits[0]["text"], "My sister Ana lives in Lisbon");
    assert!(hits[0]["score"].as_f64().unwrap() > 0.0 && hits[0]["breakdown"].is_object());
    let a = alice(
        &s,
        "POST",
        "/v1/recall",
        Some(json!({"user": "alice", "query": "sister", "tags": ["family"],
        "since": "2024-01-01T00:00:00Z", "until": "2024-12-31T00:00:00Z", "mode": "keyword"})),
    );
    assert_eq!(a.body["hits"].as_array().unwrap().len(), 1, "{}", a.body);

    let a = alice(&s, "GET", &format!("/v1/memories/{id}?user=alice"), None);
    assert_eq!(
        (a.status, a.body["place"].as_str(), a.body["speaker"].as_str()),
        (200, Some("home"), Some("alice"))
    );
    let a = alice(
        &s,
        "PATCH",
        &format!("/v1/memories/{id}?user=alice"),
        Some(json!({"text": "My sister Ana lives in Porto"})),
    );
    assert_eq!(
        (a.status, a.body["text"].as_str()),
        (200, Some("My sister Ana lives in Porto")),
        "{}",
        a.body
    );
    let a = alice(&s, "GET", &format!("/v1/memories/{id}/history?user=alice"), None);
    assert_eq!(a.body["versions"].as_array().map(Vec::len), Some(2), "{}", a.body);
    let a = alice(&s, "GET", "/v1/users/alice/recent?limit=2", None);
    assert_eq!(a.body["memories"].as_array().map(Vec::len), Some(2), "{}", a.body);

    let a = alice(
        &s,
        "POST",
        "/v1/contexts/s1/readings?user=alice",
        Some(json!({"source": "face", "scores": {"joy": 0.8}})),
    );
    assert_eq!(
        (a.status, a.body["dominant"].as_str(), a.body["context"].as_str()),
        (200, Some("joy"), Some("s1")),
        "{}",
        a.body
    );
    let a = alice(&s, "GET", "/v1/contexts/s1/state?user=alice", None);
    assert_eq!((a.status, a.body["dominant"].as_str()), (200, Some("joy")));
    // The key's only user is the default, and a body may repeat its context (as `observe`
    // takes it): the same context of alice's.
    let a = alice(
        &s,
        "POST",
        "/v1/contexts/s1/readings",
        Some(json!({"context": "s1", "source": "voice", "scores": {"joy": 0.6}})),
    );
    assert_eq!((a.status, a.body["readings"].as_u64()), (200, Some(2)), "{}", a.body);
    let a = alice(&s, "POST", "/v1/recall", Some(json!({"query": "sister"})));
    assert_eq!(a.body["hits"][0]["id"], id, "{}", a.body);
    let a = alice(&s, "GET", "/v1/contexts/s1/history?user=alice&limit=10", None);
    assert!(!a.body["states"].as_array().unwrap().is_empty(), "{}", a.body);
    let a = call(
        &s,
        "POST",
        "/v1/contexts/call/hume?user=alice",
        Some("alice-key"),
        Some(hume_message().into_bytes()),
    );
    assert_eq!((a.status, a.body["context"].as_str()), (200, Some("call")), "{}", a.body);
    assert!(a.body["readings"].as_u64().unwrap() >= 1, "{}", a.body);
    // The session's state is attached to what is remembered in it.
    let a = alice(
        &s,
        "POST",
        "/v1/memories",
        Some(json!({"user": "alice", "text": "We talked about the trip", "session": "s1"})),
    );
    let later = a.body["id"].as_u64().unwrap();
    let a = alice(&s, "GET", &format!("/v1/memories/{later}?user=alice"), None);
    assert!(a.body["emotion"]["scores"]["joy"].as_f64().unwrap() > 0.0, "{}", a.body);

    let a = alice(&s, "DELETE", &format!("/v1/memories/{id}?user=alice"), None);
    assert_eq!((a.status, a.body["forgotten"].as_u64()), (200, Some(1)));
    assert_eq!(alice(&s, "GET", &format!("/v1/memories/{id}?user=alice"), None).status, 404);
    let a = alice(&s, "DELETE", "/v1/users/alice", None);
    assert_eq!((a.status, a.body["forgotten"].as_u64()), (200, Some(3)), "{}", a.body);
    // Everything of the user: her emotion contexts too.
    assert_eq!(alice(&s, "GET", "/v1/contexts/s1/state", None).status, 404);
    assert_eq!(alice(&s, "GET", "/v1/contexts/call/history", None).status, 404);

    assert_eq!(call(&s, "GET", "/healthz", None, None).status, 200);
    // "degraded" (a full disk, little free memory on a CI host) still answers 200.
    let a = call(&s, "GET", "/readyz", None, None);
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(["ok", "degraded"].contains(&a.body["status"].as_str().unwrap()), "{}", a.body);
    let a = call(&s, "GET", "/metrics", None, None);
    let text = a.body.as_str().unwrap();
    assert!(text.contains("memorable_"), "{text}");
    // Requests counted by key name (never the key), method, route template and status.
    assert!(
        text.contains(r#"memorable_http_requests_total{key="alice-app",method="POST",route="/v1/recall",status="200"} 3"#),
        "{text}"
    );
    assert!(!text.contains("alice-key"));
    assert!(s.stop().success());
}

#[test]
fn keys_see_only_their_users_on_every_route() {
    let s = Server::start(&keys_toml(""));
    let id = alice(
        &s,
        "POST",
        "/v1/memories",
        Some(json!({"user": "alice", "text": "alice's secret", "session": "s"})),
    )
    .body["id"]
        .as_u64()
        .unwrap();
    alice(
        &s,
        "POST",
        "/v1/contexts/s/readings?user=alice",
        Some(json!({"source": "face", "scores": {"fear": 0.9}})),
    );
    let bob = |method: &str, path: &str, body: Option<Value>| {
        call(&s, method, path, Some("bob-key"), body.map(|b| b.to_string().into_bytes()))
    };
    let remember = json!({"user": "alice", "text": "planted"});
    let reading = json!({"source": "face", "scores": {"joy": 1.0}});
    // Acting for alice with bob's key: 403 on every route.
    for (method, path, body) in [
        ("POST", "/v1/memories".to_owned(), Some(remember.clone())),
        (
            "POST",
            "/v1/memories:batch".to_owned(),
            Some(json!({"items": [{"user": "bob", "text": "x"}, remember]})),
        ),
        ("POST", "/v1/recall".to_owned(), Some(json!({"user": "alice", "query": "secret"}))),
        ("GET", format!("/v1/memories/{id}?user=alice"), None),
        ("PATCH", format!("/v1/memories/{id}?user=alice"), Some(json!({"text": "changed"}))),
        ("DELETE", format!("/v1/memories/{id}?user=alice"), None),
        ("GET", format!("/v1/memories/{id}/history?user=alice"), None),
        ("GET", "/v1/users/alice/recent".to_owned(), None),
        ("DELETE", "/v1/users/alice".to_owned(), None),
        ("POST", "/v1/contexts/s/readings?user=alice".to_owned(), Some(reading.clone())),
        ("GET", "/v1/contexts/s/state?user=alice".to_owned(), None),
        ("GET", "/v1/contexts/s/history?user=alice".to_owned(), None),
        (
            "POST",
            "/v1/contexts/s/hume?user=alice".to_owned(),
            Some(serde_json::from_str(&hume_message()).unwrap()),
        ),
    ] {
        let a = bob(method, &path, body);
        assert_eq!((a.status, error_name(&a)), (403, "FORBIDDEN"), "{method} {path}");
    }
    // As bob, alice's memory id and context answer like missing ones (no existence oracle).
    let missing = bob("GET", "/v1/memories/999999?user=bob", None);
    for (method, path, body) in [
        ("GET", format!("/v1/memories/{id}?user=bob"), None),
        ("PATCH", format!("/v1/memories/{id}?user=bob"), Some(json!({"text": "changed"}))),
        ("DELETE", format!("/v1/memories/{id}?user=bob"), None),
        ("GET", format!("/v1/memories/{id}/history?user=bob"), None),
    ] {
        let a = bob(method, &path, body);
        assert_eq!((a.status, &a.body), (404, &missing.body), "{method} {path}");
    }
    for path in ["/v1/contexts/s/state?user=bob", "/v1/contexts/s/history?user=bob"] {
        assert_eq!(bob("GET", path, None).status, 404, "{path}");
    }
    let a = bob("POST", "/v1/recall", Some(json!({"user": "bob", "query": "alice's secret"})));
    assert_eq!(a.body["hits"], json!([]));
    // bob's reading in his own "s" is his: alice's state is unchanged.
    bob("POST", "/v1/contexts/s/readings?user=bob", Some(reading));
    let a = alice(&s, "GET", "/v1/contexts/s/state?user=alice", None);
    assert_eq!(a.body["dominant"], "fear", "{}", a.body);
    // Nothing above changed alice's memory.
    let a = alice(&s, "GET", &format!("/v1/memories/{id}?user=alice"), None);
    assert_eq!(a.body["text"], "alice's secret");
    assert_eq!(
        alice(&s, "GET", "/v1/users/alice/recent", None).body["memories"].as_array().unwrap().len(),
        1
    );
}

#[test]
fn bad_input_gets_the_documented_error_and_changes_nothing() {
    let s = Server::start(&keys_toml("max_body_bytes = 2000"));
    alice(&s, "POST", "/v1/memories", Some(json!({"user": "alice", "text": "the one memory"})));
    let raw = |body: &[u8]| call(&s, "POST", "/v1/memories", Some("alice-key"), Some(body.to_vec()));
    for (body, status, name) in [
        (&b"{not json"[..], 400, "INVALID_INPUT"),
        (br#"{"user": "alice", "text": 42}"#, 400, "INVALID_INPUT"),
        (br#"{"user": "alice", "text": "x", "colour": "red"}"#, 400, "INVALID_INPUT"),
        (b"{\"user\": \"alice\", \"text\": \"\xff\xfe\"}", 400, "INVALID_UTF8"),
        (br#"{"user": "alice", "text": "   "}"#, 400, "EMPTY_TEXT"),
        (br#"{"user": "alice", "text": "x", "importance": 7}"#, 400, "INVALID_INPUT"),
        (br#"{"user": "alice", "text": "x", "occurred_at": "yesterday"}"#, 400, "INVALID_INPUT"),
        (br#"{"user": " ", "text": "x"}"#, 400, "MISSING_USER"),
    ] {
        let a = raw(body);
        assert_eq!((a.status, error_name(&a)), (status, name), "{}", String::from_utf8_lossy(body));
        assert!(a.body["error"]["code"].is_u64() && a.body["error"]["message"].is_string());
    }
    let big = json!({"user": "alice", "text": "x".repeat(5000)}).to_string();
    let a = raw(big.as_bytes());
    assert_eq!((a.status, error_name(&a)), (413, "PAYLOAD_TOO_LARGE"));
    let a = alice(
        &s,
        "POST",
        "/v1/memories:batch",
        Some(json!({"items": [{"user": "alice", "text": "fine"}, {"user": "alice", "text": ""}]})),
    );
    assert_eq!((a.status, error_name(&a)), (400, "EMPTY_TEXT"), "a batch is all or nothing");
    let a = alice(&s, "GET", "/v1/memories/abc?user=alice", None);
    assert_eq!((a.status, error_name(&a)), (400, "INVALID_INPUT"));
    // Without `user`, a key of one user acts for it; a key of several must name one.
    let a = alice(&s, "GET", "/v1/memories/1", None);
    assert_eq!((a.status, a.body["text"].as_str()), (200, Some("the one memory")));
    let a = call(&s, "GET", "/v1/memories/1", Some("tenant-key"), None);
    assert_eq!((a.status, error_name(&a)), (400, "MISSING_USER"));
    let a = call(&s, "POST", "/v1/memories", Some("tenant-key"), Some(br#"{"text": "whose?"}"#.to_vec()));
    assert_eq!((a.status, error_name(&a)), (400, "MISSING_USER"));
    let a = alice(
        &s,
        "POST",
        "/v1/contexts/c/readings",
        Some(json!({"context": "other", "source": "face", "scores": {"joy": 0.5}})),
    );
    assert_eq!((a.status, error_name(&a)), (400, "INVALID_INPUT"), "the body's context must be the path's");
    let a = alice(
        &s,
        "POST",
        "/v1/contexts/c/readings?user=alice",
        Some(json!({"source": "face", "scores": {"joy": 3.0}})),
    );
    assert_eq!((a.status, error_name(&a)), (400, "INVALID_INPUT"));
    let lower = agent()
        .run(
            ureq::http::Request::builder()
                .uri(format!("{}/v1/users/alice/recent", s.base))
                .header("Authorization", "bearer alice-key")
                .body(Vec::new())
                .unwrap(),
        )
        .unwrap();
    assert_eq!(lower.status().as_u16(), 200, "the scheme is case-insensitive");
    for key in [None, Some("wrong-key"), Some("ALICE-KEY")] {
        let a = call(&s, "POST", "/v1/recall", key, Some(br#"{"user":"alice","query":"x"}"#.to_vec()));
        assert_eq!((a.status, error_name(&a)), (401, "UNAUTHORIZED"));
    }
    let a = call(&s, "GET", "/v1/nowhere", Some("alice-key"), None);
    assert_eq!((a.status, error_name(&a)), (404, "NOT_FOUND"));
    assert_eq!(call(&s, "PUT", "/v1/recall", Some("alice-key"), None).status, 405);
    let a = alice(&s, "GET", "/v1/users/alice/recent", None);
    let texts: Vec<&str> =
        a.body["memories"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["the one memory"]);
}

#[test]
fn a_burst_over_the_rate_limit_gets_429_with_retry_after() {
    // A bucket that refills far slower than any test runs: no token comes back meanwhile.
    let s = Server::start(&keys_toml("[server.rate_limit]\nper_second = 0.001\nburst = 3\n"));
    let statuses: Vec<u16> =
        (0..5).map(|_| alice(&s, "GET", "/v1/users/alice/recent", None).status).collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    let a = alice(&s, "GET", "/v1/users/alice/recent", None);
    assert_eq!(error_name(&a), "RATE_LIMITED");
    let wait: u64 = a.retry_after.expect("Retry-After").parse().unwrap();
    assert!((900..=1000).contains(&wait), "one token per 1,000 s: {wait}");
    // Buckets are per key.
    assert_eq!(call(&s, "GET", "/v1/users/bob/recent", Some("bob-key"), None).status, 200);
}

#[test]
fn access_logs_carry_no_keys_texts_or_user_ids_and_recall_weights_reload() {
    let mut s = Server::start(&keys_toml("log_level = \"warn,memorable::access=info\""));
    alice(&s, "POST", "/v1/memories", Some(json!({"user": "alice", "text": "my bank PIN is 4921"})));
    let recency = || {
        let a = alice(&s, "POST", "/v1/recall", Some(json!({"user": "alice", "query": "bank PIN"})));
        a.body["hits"][0]["breakdown"]["recency"].as_f64().unwrap()
    };
    assert!((recency() - 0.1).abs() < 0.01, "the core's default recency weight");
    call(&s, "GET", "/v1/users/alice/recent", Some("not-a-real-key-123"), None);
    // New default ranking weights from an edited file, no restart.
    std::fs::write(
        &s.settings,
        format!(
            "{}[recall.weights]\nrecency = 0.7\n",
            keys_toml("log_level = \"warn,memorable::access=info\"")
        ),
    )
    .unwrap();
    wait_for("the recall weights to reload", || (recency() - 0.7).abs() < 0.01);
    assert!(s.stop().success());
    let log = s.log();
    assert!(log.contains("memorable::access") && log.contains("/v1/recall"), "{log}");
    assert!(log.contains("alice-app") && log.contains("status=401"), "{log}");
    for secret in ["alice-key", "not-a-real-key-123", "4921", "bank PIN", "alice\""] {
        assert!(!log.contains(secret), "{secret:?} leaked into the log:\n{log}");
    }
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < Duration::from_secs(10), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn settings_reload_on_sighup_and_refuse_an_invalid_file() {
    let s = Server::start(&keys_toml(""));
    let recent_as_bob = || call(&s, "GET", "/v1/users/bob/recent", Some("bob-key"), None).status;
    assert_eq!(recent_as_bob(), 200);
    // An invalid file is refused: bob's key keeps working.
    std::fs::write(&s.settings, "[[server.keys]]\nname = \"broken\"\n").unwrap();
    s.signal("-HUP");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(recent_as_bob(), 200);
    let without_bob = format!(
        "[[server.keys]]\nname = \"alice-app\"\nsha256 = \"{}\"\nusers = [\"alice\"]\n",
        digest("alice-key")
    );
    // A file whose alert rule the store refuses is refused whole: bob's key stays.
    let bad_rule = "[alerts]\nrules = [{ name = \"slow\", metric = \"recall_p95_ms\" }]\n";
    std::fs::write(&s.settings, format!("{without_bob}{bad_rule}")).unwrap();
    s.signal("-HUP");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(recent_as_bob(), 200);
    // Revoking bob's key takes effect without a restart (with valid alert thresholds).
    let rule =
        "[alerts]\nrules = [{ name = \"slow\", metric = \"recall_p95_ms\", above = 50.0, for_ms = 1000 }]\n";
    std::fs::write(&s.settings, format!("{without_bob}{rule}")).unwrap();
    s.signal("-HUP");
    wait_for("bob's key to be revoked", || recent_as_bob() == 401);
    assert_eq!(alice(&s, "GET", "/v1/users/alice/recent", None).status, 200);
    // And a key added by editing the file works once the watcher sees the change (no signal).
    std::fs::write(&s.settings, keys_toml("")).unwrap();
    wait_for("bob's key to come back", || recent_as_bob() == 200);
}

#[test]
fn sigterm_lets_requests_in_flight_finish() {
    let mut s = Server::start(&keys_toml("max_body_bytes = 40000000\nrequest_timeout_ms = 600000"));
    let items: Vec<Value> = (0..30_000)
        .map(|i| json!({"user": "alice", "text": format!("memory number {i} about things")}))
        .collect();
    let body = json!({ "items": items }).to_string().into_bytes();
    let (base, store) = (s.base.clone(), s.store.clone());
    let in_flight = std::thread::spawn(move || {
        let req = ureq::http::Request::builder()
            .method("POST")
            .uri(format!("{base}/v1/memories:batch"))
            .header("Authorization", "Bearer alice-key")
            .body(body)
            .unwrap();
        let mut res = agent().run(req).unwrap();
        (res.status().as_u16(), res.body_mut().read_to_string().unwrap())
    });
    std::thread::sleep(Duration::from_millis(300));
    let status = s.stop();
    let (code, text) = in_flight.join().unwrap();
    assert_eq!(code, 200, "{text}");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["ids"].as_array().unwrap().len(), 30_000);
    assert!(status.success(), "{status:?}");
    assert_eq!(count_memories(&store), 30_000, "acknowledged = stored");
}

#[test]
fn overload_answers_503_at_once_instead_of_queueing() {
    let s = Server::start(&keys_toml(
        "max_body_bytes = 40000000\nmax_in_flight = 1\nqueue_timeout_ms = 1\nrequest_timeout_ms = 600000",
    ));
    let items: Vec<Value> =
        (0..30_000).map(|i| json!({"user": "alice", "text": format!("memory {i}")})).collect();
    let body = json!({ "items": items }).to_string().into_bytes();
    let base = s.base.clone();
    let slow = std::thread::spawn(move || {
        // Should a probe below take the slot first, the batch is refused and sent again.
        for _ in 0..100 {
            let req = ureq::http::Request::builder()
                .method("POST")
                .uri(format!("{base}/v1/memories:batch"))
                .header("Authorization", "Bearer alice-key")
                .body(body.clone())
                .unwrap();
            let status = agent().run(req).unwrap().status().as_u16();
            if status != 503 {
                return status;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        503
    });
    // While the batch holds the only slot, a request answers 503 at once (a queued one would
    // wait for the batch and get 200). Polled, so a slow host that starts the batch late
    // still shows it.
    let mut overloaded = None;
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(20));
        let a = alice(&s, "GET", "/v1/users/alice/recent", None);
        if a.status == 503 {
            overloaded = Some(a);
            break;
        }
        if slow.is_finished() {
            break;
        }
    }
    let a = overloaded.expect("no 503 while the batch ran");
    assert_eq!((error_name(&a), a.retry_after.as_deref()), ("OVERLOADED", Some("1")));
    assert_eq!(slow.join().unwrap(), 200);
    assert_eq!(alice(&s, "GET", "/v1/users/alice/recent", None).status, 200);
}

fn count_memories(store: &Path) -> u64 {
    let out = Command::new(env!("CARGO_BIN_EXE_memorable"))
        .args(["--embedder", "hashing", "--json", "--store"])
        .arg(store)
        .arg("stats")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout).unwrap()["memories"].as_u64().unwrap()
}

#[test]
fn the_openapi_document_lists_exactly_the_routes_that_exist() {
    let s = Server::start(&keys_toml(""));
    let doc = call(&s, "GET", "/v1/openapi.json", None, None).body;
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "patch", "delete", "put"] {
            if item.get(method).is_some() {
                documented.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    documented.sort();
    let mut expected = vec![
        "POST /v1/memories",
        "POST /v1/memories:batch",
        "POST /v1/recall",
        "GET /v1/memories/{id}",
        "PATCH /v1/memories/{id}",
        "DELETE /v1/memories/{id}",
        "GET /v1/memories/{id}/history",
        "GET /v1/users/{user}/recent",
        "DELETE /v1/users/{user}",
        "GET /v1/users",
        "GET /v1/memories/{id}/derived",
        "GET /v1/users/{user}/frame",
        "GET /v1/contexts",
        "GET /v1/contexts/{context}/timeline.svg",
        "GET /v1/alerts",
        "POST /v1/contexts/{context}/readings",
        "GET /v1/contexts/{context}/state",
        "GET /v1/contexts/{context}/history",
        "POST /v1/contexts/{context}/hume",
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
    ];
    expected.sort();
    assert_eq!(documented, expected);
    // Each documented route exists on the server: never the router's own 404 or 405.
    let no_route = call(&s, "GET", "/v1/no-such-route", None, None).body;
    for route in &documented {
        let (method, path) = route.split_once(' ').unwrap();
        let path = path.replace("{id}", "1").replace("{user}", "alice").replace("{context}", "c");
        let a = call(&s, method, &format!("{path}?user=alice"), Some("alice-key"), Some(b"{}".to_vec()));
        assert!(a.status != 405 && a.body != no_route, "{route}: {} {}", a.status, a.body);
    }
    // Every request body schema refuses unknown fields, as the server does.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in ["RememberRequest", "RecallRequest", "PatchRequest", "ReadingRequest"] {
        assert_eq!(schemas[name]["additionalProperties"], json!(false), "{name}");
    }
}

#[test]
fn inspector_routes_list_users_pages_contexts_and_draw_timelines() {
    let s = Server::start(&keys_toml(""));
    let tenant = |method: &str, path: &str, body: Option<Value>| {
        call(&s, method, path, Some("tenant-key"), body.map(|b| b.to_string().into_bytes()))
    };
    let items: Vec<Value> = (0..5)
        .map(|i| json!({"user": "t/ann", "text": format!("note {i}"), "session": if i < 3 { "s1" } else { "s2" },
            "occurred_at": format!("2026-11-0{}T10:00:00Z", i + 1), "tags": if i % 2 == 0 { vec!["even"] } else { vec![] }}))
        .collect();
    assert_eq!(tenant("POST", "/v1/memories:batch", Some(json!({ "items": items }))).status, 200);
    assert_eq!(alice(&s, "POST", "/v1/memories", Some(json!({"text": "alice's own"}))).status, 201);
    // The tenant key sees its prefix's users only; alice's key sees alice.
    let users = tenant("GET", "/v1/users", None);
    assert_eq!(users.body, json!({"users": [{"user": "t/ann", "memories": 5}]}));
    assert_eq!(
        alice(&s, "GET", "/v1/users", None).body,
        json!({"users": [{"user": "alice", "memories": 1}]})
    );
    assert_eq!(
        call(&s, "GET", "/v1/users", Some("bob-key"), None).body,
        json!({"users": [{"user": "bob", "memories": 0}]})
    );
    // Paged and filtered, newest first.
    let page = tenant("GET", "/v1/users/t%2Fann/recent?limit=2&offset=1", None);
    let texts: Vec<&str> =
        page.body["memories"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["note 3", "note 2"]);
    let filtered =
        tenant("GET", "/v1/users/t%2Fann/recent?session=s1&tags=even&since=2026-11-02T00:00:00Z", None);
    let texts: Vec<&str> =
        filtered.body["memories"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["note 2"]);
    assert_eq!(error_name(&tenant("GET", "/v1/users/alice/recent", None)), "FORBIDDEN");
    // Contexts: the user's own, by the name the caller gave.
    let reading = json!({"source": "voice", "scores": {"Joy": 0.7, "Calmness": 0.2}, "timestamp": "2026-11-01T10:00:00Z"});
    assert_eq!(tenant("POST", "/v1/contexts/call-1/readings?user=t/ann", Some(reading.clone())).status, 200);
    assert_eq!(alice(&s, "POST", "/v1/contexts/mine/readings", Some(reading)).status, 200);
    let ctx = tenant("GET", "/v1/contexts?user=t/ann", None);
    let names: Vec<&str> =
        ctx.body["contexts"].as_array().unwrap().iter().map(|c| c["context"].as_str().unwrap()).collect();
    assert_eq!(names, ["call-1"]);
    // The timeline: an SVG titled with the caller's context name; unknown contexts are 404.
    let svg = tenant("GET", "/v1/contexts/call-1/timeline.svg?user=t/ann&theme=dark&top=2", None);
    assert_eq!(svg.status, 200);
    let text = svg.body.as_str().unwrap();
    assert!(
        text.starts_with("<svg") && text.contains("Emotion timeline — call-1") && text.contains("#0d1117")
    );
    assert_eq!(text.matches("class=\"series\"").count(), 2);
    assert_eq!(tenant("GET", "/v1/contexts/mine/timeline.svg?user=t/ann", None).status, 404);
    assert_eq!(
        error_name(&tenant("GET", "/v1/contexts/call-1/timeline.svg?user=t/ann&top=0", None)),
        "INVALID_INPUT"
    );
    // The 4W frame and the alerts.
    let frame = tenant("GET", "/v1/users/t%2Fann/frame", None);
    assert_eq!(frame.body["memories"], json!(5));
    assert_eq!(error_name(&tenant("GET", "/v1/users/t%2Fann/frame?window=fortnight", None)), "INVALID_INPUT");
    assert_eq!(alice(&s, "GET", "/v1/alerts", None).body, json!({"alerts": []}));
    // Derived memories, behind the same ownership check as the memory itself.
    let source = page.body["memories"][0]["id"].as_u64().unwrap();
    let summary = json!({"user": "t/ann", "text": "a summary", "kind": "summary", "derived_from": [source]});
    let sid = tenant("POST", "/v1/memories", Some(summary)).body["id"].as_u64().unwrap();
    let derived = tenant("GET", &format!("/v1/memories/{source}/derived?user=t/ann"), None);
    assert_eq!(derived.body["memories"][0]["id"], json!(sid));
    assert_eq!(alice(&s, "GET", &format!("/v1/memories/{source}/derived"), None).status, 404);
    assert_eq!(call(&s, "GET", "/v1/alerts", None, None).status, 401);
}

#[test]
fn the_inspector_page_is_served_with_a_strict_policy() {
    let s = Server::start(&keys_toml(""));
    for (path, kind) in [
        ("/", "text/html"),
        ("/inspector/app.js", "text/javascript"),
        ("/inspector/app.css", "text/css"),
        ("/inspector/icon.svg", "image/svg+xml"),
    ] {
        let mut res = agent().get(format!("{}{path}", s.base)).call().unwrap();
        assert_eq!(res.status().as_u16(), 200, "{path}");
        let header =
            |name: &str| res.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        assert!(header("content-type").starts_with(kind), "{path}");
        let csp = header("content-security-policy");
        assert!(csp.contains("script-src 'self'") && csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
        assert_eq!(header("x-content-type-options"), "nosniff");
        let body = res.body_mut().read_to_string().unwrap();
        assert!(!body.is_empty());
        if path == "/" {
            // No inline script or style: everything comes from the two files above.
            assert!(!body.contains("<script>") && !body.contains("style="), "inline code in the page");
        }
    }
}

/// The container's configuration: `serve` takes its store, address, settings file and
/// resource settings from the environment (MEMORABLE_STORE, _LISTEN, _CONFIG,
/// _READ_CONNECTIONS, _MAX_LOADED_INDEXES, _SYNC_INTERVAL_MS); an out-of-range one stops it
/// with its code.
#[test]
fn serve_is_configured_by_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("server.toml");
    std::fs::write(&settings, keys_toml("")).unwrap();
    let store = dir.path().join("store");
    let spawn = |extra: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_memorable"));
        c.env("MEMORABLE_STORE", &store)
            .env("MEMORABLE_EMBEDDER", "hashing")
            .env("MEMORABLE_LISTEN", "127.0.0.1:0")
            .env("MEMORABLE_CONFIG", &settings)
            .env_remove("MEMORABLE_LOG")
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in extra {
            c.env(k, v);
        }
        c.spawn().unwrap()
    };
    let child = spawn(&[("MEMORABLE_READ_CONNECTIONS", "2"), ("MEMORABLE_MAX_LOADED_INDEXES", "3")]);
    let s = Server::attach(child, settings.clone(), store.clone(), tempfile::tempdir().unwrap());
    let ready = call(&s, "GET", "/readyz", None, None);
    let check =
        ready.body["checks"].as_array().unwrap().iter().find(|c| c["name"] == "store").unwrap().clone();
    assert_eq!(check["details"]["connections"]["readers"], 2, "{}", ready.body);
    // The settings file from MEMORABLE_CONFIG: its keys work, and only they.
    assert_eq!(alice(&s, "POST", "/v1/memories", Some(json!({"user": "alice", "text": "tea"}))).status, 201);
    assert_eq!(call(&s, "GET", "/v1/users", Some("not-a-key"), None).status, 401);
    drop(s);
    assert!(store.join("memorable.db").is_file(), "the store is where MEMORABLE_STORE says");
    for (name, value, field) in [
        ("MEMORABLE_SYNC_INTERVAL_MS", "5", "sync_interval_ms"),
        ("MEMORABLE_READ_CONNECTIONS", "0", "read_connections"),
    ] {
        let out = spawn(&[(name, value)]).wait_with_output().unwrap();
        let printed =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!out.status.success() && printed.contains(field), "{name}={value}: {printed}");
    }
}

/// MEMORABLE_BACKUP_DIR / _EVERY_SECS / _KEEP: a running server (which holds its store
/// directory) backs itself up on a schedule, keeps the newest N, and the restore drill of
/// docs/deployment.md brings a memory back from the newest file.
#[test]
fn serve_takes_scheduled_backups_that_restore() {
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("server.toml");
    std::fs::write(&settings, keys_toml("")).unwrap();
    let store = dir.path().join("store");
    let backups = dir.path().join("backups");
    let child = Command::new(env!("CARGO_BIN_EXE_memorable"))
        .args(["--embedder", "hashing", "serve", "--listen", "127.0.0.1:0"])
        .env("MEMORABLE_STORE", &store)
        .env("MEMORABLE_CONFIG", &settings)
        .env("MEMORABLE_BACKUP_DIR", &backups)
        .env("MEMORABLE_BACKUP_EVERY_SECS", "1")
        .env("MEMORABLE_BACKUP_KEEP", "2")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut s = Server::attach(child, settings, store, tempfile::tempdir().unwrap());
    let text = "The spare key is under the blue flowerpot";
    assert_eq!(alice(&s, "POST", "/v1/memories", Some(json!({"user": "alice", "text": text}))).status, 201);
    let scheduled = || -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&backups)
            .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "mrbak"));
        files.sort();
        files
    };
    // Three backups begun after the write (retention deletes the older ones meanwhile).
    let before = scheduled();
    let mut seen = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while seen.len() < 3 {
        assert!(Instant::now() < deadline, "no scheduled backups: {:?}", scheduled());
        seen.extend(scheduled().into_iter().filter(|p| !before.contains(p)));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(s.stop().success());
    let kept = scheduled();
    assert_eq!(kept.len(), 2, "MEMORABLE_BACKUP_KEEP=2 keeps two: {kept:?}");
    let newest = kept.last().unwrap();
    let cli = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_memorable")).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    cli(&["verify", newest.to_str().unwrap()]);
    let restored = dir.path().join("restored");
    cli(&["restore", newest.to_str().unwrap(), restored.to_str().unwrap()]);
    let hits =
        cli(&["--store", restored.to_str().unwrap(), "--json", "recall", "--user", "alice", "flowerpot"]);
    assert!(hits.contains(text), "{hits}");
}
