//! Crash safety at scale: many cycles of a writer process doing a random mix of writes —
//! single memories, batches, updates, forgets, emotion readings, checkpoints, backups,
//! consolidation jobs (extractive: summaries and facts derived from a session) — killed
//! with SIGKILL at a random moment, then checked: every acknowledged write is present and
//! intact (the last acknowledged text of every memory; forgotten ones gone), a batch is all
//! there or not at all, an update or forget in flight is either done or not, the index agrees
//! with the store (the memory count and a keyword recall of sampled memories), every
//! acknowledged backup verifies, no job is left running, every derived memory is a summary or
//! a fact, and `verify` passes on the store.
//!
//! A custom harness (the binary is also the child, `child DIR SEED CYCLE`).
//! `cargo test --release --test crash_cycles` runs `MEMORABLE_CRASH_CYCLES` cycles (default
//! 50, what CI runs) from `MEMORABLE_CRASH_SEED` (default a fixed seed; printed). The full
//! 1,000 cycles: `scripts/crash-cycles.sh` (results in docs/reliability.md). With
//! `MEMORABLE_KEY` set, the store is encrypted (scripts/test.sh runs 20 such cycles).

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use memorable::{
    Config, ConsolidateRequest, JobState, Memorable, MemoryUpdate, NewMemory, Reading, Recall, Source,
};

/// xorshift64*: the same seed gives the same run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

const USER: &str = "cycles";
const CONTEXT: &str = "call";

