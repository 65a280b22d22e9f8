//! An offline server that speaks Ollama's API, for tests (Ollama itself cannot be installed
//! here): `POST /api/generate` and `POST /api/chat` (NDJSON streaming or one object,
//! `format: "json"`, `options.num_predict` / `stop`), `POST /api/embed`, `GET /api/tags`,
//! `GET /api/version`, with Ollama's status codes and error bodies (`{"error": "..."}`, 404
//! `model 'X' not found`, 400 for a bad body, a final `{"error": ...}` line mid-stream); and
//! Ollama's OpenAI-compatible layer: `POST /v1/chat/completions` and `POST /v1/completions`
//! (SSE `data:` chunks ending `data: [DONE]`, usage with `stream_options.include_usage`,
//! `response_format: {"type": "json_object"}`, `max_tokens`, `stop`), `POST /v1/embeddings`,
//! `GET /v1/models`, errors as `{"error": {"message", "type", "code"}}`.
//!
//! The "model" is a deterministic toy: it answers `Echo: <the last user text>` word by word,
//! in JSON mode `{"text": ...}`, and when a JSON request carries numbered conversation turns
//! (`[n] speaker: text`) and asks for `"summary"` and `"facts"`, the consolidation shape:
//! a summary of the turns and one fact per turn with its source. Embeddings hash words into
//! `embed_dim` numbers.
//!
//! Faults ([`Faults`], also settable at run time with `POST /_mock/faults`): a delay before
//! answering, the first N requests answered 500, a stream with a line that is not JSON, a
//! stream cut off before its final message, an error line mid-stream.
//!
//! ```no_run
//! let server = ollama_mock::MockServer::start(ollama_mock::MockConfig::default()).unwrap();
//! println!("point the client at {}", server.base_url());
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// What the mock serves.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Model names it knows (`name` and `name:latest` both match).
    pub models: Vec<String>,
    /// Length of its embeddings.
    pub embed_dim: usize,
    pub faults: Faults,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig { models: vec!["tiny".into()], embed_dim: 8, faults: Faults::default() }
    }
}

/// Scripted misbehaviour.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Wait this long before answering any request (a slow server; clients time out).
    pub delay_ms: u64,
    /// Answer the first N requests with HTTP 500.
    pub fail_first: u32,
    /// Put a line that is not JSON in every stream.
    pub malformed_stream: bool,
    /// Close every stream before its final (`done`) message.
    pub drop_stream: bool,
    /// End every stream with an `{"error": ...}` line instead of the final message.
    pub error_mid_stream: bool,
}

impl Faults {
    /// Faults from JSON (`{"delay_ms": 100, "fail_first": 2, ...}`; absent fields: none).
    pub fn from_json(text: &str) -> Result<Faults, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("faults: {e}"))?;
        Ok(Faults {
            delay_ms: v["delay_ms"].as_u64().unwrap_or(0),
            fail_first: v["fail_first"].as_u64().unwrap_or(0) as u32,
            malformed_stream: v["malformed_stream"].as_bool().unwrap_or(false),
            drop_stream: v["drop_stream"].as_bool().unwrap_or(false),
            error_mid_stream: v["error_mid_stream"].as_bool().unwrap_or(false),
        })
    }
}

/// One request the mock received (for assertions).
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

struct State {
    config: MockConfig,
    failed: u32,
    received: Vec<Received>,
}

/// A running mock; it stops when dropped (its listener thread ends with the process).
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl MockServer {
    /// Start on a free loopback port.
    pub fn start(config: MockConfig) -> std::io::Result<MockServer> {
        MockServer::start_on("127.0.0.1:0", config)
    }

    pub fn start_on(addr: &str, config: MockConfig) -> std::io::Result<MockServer> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State { config, failed: 0, received: Vec::new() }));
        let shared = state.clone();
        std::thread::Builder::new().name("ollama-mock".into()).spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
            }
        })?;
        Ok(MockServer { addr, state })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_faults(&self, faults: Faults) {
        let mut s = self.state.lock().unwrap();
        s.config.faults = faults;
        s.failed = 0;
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        // Read the head.
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            head.extend_from_slice(line.as_bytes());
            if line == "\r\n" || line == "\n" {
                break;
            }
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        if req.parse(&head).is_err() {
            return respond(&mut out, 400, "application/json", br#"{"error":"bad request"}"#);
        }
        let method = req.method.unwrap_or("").to_owned();
        let path = req.path.unwrap_or("").to_owned();
        let hdrs: Vec<(String, String)> = req
            .headers
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned()))
            .collect();
        let len: usize = hdrs
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body)?;
        let close = hdrs.iter().any(|(n, v)| n == "connection" && v.eq_ignore_ascii_case("close"));
        handle(&mut out, state, method, path, hdrs, &body)?;
        if close {
            return Ok(());
        }
    }
}

