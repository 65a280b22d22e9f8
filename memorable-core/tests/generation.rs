//! The local generator on the real SmolLM2-135M-Instruct Q4_1 GGUF (fetched by
//! `scripts/fetch-model.sh smollm2`; these tests fail, never skip, without it): tokenization
//! by llama.cpp's rules, the chat template, greedy and seeded decoding, stop sequences and
//! limits, and `generate` through the store.

use std::path::PathBuf;
use std::sync::OnceLock;

use memorable_core::models::cache::{self, Manifest};
use memorable_core::models::llm::gguf::GgufGenerator;
use memorable_core::models::llm::{self, ChatMessage, FinishReason, GenerateRequest, Generator};
use memorable_core::{Builder, Config, ErrorCode};

fn smollm2_path() -> PathBuf {
    let dir = cache::cache_dir(None).expect("no model cache directory: set MEMORABLE_HOME or HOME");
    let entry = Manifest::builtin().get("smollm2").unwrap().clone();
    if let Err(reason) = cache::verify(&dir.join("smollm2"), &entry) {
        panic!(
            "SmolLM2 is not usable in the model cache {}: {reason}.\n\
             Run scripts/fetch-model.sh smollm2 (or `memorable models fetch smollm2`) before these tests.",
            dir.display()
        );
    }
    dir.join("smollm2").join(&entry.files[0].path)
}

/// One loaded model for every test (loading repacks ~100 MB of weights).
fn model() -> &'static GgufGenerator {
    static MODEL: OnceLock<GgufGenerator> = OnceLock::new();
    MODEL.get_or_init(|| GgufGenerator::load(&smollm2_path(), "smollm2", 2).unwrap())
}

/// Token ids as llama.cpp (llama-cpp-python 0.3.36, `tokenize(text, add_bos=True,
/// special=True)`) gives them for this GGUF.
#[test]
fn tokenization_follows_llama_cpp_rules() {
    let m = model();
    for (text, ids) in [
        ("Hello world", vec![19556, 905]),
        ("Hello", vec![19556]),
        (" Hello", vec![38699]),
        ("The year 2024 had 366 days.", vec![504, 713, 216, 34, 32, 34, 36, 761, 216, 35, 38, 38, 2009, 30]),
        ("a  1", vec![81, 256, 33]),
        (
            "I'm here, you're there; it's fine!",
            vec![57, 5248, 1535, 28, 346, 2316, 665, 43, 357, 506, 4979, 17],
        ),
        // Special tokens in the text are parsed; no BOS (the file says add_bos_token false).
        ("<|im_start|>user\nHi<|im_end|>\n", vec![1, 4093, 198, 26843, 2, 198]),
        (
            "  leading spaces and\ttabs\n\nnewlines",
            vec![216, 2899, 5600, 284, 197, 100, 7366, 198, 198, 2241, 5110],
        ),
        (
            "Ünïcödé café — naïve 日本語 😀",
            vec![
                142, 246, 94, 25972, 83, 7466, 84, 2756, 37366, 1841, 15486, 46494, 17097, 241, 115, 40993,
                179, 120, 248, 40303, 218,
            ],
        ),
        ("don't DON'T 'quoted' x's", vec![12420, 982, 422, 2154, 23, 68, 637, 385, 5036, 23, 1792, 506]),
        (
            "1234567 3.14159 -42",
            vec![33, 34, 35, 36, 37, 38, 39, 216, 35, 30, 33, 36, 33, 37, 41, 731, 36, 34],
        ),
    ] {
        assert_eq!(m.tokenize(text), ids, "{text:?}");
    }
}

#[test]
fn chat_prompts_use_the_models_template() {
    let m = model();
    let prompt = m.render_chat(&[ChatMessage::user("What is 2+2?")]).unwrap();
    assert_eq!(
        m.tokenize(&prompt),
        [
            1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411, 407,
            19712, 8182, 2, 198, 1, 4093, 198, 1780, 314, 216, 34, 27, 34, 47, 2, 198, 1, 520, 9531, 198
        ]
    );
}

