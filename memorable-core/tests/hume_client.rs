//! The Hume client against the offline server (`hume-mock`), no internet. Both run on fast
//! clocks (20 virtual ms per real ms), so a 5 s stream takes ~250 ms and a 1-5 s reconnect
//! delay 50-250 ms; nothing sleeps for real seconds.

use std::sync::{Arc, Mutex, Once};

use hume_mock::{Fault, MockConfig, MockServer, TEST_API_KEY};
use memorable_core::hume::{
    ApiKey, AudioOptions, HumeClient, HumeConfig, HumeEvent, HumeMessage, SessionSummary, VideoOptions,
};
use memorable_core::{Error, ErrorCode};

/// Virtual ms per real ms, for the client and the server alike.
const SCALE: f64 = 20.0;

/// Every log line of this test binary, to check the API key never appears in one.
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static INIT: Once = Once::new();

struct LogSink;
impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_logs() {
    INIT.call_once(|| {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| LogSink)
            .with_ansi(false)
            .init();
    });
}

fn mock(faults: Vec<Fault>) -> MockServer {
    mock_with(|c| c.faults = faults)
}

fn mock_with(f: impl FnOnce(&mut MockConfig)) -> MockServer {
    init_logs();
    let mut config = MockConfig { clock_scale: SCALE, idle_timeout_ms: 600_000_000, ..Default::default() };
    f(&mut config);
    MockServer::start(config).unwrap()
}

/// A client whose only short timeouts are the ones a test asks for (so a loaded machine
/// cannot fake a lost connection).
fn client_for(server: &MockServer, key: &str) -> HumeClient {
    let mut config = HumeConfig::new(server.base_url(), ApiKey::new(key));
    config.clock_scale = SCALE;
    config.connect_timeout_ms = 1_000_000;
    config.close_timeout_ms = 1_000_000;
    config.keepalive_interval_ms = 100_000_000;
    config.keepalive_timeout_ms = 100_000_000;
    config.seed = Some(42);
    HumeClient::new(config).unwrap()
}

fn client(server: &MockServer) -> HumeClient {
    client_for(server, TEST_API_KEY)
}

