//! `ollama-mock`: run the offline Ollama server on a loopback port, e.g. to point
//! `memorable generate --model ollama:tiny` or a binding's test at it
//! (`model_server.ollama_url = http://127.0.0.1:PORT`). Faults can be set at start or at run
//! time with `POST /_mock/faults` (the same JSON as `--faults`).

use clap::Parser;

#[derive(Parser)]
#[command(name = "ollama-mock", about = "Offline Ollama API server for tests")]
struct Args {
    /// Address to listen on (loopback only: this is a test server); port 0 picks one.
    #[arg(long, default_value = "127.0.0.1:11434")]
    addr: String,
    /// Models it serves (repeatable).
    #[arg(long = "model", default_values_t = vec!["tiny".to_string()])]
    models: Vec<String>,
    /// Faults as JSON, e.g. {"fail_first": 2, "delay_ms": 100, "malformed_stream": true}.
    #[arg(long)]
    faults: Option<String>,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let faults = match args.faults.as_deref() {
        Some(f) => ollama_mock::Faults::from_json(f).map_err(std::io::Error::other)?,
        None => ollama_mock::Faults::default(),
    };
    let config = ollama_mock::MockConfig { models: args.models, faults, ..Default::default() };
    let server = ollama_mock::MockServer::start_on(&args.addr, config)?;
    println!("ollama-mock listening on {}", server.base_url());
    loop {
        std::thread::park();
    }
}
