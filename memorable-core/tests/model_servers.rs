//! Model servers behind the generator and embedder traits, against the in-repo Ollama mock
//! (Ollama itself cannot be installed here; the mock speaks its documented protocol): chat and
//! raw generation with NDJSON streaming, JSON mode, stops and limits, embeddings, and every
//! fault a server can show — absent, slow, 5xx, malformed or cut-off streams, an unknown
//! model — each a clear typed error, never a hang; and the OpenAI-compatible client against
//! the mock's OpenAI layer (Ollama serves one at `/v1`) with the same faults. (The
//! OpenAI-compatible client is also tested against llama.cpp's real server by
//! `scripts/test-llm-server.sh`.)

use std::time::{Duration, Instant};

use memorable_core::models::llm::server::ollama::{self, OllamaEmbedder, OllamaGenerator};
use memorable_core::models::llm::server::openai::{self, OpenAiEmbedder, OpenAiGenerator};
use memorable_core::models::llm::{self, ChatMessage, FinishReason, GenerateRequest};
use memorable_core::{
    Builder, Config, ConsolidateRequest, ConsolidationPath, Embedder, ErrorCode, ModelServerConfig,
    NewMemory, Recall,
};
use ollama_mock::{Faults, MockConfig, MockServer};

fn server() -> MockServer {
    MockServer::start(MockConfig::default()).unwrap()
}

fn cfg(url: &str) -> ModelServerConfig {
    ModelServerConfig {
        ollama_url: url.into(),
        retries: 1,
        backoff_ms: 10,
        timeout_ms: 2_000,
        connect_timeout_ms: 500,
        api_key_env: "MEMORABLE_TEST_OLLAMA_KEY_UNSET".into(),
        ..Default::default()
    }
}

#[test]
fn chat_and_raw_generation_stream_ndjson() {
    let mock = server();
    let g = OllamaGenerator::new("tiny", &cfg(&mock.base_url()));
    let mut pieces = Vec::new();
    let chat = GenerateRequest::chat(vec![ChatMessage::user("tell me about beagles")]).seed(7);
    let out = llm::generate(&g, &chat, &mut |p| {
        pieces.push(p.to_owned());
        true
    })
    .unwrap();
    assert_eq!(out.text, "Echo: tell me about beagles");
    assert_eq!(pieces.concat(), out.text);
    assert!(pieces.len() > 1, "streamed in pieces");
    assert_eq!(
        (out.finish_reason, out.completion_tokens, out.model.as_str()),
        (FinishReason::Stop, 5, "ollama:tiny")
    );
    let sent = mock.received().pop().unwrap();
    assert_eq!(sent.path, "/api/chat");
    assert_eq!(sent.body["stream"], true);
    assert_eq!(sent.body["options"]["seed"], 7);
    assert_eq!(sent.body["messages"][0]["role"], "user");
    // Raw: /api/generate with raw; a token limit ends with "length"; a stop sequence cuts.
    let raw = GenerateRequest::raw("one two three four five").max_tokens(3);
    let out = llm::generate(&g, &raw, &mut |_| true).unwrap();
    assert_eq!((out.text.as_str(), out.finish_reason), ("Echo: one two ", FinishReason::Length));
    assert_eq!(mock.received().pop().unwrap().body["raw"], true);
    let stopped =
        llm::generate(&g, &GenerateRequest::raw("alpha beta gamma").stop(["beta"]), &mut |_| true).unwrap();
    assert_eq!(stopped.text, "Echo: alpha ");
    // JSON mode asks for Ollama's format and checks the answer.
    let json = llm::generate(&g, &GenerateRequest::raw("facts").json(true), &mut |_| true).unwrap();
    assert_eq!(json.text, r#"{"text":"Echo: facts"}"#);
    assert_eq!(mock.received().pop().unwrap().body["format"], "json");
    assert_eq!(ollama::list_models(&cfg(&mock.base_url())).unwrap(), ["tiny:latest"]);
}

#[test]
fn every_fault_is_a_typed_error_and_none_hangs() {
    let mock = server();
    let c = cfg(&mock.base_url());
    let req = GenerateRequest::raw("hello there");
    let run = |c: &ModelServerConfig, model: &str| {
        let started = Instant::now();
        let r = llm::generate(&OllamaGenerator::new(model, c), &req, &mut |_| true);
        assert!(started.elapsed() < Duration::from_secs(10), "no hang");
        r
    };
    // Unknown model: refused, not retried, and the message says so.
    let e = run(&c, "nope").unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServerRejected);
    assert!(e.to_string().contains("not found"), "{e}");
    // One 500 is retried away; more than the retries is unavailable.
    mock.set_faults(Faults { fail_first: 1, ..Default::default() });
    assert!(run(&c, "tiny").is_ok());
    mock.set_faults(Faults { fail_first: 5, ..Default::default() });
    assert_eq!(run(&c, "tiny").unwrap_err().code(), ErrorCode::ServerUnavailable);
    // Slow: the timeout ends the call.
    mock.set_faults(Faults { delay_ms: 1_500, ..Default::default() });
    let slow = ModelServerConfig { timeout_ms: 300, retries: 0, ..c.clone() };
    let e = run(&slow, "tiny").unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServerUnavailable, "{e}");
    // A line that is not JSON; a stream cut before its end; an error line mid-stream.
    mock.set_faults(Faults { malformed_stream: true, ..Default::default() });
    assert_eq!(run(&c, "tiny").unwrap_err().code(), ErrorCode::ServerProtocol);
    mock.set_faults(Faults { drop_stream: true, ..Default::default() });
    let e = run(&c, "tiny").unwrap_err();
    assert!(matches!(e.code(), ErrorCode::ServerProtocol | ErrorCode::ServerUnavailable), "{e}");
    mock.set_faults(Faults { error_mid_stream: true, ..Default::default() });
    assert_eq!(run(&c, "tiny").unwrap_err().code(), ErrorCode::ServerUnavailable);
    // No server at all: unavailable; after `breaker_failures` of them the breaker answers.
    let dead = ModelServerConfig { retries: 0, breaker_failures: 2, ..cfg("http://127.0.0.1:9") };
    let g = OllamaGenerator::new("tiny", &dead);
    for _ in 0..2 {
        assert_eq!(llm::generate(&g, &req, &mut |_| true).unwrap_err().code(), ErrorCode::ServerUnavailable);
    }
    let e = llm::generate(&g, &req, &mut |_| true).unwrap_err();
    assert!(e.to_string().contains("circuit breaker open"), "{e}");
}

