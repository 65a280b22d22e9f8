//! The emotion commands: `memorable emotion observe | state | history | plot | contexts |
//! close` on a store's emotional contexts.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use memorable::emotion::{EmotionalState, HistoryRange, Reading, Semantics, Source};
use memorable::TimelineOptions;
use serde_json::json;

use crate::global::Global;
use crate::util::{fmt_time, open, parse_time};

#[derive(Subcommand)]
pub(crate) enum EmotionCommand {
    /// Fold a reading into a context (created on its first reading), or every reading of a
    /// JSONL file (one reading object a line, `-` for stdin) in one transaction.
    Observe(ObserveArgs),
    /// A context's fused emotional state (`--json`: the full state, with `dominant`).
    State {
        #[arg(long)]
        context: String,
        /// Evaluate the state as of this instant (RFC 3339); default now.
        #[arg(long)]
        at: Option<String>,
    },
    /// Past fused states of a context, oldest first.
    History {
        #[arg(long)]
        context: String,
        /// At most this many states (the newest).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Only states at or after this instant (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Only states before this instant (RFC 3339).
        #[arg(long)]
        until: Option<String>,
    },
    /// Draw a context's history as an SVG timeline: the top expressions over time, the source
    /// of each reading, valence and arousal.
    Plot(PlotArgs),
    /// Every context with readings.
    Contexts,
    /// Close a context (its state and history are kept; a new reading reopens it).
    Close {
        #[arg(long)]
        context: String,
    },
    /// The id of a user's own context (`@5:alice/s1`): what a memory's session feeds in
    /// `memorable serve` (and with `emotion.per_user_sessions`), for `--context`.
    ContextId {
        #[arg(long)]
        user: String,
        /// The session / context name the user's memories gave.
        context: String,
    },
}

#[derive(Args)]
pub(crate) struct ObserveArgs {
    /// Context (conversation / session) id.
    #[arg(long, required_unless_present = "file")]
    context: Option<String>,
    /// text, voice, face, evi, or custom:<name>.
    #[arg(long, default_value = "custom:cli")]
    source: String,
    /// A score, NAME=VALUE with VALUE in [0, 1] (repeat it); names from any vocabulary
    /// ("Joy", "surprise (positive)", "gratitude") or unknown ones (kept as extras).
    #[arg(long = "score", value_name = "NAME=VALUE")]
    scores: Vec<String>,
    /// Scores as one JSON object, e.g. '{"joy": 0.7, "awe": 0.2}'.
    #[arg(long = "scores", value_name = "JSON", conflicts_with = "scores")]
    scores_json: Option<String>,
    /// How much to trust the reading, in [0, 1].
    #[arg(long, default_value_t = 1.0)]
    confidence: f32,
    /// When it was measured (RFC 3339); default now.
    #[arg(long)]
    at: Option<String>,
    /// Sparse thresholded scores (Hume v1): a name the reading lacks was below the cutoff.
    #[arg(long)]
    sparse: bool,
    /// With --sparse: the names it covers (hume, hume_language, goemotions); default all.
    #[arg(long, requires = "sparse")]
    vocabulary: Option<String>,
    /// Read readings from a JSONL file instead.
    #[arg(long, conflicts_with_all = ["context", "scores", "scores_json", "at", "sparse"])]
    file: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct PlotArgs {
    #[arg(long)]
    context: String,
    /// Only states at or after this instant (RFC 3339); the time axis starts here.
    #[arg(long)]
    since: Option<String>,
    /// Only states before this instant (RFC 3339); the time axis ends here.
    #[arg(long)]
    until: Option<String>,
    /// Draw the N expressions with the highest peak (1..=12).
    #[arg(long, default_value_t = 5)]
    top: usize,
    /// Draw these expressions instead of the top ones (repeat it, or separate with commas).
    #[arg(long = "expression", value_name = "NAME", value_delimiter = ',')]
    expressions: Vec<String>,
    #[arg(long, default_value_t = 960)]
    width: u32,
    #[arg(long, default_value_t = 540)]
    height: u32,
    /// light or dark.
    #[arg(long, default_value = "light")]
    theme: String,
    /// The title (default `Emotion timeline — <context>`).
    #[arg(long)]
    title: Option<String>,
    /// Where to write the SVG (`-` for stdout).
    #[arg(long)]
    out: PathBuf,
}

pub(crate) fn run(cli: &Global, command: &EmotionCommand) -> Result<()> {
    match command {
        EmotionCommand::Observe(a) => observe(cli, a),
        EmotionCommand::State { context, at } => state(cli, context, at.as_deref()),
        EmotionCommand::History { context, limit, since, until } => {
            let mut range = HistoryRange::last(*limit);
            range.since = since.as_deref().map(parse_time).transpose()?;
            range.until = until.as_deref().map(parse_time).transpose()?;
            history(cli, context, &range)
        }
        EmotionCommand::Plot(a) => plot(cli, a),
        EmotionCommand::Contexts => contexts(cli),
        EmotionCommand::ContextId { user, context } => {
            let id = memorable::user_context(user, context);
            if cli.json {
                println!("{}", json!({ "context": id }));
            } else {
                println!("{id}");
            }
            Ok(())
        }
        EmotionCommand::Close { context } => {
            let mem = open(&cli.store, &cli.embedder)?;
            mem.close_context(context)?;
            mem.close()?;
            if cli.json {
                println!("{}", json!({ "closed": context }));
            } else {
                println!("closed {context}");
            }
            Ok(())
        }
    }
}

fn plot(cli: &Global, a: &PlotArgs) -> Result<()> {
    let options = TimelineOptions {
        since: a.since.as_deref().map(parse_time).transpose()?,
        until: a.until.as_deref().map(parse_time).transpose()?,
        expressions: a.expressions.clone(),
        top: a.top,
        width: a.width,
        height: a.height,
        theme: a.theme.parse()?,
        title: a.title.clone(),
    };
    let mem = open(&cli.store, &cli.embedder)?;
    let svg = mem.emotion_timeline_svg(&a.context, &options)?;
    mem.close()?;
    if a.out.as_os_str() == "-" {
        print!("{svg}");
        return Ok(());
    }
    std::fs::write(&a.out, &svg).with_context(|| format!("cannot write {}", a.out.display()))?;
    if cli.json {
        println!("{}", json!({ "out": a.out, "bytes": svg.len() }));
    } else {
        println!("wrote {} ({} bytes)", a.out.display(), svg.len());
    }
    Ok(())
}

fn observe(cli: &Global, a: &ObserveArgs) -> Result<()> {
    if let Some(file) = &a.file {
        let readings = read_jsonl(file)?;
        let mem = open(&cli.store, &cli.embedder)?;
        let n = mem.observe_batch(readings)?;
        mem.close()?;
        if cli.json {
            println!("{}", json!({ "observed": n }));
        } else {
            println!("observed {n} readings");
        }
        return Ok(());
    }
    let context = a.context.clone().unwrap_or_default();
    let source: Source = a.source.parse()?;
    let scores: Vec<(String, f32)> = match &a.scores_json {
        Some(j) => {
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(j).context("--scores must be a JSON object of name → number")?;
            map.into_iter()
                .map(|(k, v)| {
                    v.as_f64()
                        .map(|x| (k.clone(), x as f32))
                        .with_context(|| format!("score of {k:?} is not a number"))
                })
                .collect::<Result<_>>()?
        }
        None => a.scores.iter().map(|s| parse_score(s)).collect::<Result<_>>()?,
    };
    let mut reading = Reading::new(context, source).scores(scores).confidence(a.confidence);
    reading.timestamp = a.at.as_deref().map(parse_time).transpose()?;
    if a.sparse {
        reading.semantics = Semantics::sparse(0.0, a.vocabulary.as_deref())?;
    }
    let mem = open(&cli.store, &cli.embedder)?;
    let state = mem.observe(reading)?;
    mem.close()?;
    print_state(&state, cli.json)
}

/// `NAME=VALUE`, split at the last `=` (names may contain spaces and parentheses).
fn parse_score(s: &str) -> Result<(String, f32)> {
    let Some((name, value)) = s.rsplit_once('=') else {
        bail!("--score {s:?} must look like NAME=VALUE");
    };
    let value: f32 =
        value.trim().parse().with_context(|| format!("--score {s:?}: {value:?} is not a number"))?;
    Ok((name.to_owned(), value))
}

fn read_jsonl(file: &Path) -> Result<Vec<Reading>> {
    let reader: Box<dyn BufRead> = if file == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        let f = std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    let mut out = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let r: Reading = serde_json::from_str(&line)
            .map_err(|e| memorable::Error::InvalidInput(format!("line {}: {e}", n + 1)))?;
        out.push(r);
    }
    Ok(out)
}

