//! The v1 upload endpoints (protocol notes §1.6-1.7, §5.1 HTTP): one multipart request per
//! call, limits checked before sending (25 MB per body, 2 MB per image), retries on 408,
//! 409, 429 and 5xx honouring `retry-after-ms` / `Retry-After` / `X-RateLimit-Reset`
//! (else 1 s × 2^n with jitter), and Hume's error bodies turned into errors with its code.

use std::time::Duration;

use serde_json::Value;

use super::client::HumeClient;
use super::parse::{self, HumeMessage};
use super::policy::{http_retry_delay_ms, http_retryable, Jitter};
use crate::error::{Error, Result};

/// Path of the audio upload endpoint.
pub const AUDIO_UPLOAD_PATH: &str = "/v1/expression/audio/file";
/// Path of the image upload endpoint.
pub const IMAGE_UPLOAD_PATH: &str = "/v1/expression/video/file";
/// Largest request body Hume accepts.
pub const MAX_UPLOAD_BYTES: usize = 25_000_000;
/// Largest image Hume accepts.
pub const MAX_IMAGE_BYTES: usize = 2_000_000;

/// What an upload returned: the readings Hume measured, and its JSON as sent.
#[derive(Debug, Clone)]
pub struct UploadResult {
    pub message: HumeMessage,
    pub raw: Value,
}

struct Part<'a> {
    name: &'static str,
    filename: Option<&'a str>,
    content_type: &'static str,
    data: &'a [u8],
}

fn multipart(boundary: &str, parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::with_capacity(parts.iter().map(|p| p.data.len() + 200).sum());
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let filename = p.filename.map(|f| format!("; filename=\"{f}\"")).unwrap_or_default();
        body.extend_from_slice(
            format!(
                "Content-Disposition: form-data; name=\"{}\"{filename}\r\nContent-Type: {}\r\n\r\n",
                p.name, p.content_type
            )
            .as_bytes(),
        );
        body.extend_from_slice(p.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    body
}

impl HumeClient {
    /// Measure a whole recording: a WAV (16-bit PCM, 16 kHz, mono) or raw s16le bytes,
    /// optionally with `measurement_timer_ms`. Results match a realtime session over the
    /// same audio.
    pub fn upload_audio(&self, file: &[u8], measurement_timer_ms: Option<u32>) -> Result<UploadResult> {
        if file.is_empty() {
            return Err(Error::InvalidInput("the audio file is empty".into()));
        }
        if let Some(ms) = measurement_timer_ms {
            if !(3000..=10_000).contains(&ms) {
                return Err(Error::InvalidInput(format!(
                    "measurement_timer_ms must be in 3000..=10000 (got {ms})"
                )));
            }
        }
        let config =
            measurement_timer_ms.map(|ms| serde_json::json!({"measurement_timer_ms": ms}).to_string());
        let wav = file.starts_with(b"RIFF");
        let parts = vec![Part {
            name: "file",
            filename: Some(if wav { "audio.wav" } else { "audio.pcm" }),
            content_type: if wav { "audio/wav" } else { "application/octet-stream" },
            data: file,
        }];
        self.post(AUDIO_UPLOAD_PATH, parts, config.as_deref())
    }

    /// Measure the faces in one or more JPEG images (each at most 2 MB). `config` is the
    /// optional JSON config part (`{"face": {...}, "face_state": "..."}`).
    pub fn upload_images(&self, images: &[&[u8]], config: Option<&Value>) -> Result<UploadResult> {
        if images.is_empty() {
            return Err(Error::InvalidInput("no images to upload".into()));
        }
        for (i, img) in images.iter().enumerate() {
            if img.len() > MAX_IMAGE_BYTES {
                return Err(Error::HumeLimit(format!(
                    "image {i} has {} bytes, over Hume's 2 MB per image",
                    img.len()
                )));
            }
            if img.len() < 4 || img[0] != 0xFF || img[1] != 0xD8 {
                return Err(Error::InvalidInput(format!("image {i} is not a JPEG")));
            }
        }
        let config = config.map(Value::to_string);
        let parts: Vec<Part<'_>> = images
            .iter()
            .map(|img| Part {
                name: "file",
                filename: Some("image.jpg"),
                content_type: "image/jpeg",
                data: img,
            })
            .collect();
        self.post(IMAGE_UPLOAD_PATH, parts, config.as_deref())
    }

    /// POST the parts (and the JSON config part, if any) with retries.
    fn post<'a>(
        &self,
        path: &str,
        mut parts: Vec<Part<'a>>,
        config: Option<&'a str>,
    ) -> Result<UploadResult> {
        if let Some(c) = config {
            parts.push(Part {
                name: "config",
                filename: None,
                content_type: "application/json",
                data: c.as_bytes(),
            });
        }
        let inner = &self.inner;
        let mut jitter = Jitter::new(inner.next_seed());
        let boundary = format!("memorable-{:016x}", (jitter.next_f64() * u64::MAX as f64) as u64);
        let body = multipart(&boundary, &parts);
        if body.len() > MAX_UPLOAD_BYTES {
            return Err(Error::HumeLimit(format!(
                "the upload body is {} bytes, over Hume's 25 MB limit (about 13 minutes of 16 kHz audio)",
                body.len()
            )));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(
                inner.clock.real(inner.config.http_timeout_ms as f64).max(Duration::from_millis(1)),
            ))
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}{path}", inner.http_base);
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let retries = inner.config.http_retries;
        for n in 0..=retries {
            let sent = agent
                .post(&url)
                .header("X-Hume-Api-Key", inner.key.expose())
                .header("Content-Type", &content_type)
                .send(&body[..]);
            let mut response = match sent {
                Ok(r) => r,
                Err(e) if n < retries => {
                    tracing::info!(error = %e, "Hume upload failed; retrying");
                    std::thread::sleep(
                        inner.clock.real(http_retry_delay_ms(n, |_| None, &mut jitter) as f64),
                    );
                    continue;
                }
                Err(e) => return Err(Error::HumeConnection(format!("upload to {url} failed: {e}"))),
            };
            let status = response.status().as_u16();
            let header = |h: &str| response.headers().get(h).and_then(|v| v.to_str().ok()).map(str::to_owned);
            if http_retryable(status) && n < retries {
                let delay = http_retry_delay_ms(n, header, &mut jitter);
                tracing::info!(status, delay_ms = delay, "Hume upload refused; retrying");
                std::thread::sleep(inner.clock.real(delay as f64));
                continue;
            }
            let text = response
                .body_mut()
                .with_config()
                .limit(64 << 20)
                .read_to_string()
                .map_err(|e| Error::HumeConnection(format!("reading Hume's answer: {e}")))?;
            let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let message = || json.get("message").and_then(Value::as_str).unwrap_or(&text).to_owned();
            return match status {
                200..=299 => Ok(UploadResult { message: parse::parse(&text)?, raw: json }),
                401 | 403 => Err(Error::HumeAuth(format!("HTTP {status}: {}", message()))),
                429 => Err(Error::HumeRateLimited(format!("{} (after {} retries)", message(), retries))),
                _ => Err(Error::HumeRejected {
                    code: json
                        .get("code")
                        .and_then(Value::as_str)
                        .map_or_else(|| format!("http_{status}"), str::to_owned),
                    message: message(),
                }),
            };
        }
        unreachable!("the last attempt returns")
    }
}
