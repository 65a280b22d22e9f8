//! A PostgreSQL store under faults, against the cluster `scripts/test.sh` starts
//! (`MEMORABLE_TEST_PG_URL`, and `PG_CLUSTER_DIR` to stop and start its server):
//!
//! 1. **kill -9 of a writer mid-batch**, `MEMORABLE_PG_KILL_CYCLES` times (default 10): a
//!    child process writes batches of ten memories (tagged with the batch) and forgets one
//!    of each, printing each write once acknowledged; it is SIGKILLed at a random moment.
//!    Then every acknowledged memory is there with its text, every acknowledged forget is
//!    gone, and every batch is there whole or not at all.
//! 2. **the server restarted under load**: a writer keeps writing while the server is stopped
//!    and started again; calls fail with `STORE_UNAVAILABLE` while it is down, succeed again
//!    by themselves once it is back, and no acknowledged write is lost.
//!
//! A custom harness (the binary is also the child: `child URL SEED`), so the two run one after
//! the other (the second stops the server every other test uses). `MEMORABLE_SKIP_PG=1`
//! skips both, saying so; without `PG_CLUSTER_DIR` the restart test says it cannot run.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use memorable::{Config, ErrorCode, Memorable, NewMemory};

const BATCH: usize = 10;
const USER: &str = "faults";

