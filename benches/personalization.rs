//! Per-user calibration on a simulated user whose labelling differs systematically from
//! GoEmotions' raters. Protocol (docs/benchmarks.md, "Custom emotion classifiers"):
//!
//! - the user's texts: GoEmotions dev texts (unseen by the shipped classifier's training),
//!   the first 1,200 with at least one label, in file order;
//! - the user's labels: the gold labels, except that the user calls every `annoyance`
//!   "anger" (and never says annoyance) and never uses `neutral` — a stricter, blunter rater;
//! - the first 400 texts are remembered as the user's memories and corrected with those
//!   labels (`correct`), which calibrates the user; the other 800 are held out;
//! - on the held-out texts, `classify_as(.., "goemotions", user)` (the user's thresholds) and
//!   without the user (the model's) are scored against the user's labels: micro-F1, and
//!   macro-F1 over the labels the user gives.
//!
//! Run: `cargo bench --bench personalization` (needs MiniLM and `$MEMORABLE_SHARED_DATA`, or
//! ../shared/data).

use std::collections::BTreeSet;
use std::path::PathBuf;

use memorable::models::cache::{self, Manifest};
use memorable::{Config, Memorable, NewMemory};

const CALIBRATE: usize = 400;
const HELD_OUT: usize = 800;

fn data_dir() -> PathBuf {
    std::env::var_os("MEMORABLE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
        .join("goemotions")
}

fn user_labels(gold: &[String]) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for g in gold {
        match g.as_str() {
            "annoyance" => {
                out.insert("anger".into());
            }
            "neutral" => {}
            other => {
                out.insert(other.into());
            }
        }
    }
    out.into_iter().collect()
}

fn scores(pred: &[Vec<String>], gold: &[Vec<String>]) -> (f64, f64) {
    let labels: BTreeSet<&String> = gold.iter().flatten().collect();
    let (mut tp_all, mut fp_all, mut fn_all) = (0u64, 0u64, 0u64);
    let mut f1s = Vec::new();
    for l in &labels {
        let (mut tp, mut fp, mut fn_) = (0u64, 0u64, 0u64);
        for (p, g) in pred.iter().zip(gold) {
            match (p.contains(l), g.contains(l)) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fn_ += 1,
                _ => {}
            }
        }
        // Predictions of labels the user never gives count against micro-F1 below.
        tp_all += tp;
        fp_all += fp;
        fn_all += fn_;
        f1s.push(if tp + fp + fn_ == 0 { 0.0 } else { 2.0 * tp as f64 / (2 * tp + fp + fn_) as f64 });
    }
    for (p, _) in pred.iter().zip(gold) {
        fp_all += p.iter().filter(|l| !labels.contains(l)).count() as u64;
    }
    let micro = 2.0 * tp_all as f64 / (2 * tp_all + fp_all + fn_all) as f64;
    (micro, f1s.iter().sum::<f64>() / f1s.len() as f64)
}

fn main() {
    let dir = data_dir();
    let names: Vec<String> = std::fs::read_to_string(dir.join("labels.txt"))
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for line in std::fs::read_to_string(dir.join("dev.tsv")).unwrap().lines().skip(1) {
        let mut f = line.split('\t');
        let mut text = f.next().unwrap().to_owned();
        if text.len() >= 2 && text.starts_with('"') && text.ends_with('"') {
            text = text[1..text.len() - 1].replace("\"\"", "\"");
        }
        let gold: Vec<String> =
            f.next().unwrap().split(',').map(|i| names[i.parse::<usize>().unwrap()].clone()).collect();
        let mine = user_labels(&gold);
        if !mine.is_empty() {
            rows.push((text, mine));
        }
        if rows.len() == CALIBRATE + HELD_OUT {
            break;
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let real = cache::cache_dir(None).expect("a model cache");
    let minilm = Manifest::builtin().get("minilm").unwrap().clone();
    cache::verify(&real.join("minilm"), &minilm).expect("MiniLM in the model cache");
    let mut config = Config::default();
    config.embedder = "minilm".into();
    config.emotion.enabled = false;
    let mem = Memorable::builder(tmp.path()).config(config).open().unwrap();
    let (calib, held) = rows.split_at(CALIBRATE);
    let ids =
        mem.remember_batch(calib.iter().map(|(t, _)| NewMemory::new("sim", t.clone())).collect()).unwrap();
    let started = std::time::Instant::now();
    for (id, (_, labels)) in ids.iter().zip(calib) {
        // Calibration runs at every correction from the 20th on; time it over all of them.
        mem.correct(*id, labels, "goemotions").unwrap();
    }
    let correct_ms = started.elapsed().as_secs_f64() * 1e3 / CALIBRATE as f64;
    let cal = mem.calibrate("goemotions", "sim").unwrap().expect("enough corrections");
    let texts: Vec<&str> = held.iter().map(|(t, _)| t.as_str()).collect();
    let gold: Vec<Vec<String>> = held.iter().map(|(_, l)| l.clone()).collect();
    let shared: Vec<Vec<String>> =
        mem.classify_as(&texts, "goemotions", None).unwrap().into_iter().map(|c| c.labels).collect();
    let mine: Vec<Vec<String>> =
        mem.classify_as(&texts, "goemotions", Some("sim")).unwrap().into_iter().map(|c| c.labels).collect();
    let (a, b) = (scores(&shared, &gold), scores(&mine, &gold));
    println!("simulated user: {CALIBRATE} corrections, {HELD_OUT} held-out texts; correct() {correct_ms:.1} ms each on average (calibration included)");
    println!("model thresholds:     micro-F1 {:.4}  macro-F1 {:.4}", a.0, a.1);
    println!(
        "user's thresholds:    micro-F1 {:.4}  macro-F1 {:.4}  (gain {:+.4} / {:+.4})",
        b.0,
        b.1,
        b.0 - a.0,
        b.1 - a.1
    );
    println!(
        "the user's thresholds: anger {:.2}, annoyance {:.2}, neutral {:.2} (above 1: never)",
        cal.thresholds["anger"], cal.thresholds["annoyance"], cal.thresholds["neutral"]
    );
    mem.close().unwrap();
}