fn open(dir: &Path) -> Memorable {
    let config = Config::from_json(r#"{"embedder": "hashing", "generator": "none"}"#).unwrap();
    Memorable::builder(dir).config(config).open().unwrap()
}

/// The writer: random operations forever, each line printed (and flushed) once acknowledged;
/// `?` lines announce an operation before it runs.
fn child(dir: &Path, seed: u64, cycle: u64) {
    let mem = open(dir);
    let mut rng = Rng(seed ^ cycle.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    // One conversation per cycle: what a consolidation job reads.
    let session = format!("s{cycle}");
    let out = std::io::stdout();
    let say = |line: String| {
        let mut lock = out.lock();
        writeln!(lock, "{line}").unwrap();
        lock.flush().unwrap();
    };
    let some_id = |rng: &mut Rng| -> Option<u64> {
        let recent = mem.recent_matching(&Recall::new(USER, "").kinds(["message"]).limit(50)).unwrap();
        (!recent.is_empty()).then(|| recent[rng.below(recent.len() as u64) as usize].id)
    };
    for k in 0.. {
        let roll = rng.below(100);
        let tok = format!("tok{cycle}x{k}");
        match roll {
            0..=39 => {
                let text = format!("memory {tok} about item {}", rng.below(1000));
                say(format!("R? {tok} {text}"));
                let id = mem.remember(NewMemory::new(USER, text.clone()).session(&session)).unwrap();
                say(format!("R {id} {text}"));
            }
            40..=54 => {
                let n = 2 + rng.below(4);
                say(format!("B? {tok} {n}"));
                let batch = (0..n)
                    .map(|i| NewMemory::new(USER, format!("batch {tok} part {i} of {n}")).session(&session))
                    .collect();
                let ids = mem.remember_batch(batch).unwrap();
                for (i, id) in ids.iter().enumerate() {
                    say(format!("R {id} batch {tok} part {i} of {n}"));
                }
            }
            55..=66 => {
                if let Some(id) = some_id(&mut rng) {
                    let text = format!("updated {tok} text {}", rng.below(1000));
                    say(format!("U? {id} {text}"));
                    let u = MemoryUpdate { text: Some(text.clone()), ..Default::default() };
                    mem.update(id, u).unwrap();
                    say(format!("U {id} {text}"));
                }
            }
            67..=76 => {
                if let Some(id) = some_id(&mut rng) {
                    say(format!("F? {id}"));
                    mem.forget(id).unwrap();
                    say(format!("F {id}"));
                }
            }
            77..=91 => {
                let r = Reading::new(CONTEXT, Source::Text).score("Joy", 0.1 + rng.below(8) as f32 / 10.0);
                mem.observe(r).unwrap();
                say("E".into());
            }
            92..=95 => {
                mem.checkpoint().unwrap();
                say("C".into());
            }
            96..=97 => {
                say("J?".into());
                let r = mem.consolidate(&ConsolidateRequest::new(USER).session(&session)).unwrap();
                let ids: Vec<String> = r.summaries.iter().chain(&r.facts).map(|m| m.id.to_string()).collect();
                say(format!("J {}", ids.join(" ")));
            }
            _ => {
                let path = dir.parent().unwrap().join(format!("backup-{cycle}-{k}.mrbak"));
                mem.backup(&path).unwrap();
                say(format!("K {}", path.display()));
            }
        }
    }
}

/// What the parent knows must be in the store.
#[derive(Default)]
struct Model {
    /// Acknowledged memories: their text, and another text an update in flight may have left.
    live: HashMap<u64, (String, Option<String>)>,
    /// Forgotten memories and the text they had.
    forgotten: HashMap<u64, String>,
    /// Forgets in flight: gone or not.
    maybe_gone: HashSet<u64>,
    /// The single memory and the batch last announced (tag, size): in flight when the child
    /// died, they may or may not have committed.
    pending_single: Option<String>,
    pending_batch: Option<(String, u64)>,
    /// The acknowledged parts of each batch, by tag (updates and forgets may change them).
    members: HashMap<String, HashSet<u64>>,
    backups: Vec<String>,
    /// Memories derived by consolidation (acknowledged, or found after a kill): present, or
    /// gone with a forgotten source.
    derived: HashSet<u64>,
    jobs: u64,
    readings: u64,
    ops: u64,
}

impl Model {
    fn apply(&mut self, line: &str) {
        let (op, rest) = line.split_once(' ').unwrap_or((line, ""));
        let id_text = |rest: &str| {
            let (id, text) = rest.split_once(' ').unwrap_or((rest, ""));
            (id.parse::<u64>().unwrap(), text.to_owned())
        };
        self.ops += 1;
        match op {
            "R" => {
                let (id, text) = id_text(rest);
                if let Some(tag) = text.strip_prefix("batch ").and_then(|t| t.split_whitespace().next()) {
                    self.members.entry(tag.to_owned()).or_default().insert(id);
                }
                self.live.insert(id, (text, None));
            }
            "R?" => self.pending_single = Some(rest.split_once(' ').unwrap().0.to_owned()),
            "B?" => {
                let (tag, n) = rest.split_once(' ').unwrap();
                self.pending_batch = Some((tag.to_owned(), n.parse().unwrap()));
            }
            "U?" => {
                let (id, text) = id_text(rest);
                if let Some(e) = self.live.get_mut(&id) {
                    e.1 = Some(text);
                }
            }
            "U" => {
                let (id, text) = id_text(rest);
                self.live.insert(id, (text, None));
            }
            "F?" => {
                self.maybe_gone.insert(rest.parse().unwrap());
            }
            "F" => {
                let id = rest.parse().unwrap();
                let text = self.live.remove(&id).map(|e| e.0).unwrap_or_default();
                self.maybe_gone.remove(&id);
                self.forgotten.insert(id, text);
            }
            "E" => self.readings += 1,
            "K" => self.backups.push(rest.to_owned()),
            "J?" => {}
            "J" => {
                self.jobs += 1;
                self.derived.extend(rest.split_whitespace().map(|id| id.parse::<u64>().unwrap()));
            }
            "C" => {}
            other => panic!("unknown line from the child: {other:?}"),
        }
    }
}

/// One cycle: run the child for a random time, kill it, check the store.
fn cycle(dir: &Path, seed: u64, n: u64, rng: &mut Rng, model: &mut Model) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child", dir.to_str().unwrap(), &seed.to_string(), &n.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Most kills land mid-run; a few right after open.
    let deadline = Instant::now() + Duration::from_millis(5 + rng.below(400));
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(5)) {
            Ok(line) => model.apply(&line),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("cycle {n}: the child exited on its own"),
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap();
    for line in rx.try_iter() {
        model.apply(&line);
    }
    check(dir, n, rng, model);
}

fn check(dir: &Path, n: u64, rng: &mut Rng, model: &mut Model) {
    let report = memorable::verify(dir).unwrap();
    assert!(report.ok, "cycle {n}: verify after the kill: {:?}", report.problems);
    let mem = open(dir);
    // Acknowledged memories, with their last acknowledged text (or the one in flight).
    let ids: Vec<u64> = model.live.keys().copied().collect();
    for id in ids {
        match mem.get(id) {
            Ok(m) => {
                let (text, alt) = model.live.get_mut(&id).unwrap();
                assert!(
                    m.text == *text || alt.as_deref() == Some(m.text.as_str()),
                    "cycle {n}: memory {id} reads {:?}, acknowledged {text:?}",
                    m.text
                );
                *text = m.text;
                *alt = None;
                model.maybe_gone.remove(&id);
            }
            Err(e) if model.maybe_gone.remove(&id) => {
                assert_eq!(e.code(), memorable::ErrorCode::NotFound);
                let text = model.live.remove(&id).map(|e| e.0).unwrap_or_default();
                model.forgotten.insert(id, text);
            }
            Err(e) => panic!("cycle {n}: acknowledged memory {id} lost: {e}"),
        }
    }
    for id in model.forgotten.keys() {
        assert!(mem.get(*id).is_err(), "cycle {n}: forgotten memory {id} came back");
    }
    // What was in flight: a single memory committed or not; a batch all there or not at all.
    if let Some(tok) = model.pending_single.take() {
        // (Only the turns: a derived summary may quote the same text.)
        for h in mem.recall(&Recall::new(USER, &tok).kinds(["message"]).limit(5)).unwrap() {
            if h.memory.text.contains(&format!("memory {tok} ")) {
                model.live.entry(h.memory.id).or_insert((h.memory.text.clone(), None));
            }
        }
    }
    if let Some((tag, size)) = model.pending_batch.take() {
        let hits = mem.recall(&Recall::new(USER, &tag).kinds(["message"]).limit(20)).unwrap();
        let parts: Vec<_> =
            hits.iter().filter(|h| h.memory.text.starts_with(&format!("batch {tag} "))).collect();
        // Acknowledged parts may have been updated (another text) or forgotten since.
        let members = model.members.remove(&tag).unwrap_or_default();
        let mut present: HashSet<u64> = parts.iter().map(|h| h.memory.id).collect();
        present.extend(members.iter().filter(|id| model.live.contains_key(id)));
        let forgotten = members.iter().filter(|id| model.forgotten.contains_key(id)).count();
        assert!(
            (present.is_empty() && forgotten == 0) || (present.len() + forgotten) as u64 == size,
            "cycle {n}: batch {tag} of {size} is half visible: {} parts in the store, {forgotten} forgotten",
            present.len()
        );
        for h in parts {
            model.live.entry(h.memory.id).or_insert((h.memory.text.clone(), None));
        }
    }
    model.members.clear();
    // Derived memories: what this cycle's job wrote before the kill joins the known ones;
    // each is a summary or a fact, present or gone with a forgotten source.
    let found = mem.recent_matching(
        &Recall::new(USER, "").session(format!("s{n}")).kinds(["summary", "fact"]).limit(1000),
    );
    model.derived.extend(found.unwrap().iter().map(|m| m.id));
    let derived: Vec<u64> = model.derived.iter().copied().collect();
    for id in derived {
        match mem.get(id) {
            Ok(m) => assert!(
                m.kind == "summary" || m.kind == "fact",
                "cycle {n}: derived memory {id} is a {}",
                m.kind
            ),
            Err(e) => {
                assert_eq!(e.code(), memorable::ErrorCode::NotFound, "cycle {n}: derived memory {id}");
                model.derived.remove(&id);
            }
        }
    }
    // No job is left running by the kill.
    for job in mem.jobs().unwrap() {
        assert_ne!(job.state, JobState::Running, "cycle {n}: job {} still running after the kill", job.id);
    }
    // The index agrees with the store.
    let stats = mem.stats().unwrap();
    assert_eq!(stats.memories, (model.live.len() + model.derived.len()) as u64, "cycle {n}: memory count");
    let sample: Vec<(u64, String)> = model
        .live
        .iter()
        .map(|(id, (t, _))| (*id, t.clone()))
        .filter(|_| rng.below(8) == 0)
        .take(5)
        .collect();
    for (id, text) in sample {
        let tok = text.split_whitespace().find(|w| w.starts_with("tok")).unwrap().to_owned();
        // A batch's parts share their token: ask for more than a batch holds.
        let hits = mem.recall(&Recall::new(USER, &tok).limit(20)).unwrap();
        assert!(
            hits.iter().any(|h| h.memory.id == id),
            "cycle {n}: recall of {tok} misses memory {id} ({text:?}); got {:?}",
            hits.iter().map(|h| (h.memory.id, h.memory.text.as_str())).collect::<Vec<_>>()
        );
    }
    if let Some(idx) = mem.stats().unwrap().loaded_indexes.first() {
        assert_eq!(idx.live as u64, stats.memories, "cycle {n}: index live count");
    }
    if model.readings > 0 {
        mem.emotional_state(CONTEXT).unwrap_or_else(|e| panic!("cycle {n}: emotion context lost: {e}"));
    }
    for path in model.backups.drain(..) {
        let r = memorable::verify(&path).unwrap();
        assert!(r.ok, "cycle {n}: acknowledged backup {path} does not verify: {:?}", r.problems);
        std::fs::remove_file(&path).unwrap();
    }
    mem.close().unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("child") {
        child(Path::new(&args[2]), args[3].parse().unwrap(), args[4].parse().unwrap());
        return;
    }
    let env = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let cycles = env("MEMORABLE_CRASH_CYCLES", 50);
    let seed = env("MEMORABLE_CRASH_SEED", 20_261_206);
    // With MEMORABLE_KEY set, the store is encrypted (open and verify read the key from it).
    let encrypted = memorable::EncryptionKey::from_env().is_some();
    println!("crash_cycles: {cycles} cycles, seed {seed}, encrypted: {encrypted}");
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("store");
    let mut rng = Rng(seed | 1);
    let mut model = Model::default();
    let start = Instant::now();
    for n in 0..cycles {
        cycle(&dir, seed, n, &mut rng, &mut model);
        if (n + 1) % 50 == 0 {
            println!(
                "  {} cycles: {} operations acknowledged, {} memories live, {} forgotten, {} derived by {} consolidation jobs, {:.0} s",
                n + 1,
                model.ops,
                model.live.len(),
                model.forgotten.len(),
                model.derived.len(),
                model.jobs,
                start.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "test crash_cycles ... ok ({cycles} kill -9 cycles, seed {seed}, {} operations acknowledged, {:.0} s)",
        model.ops,
        start.elapsed().as_secs_f64()
    );
}
