//! The v1 upload endpoints (protocol notes §1.6-1.7): multipart `file` + `config` parts, the
//! 25 MB body limit, the documented error bodies, and scripted `429` + `Retry-After`.
//! Audio uploads run the same [`Analyzer`] as realtime sessions, so results match.

use serde_json::{json, Value};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::audio::{decode_upload, Analyzer, AudioError};
use crate::{http, video, Shared};

/// Bodies over this are not even drained (the connection is just answered and closed).
const DRAIN_LIMIT: usize = 64 << 20;
/// Images over this are refused.
const MAX_IMAGE_BYTES: usize = 2_000_000;

pub fn error_body(code: &str, message: &str) -> Value {
    json!({"type": "error", "code": code, "message": message, "request_id": "req-mock"})
}

pub async fn serve(stream: &mut TcpStream, req: &mut http::Request, shared: &Shared) {
    let audio = req.path.ends_with("/audio/file");
    let rate_limited = {
        let mut stats = shared.stats.lock().expect("stats lock");
        stats.uploads += 1;
        let limited = (stats.uploads_429 as u32) < shared.config.http_429;
        if limited {
            stats.uploads_429 += 1;
        }
        limited
    };
    let len = req.header("content-length").and_then(|l| l.parse::<usize>().ok());
    // Read (or drain) the body before answering, so the client sees the answer and not a
    // reset connection.
    let body = match len {
        Some(len) if len <= DRAIN_LIMIT => match http::read_body(stream, req, len).await {
            Ok(b) => b,
            Err(_) => return,
        },
        Some(_) => Vec::new(),
        None => {
            let body = error_body("invalid_request", "a Content-Length is required");
            let _ = http::respond(stream, 400, &[], &body).await;
            return;
        }
    };
    let (status, headers, answer) = if rate_limited {
        let retry = vec![("retry-after", shared.config.retry_after.clone())];
        (429, retry, json!({"message": "API rate limit exceeded"}))
    } else if len.unwrap_or(0) > shared.config.max_upload_bytes {
        let code = if audio { "audio_too_long" } else { "invalid_request" };
        (413, vec![], error_body(code, "the request body is over 25 MB"))
    } else {
        let ctype = req.header("content-type").unwrap_or("").to_owned();
        match answer(audio, &ctype, &body) {
            Ok(v) => (200, vec![], v),
            Err((status, code, message)) => (status, vec![], error_body(code, &message)),
        }
    };
    let _ = http::respond(stream, status, &headers, &answer).await;
    // Discard anything unread so closing does not reset the connection under the reply.
    let mut sink = [0u8; 8192];
    let _ = tokio::time::timeout(std::time::Duration::from_millis(50), stream.read(&mut sink)).await;
}

type Refusal = (u16, &'static str, String);

fn answer(audio: bool, content_type: &str, body: &[u8]) -> Result<Value, Refusal> {
    if !content_type.starts_with("multipart/form-data") {
        return Err((400, "message_invalid", "the body must be multipart/form-data".into()));
    }
    let parts = http::multipart(content_type, body).ok_or((
        400,
        "message_invalid",
        "malformed multipart body".to_owned(),
    ))?;
    let config = match parts.iter().find(|p| p.name == "config") {
        None => json!({}),
        Some(p) => serde_json::from_slice::<Value>(&p.data).ok().filter(Value::is_object).ok_or((
            400,
            "config_invalid",
            "the config part is not a JSON object".to_owned(),
        ))?,
    };
    let files: Vec<_> = parts.iter().filter(|p| p.name == "file").collect();
    if audio {
        let [file] = files[..] else {
            return Err((
                400,
                "message_invalid",
                format!("expected exactly one file part, got {}", files.len()),
            ));
        };
        audio_answer(&file.data, &config)
    } else {
        if files.is_empty() {
            return Err((400, "message_invalid", "expected at least one file part".into()));
        }
        image_answer(&files.iter().map(|f| &f.data[..]).collect::<Vec<_>>())
    }
}

fn audio_answer(data: &[u8], config: &Value) -> Result<Value, Refusal> {
    let timer = match config.get("measurement_timer_ms") {
        None => 3000,
        Some(t) => t.as_u64().filter(|t| (3000..=10_000).contains(t)).ok_or((
            400,
            "config_invalid",
            "the config part is not valid: measurement_timer_ms must be in 3000..=10000".to_owned(),
        ))?,
    };
    let pcm = decode_upload(data).map_err(|e| match e {
        AudioError::Unsupported(m) => (415, "unsupported_media_type", m.to_owned()),
        AudioError::Decode(m) => (400, "audio_decode_failed", m),
    })?;
    let mut analyzer = Analyzer::new(timer);
    let mut events = analyzer.push(&pcm);
    events.extend(analyzer.finish());
    let mut utterances = Vec::new();
    let mut measurements = Vec::new();
    for mut e in events {
        let kind = e["type"].as_str().unwrap_or_default().to_owned();
        e.as_object_mut().expect("object").remove("type");
        match kind.as_str() {
            "utterance.end" => utterances.push(e),
            "measurement.result" => measurements.push(e),
            _ => {}
        }
    }
    Ok(json!({"request_id": "req-mock", "run_id": "run-mock",
              "received": {"audio_duration_ms": analyzer.duration_ms()},
              "utterances": utterances, "measurements": measurements}))
}

fn image_answer(files: &[&[u8]]) -> Result<Value, Refusal> {
    // Every image is checked before any is measured: one bad image fails the request.
    let mut jpegs = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        if f.len() < 2 || f[0] != 0xFF || f[1] != 0xD8 {
            return Err((415, "unsupported_media_type", format!("image {i} is not a JPEG")));
        }
        if f.len() > MAX_IMAGE_BYTES {
            return Err((413, "image_too_large", format!("image {i} is over 2 MB")));
        }
        let jpeg =
            video::read_jpeg(f).map_err(|e| (400, "image_decode_failed", format!("image {i}: {e}")))?;
        if jpeg.width as u64 * jpeg.height as u64 > video::MAX_PIXELS {
            return Err((413, "image_too_large", format!("image {i} is over 8,294,400 pixels")));
        }
        jpegs.push(jpeg);
    }
    let measurements: Vec<Value> = files
        .iter()
        .zip(&jpegs)
        .enumerate()
        .map(|(i, (f, j))| json!({"frame_id": i, "faces": video::faces(f, j).0}))
        .collect();
    Ok(json!({"request_id": "req-mock", "run_id": "run-mock", "received": {"frames": files.len()},
              "measurements": measurements, "face_state": "mock-face-state"}))
}
