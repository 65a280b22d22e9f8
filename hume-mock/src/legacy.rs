//! Replay of the two older protocols clients still meet in recorded data (protocol notes §2,
//! §3, §5.4 item 7): the legacy `v0/stream/models` stream (lock-step JSON, capitalised
//! names, dense scores, seconds, `{x,y,w,h}` boxes, both warning shapes, `E0xxx` errors,
//! `job_details`, `payload_id` echo, idle close) and EVI chat (`chat_metadata` first,
//! interim / final / typed user messages, assistant messages, errors, inactivity close).

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::audio::{features, wav_pcm};
use crate::{http, video, Shared};

/// The 48 expressions of the legacy face / prosody / burst models and EVI, in Hume's spelling.
pub const LEGACY_48: [&str; 48] = [
    "Admiration",
    "Adoration",
    "Aesthetic Appreciation",
    "Amusement",
    "Anger",
    "Anxiety",
    "Awe",
    "Awkwardness",
    "Boredom",
    "Calmness",
    "Concentration",
    "Confusion",
    "Contemplation",
    "Contempt",
    "Contentment",
    "Craving",
    "Desire",
    "Determination",
    "Disappointment",
    "Disgust",
    "Distress",
    "Doubt",
    "Ecstasy",
    "Embarrassment",
    "Empathic Pain",
    "Entrancement",
    "Envy",
    "Excitement",
    "Fear",
    "Guilt",
    "Horror",
    "Interest",
    "Joy",
    "Love",
    "Nostalgia",
    "Pain",
    "Pride",
    "Realization",
    "Relief",
    "Romance",
    "Sadness",
    "Satisfaction",
    "Shame",
    "Surprise (negative)",
    "Surprise (positive)",
    "Sympathy",
    "Tiredness",
    "Triumph",
];

/// Legacy audio payloads may hold at most 5 s.
const LEGACY_MAX_AUDIO_MS: u64 = 5000;
/// Legacy images may be at most 3000 x 3000.
const LEGACY_MAX_SIDE: u32 = 3000;

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// Dense legacy / EVI scores: every one of the 48 names, a small hash-derived base, with
/// loud audio lifting Excitement and Joy and quiet audio lifting Calmness.
pub fn dense_scores(seed: &[u8], rms: f64) -> Vec<(&'static str, f32)> {
    let h = fnv(seed);
    LEGACY_48
        .iter()
        .enumerate()
        .map(|(i, &name)| {
            let base = ((h.rotate_left(i as u32) & 0xFF) as f64 / 255.0) * 0.08;
            let lift = match name {
                "Excitement" => 4.0 * rms,
                "Joy" => 3.0 * rms,
                "Calmness" => (0.5 - 5.0 * rms).max(0.0),
                _ => 0.0,
            };
            (name, (((base + lift) * 10_000.0).round() / 10_000.0) as f32)
        })
        .collect()
}

fn emotions(scores: &[(&str, f32)]) -> Value {
    scores.iter().map(|(n, s)| json!({"name": n, "score": s})).collect()
}

/// Standard base64 (with or without padding); `None` on any other byte.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

fn samples(pcm: &[u8]) -> Vec<i16> {
    pcm.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

async fn close(ws: &mut WebSocketStream<TcpStream>, code: u16) {
    let _ = ws.close(Some(CloseFrame { code: CloseCode::from(code), reason: "".into() })).await;
    let drain = async { while let Some(Ok(_)) = ws.next().await {} };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), drain).await;
}

pub(crate) async fn serve_legacy(stream: TcpStream, req: http::Request, shared: Arc<Shared>) {
    shared.stats.lock().expect("stats lock").legacy_connections += 1;
    let Some(mut ws) = crate::upgrade(stream, req).await else { return };
    let mut jobs = 0u64;
    loop {
        let idle = tokio::time::sleep(shared.clock.real(shared.config.legacy_idle_ms as f64));
        let text = tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => t.as_str().to_owned(),
                Some(Ok(Message::Binary(_))) => r#"{"binary":true}"#.to_owned(),
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => return,
            },
            _ = idle => { close(&mut ws, 1000).await; return; }
        };
        let reply = legacy_reply(&text, &mut jobs);
        if ws.send(Message::text(reply.to_string())).await.is_err() {
            return;
        }
    }
}

