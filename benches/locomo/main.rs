//! LoCoMo retrieval harness: how often `recall` brings back the turns that answer a question.
//!
//! For each conversation: one fresh in-memory store; every turn remembered as a memory of
//! one user (speaker, session, the session's date-time; a shared image's caption appended
//! to the text); every question of categories 1-4 recalled; recall@k = share of the
//! question's evidence turns among the top k, averaged per category and overall.
//!
//! ```text
//! cargo run --release --bin locomo -- ../shared/data/locomo/locomo-dev.json
//! cargo run --release --bin locomo -- <path> --embedder hashing --json
//! cargo run --release --bin locomo -- <path> --ablations     # BM25, dense, RRF, fused, ...
//! cargo run --release --bin locomo -- <path> --cv            # leave-one-conversation-out
//! ```
//!
//! Latency is the wall time of `recall` per question; "excluding embedding" subtracts the
//! time the embedder spent on that recall's query (measured inside the call).

mod cv;
mod data;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use memorable::models::select::resolve_embedder;
use memorable::{Builder, Config, Embedder, Fusion, NewMemory, RankWeights, Recall, RecallMode};
use serde::Serialize;

#[derive(Parser)]
#[command(about = "Recall@k of MemoRable on LoCoMo conversations")]
struct Args {
    /// A LoCoMo JSON file (e.g. ../shared/data/locomo/locomo-dev.json).
    path: PathBuf,
    /// Embedding model: minilm, minilm-int8 (int8 linear layers) or hashing.
    #[arg(long, default_value = "minilm")]
    embedder: String,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
    /// Also run the ablations (BM25 only, dense only, RRF, fused without re-ranking, and
    /// the default without each mechanism).
    #[arg(long)]
    ablations: bool,
    /// Extra variants for studies: a JSON object of `RankWeights` fields each (repeatable).
    #[arg(long)]
    weights: Vec<String>,
    /// Only the first N conversations.
    #[arg(long)]
    conversations: Option<usize>,
    /// Leave-one-conversation-out cross-validation over a grid of ranking weights: each
    /// conversation scored with the grid point best on the others (needs 2+ conversations).
    #[arg(long)]
    cv: bool,
    /// The grid of `--cv`: a JSON file holding an array of partial `RankWeights` objects
    /// (default: a built-in 36-point grid over keyword, context, who and date weights).
    #[arg(long, requires = "cv")]
    grid: Option<PathBuf>,
}

const KS: [usize; 3] = [1, 5, 10];
const CATEGORIES: [(u8, &str); 4] =
    [(1, "multi_hop"), (2, "temporal"), (3, "open_domain"), (4, "single_hop")];

/// An embedder that counts the time spent in it (for latency excluding the query
/// embedding) and remembers query embeddings, so the ablations after the default run do
/// not embed the same questions again (the default run's latency is measured cold).
struct Timed {
    inner: Arc<dyn Embedder>,
    nanos: AtomicU64,
    queries: Mutex<HashMap<String, Vec<f32>>>,
}

impl Embedder for Timed {
    fn embed(&self, texts: &[&str]) -> memorable::Result<Vec<Vec<f32>>> {
        let t = Instant::now();
        let cached: Option<Vec<Vec<f32>>> = {
            let q = self.queries.lock().unwrap();
            texts.iter().map(|t| q.get(*t).cloned()).collect()
        };
        let out = match cached {
            Some(v) => Ok(v),
            None => self.inner.embed(texts),
        };
        if let (Ok(v), true) = (&out, texts.len() <= 2) {
            let mut q = self.queries.lock().unwrap();
            for (t, e) in texts.iter().zip(v) {
                q.insert((*t).to_owned(), e.clone());
            }
        }
        self.nanos.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        out
    }
    fn dim(&self) -> usize {
        self.inner.dim()
    }
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn is_fallback(&self) -> bool {
        self.inner.is_fallback()
    }
}

/// A named retrieval configuration.
struct Variant {
    name: &'static str,
    about: &'static str,
    request: Box<dyn Fn(Recall) -> Recall>,
}

/// Plain fusion, nothing re-ranked or counted.
fn plain(r: Recall) -> Recall {
    r.weights(RankWeights::fusion_only()).track_access(false)
}