/// s16le PCM: `speech` ms of a loud 440 Hz tone after `lead` ms of silence.
fn pcm(lead: u64, speech: u64, amp: f64) -> Vec<u8> {
    let mut out = vec![0u8; (lead * 16) as usize * 2];
    out.extend((0..speech * 16).flat_map(|i| {
        let t = i as f64 / 16_000.0;
        ((amp * 32767.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16).to_le_bytes()
    }));
    out
}

fn results(events: &[HumeEvent]) -> Vec<HumeMessage> {
    events
        .iter()
        .filter_map(|e| match e {
            HumeEvent::Message { message, .. }
                if message.message_type.as_deref() == Some("measurement.result") =>
            {
                Some(message.clone())
            }
            _ => None,
        })
        .collect()
}

/// Stream `audio` through a fresh session and close it; the summary and every event.
fn stream(client: &HumeClient, options: AudioOptions, audio: &[u8]) -> (SessionSummary, Vec<HumeEvent>) {
    let session = client.audio_session(options).unwrap();
    let events = session.events().unwrap();
    session.send_pcm(audio).unwrap();
    let summary = session.close().unwrap();
    let events: Vec<HumeEvent> = std::iter::from_fn(|| events.try_next()).collect();
    assert!(matches!(events.last(), Some(HumeEvent::Closed { .. })), "{events:?}");
    (summary, events)
}

fn reconnects(events: &[HumeEvent]) -> usize {
    events.iter().filter(|e| matches!(e, HumeEvent::Reconnecting { .. })).count()
}

/// Result windows never go back in time and measurement ids only grow, across reconnects.
fn assert_monotonic(results: &[HumeMessage]) {
    let mut last_end = 0;
    let mut last_id = None;
    for m in results {
        let r = &m.readings[0];
        let w = r.window.unwrap();
        assert!(w.end_ms >= last_end, "window {w:?} ends before {last_end}");
        assert!(r.measurement_id > last_id, "{:?} after {last_id:?}", r.measurement_id);
        last_end = w.end_ms;
        last_id = r.measurement_id;
    }
}

#[test]
fn streams_audio_and_close_flushes_the_final_results() {
    let server = mock(vec![]);
    let audio = pcm(200, 4000, 0.3);
    let (summary, events) = stream(&client(&server), AudioOptions::new(), &audio);
    let stats = server.stats();
    assert_eq!(stats.sessions.len(), 1);
    let s = &stats.sessions[0];
    assert!(s.audio == audio, "the server got every byte, in order");
    assert!(s.client_close);
    assert_eq!(summary.audio_ms, 4200);
    assert_eq!(summary.reconnects, 0);
    // Speech 200..4200: an interval result at 3200, and the final one that only the close
    // (which ends the utterance) produces.
    let results = results(&events);
    let triggers: Vec<_> = results.iter().map(|m| m.readings[0].trigger.clone().unwrap()).collect();
    assert_eq!(triggers, ["interval", "speech_ended"]);
    assert_eq!(summary.results, 2);
    let last = &results[1].readings[0];
    assert_eq!(last.window.map(|w| (w.start_ms, w.end_ms)), Some((200, 4200)));
    // Scores are the server's deterministic function of the window's samples.
    let samples: Vec<i16> = audio[200 * 32..].chunks(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
    let (expected, _) = hume_mock::audio::audio_scores(&samples);
    let got: Vec<(String, f32)> = last.scores.iter().map(|s| (s.name.clone(), s.value)).collect();
    assert_eq!(got, expected);
    // After the last result: utterance.end, session.closed, then Closed.
    let types: Vec<_> = events
        .iter()
        .rev()
        .take(3)
        .map(|e| match e {
            HumeEvent::Message { message, .. } => message.message_type.clone().unwrap(),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(types[1..], ["session.closed".to_owned(), "utterance.end".to_owned()]);
    assert_eq!(summary.reason, "client_request");
}

#[test]
fn auth_failure_fails_at_once_and_is_not_retried() {
    let server = mock(vec![]);
    let err = client_for(&server, "wrong-key").audio_session(AudioOptions::new()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::HumeAuth, "{err}");
    assert!(err.to_string().contains("401"), "{err}");
    let err = client_for(&server, "wrong-key").video_session(VideoOptions::new()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::HumeAuth);
    let stats = server.stats();
    assert_eq!((stats.unauthorized, stats.handshakes), (2, 0), "one try each, no retry");
    assert!(!err.to_string().contains("wrong-key") && !format!("{err:?}").contains("wrong-key"));
}

#[test]
fn handshake_5xx_is_retried_but_4xx_is_not() {
    let server = mock(vec![Fault::RejectHandshake { attempt: 0, status: 503 }]);
    let (summary, events) = stream(&client(&server), AudioOptions::new(), &pcm(0, 500, 0.3));
    assert_eq!(summary.session_ids.len(), 1);
    assert_eq!(reconnects(&events), 1);
    assert_eq!(server.stats().handshakes, 2);

    let server = mock(vec![Fault::RejectHandshake { attempt: 0, status: 404 }]);
    let err = client(&server).audio_session(AudioOptions::new()).unwrap_err();
    assert_eq!(err.code(), ErrorCode::HumeRejected, "{err}");
    assert_eq!(server.stats().handshakes, 1);
}

/// A fault after frame 3 (0.3-3 s: the sender may coalesce frames when it runs behind) of a
/// 6 s stream with two utterances, with a timer update that must be resent on the new
/// connection.
fn reconnect_case(fault: Fault) -> (MockServer, SessionSummary, Vec<HumeEvent>, Vec<u8>) {
    let server = mock(vec![fault]);
    let mut audio = pcm(100, 1800, 0.3);
    audio.extend(pcm(700, 3500, 0.2));
    let (summary, events) = stream(&client(&server), AudioOptions::new().measurement_timer_ms(3000), &audio);
    (server, summary, events, audio)
}

fn assert_reconnected_once(
    server: &MockServer,
    summary: &SessionSummary,
    events: &[HumeEvent],
    audio: &[u8],
) {
    let stats = server.stats();
    let summaries: Vec<_> =
        stats.sessions.iter().map(|s| (s.frames_accepted, s.close_code, s.close_reason.clone())).collect();
    assert_eq!(stats.sessions.len(), 2, "{summaries:?}");
    assert_eq!((summary.reconnects, reconnects(events)), (1, 1));
    assert_eq!(summary.session_ids, ["mock-session-0", "mock-session-1"]);
    // The last session.update went again on the new connection, before any audio.
    assert_eq!(stats.sessions[1].updates, stats.sessions[0].updates);
    assert_eq!(stats.sessions[1].updates.len(), 1);
    // No audio was lost: the two sessions got the whole stream (the frame in flight when the
    // connection died may be sent twice).
    let first = &stats.sessions[0].audio;
    let second = &stats.sessions[1].audio;
    assert!(first[..] == audio[..first.len()], "the first session got a prefix of the stream");
    assert!(audio.ends_with(second) && first.len() + second.len() >= audio.len(), "the second got the rest");
    // (at most one frame, which the sender may have grown to 1 s while catching up)
    assert!(first.len() + second.len() - audio.len() <= 32_000);
    assert_monotonic(&results(events));
    // Times continue after the reconnect: the second session's results sit after the first's
    // audio.
    let after: Vec<_> = results(events)
        .into_iter()
        .filter(|m| m.readings[0].window.unwrap().start_ms >= first.len() as u64 / 32)
        .collect();
    assert!(!after.is_empty());
}

#[test]
fn reconnects_after_a_dropped_connection_1006() {
    let (server, summary, events, audio) = reconnect_case(Fault::Drop { attempt: 0, after_frames: 3 });
    assert_reconnected_once(&server, &summary, &events, &audio);
    assert!(events
        .iter()
        .any(|e| matches!(e, HumeEvent::Reconnecting { cause, .. } if cause.contains("1006"))));
}

#[test]
fn reconnects_after_1011() {
    let (server, summary, events, audio) =
        reconnect_case(Fault::Close { attempt: 0, after_frames: 3, code: 1011 });
    assert_reconnected_once(&server, &summary, &events, &audio);
}

#[test]
fn reconnects_after_server_shutdown_even_with_1000() {
    let (server, summary, events, audio) =
        reconnect_case(Fault::ServerShutdown { attempt: 0, after_frames: 3 });
    assert_eq!(server.stats().sessions[0].close_code, Some(1000));
    assert_reconnected_once(&server, &summary, &events, &audio);
}

#[test]
fn reconnects_after_an_audio_internal_error_1008() {
    let (server, summary, events, audio) =
        reconnect_case(Fault::InternalError { attempt: 0, after_frames: 3 });
    assert_eq!(server.stats().sessions[0].close_code, Some(1008));
    assert_reconnected_once(&server, &summary, &events, &audio);
}

#[test]
fn reconnects_when_the_keepalive_goes_unanswered() {
    let server = mock(vec![Fault::Stall { attempt: 0, after_frames: 5 }]);
    let mut config = HumeConfig::new(server.base_url(), ApiKey::new(TEST_API_KEY));
    config.clock_scale = SCALE;
    config.connect_timeout_ms = 1_000_000;
    config.close_timeout_ms = 1_000_000;
    config.keepalive_interval_ms = 2_000;
    config.keepalive_timeout_ms = 20_000;
    config.seed = Some(1);
    let audio = pcm(0, 2000, 0.3);
    let (summary, events) = stream(&HumeClient::new(config).unwrap(), AudioOptions::new(), &audio);
    assert_eq!(summary.reconnects, 1);
    assert_eq!(reconnects(&events), 1);
    let stats = server.stats();
    assert_eq!(stats.sessions.len(), 2);
    // A stalled server reads nothing after frame 5: everything from there went to session 1.
    assert!(audio.ends_with(&stats.sessions[1].audio));
}

#[test]
fn no_reconnect_after_a_normal_close_1000() {
    let server = mock(vec![Fault::Close { attempt: 0, after_frames: 5, code: 1000 }]);
    let session = client(&server).audio_session(AudioOptions::new()).unwrap();
    let events = session.events().unwrap();
    let audio = pcm(0, 3000, 0.3);
    // Sending fails once the session has ended (maybe after some audio was queued).
    let sent = audio.chunks(3200).map(|c| session.send_pcm(c)).find(|r| r.is_err());
    let summary = session.close();
    let events: Vec<_> = events.collect();
    assert_eq!(reconnects(&events), 0);
    assert_eq!(server.stats().sessions.len(), 1);
    if let Some(Err(e)) = sent {
        assert_eq!(e.code(), ErrorCode::HumeSessionClosed);
    }
    // The session ended without an error of Hume's: close reports how.
    assert!(summary.unwrap().reason.contains("1000"));
}

#[test]
fn no_reconnect_after_idle_timeout() {
    let server = mock(vec![Fault::IdleTimeout { attempt: 0, after_frames: 3 }]);
    let session = client(&server).audio_session(AudioOptions::new()).unwrap();
    let events = session.events().unwrap();
    for c in pcm(0, 2000, 0.3).chunks(3200) {
        if session.send_pcm(c).is_err() {
            break;
        }
    }
    let events: Vec<_> = events.collect(); // ends with Closed
    assert_eq!(reconnects(&events), 0);
    assert!(
        matches!(events.last(), Some(HumeEvent::Closed { reason }) if reason == "idle_timeout"),
        "{events:?}"
    );
    assert_eq!(session.close().unwrap().reason, "idle_timeout");
    assert_eq!(server.stats().sessions.len(), 1);
}

#[test]
fn no_reconnect_after_config_invalid() {
    // Refused on the first connection: opening the session fails, and is not retried.
    let server = mock(vec![Fault::RejectUpdate { attempt: 0 }]);
    let err = client(&server).audio_session(AudioOptions::new().measurement_timer_ms(5000)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::HumeRejected);
    assert!(err.to_string().contains("config_invalid"), "{err}");
    assert_eq!(server.stats().handshakes, 1);

    // Refused when resent after a reconnect: the session ends there.
    let server = mock(vec![Fault::Drop { attempt: 0, after_frames: 3 }, Fault::RejectUpdate { attempt: 1 }]);
    let session = client(&server).audio_session(AudioOptions::new().measurement_timer_ms(5000)).unwrap();
    let events = session.events().unwrap();
    for c in pcm(0, 2000, 0.3).chunks(3200) {
        if session.send_pcm(c).is_err() {
            break;
        }
    }
    let err = session.close().unwrap_err();
    assert_eq!(err.code(), ErrorCode::HumeRejected, "{err}");
    let events: Vec<_> = events.collect();
    assert_eq!(reconnects(&events), 1);
    assert_eq!(server.stats().handshakes, 2);
}

#[test]
fn update_only_before_the_first_frame() {
    let server = mock(vec![]);
    let session = client(&server).audio_session(AudioOptions::new()).unwrap();
    session.update(5000).unwrap();
    assert_eq!(session.update(2000).unwrap_err().code(), ErrorCode::InvalidInput);
    session.send_pcm(&pcm(0, 300, 0.3)).unwrap();
    // Wait until the audio has gone out, then the update is refused locally.
    let err = loop {
        match session.update(6000) {
            Ok(()) => std::thread::yield_now(),
            Err(e) => break e,
        }
    };
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.to_string().contains("before the first audio frame"), "{err}");
    session.close().unwrap();
    let stats = server.stats();
    assert!(stats.sessions[0].updates.iter().all(|u| u["measurement_timer_ms"] != 6000));
    assert_eq!(stats.sessions[0].close_reason.as_deref(), Some("client_request"));
}

#[test]
fn rate_limited_frames_are_resent_and_none_is_lost() {
    // The server's clock runs 4x slower than the client's: the client sends 4x too fast
    // for it, so after the 1 s burst most frames get rate_limited and must be resent.
    let server = mock_with(|c| c.clock_scale = SCALE / 4.0);
    let audio = pcm(100, 3000, 0.3);
    let (summary, events) = stream(&client(&server), AudioOptions::new(), &audio);
    let stats = server.stats();
    let s = &stats.sessions[0];
    assert!(s.rate_limited > 0, "the server never rate-limited");
    assert!(summary.resent >= s.rate_limited, "{summary:?} vs {}", s.rate_limited);
    assert!(s.audio == audio, "every byte arrived once, in order");
    assert_eq!(summary.audio_ms, 3100);
    // Results equal those of the same audio with no rate limiting.
    let calm = mock(vec![]);
    let (_, calm_events) = stream(&client(&calm), AudioOptions::new(), &audio);
    let strip = |e: &[HumeEvent]| results(e).into_iter().map(|m| m.readings).collect::<Vec<_>>();
    assert_eq!(strip(&events), strip(&calm_events));
}

#[test]
fn oversize_and_malformed_frames_are_refused_locally() {
    let server = mock(vec![]);
    let session = client(&server).audio_session(AudioOptions::new()).unwrap();
    let e = session.send_frame(&vec![0u8; 320_002]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::HumeLimit, "{e}");
    assert!(e.to_string().contains("10 s"), "{e}");
    let e = session.send_frame(&vec![0u8; 1_100_000]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::HumeLimit);
    assert!(e.to_string().contains("1 MiB"), "{e}");
    assert_eq!(session.send_frame(&[1, 2, 3]).unwrap_err().code(), ErrorCode::InvalidInput);
    assert_eq!(session.send_frame(&[]).unwrap_err().code(), ErrorCode::InvalidInput);
    // A whole 10 s frame is fine.
    session.send_frame(&pcm(0, 10_000, 0.1)).unwrap();
    let summary = session.close().unwrap();
    let s = &server.stats().sessions[0];
    assert_eq!((s.frames_accepted, s.frames_invalid), (1, 0));
    assert_eq!(summary.audio_ms, 10_000);

    let video = client(&server).video_session(VideoOptions::new()).unwrap();
    let mut big = hume_mock::video::test_jpeg(64, 64, "faces=1");
    big.resize(2_000_001, 0);
    assert_eq!(video.send_jpeg(&big).unwrap_err().code(), ErrorCode::HumeLimit);
    assert_eq!(video.send_jpeg(b"\x89PNG....").unwrap_err().code(), ErrorCode::InvalidInput);
    video.close().unwrap();
    assert_eq!(server.stats().sessions[1].frames_accepted + server.stats().sessions[1].frames_invalid, 0);
}

fn frames(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| hume_mock::video::test_jpeg(640, 480, &format!("faces={} id={i}", i % 4))).collect()
}

/// Send frames and close; the events of the session.
fn stream_video(
    client: &HumeClient,
    options: VideoOptions,
    frames: &[Vec<u8>],
) -> (SessionSummary, Vec<HumeEvent>) {
    let session = client.video_session(options).unwrap();
    let events = session.events().unwrap();
    for (i, f) in frames.iter().enumerate() {
        assert_eq!(session.send_jpeg(f).unwrap(), i as u64);
    }
    let summary = session.close().unwrap();
    (summary, events.collect())
}

#[test]
fn video_replies_match_frames_in_order_and_recorded_frames_are_resent() {
    // The server allows 1.5 fps, the client starts at 3: it gets rate_limited, halves its
    // rate and resends (a recording), so every frame is measured exactly once.
    let server = mock_with(|c| c.video_fps = 1.5);
    let frames = frames(12);
    let (summary, events) = stream_video(&client(&server), VideoOptions::new().face_threshold(0.8), &frames);
    let stats = server.stats();
    assert!(stats.sessions[0].rate_limited > 0);
    assert_eq!(stats.sessions[0].updates.len(), 1);
    let mut answered: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            HumeEvent::Message { message, frame: Some(f) }
                if message.message_type.as_deref() == Some("measurement.result") =>
            {
                // The reply is the one for this frame: its faces are the frame's own.
                let faces = (*f as usize % 4).min(2);
                assert_eq!(message.readings.len(), faces, "frame {f}");
                for (i, r) in message.readings.iter().enumerate() {
                    let expected = hume_mock::video::face_scores(&frames[*f as usize], i);
                    let got: Vec<_> = r.scores.iter().map(|s| (s.name.clone(), s.value)).collect();
                    assert_eq!(got, expected, "frame {f} face {i}");
                }
                Some(*f)
            }
            _ => None,
        })
        .collect();
    answered.sort();
    assert_eq!(answered, (0..12).collect::<Vec<u64>>());
    assert_eq!((summary.frames, summary.dropped), (12, 0));
    assert!(summary.resent > 0);
}

