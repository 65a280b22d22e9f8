//! `memorable hume ...`: Hume measurements from the command line — stream a WAV through a
//! realtime session, measure files with the upload endpoints. The API key comes from
//! `HUME_API_KEY` (never a flag: command lines are visible to other users).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::Cli;

#[derive(Subcommand)]
pub(crate) enum HumeCommand {
    /// Stream a WAV file through a realtime audio session (paced to real time), printing
    /// each result as it arrives.
    #[cfg(feature = "hume")]
    Stream(StreamArgs),
    /// Measure a recording (`--audio`) or images (`--image`) with the upload endpoints.
    #[cfg(feature = "hume")]
    Upload(UploadArgs),
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
    /// The emotional context the results belong to.
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
    /// The emotional context the results belong to.
    #[arg(long)]
    context: Option<String>,
    /// Result interval for audio (3000-10000 ms).
    #[arg(long)]
    timer_ms: Option<u32>,
    #[command(flatten)]
    remote: Remote,
}

pub(crate) fn run(cli: &Cli, command: &HumeCommand) -> Result<()> {
    match command {
        #[cfg(feature = "hume")]
        HumeCommand::Stream(a) => stream(cli, a),
        #[cfg(feature = "hume")]
        HumeCommand::Upload(a) => upload(cli, a),
    }
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
fn stream(cli: &Cli, a: &StreamArgs) -> Result<()> {
    use memorable::hume::AudioOptions;
    let pcm = read_audio(&a.audio)?;
    let client = client(&a.remote)?;
    let as_json = cli.json;
    let mut options = AudioOptions::new().on_event(move |e| print_event(e, as_json));
    if let Some(ms) = a.timer_ms {
        options = options.measurement_timer_ms(ms);
    }
    let session = client.audio_session(options)?;
    let _ = &a.context;
    session.send_pcm(&pcm)?;
    let summary = session.close()?;
    if cli.json {
        println!("{}", json!({"summary": summary}));
    } else {
        eprintln!(
            "streamed {:.1} s in {} session(s), {} results, {} reconnect(s), ended: {}",
            summary.audio_ms as f64 / 1000.0,
            summary.session_ids.len(),
            summary.results,
            summary.reconnects,
            summary.reason
        );
    }
    Ok(())
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
fn upload(cli: &Cli, a: &UploadArgs) -> Result<()> {
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
    let _ = &a.context;
    if cli.json {
        println!("{}", json!({"readings": result.message.readings, "response": result.raw}));
    } else {
        for r in &result.message.readings {
            let top: Vec<String> =
                r.scores.iter().take(3).map(|s| format!("{} {:.2}", s.name, s.value)).collect();
            println!("{}: {}", r.source.as_str(), top.join(", "));
        }
    }
    Ok(())
}