fn variants(ablations: bool) -> Vec<Variant> {
    let mut v = vec![Variant {
        name: "default",
        about: "fused + re-ranking (default Recall)",
        request: Box::new(|r| r),
    }];
    if !ablations {
        return v;
    }
    v.extend([
        Variant {
            name: "bm25",
            about: "BM25 only",
            request: Box::new(|r| plain(r).mode(RecallMode::Keyword)),
        },
        Variant {
            name: "dense",
            about: "dense only",
            request: Box::new(|r| plain(r).mode(RecallMode::Semantic)),
        },
        Variant {
            name: "rrf",
            about: "RRF (k = 60) of BM25 and dense, equal weights",
            request: Box::new(|r| {
                plain(r)
                    .fusion(Fusion::Rrf)
                    .weights(RankWeights { keyword: 1.0, ..RankWeights::fusion_only() })
            }),
        },
        Variant { name: "fused", about: "z-score fusion, no re-ranking", request: Box::new(plain) },
        Variant {
            name: "no_context",
            about: "default without neighbour context",
            request: Box::new(|r| {
                let w = RankWeights { context: 0.0, access: 0.0, ..RankWeights::default() };
                r.weights(w).track_access(false)
            }),
        },
        Variant {
            name: "no_who",
            about: "default without speaker awareness",
            request: Box::new(|r| {
                let w = RankWeights { who: 0.0, access: 0.0, ..RankWeights::default() };
                r.weights(w).track_access(false)
            }),
        },
        Variant {
            name: "no_date",
            about: "default without date grounding",
            request: Box::new(|r| {
                let w = RankWeights { date: 0.0, access: 0.0, ..RankWeights::default() };
                r.weights(w).track_access(false)
            }),
        },
    ]);
    v
}

#[derive(Default, Clone, Serialize)]
struct Score {
    recall_at_1: f64,
    recall_at_5: f64,
    recall_at_10: f64,
    questions: usize,
}

#[derive(Default)]
struct Tally {
    sums: [f64; 3],
    n: usize,
}

impl Tally {
    fn add(&mut self, r: [f64; 3]) {
        for (s, x) in self.sums.iter_mut().zip(r) {
            *s += x;
        }
        self.n += 1;
    }
    fn score(&self) -> Score {
        let d = self.n.max(1) as f64;
        Score {
            recall_at_1: self.sums[0] / d,
            recall_at_5: self.sums[1] / d,
            recall_at_10: self.sums[2] / d,
            questions: self.n,
        }
    }
}

#[derive(Default)]
struct Results {
    overall: Tally,
    categories: BTreeMap<u8, Tally>,
    total_ms: Vec<f64>,
    search_ms: Vec<f64>,
}

#[derive(Serialize)]
struct VariantReport {
    about: &'static str,
    overall: Score,
    categories: BTreeMap<&'static str, Score>,
}

#[derive(Serialize)]
struct Latency {
    p50_ms: f64,
    p99_ms: f64,
    p50_excluding_embedding_ms: f64,
    p99_excluding_embedding_ms: f64,
}

#[derive(Serialize)]
struct Report {
    file: String,
    embedder: String,
    conversations: usize,
    memories: usize,
    overall: Score,
    categories: BTreeMap<&'static str, Score>,
    latency: Latency,
    ablations: BTreeMap<&'static str, VariantReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cv: Option<CvSummary>,
}

/// `--cv`: the pooled held-out figures and each fold's choice.
#[derive(Serialize)]
struct CvSummary {
    grid_points: usize,
    overall: Score,
    categories: BTreeMap<&'static str, Score>,
    folds: Vec<cv::Fold>,
    /// Every grid point's plain R@10, pooled and per conversation (ablations; not
    /// cross-validated).
    points: Vec<cv::PointScore>,
}

fn score_of(r: [f64; 3], questions: usize) -> Score {
    Score { recall_at_1: r[0], recall_at_5: r[1], recall_at_10: r[2], questions }
}

