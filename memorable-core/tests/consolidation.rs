//! Consolidation: summaries and facts from raw turns, linked to their sources, written by a
//! generator or extractively, replaced on re-runs, forgotten with their sources, run as jobs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use memorable_core::models::llm::OnText;
use memorable_core::{
    Builder, Config, ConsolidateRequest, ConsolidationPath, ErrorCode, FinishReason, GenerateRequest,
    Generation, Generator, JobState, Memorable, NewMemory, Recall, FACT_KIND, SUMMARY_KIND,
};
use time::macros::datetime;

fn config(generator: &str) -> Config {
    let mut c = Config::default();
    c.embedder = "hashing".into();
    c.generator = generator.into();
    c
}

/// Two sessions of a conversation between Ann and Bo.
fn seed(mem: &Memorable) -> (Vec<u64>, Vec<u64>) {
    let t = datetime!(2024-05-01 09:00 UTC);
    let turn = |s: &str, who: &str, text: &str, i: i64| {
        NewMemory::new("ann", text).session(s).speaker(who).occurred_at(t + time::Duration::minutes(i))
    };
    let a = mem
        .remember_batch(vec![
            turn("s1", "Ann", "I adopted a beagle puppy named Biscuit last week.", 0),
            turn("s1", "Bo", "That is lovely! How is he settling in?", 1),
            turn("s1", "Ann", "He chews everything, but my sister Lena helps me train him.", 2),
        ])
        .unwrap();
    let b = mem
        .remember_batch(vec![
            turn("s2", "Bo", "Are you still running the Berlin marathon in September?", 60 * 24),
            turn("s2", "Ann", "Yes, I run forty kilometres a week now.", 60 * 24 + 1),
        ])
        .unwrap();
    (a, b)
}

