//! Crash safety: a child process remembers in a loop, printing each acknowledged id, and is
//! killed with SIGKILL; after reopening, every acknowledged id is present and recall works.
//! (A custom harness: the same binary is the child when called with `child DIR`.)

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use memorable::{Config, IndexOrigin, Memorable, NewMemory, Recall};

/// A graph from the first vector (no flat index for this small user), so reopening after
/// the kill exercises the dump plus the vectors written after it.
fn open(dir: impl AsRef<std::path::Path>) -> Memorable {
    let mut config = Config::default();
    config.exact_search_threshold = 0;
    Memorable::builder(dir).config(config).open().unwrap()
}

fn child(dir: &str) {
    let mem = open(dir);
    let out = std::io::stdout();
    for i in 0.. {
        let id = if i % 5 == 4 {
            // Mix in small batches: a batch is acknowledged only as a whole.
            let batch =
                (0..3).map(|j| NewMemory::new("crash", format!("batched entry {i} part {j}"))).collect();
            *mem.remember_batch(batch).unwrap().last().unwrap()
        } else {
            mem.remember(NewMemory::new("crash", format!("acknowledged entry number {i}"))).unwrap()
        };
        let mut lock = out.lock();
        writeln!(lock, "{id}").unwrap();
        lock.flush().unwrap();
    }
}

fn crash_safety() {
    let dir = tempfile::tempdir().unwrap();
    // Start from a store with a dumped index, so reopening exercises dump + newer vectors.
    {
        let mem = open(dir.path());
        let base = (0..200).map(|i| NewMemory::new("crash", format!("baseline entry {i}"))).collect();
        mem.remember_batch(base).unwrap();
        mem.recall(&Recall::new("crash", "baseline").limit(1)).unwrap();
        mem.close().unwrap();
    }
    let mut proc = Command::new(std::env::current_exe().unwrap())
        .args(["child", dir.path().to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(proc.stdout.take().unwrap());
    let mut acked = Vec::new();
    let mut line = String::new();
    while acked.len() < 300 {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "child exited early");
        acked.push(line.trim().parse::<u64>().unwrap());
    }
    proc.kill().unwrap(); // SIGKILL on Unix
    proc.wait().unwrap();
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    acked.extend(rest.lines().filter_map(|l| l.trim().parse::<u64>().ok()));

    let mem = open(dir.path());
    for id in &acked {
        mem.get(*id).unwrap_or_else(|e| panic!("acknowledged memory {id} lost: {e}"));
    }
    let last = mem.get(*acked.last().unwrap()).unwrap();
    let hits = mem.recall(&Recall::new("crash", &last.text).limit(3)).unwrap();
    assert!(hits.iter().any(|h| h.memory.id == last.id), "recall finds the last acknowledged memory");
    let idx = &mem.stats().unwrap().loaded_indexes[0];
    assert_eq!(idx.origin, IndexOrigin::Dump);
    assert_eq!(idx.live as u64, mem.stats().unwrap().memories);
    println!("{} acknowledged memories survived SIGKILL", acked.len());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        child(&args[2]);
        return;
    }
    // `cargo test` passes harness flags (e.g. --nocapture); there is one test here.
    crash_safety();
    println!("test crash_safety ... ok");
}