fn open(url: &str) -> memorable::Result<Memorable> {
    let config = Config::from_json(r#"{"embedder": "hashing", "generator": "none"}"#).unwrap();
    Memorable::builder(url).config(config).open()
}

/// A database of its own on the cluster.
fn create_db(admin: &str, tag: &str) -> String {
    let name = format!("faults_{tag}_{}", std::process::id());
    let ok = Command::new("psql").args([admin, "-qc", &format!("CREATE DATABASE {name}")]).status().unwrap();
    assert!(ok.success());
    format!("{}/{name}", admin.rsplit_once('/').unwrap().0)
}

fn drop_db(admin: &str, url: &str) {
    let name = url.rsplit_once('/').unwrap().1;
    let _ = Command::new("psql")
        .args([admin, "-qc", &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")])
        .status();
}

/// The writer: batches of `BATCH` memories, then a forget of the batch's first; `A k ids`
/// and `F id` lines once acknowledged.
fn child(url: &str, seed: u64) {
    let mem = open(url).unwrap();
    let out = std::io::stdout();
    for k in 0.. {
        let tag = format!("s{seed}b{k}");
        let batch: Vec<NewMemory> = (0..BATCH)
            .map(|i| NewMemory::new(USER, format!("batch {tag} item {i}")).tags([tag.clone()]))
            .collect();
        let ids = mem.remember_batch(batch).unwrap();
        let list: Vec<String> = ids.iter().map(u64::to_string).collect();
        writeln!(out.lock(), "A {tag} {}", list.join(" ")).unwrap();
        mem.forget(ids[0]).unwrap();
        writeln!(out.lock(), "F {}", ids[0]).unwrap();
    }
}

fn kill_cycles(admin: &str, cycles: u64) {
    let url = create_db(admin, "kill");
    let mut acked: BTreeMap<u64, String> = BTreeMap::new();
    let mut forgotten: BTreeSet<u64> = BTreeSet::new();
    let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
    for cycle in 0..cycles {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["child", &url, &cycle.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(150 + rng % 400));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        let mut batches = 0;
        for line in rx.try_iter() {
            let mut parts = line.split(' ');
            match parts.next() {
                Some("A") => {
                    let tag = parts.next().unwrap().to_owned();
                    for (i, id) in parts.enumerate() {
                        acked.insert(id.parse().unwrap(), format!("batch {tag} item {i}"));
                    }
                    batches += 1;
                }
                Some("F") => {
                    forgotten.insert(line[2..].parse().unwrap());
                }
                other => panic!("unknown line {other:?}"),
            }
        }
        // After the kill: a fresh handle sees every acknowledged write. The first of a batch
        // may be gone without an acknowledged forget (the forget was in flight).
        let mem = open(&url).unwrap();
        for (id, text) in &acked {
            match mem.get(*id) {
                Ok(m) => {
                    assert!(!forgotten.contains(id), "cycle {cycle}: forgotten memory {id} is back");
                    assert_eq!(&m.text, text, "cycle {cycle}: memory {id}");
                }
                Err(e) => {
                    assert_eq!(e.code(), ErrorCode::NotFound);
                    let may_be_gone = forgotten.contains(id) || text.ends_with(" item 0");
                    assert!(may_be_gone, "cycle {cycle}: acknowledged memory {id} is lost");
                }
            }
        }
        // Whole batches or nothing (acknowledged or not): every batch tag present has BATCH
        // memories, less its forgotten first.
        let mut jsonl = Vec::new();
        mem.export_user(USER, false, &mut jsonl).unwrap();
        let mut per_tag: BTreeMap<String, usize> = BTreeMap::new();
        for line in String::from_utf8(jsonl).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let tags = v.get("tags").or_else(|| v.get("memory").and_then(|m| m.get("tags")));
            for t in tags.and_then(|t| t.as_array()).into_iter().flatten() {
                *per_tag.entry(t.as_str().unwrap().to_owned()).or_default() += 1;
            }
        }
        assert!(per_tag.len() >= acked.len() / BATCH, "cycle {cycle}: the export misses batches");
        for (tag, n) in &per_tag {
            assert!(
                *n == BATCH || *n == BATCH - 1,
                "cycle {cycle}: batch {tag} has {n} memories: half-written"
            );
        }
        mem.close().unwrap();
        eprintln!(
            "cycle {cycle}: {batches} batches acknowledged before the kill; {} memories checked",
            acked.len()
        );
    }
    assert!(acked.len() >= BATCH, "no batch was acknowledged in {cycles} cycles");
    drop_db(admin, &url);
}

fn pg_cluster(action: &str, dir: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/pg-cluster.sh");
    let ok = Command::new(script).args([action, dir]).status().unwrap();
    assert!(ok.success(), "pg-cluster.sh {action}");
}

fn server_restart(admin: &str, cluster: &str) {
    let url = create_db(admin, "restart");
    let mem = open(&url).unwrap();
    let mut acked = Vec::new();
    let mut unavailable = 0;
    // postgres://user:PASSWORD@host:port/db
    let password = admin.split('@').next().unwrap().rsplit(':').next().unwrap().to_owned();
    let write = |mem: &Memorable, i: usize, acked: &mut Vec<(u64, String)>| -> Option<ErrorCode> {
        let text = format!("written under load {i}");
        match mem.remember(NewMemory::new(USER, &text)) {
            Ok(id) => {
                acked.push((id, text));
                None
            }
            Err(e) => {
                assert!(!e.to_string().contains(&password), "the password leaked: {e}");
                Some(e.code())
            }
        }
    };
    for i in 0..50 {
        assert_eq!(write(&mem, i, &mut acked), None);
    }
    pg_cluster("halt", cluster);
    for i in 50..60 {
        let code = write(&mem, i, &mut acked).expect("a write with the server down fails");
        assert_eq!(code, ErrorCode::StoreUnavailable);
        unavailable += 1;
    }
    pg_cluster("resume", cluster);
    // Back by itself: the next calls reconnect (the first one may still see the old socket).
    let start = Instant::now();
    let mut i = 60;
    while write(&mem, i, &mut acked).is_some() {
        assert!(start.elapsed() < Duration::from_secs(10), "the store did not come back");
        i += 1;
    }
    for j in i + 1..i + 50 {
        assert_eq!(write(&mem, j, &mut acked), None);
    }
    for (id, text) in &acked {
        assert_eq!(&mem.get(*id).unwrap().text, text, "acknowledged write {id} lost");
    }
    let hits = mem.recall(&memorable::Recall::new(USER, "written under load").limit(5)).unwrap();
    assert_eq!(hits.len(), 5);
    // The metrics tell the story: connections re-opened, polls failed while it was down.
    let store = mem.metrics().unwrap().store;
    assert_eq!(store.backend, "postgres");
    assert!(store.reconnects >= 1, "{store:?}");
    eprintln!(
        "server restart: {unavailable} calls STORE_UNAVAILABLE while down, back after {:?}, {} acknowledged writes all present",
        start.elapsed(),
        acked.len()
    );
    mem.close().unwrap();
    drop_db(admin, &url);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        child(&args[2], args[3].parse().unwrap());
        return;
    }
    let Ok(admin) = std::env::var("MEMORABLE_TEST_PG_URL") else {
        assert_eq!(
            std::env::var("MEMORABLE_SKIP_PG").as_deref(),
            Ok("1"),
            "MEMORABLE_TEST_PG_URL is not set (scripts/pg-cluster.sh start)"
        );
        eprintln!("MEMORABLE_SKIP_PG=1: PostgreSQL fault tests skipped");
        return;
    };
    let cycles = std::env::var("MEMORABLE_PG_KILL_CYCLES").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    kill_cycles(&admin, cycles);
    eprintln!("kill -9 cycles: {cycles} passed");
    match std::env::var("PG_CLUSTER_DIR") {
        Ok(dir) => server_restart(&admin, &dir),
        Err(_) => eprintln!("PG_CLUSTER_DIR is not set: the server restart test needs the cluster scripts/pg-cluster.sh made (not run)"),
    }
}