/// Greedy continuations as llama.cpp gives them for this GGUF (`create_completion(prompt,
/// temperature=0, repeat_penalty=1.0)`, llama-cpp-python 0.3.36; `scripts/test-llm-server.sh`
/// compares more prompts with a live llama.cpp).
#[test]
fn greedy_decoding_reproduces_llama_cpp() {
    let m = model();
    for (prompt, want) in [
        ("The quick brown fox", " with a quick brown bear.\n\nThe original sentence is a classic example of a homophone fallacy, where two words with different spellings are used to convey a"),
        ("1, 2, 3,", " 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17"),
    ] {
        let req = GenerateRequest::raw(prompt).max_tokens(32);
        let g = llm::generate(m, &req, &mut |_| true).unwrap();
        assert!(want.starts_with(&g.text) || g.text.starts_with(want), "{prompt:?}: {:?}", g.text);
        assert_eq!(g, llm::generate(m, &req, &mut |_| true).unwrap(), "temperature 0 is greedy: the same answer twice");
    }
    let chat = [ChatMessage::user("What is the capital of France?")];
    let req = GenerateRequest::chat(chat.to_vec()).max_tokens(12);
    let g = llm::generate(m, &req, &mut |_| true).unwrap();
    assert_eq!(
        g.text, "L'Étoile, la Marseillaise,",
        "SmolLM2-135M at 4 bits answers oddly, as llama.cpp does"
    );
    assert_eq!(g.completion_tokens, g.tokens.len());
    assert_eq!(g.prompt_tokens, m.tokenize(&m.render_chat(&chat).unwrap()).len());
    assert_eq!(g.model, "smollm2");
}

#[test]
fn streaming_limits_stops_and_seeds() {
    let m = model();
    let raw = GenerateRequest::raw("One, two, three, four,").max_tokens(8);
    let mut streamed = String::new();
    let g = llm::generate(m, &raw, &mut |p| {
        streamed.push_str(p);
        true
    })
    .unwrap();
    assert_eq!(streamed, g.text, "the stream is the answer");
    assert_eq!((g.finish_reason, g.completion_tokens), (FinishReason::Length, 8));
    // A stop sequence ends the answer before it.
    let stopped = llm::generate(m, &raw.clone().max_tokens(32).stop([","]), &mut |_| true).unwrap();
    assert_eq!(stopped.finish_reason, FinishReason::Stop);
    assert!(!stopped.text.contains(','), "{:?}", stopped.text);
    assert!(g.text.starts_with(&stopped.text), "{:?} vs {:?}", stopped.text, g.text);
    // Sampling with a seed repeats; another seed (almost surely) differs somewhere.
    let sampled = |seed| {
        let r = GenerateRequest::raw("My favourite animal is").temperature(1.0).seed(seed).max_tokens(16);
        m.generate_once(&r, &mut |_| true).unwrap().text
    };
    assert_eq!(sampled(7), sampled(7));
    assert!((0..5).any(|s| sampled(100 + s) != sampled(7)));
    // The callback can stop the generation.
    let mut n = 0;
    let early = llm::generate(m, &raw.clone().max_tokens(32), &mut |_| {
        n += 1;
        n < 2
    })
    .unwrap();
    assert_eq!(early.finish_reason, FinishReason::Stop);
    assert!(early.completion_tokens < 32);
}

#[test]
fn bad_requests_and_an_overlong_prompt_are_refused() {
    let m = model();
    let e = llm::generate(m, &GenerateRequest::raw(""), &mut |_| true).unwrap_err();
    assert_eq!(e.code(), ErrorCode::EmptyText);
    let long = "word ".repeat(9000);
    let e = llm::generate(m, &GenerateRequest::raw(long), &mut |_| true).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(e.to_string().contains("context window"), "{e}");
}

#[test]
fn the_store_generates_with_its_configured_model() {
    let mut config = Config::default();
    config.embedder = "hashing".into();
    config.generator = "smollm2".into();
    let mem = Builder::in_memory().config(config).open().unwrap();
    let report = mem.generator_report().unwrap();
    assert_eq!(report.chosen, "smollm2");
    let g = mem.generate(&GenerateRequest::raw("The sky is").max_tokens(4)).unwrap();
    assert_eq!(g.completion_tokens, 4);
    assert_eq!(mem.stats().unwrap().generator.chosen, "smollm2");
    // No generator: a clear error, and the store works.
    let mut config = Config::default();
    config.embedder = "hashing".into();
    config.generator = "none".into();
    let mem = Builder::in_memory().config(config).open().unwrap();
    let e = mem.generate(&GenerateRequest::raw("x")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::NoGenerator);
}

