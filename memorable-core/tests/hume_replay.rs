//! Legacy stream and EVI replay: the offline server plays the older protocols over real
//! WebSockets, and what it sends parses into the readings the protocol notes say (one per
//! legacy prediction, one per final spoken EVI user message, none for interim, typed or
//! assistant messages; warnings and errors as notices).

use std::time::Duration;

use hume_mock::{exchange, MockConfig, MockServer, TEST_API_KEY};
use memorable_core::hume::{parse, Family, HumeMessage, HumeSource, Semantics, Severity};
use serde_json::json;

fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn wav(ms: u64, amp: f64) -> Vec<u8> {
    let pcm: Vec<u8> =
        (0..ms * 16).flat_map(|i| ((amp * 32767.0 * (i as f64 * 0.17).sin()) as i16).to_le_bytes()).collect();
    let mut out = b"RIFF".to_vec();
    out.extend((36 + pcm.len() as u32).to_le_bytes());
    out.extend(b"WAVEfmt \x10\0\0\0\x01\0\x01\0\x80\x3e\0\0\0\x7d\0\0\x02\0\x10\0data");
    out.extend((pcm.len() as u32).to_le_bytes());
    out.extend(pcm);
    out
}

fn parsed(received: &[String]) -> Vec<HumeMessage> {
    received.iter().map(|m| parse(m).unwrap()).collect()
}

fn server(f: impl FnOnce(&mut MockConfig)) -> MockServer {
    let mut c = MockConfig::default();
    f(&mut c);
    MockServer::start(c).unwrap()
}

#[test]
fn legacy_stream_replay() {
    let server = server(|_| {});
    let req = |v: serde_json::Value| (v.to_string(), 1);
    let face0 = hume_mock::video::test_jpeg(640, 480, "faces=0");
    let face2 = hume_mock::video::test_jpeg(640, 480, "faces=2");
    let huge = hume_mock::video::test_jpeg(4000, 100, "faces=1");
    let requests = [
        req(
            json!({"data": b64(&wav(2000, 0.3)), "models": {"prosody": {}, "burst": {}}, "payload_id": "p-1"}),
        ),
        req(json!({"data": b64(&wav(6000, 0.3)), "models": {"prosody": {}}})),
        req(json!({"data": b64(&face2), "models": {"face": {"identify_faces": true}}})),
        req(json!({"data": b64(&face0), "models": {"face": {}}})),
        req(json!({"data": b64(&face0), "models": {"face": {}, "facemesh": {}}})),
        req(json!({"data": b64(&huge), "models": {"face": {}}})),
        req(json!({"data": b64(&face2), "models": {"prosody": {}}})),
        req(json!({"job_details": true, "payload_id": "p-2"})),
        req(json!({"data": "I am glad. Thank you!", "raw_text": true, "models": {"language": {}}})),
        ("{not json".to_owned(), 1),
    ];
    let ex = exchange(&server.base_url(), "/v0/stream/models", TEST_API_KEY, 0, &requests, Duration::ZERO)
        .unwrap();
    let m = parsed(&ex.received);
    assert_eq!(m.len(), requests.len());
    assert!(m.iter().all(|m| m.family == Family::Legacy));
    // Prosody and burst: one dense 48-name reading each, seconds → ms.
    assert_eq!(m[0].readings.len(), 2);
    for r in &m[0].readings {
        assert_eq!((r.source, r.semantics, r.scores.len()), (HumeSource::Voice, Semantics::Dense, 48));
        assert_eq!(r.window.map(|w| (w.start_ms, w.end_ms)), Some((0, 2000)));
    }
    assert_eq!(serde_json::from_str::<serde_json::Value>(&ex.received[0]).unwrap()["payload_id"], "p-1");
    let code = |m: &HumeMessage| (m.notices[0].severity, m.notices[0].code.clone().unwrap());
    assert_eq!(code(&m[1]), (Severity::Error, "E0203".into()));
    // Faces: {x,y,w,h} boxes become [x0,y0,x1,y1]; identified faces keep their ids.
    assert_eq!(m[2].readings.len(), 2);
    let f = m[2].readings[1].face.clone().unwrap();
    assert_eq!(f.face_id.as_deref(), Some("face_1"));
    assert_eq!(f.bbox, Some([80.0, 0.0, 240.0, 160.0]));
    // No faces: the warning top level when one model was asked for, nested otherwise.
    assert_eq!((code(&m[3]), m[3].notices[0].model.clone()), ((Severity::Warning, "W0103".into()), None));
    assert_eq!(
        (code(&m[4]), m[4].notices[0].model.clone()),
        ((Severity::Warning, "W0103".into()), Some("face".into()))
    );
    assert!(m[3].readings.is_empty() && m[4].readings.is_empty());
    assert_eq!(code(&m[5]), (Severity::Error, "E0205".into()));
    assert_eq!(code(&m[6]), (Severity::Error, "E0102".into()));
    assert!(m[7].readings.is_empty() && m[7].notices.is_empty());
    assert_eq!(m[8].readings.len(), 2);
    assert_eq!((m[8].readings[0].source, m[8].readings[0].scores.len()), (HumeSource::Text, 53));
    assert_eq!(code(&m[9]), (Severity::Error, "E0100".into()));
}