/// The reply to one legacy request.
pub fn legacy_reply(text: &str, jobs: &mut u64) -> Value {
    let Ok(req) = serde_json::from_str::<Value>(text) else {
        return json!({"error": "Invalid JSON.", "code": "E0100"});
    };
    let payload_id = req.get("payload_id").cloned();
    let with_id = |mut v: Value| {
        if let Some(id) = &payload_id {
            v["payload_id"] = id.clone();
        }
        v
    };
    let mut job_details = || {
        *jobs += 1;
        json!({"job_id": format!("{:032x}", fnv(format!("job-{jobs}").as_bytes()))})
    };
    let error = |code: &str, msg: &str| with_id(json!({"error": msg, "code": code}));
    if req.get("job_details") == Some(&json!(true)) && req.get("data").is_none() {
        return with_id(json!({"job_details": job_details()}));
    }
    let (Some(models), Some(data)) = (req.get("models").and_then(Value::as_object), req["data"].as_str())
    else {
        return error("E0101", "Malformed payload: `data` and `models` are required.");
    };
    let mut reply = json!({});
    if req.get("job_details") == Some(&json!(true)) {
        reply["job_details"] = job_details();
    }
    if req.get("raw_text") == Some(&json!(true)) {
        if models.keys().any(|k| k != "language") {
            return error("E0102", "Streaming payload configured with a model that does not support text.");
        }
        let predictions: Vec<Value> = data
            .split_terminator(['.', '!', '?'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                let mut e = emotions(&dense_scores(s.as_bytes(), 0.0));
                for extra in ["Annoyance", "Disapproval", "Enthusiasm", "Gratitude", "Sarcasm"] {
                    e.as_array_mut().expect("array").push(json!({"name": extra, "score": 0.01}));
                }
                json!({"text": s, "position": {"begin": 0, "end": s.len()}, "emotions": e})
            })
            .collect();
        reply["language"] = json!({"predictions": predictions});
        return with_id(reply);
    }
    let Some(bytes) = base64_decode(data) else {
        return error("E0201", "Invalid base64 data.");
    };
    let nested = models.len() > 1;
    if bytes.starts_with(b"RIFF") {
        let Ok(pcm) = wav_pcm(&bytes) else {
            return error("E0200", "Unknown media format.");
        };
        let ms = pcm.len() as u64 / 32;
        if pcm.is_empty() {
            return error("E0202", "No audio signal detected.");
        }
        if ms > LEGACY_MAX_AUDIO_MS {
            return error("E0203", &format!("Audio duration {ms} ms exceeds the 5000 ms limit."));
        }
        if models.contains_key("face") || models.contains_key("facemesh") {
            return error(
                "E0102",
                "Streaming payload configured with model type 'face', which is not supported for the detected file type 'audio'.",
            );
        }
        let (rms, _) = features(&samples(&pcm));
        let time = json!({"begin": 0.0, "end": ms as f64 / 1000.0});
        if models.contains_key("prosody") {
            let p = json!({"time": time, "emotions": emotions(&dense_scores(&pcm, rms))});
            reply["prosody"] = json!({"predictions": [p]});
        }
        if models.contains_key("burst") {
            if rms < 0.05 {
                let w = json!({"warning": "No vocal bursts detected.", "code": "W0101"});
                if !nested {
                    return with_id(w);
                }
                reply["burst"] = w;
            } else {
                let p = json!({"time": time, "emotions": emotions(&dense_scores(&pcm[..pcm.len() / 2], rms)),
                               "descriptions": [{"name": "Laugh", "score": 0.7}, {"name": "Sigh", "score": 0.1}]});
                reply["burst"] = json!({"predictions": [p]});
            }
        }
        return with_id(reply);
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        let jpeg = match video::read_jpeg(&bytes) {
            Ok(j) => j,
            Err(_) => return error("E0200", "Unknown media format."),
        };
        if jpeg.width > LEGACY_MAX_SIDE || jpeg.height > LEGACY_MAX_SIDE {
            return error("E0205", "Image exceeds the 3000 x 3000 limit.");
        }
        if models.contains_key("prosody") || models.contains_key("burst") {
            return error(
                "E0102",
                "Streaming payload configured with model type 'prosody', which is not supported for the detected file type 'image'.",
            );
        }
        if models.contains_key("face") {
            let n = jpeg.faces.unwrap_or(1);
            if n == 0 {
                // Both shapes exist: top level when only one model was asked for (the SDK's
                // type), nested under the model key otherwise (Hume's web example).
                let w = json!({"warning": "No faces detected.", "code": "W0103"});
                if !nested {
                    return with_id(w);
                }
                reply["face"] = w;
            } else {
                let identify = models["face"].get("identify_faces") == Some(&json!(true));
                let predictions: Vec<Value> = (0..n)
                    .map(|i| {
                        let side = jpeg.width.min(jpeg.height) as f64 / (2.0 + i as f64);
                        let face_id = if identify { format!("face_{i}") } else { "unknown".into() };
                        json!({"frame": 0, "time": null, "bbox": {"x": i as f64 * side * 0.5, "y": 0.0, "w": side, "h": side},
                               "prob": 0.999, "face_id": face_id,
                               "emotions": emotions(&dense_scores(&[&bytes[..], &[i as u8]].concat(), 0.1)),
                               "facs": null, "descriptions": null})
                    })
                    .collect();
                reply["face"] = json!({"predictions": predictions});
            }
        }
        return with_id(reply);
    }
    error("E0200", "Unknown media format.")
}