/// JSON mode on the local model: decoding is constrained to a JSON object, so even the
/// 135M model answers with one; an answer prefix is continued and returned.
#[test]
fn json_mode_constrains_the_local_model_to_an_object() {
    let m = model();
    for prompt in ["List three fruits as a JSON array.", "What is the capital of France? Answer in JSON."] {
        let req = GenerateRequest::chat(vec![ChatMessage::user(prompt)]).max_tokens(60).json(true);
        let mut streamed = String::new();
        let g = m
            .generate_once(&req, &mut |p| {
                streamed.push_str(p);
                true
            })
            .unwrap();
        assert_eq!(streamed, g.text);
        let v: serde_json::Value =
            serde_json::from_str(&g.text).unwrap_or_else(|e| panic!("{e}: {:?}", g.text));
        assert!(v.is_object(), "{v}");
        assert_eq!(g.finish_reason, FinishReason::Stop, "the answer ends when the object closes");
    }
    // Unconstrained, the first prompt does not start an object.
    let free =
        GenerateRequest::chat(vec![ChatMessage::user("List three fruits as a JSON array.")]).max_tokens(8);
    assert!(!m.generate_once(&free, &mut |_| true).unwrap().text.starts_with('{'));

    let prefixed = GenerateRequest::chat(vec![ChatMessage::user("Describe Paris in JSON.")])
        .max_tokens(60)
        .json(true)
        .answer_prefix("{\"city\": \"");
    let g = llm::generate(m, &prefixed, &mut |_| true).unwrap();
    let v: serde_json::Value = serde_json::from_str(&g.text).unwrap();
    assert!(v["city"].is_string(), "{v}");
    // A prefix that is not the start of an object is refused in JSON mode.
    let bad = prefixed.clone().answer_prefix("[1, ");
    assert_eq!(m.generate_once(&bad, &mut |_| true).unwrap_err().code(), ErrorCode::InvalidInput);
}

/// Consolidation with SmolLM2: the generator writes the summary (facts it does not give are
/// extracted, and the report says so); every memory is linked to its sources.
#[test]
fn consolidation_with_smollm2_writes_a_generated_summary() {
    use memorable_core::{ConsolidateRequest, ConsolidationPath, NewMemory};
    let mut config = Config::default();
    config.embedder = "hashing".into();
    config.generator = "smollm2".into();
    let mem = Builder::in_memory().config(config).open().unwrap();
    let mut sources = Vec::new();
    for (who, text) in [
        ("Caroline", "I adopted a beagle called Max last Saturday."),
        ("Melanie", "Lovely! I went hiking in Yosemite with my sister."),
        ("Caroline", "Max loves the park near my flat in Lisbon."),
        ("Melanie", "I start my new job as a nurse on Monday."),
    ] {
        sources.push(mem.remember(NewMemory::new("u", text).session("s1").speaker(who)).unwrap());
    }
    let report = mem.consolidate(&ConsolidateRequest::new("u")).unwrap();
    assert_eq!(report.path, ConsolidationPath::Generator, "{report:?}");
    assert_eq!(report.model.as_deref(), Some("smollm2"));
    let summary = &report.summaries[0];
    assert_eq!(summary.path, ConsolidationPath::Generator);
    assert!(summary.text.contains("Caroline") || summary.text.contains("beagle"), "{}", summary.text);
    assert!(!report.facts.is_empty());
    for f in &report.facts {
        let got = mem.get(f.id).unwrap();
        assert!(!got.derived_from.is_empty() && got.derived_from.iter().all(|id| sources.contains(id)));
        if f.path == ConsolidationPath::Extractive {
            assert!(report.warnings.iter().any(|w| w.contains("no facts")), "{report:?}");
        }
    }
}
