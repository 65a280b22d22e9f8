//! `hume-mock`: run the offline Hume server on a loopback port, e.g. to point the
//! `memorable hume` commands or an app at it (`--base-url http://127.0.0.1:PORT`).

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "hume-mock",
    about = "Offline Hume server (v1 realtime + upload, legacy stream, EVI) for tests"
)]
struct Args {
    /// Address to listen on (loopback only: this is a test server).
    #[arg(long, default_value = "127.0.0.1:8765")]
    addr: String,
    /// The API key to accept.
    #[arg(long, default_value = hume_mock::TEST_API_KEY)]
    api_key: String,
    /// Virtual milliseconds per real millisecond (rate limits and timeouts run on it).
    #[arg(long, default_value_t = 1.0)]
    clock_scale: f64,
    /// Answer the first N upload requests with 429 + Retry-After.
    #[arg(long, default_value_t = 0)]
    http_429: u32,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let config = hume_mock::MockConfig {
        api_key: args.api_key,
        clock_scale: args.clock_scale,
        http_429: args.http_429,
        ..Default::default()
    };
    let server = hume_mock::MockServer::start_on(&args.addr, config)?;
    println!("hume-mock listening on {}", server.base_url());
    loop {
        std::thread::park();
    }
}
