//! `memorable hume ...`: Hume measurements from the command line — stream a WAV through a
//! realtime session, measure files with the upload endpoints, fuse recorded Hume messages
//! into a context (`ingest`, no network). The API key comes from
//! `HUME_API_KEY` (never a flag: command lines are visible to other users).

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::global::Global;
use crate::util::open;

#[derive(Subcommand)]
pub(crate) enum HumeCommand {
    /// Stream a WAV file through a realtime audio session (paced to real time), printing
    /// each result as it arrives.
    #[cfg(feature = "hume")]
    Stream(StreamArgs),
    /// Measure a recording (`--audio`) or images (`--image`) with the upload endpoints.
    #[cfg(feature = "hume")]
    Upload(UploadArgs),
    /// Fuse recorded Hume messages (any family, one JSON message a line) into a context's
    /// emotional state; no network. All lines are parsed first: a bad one fuses nothing.
    Ingest(IngestArgs),
}

#[derive(Args)]
pub(crate) struct IngestArgs {
    /// The emotional context the readings go to.
    #[arg(long)]
    context: String,
    /// The JSONL file of Hume messages (`-` reads standard input).
    file: PathBuf,
}

/// Where Hume is.
#[derive(Args)]
pub(crate) struct Remote {
    /// Hume's API base URL (an `http://` URL, e.g. a local `hume-mock`, uses plain ws://).
    #[arg(long, env = "HUME_BASE_URL", default_value = "https://api.cloud.hume.ai")]
    base_url: String,
}

#[derive(Args)]
pub(crate) struct StreamArgs {
    /// The WAV file (PCM or float, any rate and channel count: converted to 16 kHz mono).
    #[arg(long)]
    audio: PathBuf,
    /// The emotional context the results go into, as they arrive (in the store of `--store`).
    #[arg(long)]
    context: String,
    /// Result interval while speech goes on (3000-10000 ms; Hume's default 3000).
    #[arg(long)]
    timer_ms: Option<u32>,
    #[command(flatten)]
    remote: Remote,
}

#[derive(Args)]
pub(crate) struct UploadArgs {
    /// A recording: WAV (16-bit PCM, 16 kHz, mono; others are converted) or raw s16le.
    #[arg(long, conflicts_with = "image", required_unless_present = "image")]
    audio: Option<PathBuf>,
    /// JPEG images (each at most 2 MB).
    #[arg(long, num_args = 1..)]
    image: Vec<PathBuf>,
    /// The emotional context the results go into (in the store of `--store`); without it
    /// the results are only printed.
    #[arg(long)]
    context: Option<String>,
    /// Result interval for audio (3000-10000 ms).
    #[arg(long)]
    timer_ms: Option<u32>,
    #[command(flatten)]
    remote: Remote,
}

pub(crate) fn run(cli: &Global, command: &HumeCommand) -> Result<()> {
    match command {
        #[cfg(feature = "hume")]
        HumeCommand::Stream(a) => stream(cli, a),
        #[cfg(feature = "hume")]
        HumeCommand::Upload(a) => upload(cli, a),
        HumeCommand::Ingest(a) => ingest(cli, a),
    }
}

fn ingest(cli: &Global, a: &IngestArgs) -> Result<()> {
    let text = if a.file.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).context("cannot read standard input")?;
        s
    } else {
        std::fs::read_to_string(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?
    };
    let mem = open(&cli.store, &cli.embedder)?;
    let report = mem.ingest_hume_lines(&a.context, &text).with_context(|| format!("{}", a.file.display()))?;
    mem.close()?;
    if cli.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    let sources: Vec<String> = report.sources.iter().map(ToString::to_string).collect();
    println!(
        "{} message(s), {} reading(s) fused into {} ({})",
        report.messages,
        report.readings,
        report.context,
        if sources.is_empty() { "no sources".to_owned() } else { sources.join(", ") }
    );
    for n in &report.notices {
        eprintln!("hume {:?}: {} {}", n.severity, n.code.as_deref().unwrap_or(""), n.message);
    }
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    if let Some(state) = &report.state {
        println!(
            "state: dominant {}, valence {:+.3}, arousal {:+.3}, {} reading(s)",
            state.dominant.as_deref().unwrap_or("none"),
            state.valence,
            state.arousal,
            state.readings
        );
    }
    Ok(())
}

#[cfg(feature = "hume")]
fn client(remote: &Remote) -> Result<memorable::hume::HumeClient> {
    let mut config = memorable::hume::HumeConfig::default();
    config.base_url = remote.base_url.clone();
    Ok(memorable::hume::HumeClient::new(config)?)
}

/// Read a WAV into 16 kHz mono s16le (raw bytes pass through for uploads).
fn read_audio(path: &std::path::Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let (pcm, info) =
        memorable::hume::wav::wav_to_pcm16k(&bytes).with_context(|| format!("{}", path.display()))?;
    tracing::info!(?info, "read {}", path.display());
    Ok(pcm)
}