/// Recall@1/5/10 of one question's hits against its evidence (None: no known evidence).
fn outcome(evidence: &[&str], got: &[&str]) -> [f64; 3] {
    let at = |k: usize| {
        let top = &got[..k.min(got.len())];
        evidence.iter().filter(|e| top.contains(e)).count() as f64 / evidence.len() as f64
    };
    [at(KS[0]), at(KS[1]), at(KS[2])]
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() -> Result<()> {
    let args = Args::parse();
    if !["minilm", "minilm-int8", "hashing"].contains(&args.embedder.as_str()) {
        bail!("--embedder must be minilm, minilm-int8 or hashing, got {}", args.embedder);
    }
    let mut convs = data::load(&args.path)?;
    if let Some(n) = args.conversations {
        convs.truncate(n);
    }
    let mut config = Config::default();
    config.embedder = args.embedder.clone();
    let (inner, report) = resolve_embedder(&config.model_choice(), None).context("loading the embedder")?;
    if inner.is_fallback() && args.embedder != "hashing" {
        bail!("{} is not available: {}", args.embedder, report.summary());
    }
    let embedder = Arc::new(Timed { inner, nanos: AtomicU64::new(0), queries: Mutex::new(HashMap::new()) });
    let mut variants = variants(args.ablations);
    for json in &args.weights {
        let w: RankWeights = serde_json::from_str(json).context("--weights")?;
        let name: &'static str = Box::leak(format!("weights {json}").into_boxed_str());
        variants.push(Variant {
            name,
            about: "study",
            request: Box::new(move |r| r.weights(w.clone()).track_access(false)),
        });
    }
    let mut results: Vec<Results> = variants.iter().map(|_| Results::default()).collect();
    if args.cv && convs.len() < 2 {
        bail!("--cv needs at least 2 conversations, the file has {}", convs.len());
    }
    let grid_points: Vec<serde_json::Value> = match (&args.grid, args.cv) {
        (_, false) => Vec::new(),
        (None, true) => cv::default_grid(),
        (Some(p), true) => {
            serde_json::from_str(&std::fs::read_to_string(p).with_context(|| format!("{}", p.display()))?)
                .context("--grid: a JSON array of RankWeights objects")?
        }
    };
    let grid: Vec<RankWeights> = grid_points
        .iter()
        .map(cv::weights_of)
        .collect::<Result<_, _>>()
        .context("--grid: a point is not RankWeights")?;
    // cv_runs[g][c]: the outcomes of grid point g on conversation c.
    let mut cv_runs: Vec<Vec<Vec<cv::Outcome>>> = vec![Vec::new(); grid.len()];
    let mut memories = 0;
    for conv in &convs {
        let mem = Builder::in_memory().config(config.clone()).embedder(embedder.clone()).open()?;
        let items: Vec<NewMemory> = conv
            .turns
            .iter()
            .map(|t| {
                NewMemory::new("locomo", &t.text)
                    .speaker(&t.speaker)
                    .session(format!("session_{}", t.session))
                    .occurred_at(t.at)
            })
            .collect();
        let ids = mem.remember_batch(items)?;
        if !args.json {
            eprintln!("{}: {} turns, {} questions", conv.name, conv.turns.len(), conv.questions.len());
        }
        memories += ids.len();
        let dia_of: HashMap<u64, &str> =
            ids.iter().zip(&conv.turns).map(|(id, t)| (*id, t.dia_id.as_str())).collect();
        let known: std::collections::HashSet<&str> = conv.turns.iter().map(|t| t.dia_id.as_str()).collect();
        // The default runs first, so its access statistics start from zero like a fresh store.
        for (v, res) in variants.iter().zip(results.iter_mut()) {
            for q in &conv.questions {
                let evidence: Vec<&str> =
                    q.evidence.iter().map(String::as_str).filter(|e| known.contains(e)).collect();
                if evidence.is_empty() {
                    continue;
                }
                let request = (v.request)(Recall::new("locomo", &q.question).limit(10));
                let before = embedder.nanos.load(Ordering::Relaxed);
                let t = Instant::now();
                let hits = mem.recall(&request)?;
                let total = t.elapsed().as_secs_f64() * 1e3;
                let embed = (embedder.nanos.load(Ordering::Relaxed) - before) as f64 / 1e6;
                res.total_ms.push(total);
                res.search_ms.push((total - embed).max(0.0));
                let got: Vec<&str> = hits.iter().filter_map(|h| dia_of.get(&h.memory.id).copied()).collect();
                let r = outcome(&evidence, &got);
                res.overall.add(r);
                res.categories.entry(q.category).or_default().add(r);
            }
        }
        for (point, run) in grid.iter().zip(cv_runs.iter_mut()) {
            let mut outcomes = Vec::new();
            for q in &conv.questions {
                let evidence: Vec<&str> =
                    q.evidence.iter().map(String::as_str).filter(|e| known.contains(e)).collect();
                if evidence.is_empty() {
                    continue;
                }
                let request =
                    Recall::new("locomo", &q.question).limit(10).weights(point.clone()).track_access(false);
                let hits = mem.recall(&request)?;
                let got: Vec<&str> = hits.iter().filter_map(|h| dia_of.get(&h.memory.id).copied()).collect();
                outcomes.push((q.category, outcome(&evidence, &got)));
            }
            run.push(outcomes);
        }
        mem.close()?;
    }
    let cats = |r: &Results| -> BTreeMap<&'static str, Score> {
        CATEGORIES
            .iter()
            .map(|(c, name)| (*name, r.categories.get(c).map(Tally::score).unwrap_or_default()))
            .collect()
    };
    let default = &mut results[0];
    let latency = Latency {
        p50_ms: percentile(&mut default.total_ms, 0.5),
        p99_ms: percentile(&mut default.total_ms, 0.99),
        p50_excluding_embedding_ms: percentile(&mut default.search_ms, 0.5),
        p99_excluding_embedding_ms: percentile(&mut default.search_ms, 0.99),
    };
    let cv = args.cv.then(|| {
        let names: Vec<String> = convs.iter().map(|c| c.name.clone()).collect();
        let r = cv::cross_validate(&grid_points, &names, &cv_runs);
        let count = |c: u8| cv_runs[0].iter().flatten().filter(|o| o.0 == c).count();
        CvSummary {
            grid_points: r.grid_points,
            overall: score_of(r.overall, r.questions),
            categories: CATEGORIES
                .iter()
                .map(|(c, name)| {
                    (*name, score_of(r.categories.get(c).copied().unwrap_or_default(), count(*c)))
                })
                .collect(),
            folds: r.folds,
            points: r.points,
        }
    });
    let report = Report {
        file: args.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
        embedder: embedder.model_id().to_owned(),
        conversations: convs.len(),
        memories,
        overall: results[0].overall.score(),
        categories: cats(&results[0]),
        latency,
        ablations: variants
            .iter()
            .zip(&results)
            .skip(1)
            .map(|(v, r)| {
                (v.name, VariantReport { about: v.about, overall: r.overall.score(), categories: cats(r) })
            })
            .collect(),
        cv,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "LoCoMo {}: {} conversations, {} memories, {} questions (categories 1-4), embedder {}",
        report.file, report.conversations, report.memories, report.overall.questions, report.embedder
    );
    println!("\n| system | R@1 | R@5 | R@10 | multi-hop R@10 | temporal R@10 | open-domain R@10 | single-hop R@10 |");
    println!("|---|---|---|---|---|---|---|---|");
    let row = |name: &str, s: &Score, c: &BTreeMap<&str, Score>| {
        println!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
            s.recall_at_1,
            s.recall_at_5,
            s.recall_at_10,
            c["multi_hop"].recall_at_10,
            c["temporal"].recall_at_10,
            c["open_domain"].recall_at_10,
            c["single_hop"].recall_at_10
        )
    };
    for (name, v) in &report.ablations {
        row(&format!("{name} ({})", v.about), &v.overall, &v.categories);
    }
    row("default (fused + re-ranking)", &report.overall, &report.categories);
    if let Some(cv) = &report.cv {
        row(
            &format!("cv: leave-one-conversation-out, {} grid points", cv.grid_points),
            &cv.overall,
            &cv.categories,
        );
        for f in &cv.folds {
            println!(
                "  fold {}: chose {} (train R@10 {:.3}), held-out R@10 {:.3}",
                f.held_out, f.point, f.train_recall_at_10, f.held_out_recall_at_10
            );
        }
    }
    let l = &report.latency;
    println!(
        "\nrecall latency (default): p50 {:.2} ms, p99 {:.2} ms; excluding the query embedding: p50 {:.3} ms, p99 {:.3} ms",
        l.p50_ms, l.p99_ms, l.p50_excluding_embedding_ms, l.p99_excluding_embedding_ms
    );
    Ok(())
}
