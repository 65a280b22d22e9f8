//! The OpenAI-compatible backend against llama.cpp's real server (llama-cpp-python[server])
//! serving the SmolLM2 GGUF. An opt-in suite: `scripts/test-llm-server.sh` builds the server,
//! starts it on 127.0.0.1, runs these tests with `--ignored llm_server::` and stops it.
//! Environment the script sets: `MEMORABLE_TEST_OPENAI_URL` (a server generating),
//! `MEMORABLE_TEST_OPENAI_EMBED_URL` (one started with `--embedding true`) and
//! `MEMORABLE_TEST_OPENAI_PID` (the generating server, which the last test kills).

use std::time::{Duration, Instant};

use memorable_core::models::llm::gguf::GgufGenerator;
use memorable_core::models::llm::server::openai::{self, OpenAiEmbedder, OpenAiGenerator};
use memorable_core::models::llm::{self, ChatMessage, FinishReason, GenerateRequest};
use memorable_core::{
    Builder, Config, ConsolidateRequest, ConsolidationPath, Embedder, ErrorCode, ModelServerConfig,
    NewMemory, Profile,
};

const MODEL: &str = "smollm2";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/test-llm-server.sh"))
}

fn cfg(url: &str) -> ModelServerConfig {
    ModelServerConfig {
        openai_url: url.into(),
        retries: 1,
        backoff_ms: 50,
        timeout_ms: 60_000,
        connect_timeout_ms: 1_000,
        api_key_env: "MEMORABLE_TEST_OPENAI_KEY_UNSET".into(),
        ..Default::default()
    }
}

fn local() -> GgufGenerator {
    let dir = memorable_core::models::cache::cache_dir(None).unwrap().join("smollm2");
    let file = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .find(|e| e.path().extension().is_some_and(|x| x == "gguf"));
    GgufGenerator::load(&file.expect("SmolLM2 in the model cache").path(), MODEL, 2).unwrap()
}

#[test]
#[ignore = "needs llama.cpp's server: scripts/test-llm-server.sh"]
fn openai_backend_against_llama_cpp_server() {
    let url = env("MEMORABLE_TEST_OPENAI_URL");
    let c = cfg(&url);
    assert_eq!(openai::list_models(&c).unwrap(), [MODEL]);
    let g = OpenAiGenerator::new(MODEL, &c);

    // A raw completion, streamed over SSE: the text is what the callback saw, and it begins as
    // our own greedy decoding of the same GGUF does (the server's default repeat penalty may
    // change later tokens).
    let raw = GenerateRequest::raw("1, 2, 3,").max_tokens(10);
    let mut streamed = String::new();
    let out = llm::generate(&g, &raw, &mut |p| {
        streamed.push_str(p);
        true
    })
    .unwrap();
    assert_eq!(streamed, out.text);
    assert_eq!((out.finish_reason, out.completion_tokens), (FinishReason::Length, 10), "{out:?}");
    assert_eq!(out.model, "openai:smollm2");
    let ours = llm::generate(&local(), &raw, &mut |_| true).unwrap();
    assert_eq!(out.text[..8], ours.text[..8], "server {:?} vs local {:?}", out.text, ours.text);

    // A chat with a stop sequence; the callback can end it early.
    let stopped = llm::generate(&g, &raw.clone().max_tokens(20).stop([" 6"]), &mut |_| true).unwrap();
    assert_eq!(stopped.finish_reason, FinishReason::Stop);
    assert!(stopped.text.starts_with(" 4, 5,") && !stopped.text.contains('6'), "{:?}", stopped.text);
    let chat =
        GenerateRequest::chat(vec![ChatMessage::user("Count from one to ten in words.")]).max_tokens(40);
    let mut n = 0;
    let early = llm::generate(&g, &chat, &mut |_| {
        n += 1;
        n < 3
    })
    .unwrap();
    assert_eq!(n, 3);
    assert_eq!(early.finish_reason, FinishReason::Stop);

    // JSON mode: the server's json_object response format keeps the answer JSON.
    let json =
        GenerateRequest::chat(vec![ChatMessage::user("Describe a dog named Rex as JSON with a name field.")])
            .max_tokens(60)
            .json(true);
    let j = llm::generate(&g, &json, &mut |_| true).unwrap();
    assert!(serde_json::from_str::<serde_json::Value>(&j.text).is_ok(), "{:?}", j.text);

    // A store whose generator is the server consolidates through it.
    let mut config = Config::default();
    config.embedder = "hashing".into();
    config.generator = format!("openai:{MODEL}");
    config.model_server = c.clone();
    let mem = Builder::in_memory().config(config).open().unwrap();
    let mut sources = Vec::new();
    for (who, text) in [
        ("Caroline", "I adopted a beagle called Max last Saturday."),
        ("Melanie", "I went hiking in Yosemite with my sister."),
        ("Caroline", "Max loves the park near my flat in Lisbon."),
    ] {
        sources.push(mem.remember(NewMemory::new("u", text).session("s1").speaker(who)).unwrap());
    }
    let report = mem.consolidate(&ConsolidateRequest::new("u")).unwrap();
    assert_eq!(report.summaries.len(), 1, "{report:?}");
    // SmolLM2-135M may still write JSON of the wrong shape: then the extractive path answers
    // and says so. Either way the memories are linked to their sources.
    if report.path == ConsolidationPath::Generator {
        assert_eq!(report.model.as_deref(), Some("openai:smollm2"));
    } else {
        assert!(!report.warnings.is_empty(), "{report:?}");
    }
    for m in report.summaries.iter().chain(&report.facts) {
        let got = mem.get(m.id).unwrap();
        assert!(!got.derived_from.is_empty() && got.derived_from.iter().all(|id| sources.contains(id)));
    }
}