#[cfg(feature = "hume")]
fn stream(cli: &Global, a: &StreamArgs) -> Result<()> {
    use memorable::hume::AudioOptions;
    let pcm = read_audio(&a.audio)?;
    let client = client(&a.remote)?;
    let as_json = cli.json;
    let mut options = AudioOptions::new().on_event(move |e| print_event(e, as_json));
    if let Some(ms) = a.timer_ms {
        options = options.measurement_timer_ms(ms);
    }
    // Results go into the context as they arrive (the callback runs on the client's thread;
    // the handle is shared). A failed fusion is logged, not fatal: the stream goes on.
    let mem = std::sync::Arc::new(open(&cli.store, &cli.embedder)?);
    let (sink, context) = (mem.clone(), a.context.clone());
    options = options.on_event(move |e| {
        if let memorable::hume::HumeEvent::Message { message, .. } = e {
            if let Err(err) = sink.ingest_hume_message(&context, message) {
                tracing::warn!("cannot fuse a Hume result into {context:?}: {err}");
            }
        }
    });
    let session = client.audio_session(options)?;
    session.send_pcm(&pcm)?;
    let summary = session.close()?;
    let state = emotional_state(&mem, &a.context)?;
    drop(client);
    // The session's callback held the other reference; once it is gone, close cleanly (a
    // handle still shared is closed by its drop).
    if let Ok(mem) = std::sync::Arc::try_unwrap(mem) {
        mem.close()?;
    }
    if cli.json {
        println!("{}", json!({"summary": summary, "state": state}));
    } else {
        eprintln!(
            "streamed {:.1} s in {} session(s), {} results, {} reconnect(s), ended: {}",
            summary.audio_ms as f64 / 1000.0,
            summary.session_ids.len(),
            summary.results,
            summary.reconnects,
            summary.reason
        );
        print_state(state.as_ref());
    }
    Ok(())
}

/// The context's fused state, or `None` while it has no reading.
#[cfg(feature = "hume")]
fn emotional_state(mem: &memorable::Memorable, context: &str) -> Result<Option<memorable::EmotionalState>> {
    match mem.emotional_state(context) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.code() == memorable::ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(feature = "hume")]
fn print_state(state: Option<&memorable::EmotionalState>) {
    if let Some(state) = state {
        println!(
            "state of {}: dominant {}, valence {:+.3}, arousal {:+.3}, {} reading(s)",
            state.context,
            state.dominant.as_deref().unwrap_or("none"),
            state.valence,
            state.arousal,
            state.readings
        );
    }
}

#[cfg(feature = "hume")]
fn print_event(e: &memorable::hume::HumeEvent, as_json: bool) {
    use memorable::hume::HumeEvent;
    if as_json {
        println!("{}", serde_json::to_string(e).unwrap_or_default());
        return;
    }
    match e {
        HumeEvent::Message { message, .. } => {
            for r in &message.readings {
                let window = r
                    .window
                    .map(|w| format!("{:.1}-{:.1} s", w.start_ms as f64 / 1000.0, w.end_ms as f64 / 1000.0));
                let top: Vec<String> =
                    r.scores.iter().take(3).map(|s| format!("{} {:.2}", s.name, s.value)).collect();
                println!(
                    "[{}] {}",
                    window.unwrap_or_default(),
                    if top.is_empty() { "(nothing over the cutoff)".into() } else { top.join(", ") }
                );
            }
            for n in &message.notices {
                eprintln!("hume {:?}: {} {}", n.severity, n.code.as_deref().unwrap_or(""), n.message);
            }
        }
        HumeEvent::Reconnecting { attempt, delay_ms, cause } => {
            eprintln!("connection lost ({cause}); reconnect attempt {attempt} in {delay_ms} ms")
        }
        _ => {}
    }
}

#[cfg(feature = "hume")]
fn upload(cli: &Global, a: &UploadArgs) -> Result<()> {
    let client = client(&a.remote)?;
    let result = match &a.audio {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            // WAVs Hume would refuse (other rates, stereo, float) are converted first.
            let body = if bytes.starts_with(b"RIFF") {
                memorable::hume::wav::pcm_to_wav(&read_audio(path)?)
            } else {
                bytes
            };
            client.upload_audio(&body, a.timer_ms)?
        }
        None => {
            let images = a
                .image
                .iter()
                .map(|p| std::fs::read(p).with_context(|| format!("cannot read {}", p.display())))
                .collect::<Result<Vec<_>>>()?;
            let refs: Vec<&[u8]> = images.iter().map(Vec::as_slice).collect();
            client.upload_images(&refs, None)?
        }
    };
    let report = match &a.context {
        Some(context) => {
            let mem = open(&cli.store, &cli.embedder)?;
            let report = mem.ingest_hume_message(context, &result.message)?;
            mem.close()?;
            Some(report)
        }
        None => None,
    };
    if cli.json {
        println!(
            "{}",
            json!({"readings": result.message.readings, "response": result.raw, "ingest": report})
        );
    } else {
        for r in &result.message.readings {
            let top: Vec<String> =
                r.scores.iter().take(3).map(|s| format!("{} {:.2}", s.name, s.value)).collect();
            println!("{}: {}", r.source.as_str(), top.join(", "));
        }
        print_state(report.and_then(|r| r.state).as_ref());
    }
    Ok(())
}
