//! `memorable generate`: text from the generator role (the local GGUF, Ollama, or an
//! OpenAI-compatible server). No store is involved: the command opens an in-memory one with
//! the hashing embedder, so only the generator loads.

use std::io::Write;

use anyhow::Result;
use clap::Args;
use memorable::models::llm::GenerateRequest;
use memorable::Builder;

use crate::global::Global;

#[derive(Args)]
pub(crate) struct GenerateArgs {
    /// The generator: smollm2, gguf:<file in the model cache>, ollama:<model>,
    /// openai:<model> (default: --generator, `auto`).
    #[arg(long)]
    model: Option<String>,
    /// Send the prompt as is, without the chat template (like llama.cpp's plain completion).
    #[arg(long)]
    raw: bool,
    /// A system message before the prompt (chat only).
    #[arg(long, conflicts_with = "raw")]
    system: Option<String>,
    /// Sampling temperature; 0 is greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    #[arg(long, default_value_t = 1.0)]
    top_p: f32,
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Stop before this text (repeatable).
    #[arg(long)]
    stop: Vec<String>,
    /// Ask for JSON and check the answer parses (retried once).
    #[arg(long)]
    json_mode: bool,
    /// Text the answer begins with (the local model continues it; servers ignore it).
    #[arg(long)]
    answer_prefix: Option<String>,
    /// Print the text as it is generated.
    #[arg(long)]
    stream: bool,
    prompt: String,
}

pub(crate) fn generate(g: &Global, a: &GenerateArgs) -> Result<()> {
    let json = g.json;
    let mut config = g.config();
    config.embedder = "hashing".into();
    if let Some(m) = &a.model {
        config.generator = m.clone();
    }
    let mem = Builder::in_memory().config(config).open()?;
    let request = GenerateRequest::from_parts(Some(a.prompt.clone()), None, a.raw, a.system.clone())?
        .temperature(a.temperature)
        .top_p(a.top_p)
        .max_tokens(a.max_tokens)
        .seed(a.seed)
        .stop(a.stop.clone())
        .json(a.json_mode);
    let request = match &a.answer_prefix {
        Some(p) => request.answer_prefix(p),
        None => request,
    };
    let generation = if a.stream {
        // Pieces go to stdout, or to stderr when stdout carries the JSON report.
        let mut sink: Box<dyn Write> =
            if json { Box::new(std::io::stderr()) } else { Box::new(std::io::stdout()) };
        let g = mem.generate_stream(&request, &mut |piece| {
            let _ = sink.write_all(piece.as_bytes());
            let _ = sink.flush();
            true
        })?;
        if !json {
            println!();
        }
        g
    } else {
        mem.generate(&request)?
    };
    if json {
        println!("{}", serde_json::to_string(&generation)?);
    } else if !a.stream {
        println!("{}", generation.text);
    }
    mem.close()?;
    Ok(())
}