pub(crate) async fn serve_evi(stream: TcpStream, req: http::Request, shared: Arc<Shared>) {
    shared.stats.lock().expect("stats lock").evi_connections += 1;
    let verbose = req.query.get("verbose_transcription").is_some_and(|v| v == "true");
    let Some(mut ws) = crate::upgrade(stream, req).await else { return };
    let mut chat = EviChat::new(verbose);
    let meta = json!({"type": "chat_metadata", "chat_id": "mock-chat", "chat_group_id": "mock-group", "request_id": "mock-request"});
    if ws.send(Message::text(meta.to_string())).await.is_err() {
        return;
    }
    loop {
        let idle = tokio::time::sleep(shared.clock.real(shared.config.evi_inactivity_ms as f64));
        let text = tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => t.as_str().to_owned(),
                Some(Ok(Message::Binary(_))) => "binary".to_owned(),
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => return,
            },
            _ = idle => {
                let e = json!({"type": "error", "code": "I0100", "slug": "inactivity_timeout",
                               "message": "The chat ended after a period of inactivity."});
                let _ = ws.send(Message::text(e.to_string())).await;
                close(&mut ws, 1000).await;
                return;
            }
        };
        for reply in chat.reply(&text) {
            if ws.send(Message::text(reply.to_string())).await.is_err() {
                return;
            }
        }
    }
}

/// One EVI chat: a user turn is 1 s of audio (or a typed `user_input`).
pub struct EviChat {
    pub verbose: bool,
    pcm: Vec<u8>,
    chat_ms: u64,
    turns: u64,
}

impl EviChat {
    pub fn new(verbose: bool) -> EviChat {
        EviChat { verbose, pcm: Vec::new(), chat_ms: 0, turns: 0 }
    }