#[test]
fn the_openai_layer_streams_sse_and_every_fault_is_typed() {
    let mock = server();
    let c = ModelServerConfig { openai_url: format!("{}/v1", mock.base_url()), ..cfg("http://unused") };
    assert_eq!(openai::list_models(&c).unwrap(), ["tiny"]);
    let g = OpenAiGenerator::new("tiny", &c);
    let mut pieces = Vec::new();
    let chat = GenerateRequest::chat(vec![ChatMessage::user("tell me about beagles")]);
    let out = llm::generate(&g, &chat, &mut |p| {
        pieces.push(p.to_owned());
        true
    })
    .unwrap();
    assert_eq!(out.text, "Echo: tell me about beagles");
    assert_eq!(pieces.concat(), out.text);
    assert!(pieces.len() > 1, "streamed in pieces");
    assert_eq!(
        (out.finish_reason, out.completion_tokens, out.model.as_str()),
        (FinishReason::Stop, 5, "openai:tiny")
    );
    assert!(out.prompt_tokens > 0, "usage read from the stream's last chunk");
    let sent = mock.received().pop().unwrap();
    assert_eq!((sent.path.as_str(), sent.body["stream"].as_bool()), ("/v1/chat/completions", Some(true)));
    // Raw completion with a limit and a stop; JSON mode asks for json_object.
    let raw =
        llm::generate(&g, &GenerateRequest::raw("one two three four five").max_tokens(3), &mut |_| true)
            .unwrap();
    assert_eq!((raw.text.as_str(), raw.finish_reason), ("Echo: one two ", FinishReason::Length));
    let json = llm::generate(&g, &chat.clone().json(true), &mut |_| true).unwrap();
    assert_eq!(json.text, r#"{"text":"Echo: tell me about beagles"}"#);
    assert_eq!(mock.received().pop().unwrap().body["response_format"]["type"], "json_object");
    let e = OpenAiEmbedder::new("tiny", &c).unwrap();
    assert_eq!((e.dim(), e.model_id()), (8, "openai:tiny"));

    let run = |c: &ModelServerConfig, model: &str| {
        let started = Instant::now();
        let r = llm::generate(&OpenAiGenerator::new(model, c), &chat, &mut |_| true);
        assert!(started.elapsed() < Duration::from_secs(10), "no hang");
        r
    };
    let e = run(&c, "nope").unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServerRejected);
    assert!(e.to_string().contains("not found"), "{e}");
    mock.set_faults(Faults { fail_first: 1, ..Default::default() });
    assert!(run(&c, "tiny").is_ok(), "one 500 is retried away");
    mock.set_faults(Faults { fail_first: 5, ..Default::default() });
    assert_eq!(run(&c, "tiny").unwrap_err().code(), ErrorCode::ServerUnavailable);
    mock.set_faults(Faults { delay_ms: 1_500, ..Default::default() });
    let slow = ModelServerConfig { timeout_ms: 300, retries: 0, ..c.clone() };
    assert_eq!(run(&slow, "tiny").unwrap_err().code(), ErrorCode::ServerUnavailable);
    mock.set_faults(Faults { malformed_stream: true, ..Default::default() });
    assert_eq!(run(&c, "tiny").unwrap_err().code(), ErrorCode::ServerProtocol);
    mock.set_faults(Faults { drop_stream: true, ..Default::default() });
    let e = run(&c, "tiny").unwrap_err();
    assert!(matches!(e.code(), ErrorCode::ServerProtocol | ErrorCode::ServerUnavailable), "{e}");
    mock.set_faults(Faults { error_mid_stream: true, ..Default::default() });
    assert_eq!(run(&c, "tiny").unwrap_err().code(), ErrorCode::ServerUnavailable);
}