fn respond(out: &mut TcpStream, status: u16, content_type: &str, body: &[u8]) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Status",
    };
    write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    out.write_all(body)?;
    out.flush()
}

fn error(out: &mut TcpStream, status: u16, message: &str) -> std::io::Result<()> {
    respond(out, status, "application/json", json!({ "error": message }).to_string().as_bytes())
}

fn handle(
    out: &mut TcpStream,
    state: &Mutex<State>,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> std::io::Result<()> {
    let parsed: Result<Value, _> =
        if body.is_empty() { Ok(Value::Null) } else { serde_json::from_slice(body) };
    let (config, fail) = {
        let mut s = state.lock().unwrap();
        s.received.push(Received {
            method: method.clone(),
            path: path.clone(),
            headers,
            body: parsed.as_ref().cloned().unwrap_or(Value::Null),
        });
        let fail = path != "/_mock/faults" && s.failed < s.config.faults.fail_first;
        if fail {
            s.failed += 1;
        }
        (s.config.clone(), fail)
    };
    if path == "/_mock/faults" {
        let faults = Faults::from_json(std::str::from_utf8(body).unwrap_or("{}"));
        return match faults {
            Ok(f) => {
                let mut s = state.lock().unwrap();
                s.config.faults = f;
                s.failed = 0;
                respond(out, 200, "application/json", b"{}")
            }
            Err(e) => error(out, 400, &e),
        };
    }
    if config.faults.delay_ms > 0 {
        std::thread::sleep(Duration::from_millis(config.faults.delay_ms));
    }
    if fail {
        return error(out, 500, "the model failed to generate a response");
    }
    let Ok(req) = parsed else {
        return error(out, 400, "invalid character in request body");
    };
    let known = |m: &str| config.models.iter().any(|k| k == m || format!("{k}:latest") == m);
    if path.starts_with("/v1/") {
        return openai(out, &config, &method, &path, &req, &known);
    }
    match (method.as_str(), path.as_str()) {
        ("GET", "/api/version") => respond(out, 200, "application/json", br#"{"version":"0.5.1-mock"}"#),
        ("GET", "/api/tags") => {
            let models: Vec<Value> = config
                .models
                .iter()
                .map(|m| json!({"name": format!("{m}:latest"), "model": format!("{m}:latest"), "size": 1000, "details": {"format": "gguf", "family": "llama"}}))
                .collect();
            respond(out, 200, "application/json", json!({ "models": models }).to_string().as_bytes())
        }
        ("POST", "/api/generate" | "/api/chat" | "/api/embed") => {
            let Some(model) = req["model"].as_str() else {
                return error(out, 400, "model is required");
            };
            if !known(model) {
                return error(out, 404, &format!("model '{model}' not found"));
            }
            if path == "/api/embed" {
                let inputs: Vec<String> = match &req["input"] {
                    Value::String(s) => vec![s.clone()],
                    Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
                    _ => return error(out, 400, "invalid input type"),
                };
                let embeddings: Vec<Vec<f32>> = inputs.iter().map(|t| embed(t, config.embed_dim)).collect();
                let body =
                    json!({ "model": model, "embeddings": embeddings, "prompt_eval_count": inputs.len() });
                return respond(out, 200, "application/json", body.to_string().as_bytes());
            }
            let chat = path == "/api/chat";
            let prompt = if chat {
                req["messages"]
                    .as_array()
                    .map(|m| m.iter().filter_map(|x| x["content"].as_str()).collect::<Vec<_>>().join("\n"))
                    .unwrap_or_default()
            } else {
                req["prompt"].as_str().unwrap_or("").to_owned()
            };
            let last_user = if chat {
                req["messages"]
                    .as_array()
                    .and_then(|m| m.iter().rev().find(|x| x["role"] == "user"))
                    .and_then(|x| x["content"].as_str())
                    .unwrap_or("")
                    .to_owned()
            } else {
                prompt.clone()
            };
            let json_mode = req["format"] == "json";
            let text = answer(&prompt, &last_user, json_mode);
            let limit = req["options"]["num_predict"].as_u64().map(|n| n as usize).filter(|n| *n > 0);
            let stops: Vec<String> = req["options"]["stop"]
                .as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            let (pieces, reason) = decode(&text, limit, &stops);
            let stream = req["stream"].as_bool().unwrap_or(true);
            let prompt_tokens = prompt.split_whitespace().count().max(1);
            let final_fields = |resp: Value| -> Value {
                let mut v = resp;
                v["done"] = json!(true);
                v["done_reason"] = json!(reason);
                v["total_duration"] = json!(1_000_000u64);
                v["prompt_eval_count"] = json!(prompt_tokens);
                v["eval_count"] = json!(pieces.len());
                v
            };
            let chunk = |piece: &str| -> Value {
                if chat {
                    json!({"model": model, "created_at": "2026-12-06T00:00:00Z", "message": {"role": "assistant", "content": piece}, "done": false})
                } else {
                    json!({"model": model, "created_at": "2026-12-06T00:00:00Z", "response": piece, "done": false})
                }
            };
            if !stream {
                let whole = pieces.concat();
                let mut v = chunk(&whole);
                v = final_fields(v);
                return respond(out, 200, "application/json", v.to_string().as_bytes());
            }
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
            )?;
            let mut send = |line: &str| -> std::io::Result<()> {
                let data = format!("{line}\n");
                write!(out, "{:x}\r\n{data}\r\n", data.len())?;
                out.flush()
            };
            for (i, p) in pieces.iter().enumerate() {
                send(&chunk(p).to_string())?;
                if i == 0 && config.faults.malformed_stream {
                    send("{this is not json")?;
                }
            }
            if config.faults.drop_stream {
                // Close without the final message (and without the chunked terminator).
                out.shutdown(std::net::Shutdown::Both)?;
                return Ok(());
            }
            if config.faults.error_mid_stream {
                send(&json!({"error": "an error was encountered while running the model"}).to_string())?;
            } else {
                let last = if chat {
                    json!({"model": model, "created_at": "2026-12-06T00:00:00Z", "message": {"role": "assistant", "content": ""}})
                } else {
                    json!({"model": model, "created_at": "2026-12-06T00:00:00Z", "response": ""})
                };
                send(&final_fields(last).to_string())?;
            }
            write!(out, "0\r\n\r\n")?;
            out.flush()
        }
        _ => error(out, 404, "404 page not found"),
    }
}

fn openai_error(out: &mut TcpStream, status: u16, message: &str, code: &str) -> std::io::Result<()> {
    let body = json!({ "error": { "message": message, "type": "invalid_request_error", "code": code } });
    respond(out, status, "application/json", body.to_string().as_bytes())
}

/// Ollama's OpenAI-compatible endpoints, over the same toy model and faults.
fn openai(
    out: &mut TcpStream,
    config: &MockConfig,
    method: &str,
    path: &str,
    req: &Value,
    known: &dyn Fn(&str) -> bool,
) -> std::io::Result<()> {
    if (method, path) == ("GET", "/v1/models") {
        let data: Vec<Value> = config
            .models
            .iter()
            .map(|m| json!({"id": m, "object": "model", "owned_by": "library"}))
            .collect();
        return respond(
            out,
            200,
            "application/json",
            json!({"object": "list", "data": data}).to_string().as_bytes(),
        );
    }
    if method != "POST" || !matches!(path, "/v1/chat/completions" | "/v1/completions" | "/v1/embeddings") {
        return openai_error(out, 404, "404 page not found", "not_found");
    }
    let Some(model) = req["model"].as_str() else {
        return openai_error(out, 400, "model is required", "invalid_request");
    };
    if !known(model) {
        return openai_error(
            out,
            404,
            &format!("model \"{model}\" not found, try pulling it first"),
            "model_not_found",
        );
    }
    if path == "/v1/embeddings" {
        let inputs: Vec<String> = match &req["input"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            _ => return openai_error(out, 400, "invalid input type", "invalid_request"),
        };
        let data: Vec<Value> = inputs
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": embed(t, config.embed_dim)}))
            .collect();
        let body = json!({"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": inputs.len(), "total_tokens": inputs.len()}});
        return respond(out, 200, "application/json", body.to_string().as_bytes());
    }
    let chat = path == "/v1/chat/completions";
    let (prompt, last_user) = if chat {
        let messages = req["messages"].as_array().cloned().unwrap_or_default();
        let all = messages.iter().filter_map(|x| x["content"].as_str()).collect::<Vec<_>>().join("\n");
        let user = messages.iter().rev().find(|x| x["role"] == "user").and_then(|x| x["content"].as_str());
        let user = user.unwrap_or("").to_owned();
        (all, user)
    } else {
        let p = req["prompt"].as_str().unwrap_or("").to_owned();
        (p.clone(), p)
    };
    let json_mode = req["response_format"]["type"] == "json_object";
    let text = answer(&prompt, &last_user, json_mode);
    let limit = req["max_tokens"].as_u64().map(|n| n as usize).filter(|n| *n > 0);
    let stops: Vec<String> = match &req["stop"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    };
    let (pieces, reason) = decode(&text, limit, &stops);
    let usage = json!({"prompt_tokens": prompt.split_whitespace().count().max(1), "completion_tokens": pieces.len(), "total_tokens": 0});
    let (object, id) =
        if chat { ("chat.completion", "chatcmpl-mock") } else { ("text_completion", "cmpl-mock") };
    let choice = |piece: Option<&str>, finish: Option<&str>| -> Value {
        match (chat, piece) {
            (true, Some(p)) => json!({"index": 0, "delta": {"content": p}, "finish_reason": finish}),
            (true, None) => json!({"index": 0, "delta": {}, "finish_reason": finish}),
            (false, p) => json!({"index": 0, "text": p.unwrap_or(""), "finish_reason": finish}),
        }
    };
    if req["stream"] != json!(true) {
        let whole = pieces.concat();
        let choice = if chat {
            json!({"index": 0, "message": {"role": "assistant", "content": whole}, "finish_reason": reason})
        } else {
            json!({"index": 0, "text": whole, "finish_reason": reason})
        };
        let body = json!({"id": id, "object": object, "created": 0, "model": model, "choices": [choice], "usage": usage});
        return respond(out, 200, "application/json", body.to_string().as_bytes());
    }
    write!(out, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")?;
    let mut send = |data: &str| -> std::io::Result<()> {
        let event = format!("data: {data}\n\n");
        write!(out, "{:x}\r\n{event}\r\n", event.len())?;
        out.flush()
    };
    let chunk = |c: Value| {
        json!({"id": id, "object": format!("{object}.chunk"), "created": 0, "model": model, "choices": [c]})
            .to_string()
    };
    for (i, p) in pieces.iter().enumerate() {
        send(&chunk(choice(Some(p), None)))?;
        if i == 0 && config.faults.malformed_stream {
            send("{this is not json")?;
        }
    }
    if config.faults.drop_stream {
        out.shutdown(std::net::Shutdown::Both)?;
        return Ok(());
    }
    if config.faults.error_mid_stream {
        send(&json!({"error": {"message": "an error was encountered while running the model", "type": "api_error"}}).to_string())?;
    } else {
        send(&chunk(choice(None, Some(reason))))?;
        if req["stream_options"]["include_usage"] == json!(true) {
            send(&json!({"id": id, "object": format!("{object}.chunk"), "created": 0, "model": model, "choices": [], "usage": usage}).to_string())?;
        }
    }
    send("[DONE]")?;
    write!(out, "0\r\n\r\n")?;
    out.flush()
}

/// The toy model's answer.
fn answer(prompt: &str, last_user: &str, json_mode: bool) -> String {
    if json_mode && prompt.contains("\"summary\"") && prompt.contains("\"facts\"") {
        let mut turns = Vec::new();
        for line in prompt.lines() {
            let Some(rest) = line.strip_prefix('[') else { continue };
            let Some((n, rest)) = rest.split_once("] ") else { continue };
            let Ok(n) = n.parse::<u64>() else { continue };
            let (speaker, text) = rest.split_once(": ").unwrap_or(("someone", rest));
            turns.push((n, speaker.to_owned(), text.to_owned()));
        }
        let summary = turns
            .iter()
            .map(|(_, s, t)| format!("{s} said: {}", first_words(t, 8)))
            .collect::<Vec<_>>()
            .join(" ");
        let facts: Vec<Value> = turns
            .iter()
            .map(
                |(n, s, t)| json!({"text": format!("{s}: {}", first_words(t, 12)), "who": s, "sources": [n]}),
            )
            .collect();
        return json!({ "summary": summary, "facts": facts }).to_string();
    }
    let echo = format!("Echo: {}", first_words(last_user.trim(), 40));
    if json_mode {
        json!({ "text": echo }).to_string()
    } else {
        echo
    }
}

fn first_words(t: &str, n: usize) -> String {
    t.split_whitespace().take(n).collect::<Vec<_>>().join(" ")
}

/// The answer as streamed pieces (a word and its space each), cut at `limit` pieces or at a
/// stop sequence; and why it ended.
fn decode(text: &str, limit: Option<usize>, stops: &[String]) -> (Vec<String>, &'static str) {
    let mut text = text.to_owned();
    let mut reason = "stop";
    if let Some(at) = stops.iter().filter_map(|s| text.find(s.as_str())).min() {
        text.truncate(at);
    }
    let mut pieces: Vec<String> = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        current.push(c);
        if c == ' ' {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    if let Some(n) = limit {
        if pieces.len() > n {
            pieces.truncate(n);
            reason = "length";
        }
    }
    (pieces, reason)
}

/// Words hashed into `dim` buckets (FNV-1a), not normalized (clients normalize).
fn embed(text: &str, dim: usize) -> Vec<f32> {
    let mut v = vec![0f32; dim.max(1)];
    for w in text.split_whitespace() {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in w.to_lowercase().bytes() {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        v[(h % dim as u64) as usize] += 1.0;
    }
    if v.iter().all(|x| *x == 0.0) {
        v[0] = 1.0;
    }
    v
}