#[test]
fn live_video_drops_rate_limited_frames() {
    let server = mock_with(|c| c.video_fps = 1.0);
    let frames = frames(8);
    let (summary, events) = stream_video(&client(&server), VideoOptions::new().live(true), &frames);
    let dropped: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            HumeEvent::FrameDropped { frame, code } => Some((*frame, code.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(summary.frames + summary.dropped, 8);
    assert_eq!(dropped.len() as u64, summary.dropped);
    assert!(dropped.iter().all(|(_, c)| c == "rate_limited"));
    assert_eq!(summary.resent, 0);
}

#[test]
fn video_internal_errors_and_invalid_frames() {
    let server = mock(vec![]);
    let mut frames = frames(3);
    frames.push(hume_mock::video::test_jpeg(640, 480, "fail")); // internal_error, retryable
    frames.push(vec![0xFF, 0xD8, 0xFF, 0xD9]); // a JPEG marker but no image: invalid_image_frame
    let session = client(&server).video_session(VideoOptions::new().live(true)).unwrap();
    let events = session.events().unwrap();
    for f in &frames {
        session.send_jpeg(f).unwrap();
    }
    let summary = session.close().unwrap();
    let events: Vec<_> = events.collect();
    let dropped: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            HumeEvent::FrameDropped { frame, code } => Some((*frame, code.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(dropped, [(3, "internal_error"), (4, "invalid_image_frame")]);
    assert_eq!(summary.frames, 3);
}

#[test]
fn the_api_key_travels_only_in_the_header_and_never_shows() {
    let server = mock(vec![Fault::Drop { attempt: 0, after_frames: 2 }]);
    let client = client(&server);
    assert!(!format!("{client:?}").contains(TEST_API_KEY));
    let _ = stream(&client, AudioOptions::new(), &pcm(0, 1000, 0.3));
    let _ = client.upload_audio(b"ID3 not audio", None).unwrap_err();
    let stats = server.stats();
    assert_eq!((stats.key_in_query, stats.both_credentials), (0, 0));
    let logs = String::from_utf8(LOGS.lock().unwrap().clone()).unwrap();
    let leaks: Vec<&str> = logs.lines().filter(|l| l.contains(TEST_API_KEY)).collect();
    assert!(leaks.is_empty(), "the key leaked into the logs: {leaks:?}");
}

fn wav(pcm: &[u8]) -> Vec<u8> {
    let mut out = b"RIFF".to_vec();
    out.extend((36 + pcm.len() as u32).to_le_bytes());
    out.extend(b"WAVEfmt ");
    out.extend(16u32.to_le_bytes());
    out.extend([1, 0, 1, 0]);
    out.extend(16_000u32.to_le_bytes());
    out.extend(32_000u32.to_le_bytes());
    out.extend([2, 0, 16, 0]);
    out.extend(b"data");
    out.extend((pcm.len() as u32).to_le_bytes());
    out.extend(pcm);
    out
}

#[test]
fn upload_matches_realtime_and_honours_retry_after() {
    let server = mock_with(|c| c.http_429 = 2);
    let client = client(&server);
    let audio = pcm(300, 4000, 0.3);
    let up = client.upload_audio(&wav(&audio), None).unwrap();
    assert_eq!(server.stats().uploads_429, 2, "two 429s, then success (2 retries)");
    assert_eq!(up.raw["received"]["audio_duration_ms"], 4300);
    let (_, events) = stream(&client, AudioOptions::new(), &audio);
    let realtime: Vec<_> = results(&events).into_iter().flat_map(|m| m.readings).collect();
    assert_eq!(up.message.readings, realtime, "upload and realtime agree");

    // Three 429s in a row exhaust two retries.
    let server = mock_with(|c| c.http_429 = 3);
    let err = client_for(&server, TEST_API_KEY).upload_audio(&audio, Some(5000)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::HumeRateLimited, "{err}");
    assert_eq!(server.stats().uploads, 3);
}

#[test]
fn upload_errors() {
    let server = mock(vec![]);
    let client = client(&server);
    let rejected = |e: Error| match e {
        Error::HumeRejected { code, .. } => code,
        other => panic!("{other}"),
    };
    let mut stereo = wav(&pcm(0, 500, 0.3));
    stereo[22] = 2;
    assert_eq!(rejected(client.upload_audio(&stereo, None).unwrap_err()), "audio_decode_failed");
    assert_eq!(rejected(client.upload_audio(b"ID3\x04 an mp3", None).unwrap_err()), "unsupported_media_type");
    assert_eq!(rejected(client.upload_audio(&[1, 2, 3], None).unwrap_err()), "audio_decode_failed");
    // Checked before sending: nothing reaches the server.
    let before = server.stats().uploads;
    let e = client.upload_audio(&vec![0u8; 25_000_001], None).unwrap_err();
    assert_eq!(e.code(), ErrorCode::HumeLimit);
    assert_eq!(client.upload_audio(&[0, 0], Some(100)).unwrap_err().code(), ErrorCode::InvalidInput);
    assert_eq!(server.stats().uploads, before);
    // Images: measured per image; one bad image fails the request.
    let imgs = frames(3);
    let refs: Vec<&[u8]> = imgs.iter().map(Vec::as_slice).collect();
    let up = client.upload_images(&refs, None).unwrap();
    assert_eq!(up.raw["measurements"].as_array().unwrap().len(), 3);
    assert_eq!(up.message.readings.len(), 1 + 2); // faces=0, 1, 2
    let broken = [&imgs[0][..], &[0xFF, 0xD8, 0xFF, 0xD9][..]];
    assert_eq!(rejected(client.upload_images(&broken, None).unwrap_err()), "image_decode_failed");
    let wrong = HumeClient::new(HumeConfig::new(server.base_url(), ApiKey::new("nope"))).unwrap();
    assert_eq!(wrong.upload_images(&refs, None).unwrap_err().code(), ErrorCode::HumeAuth);
}

#[test]
fn events_reach_callbacks_in_order() {
    let server = mock(vec![]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let options = AudioOptions::new().on_event(move |e| sink.lock().unwrap().push(e.clone()));
    let (_, events) = stream(&client(&server), options, &pcm(0, 3500, 0.3));
    assert_eq!(*seen.lock().unwrap(), events);
    assert!(matches!(events[0], HumeEvent::Connected { connection: 0, .. }));
}