#[test]
fn extractive_consolidation_writes_linked_summaries_and_facts() {
    let mem = Builder::in_memory().config(config("none")).open().unwrap();
    let (s1, s2) = seed(&mem);
    let report = mem.consolidate(&ConsolidateRequest::new("ann")).unwrap();
    assert_eq!(report.path, ConsolidationPath::Extractive);
    assert_eq!((report.sessions, report.source_memories), (2, 5));
    assert_eq!(report.summaries.len(), 2);
    assert!(!report.warnings.is_empty(), "says why it was extractive");
    let s1_summary = report.summaries.iter().find(|s| s.session.as_deref() == Some("s1")).unwrap();
    assert_eq!(s1_summary.derived_from, s1);
    let stored = mem.get(s1_summary.id).unwrap();
    assert_eq!(stored.kind, SUMMARY_KIND);
    assert_eq!(stored.derived_from, s1);
    assert!(stored.text.contains("Biscuit") || stored.text.contains("Lena"), "{}", stored.text);
    // First-person statements became facts, each linked to its own turn.
    assert!(
        report.facts.iter().any(|f| f.text.contains("Biscuit") && f.derived_from == vec![s1[0]]),
        "{:?}",
        report.facts
    );
    assert!(report.facts.iter().any(|f| f.derived_from == vec![s2[1]]));
    for f in &report.facts {
        let m = mem.get(f.id).unwrap();
        assert_eq!((m.kind.as_str(), m.derived_from.clone()), (FACT_KIND, f.derived_from.clone()));
        assert_eq!(m.context.speaker.as_deref(), Some("Ann"));
    }
    // Recall includes or excludes derived memories with the kinds filter.
    let kinds = |k: &[&str]| {
        Recall::new("ann", "Biscuit puppy")
            .limit(10)
            .kinds(k.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    };
    let only_summaries = mem.recall(&kinds(&[SUMMARY_KIND])).unwrap();
    assert!(only_summaries.iter().all(|h| h.memory.kind == SUMMARY_KIND) && !only_summaries.is_empty());
    let raw = mem.recall(&kinds(&["message"])).unwrap();
    assert!(raw.iter().all(|h| h.memory.derived_from.is_empty()));
    // The job is recorded.
    let job = mem.job(report.job).unwrap();
    assert_eq!((job.kind.as_str(), job.state), ("consolidate", JobState::Succeeded));
    assert_eq!(job.user.as_deref(), Some("ann"));
}

#[test]
fn a_rerun_replaces_the_summary_as_a_new_version_and_the_facts() {
    let mem = Builder::in_memory().config(config("none")).open().unwrap();
    seed(&mem);
    let first = mem.consolidate(&ConsolidateRequest::new("ann").session("s1")).unwrap();
    assert_eq!(first.sessions, 1);
    mem.remember(
        NewMemory::new("ann", "I also bought my puppy a red collar.")
            .session("s1")
            .speaker("Ann")
            .occurred_at(datetime!(2024-05-01 09:05 UTC)),
    )
    .unwrap();
    let second = mem.consolidate(&ConsolidateRequest::new("ann").session("s1")).unwrap();
    assert_eq!(second.summaries[0].id, first.summaries[0].id, "the same summary memory");
    assert_eq!(mem.history(first.summaries[0].id).unwrap().len(), 2, "history kept");
    assert_eq!(mem.get(first.summaries[0].id).unwrap().derived_from.len(), 4);
    for f in &first.facts {
        assert_eq!(mem.get(f.id).unwrap_err().code(), ErrorCode::NotFound, "old facts replaced");
    }
    assert!(second.facts.iter().any(|f| f.text.contains("collar")));
}

#[test]
fn forgetting_sources_cascades_to_what_was_derived_only_from_them() {
    // An extractive summary quotes its turns: forgetting a quoted turn takes the summary too
    // (keeping it would keep the forgotten words), with the facts derived only from it.
    let mem = Builder::in_memory().config(config("none")).open().unwrap();
    let (s1, _) = seed(&mem);
    let report = mem.consolidate(&ConsolidateRequest::new("ann").session("s1")).unwrap();
    let quoted = report.summaries[0].id;
    assert!(report.summaries[0].text.contains("I adopted a beagle puppy named Biscuit last week"));
    let only = report.facts.iter().find(|f| f.derived_from == vec![s1[0]]).unwrap().id;
    mem.forget(s1[0]).unwrap();
    assert_eq!(mem.get(only).unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(mem.get(quoted).unwrap_err().code(), ErrorCode::NotFound);

    // A summary in its own words keeps its other sources when one is forgotten.
    let answer = r#"{"summary": "Ann and Bo talked about her new dog and her sister.", "facts": [{"text": "Ann has a dog", "sources": [1]}]}"#;
    let (mem, _) = with_generator(answer, Duration::ZERO);
    let (s1, _) = seed(&mem);
    let report = mem.consolidate(&ConsolidateRequest::new("ann").session("s1")).unwrap();
    let summary = report.summaries[0].id;
    let fact = report.facts[0].id;
    assert_eq!(mem.get(fact).unwrap().derived_from, vec![s1[0]]);
    // Forgetting one source: the fact derived only from it goes; the summary keeps the rest.
    mem.forget(s1[0]).unwrap();
    assert_eq!(mem.get(fact).unwrap_err().code(), ErrorCode::NotFound);
    assert_eq!(mem.get(summary).unwrap().derived_from, vec![s1[1], s1[2]]);
    // Forgetting the last sources takes the summary with them.
    mem.forget(s1[1]).unwrap();
    mem.forget(s1[2]).unwrap();
    assert_eq!(mem.get(summary).unwrap_err().code(), ErrorCode::NotFound);
    assert!(mem
        .recall(&Recall::new("ann", "Biscuit puppy sister").limit(10))
        .unwrap()
        .iter()
        .all(|h| h.memory.id != summary));
    // A derived memory must come from the same user's memories; nothing is written otherwise.
    let other = mem.remember(NewMemory::new("bo", "my own memory")).unwrap();
    let before = mem.stats().unwrap().memories;
    let e = mem.remember(NewMemory::new("ann", "a fact").derived_from([other])).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert_eq!(mem.stats().unwrap().memories, before);
    // forget_user erases the user's jobs too.
    mem.forget_user("ann").unwrap();
    assert_eq!(mem.job(report.job).unwrap_err().code(), ErrorCode::NotFound);
}

/// A generator that answers from a script (and counts its calls), optionally slowly.
struct Scripted {
    answer: String,
    calls: AtomicUsize,
    delay: Duration,
}

impl Generator for Scripted {
    fn model_id(&self) -> &str {
        "scripted"
    }
    fn generate_once(
        &self,
        _r: &GenerateRequest,
        _on_text: OnText<'_>,
    ) -> memorable_core::Result<Generation> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(self.delay);
        Ok(Generation::new(self.answer.clone(), FinishReason::Stop, "scripted"))
    }
}

fn with_generator(answer: &str, delay: Duration) -> (Memorable, Arc<Scripted>) {
    let g = Arc::new(Scripted { answer: answer.into(), calls: AtomicUsize::new(0), delay });
    let mem = Builder::in_memory().config(config("none")).generator(g.clone()).open().unwrap();
    (mem, g)
}

#[test]
fn a_generators_json_is_used_and_invalid_output_falls_back() {
    let good = r#"{"summary": "Ann adopted Biscuit, a beagle; Lena helps train him.", "facts": [{"text": "Ann has a beagle named Biscuit", "who": "Ann", "when": "2024-04-24", "what": "pet, beagle", "sources": [1]}]}"#;
    let (mem, g) = with_generator(good, Duration::ZERO);
    let (s1, _) = seed(&mem);
    let report = mem.consolidate(&ConsolidateRequest::new("ann").session("s1")).unwrap();
    assert_eq!((report.path, report.model.as_deref()), (ConsolidationPath::Generator, Some("scripted")));
    assert_eq!(report.summaries[0].text, "Ann adopted Biscuit, a beagle; Lena helps train him.");
    let fact = mem.get(report.facts[0].id).unwrap();
    assert_eq!(fact.derived_from, vec![s1[0]]);
    assert_eq!(fact.context.speaker.as_deref(), Some("Ann"));
    assert_eq!(fact.context.topics, vec!["pet", "beagle"]);
    assert_eq!(fact.context.occurred_at, datetime!(2024-04-24 00:00 UTC));
    assert_eq!(g.calls.load(Ordering::SeqCst), 1);
    // Not JSON twice: the generator's retry, then the extractive draft, and a warning.
    let (mem, g) = with_generator("I cannot do that.", Duration::ZERO);
    seed(&mem);
    let report = mem.consolidate(&ConsolidateRequest::new("ann").session("s1")).unwrap();
    assert_eq!(report.path, ConsolidationPath::Extractive);
    assert_eq!(g.calls.load(Ordering::SeqCst), 2, "one retry");
    assert!(report.warnings.iter().any(|w| w.contains("s1")), "{:?}", report.warnings);
    assert_eq!(report.summaries.len(), 1);
}

#[test]
fn background_jobs_report_progress_and_can_be_cancelled() {
    let mem = Builder::in_memory().config(config("none")).open().unwrap();
    seed(&mem);
    let job = mem.consolidate_in_background(&ConsolidateRequest::new("ann")).unwrap();
    let done = loop {
        let j = mem.job(job).unwrap();
        if j.state.is_final() {
            break j;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.result.unwrap()["summaries"].as_array().unwrap().len(), 2);
    assert_eq!(done.progress["sessions_done"], 2);
    assert!(mem.jobs().unwrap().iter().any(|j| j.id == job));
    // A slow generator: cancel after the first session.
    let answer = r#"{"summary": "x", "facts": []}"#;
    let (mem, _) = with_generator(answer, Duration::from_millis(300));
    seed(&mem);
    let job = mem.consolidate_in_background(&ConsolidateRequest::new("ann")).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    mem.cancel_job(job).unwrap();
    let end = loop {
        let j = mem.job(job).unwrap();
        if j.state.is_final() {
            break j;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(end.state, JobState::Cancelled);
    assert_eq!(end.result.unwrap()["sessions"], 1, "stopped after the session in progress");
    // Progress callbacks can cancel too.
    let (mem, _) = with_generator(answer, Duration::ZERO);
    seed(&mem);
    let report = mem.consolidate_with_progress(&ConsolidateRequest::new("ann"), &mut |_| false).unwrap();
    assert!(report.cancelled);
    assert_eq!(mem.job(report.job).unwrap().state, JobState::Cancelled);
    assert_eq!(mem.job(999).unwrap_err().code(), ErrorCode::NotFound);
}
