//! HTTP overhead of `memorable serve`: requests/s, p50 and p99 of `POST /v1/recall` and
//! `POST /v1/memories` on loopback with 1, 4 and 16 concurrent clients (keep-alive, one
//! connection each), beside the same calls in process on a store of the same size. Hashing
//! embedder, so the server and store are measured, not a model. Bounded: each cell runs
//! `SECS` seconds (env MEMORABLE_BENCH_SECS, default 3).
//!
//!     cargo bench --bench server

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use memorable::{Config, Memorable, NewMemory, Recall};
use serde_json::json;
use sha2::{Digest, Sha256};

const MEMORIES: usize = 5_000;
const TOPICS: [&str; 8] = ["cooking", "travel", "music", "work", "family", "garden", "health", "books"];

fn text(i: usize) -> String {
    format!("note {i} about {} and the {} plan", TOPICS[i % 8], TOPICS[(i / 8) % 8])
}

fn query(i: usize) -> String {
    format!("what about {} {}", TOPICS[i % 8], TOPICS[(i * 7 + 3) % 8])
}

struct Cell {
    rps: f64,
    p50: f64,
    p99: f64,
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// `clients` threads calling `f(thread, i)` for `secs`; latencies in ms.
fn drive(clients: usize, secs: f64, f: impl Fn(usize, usize) + Sync) -> Cell {
    let start = Instant::now();
    let deadline = Duration::from_secs_f64(secs);
    let mut all: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..clients)
            .map(|t| {
                let f = &f;
                s.spawn(move || {
                    let mut lat = Vec::new();
                    let mut i = 0;
                    while start.elapsed() < deadline {
                        let t0 = Instant::now();
                        f(t, i);
                        lat.push(t0.elapsed().as_secs_f64() * 1e3);
                        i += 1;
                    }
                    lat
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    Cell { rps: all.len() as f64 / elapsed, p50: quantile(&all, 0.5), p99: quantile(&all, 0.99) }
}

fn main() {
    let secs: f64 = std::env::var("MEMORABLE_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let dir = tempfile::tempdir().unwrap();
    let digest: String = Sha256::digest(b"bench-key").iter().map(|b| format!("{b:02x}")).collect();
    let settings = dir.path().join("server.toml");
    std::fs::write(
        &settings,
        format!(
            "[server]\nmax_body_bytes = 10000000\n[server.rate_limit]\nper_second = 1e9\nburst = 1e9\n\
             [[server.keys]]\nname = \"bench\"\nsha256 = \"{digest}\"\nuser_prefix = \"u\"\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_memorable"))
        .args(["--embedder", "hashing", "--quiet", "--store"])
        .arg(dir.path().join("served"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&settings)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("listening on ").unwrap().to_owned();

    let agents: Vec<ureq::Agent> = (0..16).map(|_| ureq::Agent::new_with_defaults()).collect();
    let post = |t: usize, path: &str, body: String| {
        let mut r = agents[t]
            .post(format!("{base}{path}"))
            .header("Authorization", "Bearer bench-key")
            .header("Content-Type", "application/json")
            .send(body)
            .unwrap();
        r.body_mut().read_to_string().unwrap();
    };
    let items: Vec<_> = (0..MEMORIES).map(|i| json!({"user": "u1", "text": text(i)})).collect();
    post(0, "/v1/memories:batch", json!({ "items": items }).to_string());

    let mut config = Config::default();
    config.embedder = "hashing".into();
    let mem = Arc::new(Memorable::builder(dir.path().join("local")).config(config).open().unwrap());
    mem.remember_batch((0..MEMORIES).map(|i| NewMemory::new("u1", text(i))).collect()).unwrap();

    println!("| call | clients | req/s | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: | ---: |");
    let row = |what: &str, clients: usize, c: Cell| {
        println!("| {what} | {clients} | {:.0} | {:.3} | {:.3} |", c.rps, c.p50, c.p99);
    };
    row(
        "recall, in process",
        1,
        drive(1, secs, |_, i| {
            mem.recall(&Recall::new("u1", query(i)).limit(10)).unwrap();
        }),
    );
    for clients in [1, 4, 16] {
        let c = drive(clients, secs, |t, i| {
            post(t, "/v1/recall", json!({"user": "u1", "query": query(i), "limit": 10}).to_string());
        });
        row("POST /v1/recall", clients, c);
    }
    row(
        "remember, in process",
        1,
        drive(1, secs, |_, i| {
            mem.remember(NewMemory::new("u2", text(i))).unwrap();
        }),
    );
    for clients in [1, 4, 16] {
        let c = drive(clients, secs, |t, i| {
            post(t, "/v1/memories", json!({"user": format!("u{}", 3 + t), "text": text(i)}).to_string());
        });
        row("POST /v1/memories", clients, c);
    }
    mem.close().unwrap();
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
}