fn state(cli: &Global, context: &str, at: Option<&str>) -> Result<()> {
    let mem = open(&cli.store, &cli.embedder)?;
    let state = match at {
        Some(t) => mem.emotional_state_at(context, parse_time(t)?)?,
        None => mem.emotional_state(context)?,
    };
    mem.close()?;
    print_state(&state, cli.json)
}

fn print_state(state: &EmotionalState, as_json: bool) -> Result<()> {
    if as_json {
        println!("{}", serde_json::to_string(state)?);
        return Ok(());
    }
    println!("{}", summary(state));
    for b in &state.sources {
        println!(
            "  {:<14} weight {:.2} × confidence {:.2} → share {:>5.1}%  ({} readings, dominant {})",
            b.source.to_string(),
            b.weight,
            b.confidence,
            b.share * 100.0,
            b.readings,
            b.dominant.as_deref().unwrap_or("-")
        );
    }
    if !state.extras.is_empty() {
        let extras: Vec<String> = state.extras.iter().map(|(k, v)| format!("{k} {v:.2}")).collect();
        println!("  not in the catalog: {}", extras.join(", "));
    }
    Ok(())
}

fn summary(s: &EmotionalState) -> String {
    let top: Vec<String> = s.top.iter().map(|e| format!("{} {:.2}", e.id, e.score)).collect();
    format!(
        "{} [{}] {}  valence {:+.2} arousal {:+.2} confidence {:.2}",
        s.context,
        fmt_time(s.at),
        if top.is_empty() { "(no expression)".to_owned() } else { top.join(", ") },
        s.valence,
        s.arousal,
        s.confidence
    )
}

fn history(cli: &Global, context: &str, range: &HistoryRange) -> Result<()> {
    let mem = open(&cli.store, &cli.embedder)?;
    let states = mem.emotional_history(context, range)?;
    mem.close()?;
    if cli.json {
        println!("{}", serde_json::to_string(&states)?);
    } else {
        for s in &states {
            println!("{}", summary(s));
        }
    }
    Ok(())
}

fn contexts(cli: &Global) -> Result<()> {
    let mem = open(&cli.store, &cli.embedder)?;
    let list = mem.contexts()?;
    mem.close()?;
    if cli.json {
        println!("{}", serde_json::to_string(&list)?);
    } else if list.is_empty() {
        println!("(no contexts)");
    } else {
        for c in &list {
            let sources: Vec<String> = c.sources.iter().map(ToString::to_string).collect();
            println!(
                "{}  {} readings from {}  last {}{}",
                c.context,
                c.readings,
                sources.join(", "),
                fmt_time(c.updated_at),
                if c.open { "" } else { "  (closed)" }
            );
        }
    }
    Ok(())
}