#[test]
#[ignore = "needs llama.cpp's server: scripts/test-llm-server.sh"]
fn openai_embeddings_against_llama_cpp_server() {
    let c = cfg(&env("MEMORABLE_TEST_OPENAI_EMBED_URL"));
    let e = OpenAiEmbedder::new(MODEL, &c).unwrap();
    assert_eq!(e.model_id(), "openai:smollm2");
    let v = e.embed(&["a beagle puppy", "a young dog", "the stock market fell"]).unwrap();
    assert_eq!(v.len(), 3);
    assert!(v.iter().all(|x| x.len() == e.dim()));
    for x in &v {
        assert!((x.iter().map(|a| a * a).sum::<f32>() - 1.0).abs() < 1e-4, "normalized");
    }
}

/// Runs last in the script (alone): kills the generating server, then a store configured for
/// it falls back to the local GGUF and says so; a direct client gets SERVER_UNAVAILABLE fast.
#[test]
#[ignore = "needs llama.cpp's server: scripts/test-llm-server.sh (kills it)"]
fn llm_server_killed_falls_back_to_the_local_generator() {
    let url = env("MEMORABLE_TEST_OPENAI_URL");
    let pid = env("MEMORABLE_TEST_OPENAI_PID");
    let mut config = Config::default();
    config.embedder = "hashing".into();
    config.profile = Some(Profile::Server);
    config.model_server = ModelServerConfig { generator: Some(format!("openai:{MODEL}")), ..cfg(&url) };
    let mem = Builder::in_memory().config(config).open().unwrap();
    let report = mem.generator_report().unwrap();
    assert_eq!(report.chosen, format!("openai:{MODEL}"), "{report:?}");
    let req = GenerateRequest::raw("1, 2, 3,").max_tokens(4);
    assert_eq!(mem.generate(&req).unwrap().model, "openai:smollm2", "the server answers while it runs");

    let killed = std::process::Command::new("kill").args(["-9", &pid]).status().unwrap();
    assert!(killed.success());
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let e = llm::generate(&OpenAiGenerator::new(MODEL, &cfg(&url)), &req, &mut |_| true).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServerUnavailable, "{e}");
    assert!(started.elapsed() < Duration::from_secs(10), "no hang");

    let g = mem.generate(&req).unwrap();
    assert_eq!(g.model, MODEL, "the local GGUF answers for the dead server");
    let report = mem.generator_report().unwrap();
    assert!(report.fallback, "{report:?}");
    assert!(report.fallback_reason.as_deref().is_some_and(|r| r.contains("local smollm2")), "{report:?}");
}
