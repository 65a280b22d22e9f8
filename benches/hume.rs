//! Hume integration benchmarks:
//! - `hume_parse/v1_audio`: `hume::parse` of a v1 audio `measurement.result` (the message
//!   a realtime session receives every few seconds per stream; target ≥ 200,000 messages/s
//!   parsed and fused on one core, see `hume_parse_fuse`);
//! - `hume_parse/evi_user_message`, `hume_parse/legacy_prosody`: the dense families (48
//!   scores each);
//! - `hume_client/audio_frame`: the client's cost per 100 ms audio frame against the offline
//!   server on loopback, pacing switched off (a clock 10^6 times real time): framing, the
//!   WebSocket write, the per-frame ping that attributes `rate_limited`, and the server's
//!   side of the round trip.
//!
//! Run: `cargo bench --bench hume`. Figures and notes: docs/benchmarks.md.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use memorable::hume::{self, ApiKey, AudioOptions, HumeClient, HumeConfig};

fn recorded(case: &str) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hume");
    let names = std::fs::read_to_string(format!("{dir}/recorded.names.txt")).unwrap();
    let lines = std::fs::read_to_string(format!("{dir}/recorded.jsonl")).unwrap();
    let i = names.lines().position(|n| n == case).unwrap();
    lines.lines().nth(i).unwrap().to_owned()
}

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("hume_parse");
    g.throughput(Throughput::Elements(1));
    for (name, case) in [
        ("v1_audio", "v1 audio result"),
        ("evi_user_message", "evi user_message"),
        ("legacy_prosody", "legacy prosody"),
    ] {
        let json = recorded(case);
        g.bench_function(name, |b| b.iter(|| hume::parse(std::hint::black_box(&json)).unwrap()));
    }
    g.finish();
}

fn client(c: &mut Criterion) {
    let server = hume_mock::MockServer::start(hume_mock::MockConfig {
        clock_scale: 1e6,
        idle_timeout_ms: u64::MAX / 4,
        extras: false,
        ..Default::default()
    })
    .unwrap();
    let mut config = HumeConfig::new(server.base_url(), ApiKey::new(hume_mock::TEST_API_KEY));
    config.clock_scale = 1e6;
    config.connect_timeout_ms = u64::MAX / 4;
    config.close_timeout_ms = u64::MAX / 4;
    config.keepalive_interval_ms = u64::MAX / 4;
    config.keepalive_timeout_ms = u64::MAX / 4;
    let client = HumeClient::new(config).unwrap();
    // Quiet audio (no utterances), so the figure is the transport, not the server's scoring.
    let frame = vec![0u8; hume::FRAME_BYTES];
    let mut g = c.benchmark_group("hume_client");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.bench_function("audio_frame", |b| {
        b.iter_custom(|iters| {
            let session = client.audio_session(AudioOptions::new()).unwrap();
            let start = Instant::now();
            for _ in 0..iters {
                session.send_frame(&frame).unwrap();
            }
            let summary = session.close().unwrap();
            let elapsed = start.elapsed();
            assert_eq!(summary.frames, iters);
            elapsed.max(Duration::from_nanos(1))
        })
    });
    g.finish();
}

criterion_group!(benches, parse, client);
criterion_main!(benches);