#[test]
fn the_api_key_goes_in_the_header_and_nowhere_else() {
    let mock = server();
    std::env::set_var("MEMORABLE_TEST_OLLAMA_KEY", "sk-secret-123");
    let c = ModelServerConfig { api_key_env: "MEMORABLE_TEST_OLLAMA_KEY".into(), ..cfg(&mock.base_url()) };
    let g = OllamaGenerator::new("tiny", &c);
    llm::generate(&g, &GenerateRequest::raw("hi"), &mut |_| true).unwrap();
    let sent = mock.received().pop().unwrap();
    assert!(sent.headers.iter().any(|(n, v)| n == "authorization" && v == "Bearer sk-secret-123"));
    let e = llm::generate(&OllamaGenerator::new("nope", &c), &GenerateRequest::raw("hi"), &mut |_| true)
        .unwrap_err();
    assert!(!e.to_string().contains("sk-secret"), "{e}");
    assert!(!format!("{g:?}").contains("sk-secret"));
}

#[test]
fn a_store_embeds_generates_and_consolidates_through_ollama() {
    let mock = server();
    let e = OllamaEmbedder::new("tiny", &cfg(&mock.base_url())).unwrap();
    assert_eq!((e.dim(), e.model_id()), (8, "ollama:tiny"));
    let v = e.embed(&["a b"]).unwrap();
    assert!((v[0].iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5, "normalized");

    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.embedder = "ollama:tiny".into();
    config.generator = "ollama:tiny".into();
    config.model_server = cfg(&mock.base_url());
    let mem = Builder::new_for_test(dir.path(), config.clone());
    assert_eq!(mem.stats().unwrap().embedder.model_id, "ollama:tiny");
    let id = mem
        .remember(NewMemory::new("ann", "I adopted a beagle named Biscuit").session("s1").speaker("Ann"))
        .unwrap();
    assert_eq!(mem.recall(&Recall::new("ann", "beagle Biscuit").limit(1)).unwrap()[0].memory.id, id);
    let g = mem.generate(&GenerateRequest::raw("hello")).unwrap();
    assert_eq!(g.model, "ollama:tiny");
    let report = mem.consolidate(&ConsolidateRequest::new("ann")).unwrap();
    assert_eq!((report.path, report.model.as_deref()), (ConsolidationPath::Generator, Some("ollama:tiny")));
    assert_eq!(report.facts.len(), 1);
    assert_eq!(mem.get(report.facts[0].id).unwrap().derived_from, vec![id]);
    mem.close().unwrap();
    // Reopened under "auto", the store keeps the server model its vectors were made with.
    config.embedder = "auto".into();
    let mem = Builder::new_for_test(dir.path(), config);
    assert_eq!(mem.stats().unwrap().embedder.model_id, "ollama:tiny");
}

/// `Builder` for a directory, opened.
trait OpenForTest {
    fn new_for_test(dir: &std::path::Path, config: Config) -> memorable_core::Memorable;
}

impl OpenForTest for Builder {
    fn new_for_test(dir: &std::path::Path, config: Config) -> memorable_core::Memorable {
        memorable_core::Memorable::builder(dir).config(config).open().unwrap()
    }
}