    pub fn reply(&mut self, text: &str) -> Vec<Value> {
        let invalid = |why: &str| {
            vec![json!({"type": "error", "code": "E0700", "slug": "invalid_message", "message": why})]
        };
        let Ok(msg) = serde_json::from_str::<Value>(text) else { return invalid("messages must be JSON") };
        match msg["type"].as_str() {
            Some("user_input") => {
                let content = msg["text"].as_str().unwrap_or_default().to_owned();
                let mut out =
                    vec![json!({"type": "user_message", "message": {"role": "user", "content": content},
                    "models": {}, "time": {"begin": self.chat_ms, "end": self.chat_ms},
                    "from_text": true, "interim": false})];
                out.extend(self.assistant());
                out
            }
            Some("audio_input") => {
                let Some(data) = msg["data"].as_str().and_then(base64_decode) else {
                    return invalid("audio_input.data must be base64");
                };
                self.pcm.extend(data);
                let mut out = Vec::new();
                while self.pcm.len() >= 32_000 {
                    let turn: Vec<u8> = self.pcm.drain(..32_000).collect();
                    let (rms, _) = features(&samples(&turn));
                    let (begin, end) = (self.chat_ms, self.chat_ms + 1000);
                    self.chat_ms = end;
                    self.turns += 1;
                    let scores: serde_json::Map<String, Value> =
                        dense_scores(&turn, rms).into_iter().map(|(n, s)| (n.to_owned(), json!(s))).collect();
                    let content = format!("mock utterance {}", self.turns);
                    if self.verbose {
                        out.push(json!({"type": "user_message", "message": {"role": "user", "content": "mock"},
                            "models": {"prosody": {"scores": scores.clone()}}, "time": {"begin": begin, "end": end - 500},
                            "from_text": false, "interim": true}));
                    }
                    out.push(json!({"type": "user_message", "message": {"role": "user", "content": content},
                        "models": {"prosody": {"scores": scores}}, "time": {"begin": begin, "end": end},
                        "from_text": false, "interim": false, "language": "en", "custom_session_id": null}));
                    out.extend(self.assistant());
                }
                out
            }
            Some("session_settings") => Vec::new(),
            _ => invalid("unknown message type"),
        }
    }

    /// The assistant's turn: its own prosody, which clients must not take as the user's.
    fn assistant(&self) -> Vec<Value> {
        let scores: serde_json::Map<String, Value> = LEGACY_48
            .iter()
            .map(|n| (n.to_string(), json!(if *n == "Sympathy" { 0.6 } else { 0.02 })))
            .collect();
        vec![
            json!({"type": "assistant_message", "id": format!("a-{}", self.turns),
                   "message": {"role": "assistant", "content": "I hear you."},
                   "models": {"prosody": {"scores": scores.clone()}}, "from_text": false}),
            json!({"type": "assistant_prosody", "id": format!("a-{}", self.turns), "models": {"prosody": {"scores": scores}}}),
            json!({"type": "assistant_end"}),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGk").unwrap(), b"hi");
        assert!(base64_decode("a*b").is_none());
    }

    #[test]
    fn legacy_errors_and_warnings() {
        let mut jobs = 0;
        assert_eq!(legacy_reply("{", &mut jobs)["code"], "E0100");
        assert_eq!(legacy_reply(r#"{"data":"%%","models":{"face":{}}}"#, &mut jobs)["code"], "E0201");
        let r = legacy_reply(r#"{"job_details":true,"payload_id":"p1"}"#, &mut jobs);
        assert_eq!(
            (r["payload_id"].as_str(), r["job_details"]["job_id"].as_str().map(str::len)),
            (Some("p1"), Some(32))
        );
        let r = legacy_reply(
            r#"{"data":"I am glad. Thanks!","raw_text":true,"models":{"language":{}}}"#,
            &mut jobs,
        );
        assert_eq!(r["language"]["predictions"].as_array().unwrap().len(), 2);
        assert_eq!(r["language"]["predictions"][0]["emotions"].as_array().unwrap().len(), 53);
    }

    #[test]
    fn evi_turns() {
        let mut chat = EviChat::new(true);
        let data = "AAAA".repeat(32_000 / 3 + 1);
        let out = chat.reply(&json!({"type": "audio_input", "data": data}).to_string());
        let types: Vec<_> = out.iter().map(|m| m["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            ["user_message", "user_message", "assistant_message", "assistant_prosody", "assistant_end"]
        );
        assert_eq!((out[0]["interim"].as_bool(), out[1]["interim"].as_bool()), (Some(true), Some(false)));
        assert_eq!(out[1]["models"]["prosody"]["scores"].as_object().unwrap().len(), 48);
        let typed = chat.reply(r#"{"type":"user_input","text":"hi"}"#);
        assert_eq!(typed[0]["from_text"], true);
        assert_eq!(chat.reply("nope")[0]["slug"], "invalid_message");
    }
}