#[test]
fn legacy_stream_closes_when_idle() {
    let server = server(|c| {
        c.clock_scale = 1000.0; // a virtual minute is 60 ms
    });
    let ex = exchange(&server.base_url(), "/v0/stream/models", TEST_API_KEY, 0, &[], Duration::from_secs(5))
        .unwrap();
    assert_eq!(ex.close_code, Some(1000));
}

#[test]
fn evi_chat_replay() {
    let server = server(|c| {
        c.clock_scale = 1000.0; // 120 s of inactivity is 120 ms
    });
    let pcm: Vec<u8> =
        (0..24_000).flat_map(|i| ((0.3 * 32767.0 * (i as f64 * 0.2).sin()) as i16).to_le_bytes()).collect();
    let requests = [
        (json!({"type": "session_settings", "audio": {"encoding": "linear16"}}).to_string(), 0),
        (json!({"type": "user_input", "text": "hello there"}).to_string(), 4),
        // 1.5 s of audio: one user turn (interim + final) and the assistant's reply.
        (json!({"type": "audio_input", "data": b64(&pcm)}).to_string(), 5),
        ("not json".to_owned(), 1),
    ];
    let ex = exchange(
        &server.base_url(),
        "/v0/evi/chat?verbose_transcription=true",
        TEST_API_KEY,
        1,
        &requests,
        Duration::from_secs(5),
    )
    .unwrap();
    let m = parsed(&ex.received);
    let types: Vec<_> = m.iter().map(|m| m.message_type.clone().unwrap()).collect();
    assert_eq!(
        types,
        [
            "chat_metadata",
            "user_message",
            "assistant_message",
            "assistant_prosody",
            "assistant_end",
            "user_message",
            "user_message",
            "assistant_message",
            "assistant_prosody",
            "assistant_end",
            "error",
            "error"
        ]
    );
    assert!(m.iter().all(|m| m.family == Family::Evi));
    // Only the final, spoken user message is a reading (typed, interim and the assistant's
    // own prosody are not).
    let readings: Vec<_> = m.iter().flat_map(|m| m.readings.clone()).collect();
    assert_eq!(readings.len(), 1);
    assert_eq!((readings[0].source, readings[0].scores.len()), (HumeSource::Evi, 48));
    assert_eq!(readings[0].text.as_deref(), Some("mock utterance 1"));
    assert_eq!(m[10].notices[0].code.as_deref(), Some("E0700"));
    // Inactivity: an error, then the chat closes.
    assert_eq!(m[11].notices[0].code.as_deref(), Some("I0100"));
    assert_eq!(ex.close_code, Some(1000));
}

#[test]
fn replay_endpoints_check_the_key() {
    let server = server(|_| {});
    let err = exchange(&server.base_url(), "/v0/evi/chat", "wrong", 1, &[], Duration::ZERO).unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    assert_eq!(server.stats().unauthorized, 1);
}
