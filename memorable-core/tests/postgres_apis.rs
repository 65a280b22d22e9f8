//! Every part of the API that reads or writes the store, once, on a PostgreSQL store: custom
//! classifiers (examples, training, deployment, calibration), consolidation and its jobs,
//! the emotion layer's history and timeline, point-in-time restore of a user, export and
//! import, listing and paging, the context frame, stats, health and alerts. The behavioural
//! suites run these in depth on a directory (and the shared ones on both backends); this
//! proves the SQL behind each also runs on PostgreSQL.

use std::path::Path;

use memorable_core::emotion::{HistoryRange, Reading, Source};
use memorable_core::{
    ConsolidateRequest, JobState, MemoryUpdate, NewMemory, Recall, TimelineOptions, TrainOptions,
};

use crate::custom_training::{fixture, model_cache, open, quick};
use crate::postgres::TestDb;

#[test]
fn every_store_backed_api_runs_on_postgres() {
    let Some(db) = TestDb::create("apis") else { return };
    let models = model_cache();
    let tmp = tempfile::tempdir().unwrap();
    let mem = open(Path::new(&db.url), models.path(), false);

    // Custom classifiers: import, train (quick), deploy, classify, correct, calibrate.
    let imported = mem.import_examples("moods", &fixture()).unwrap();
    assert_eq!(imported.added, 270);
    assert_eq!(mem.example_stats("moods").unwrap().per_label.values().sum::<u64>(), 270);
    let job = mem.train_and_wait("moods", &quick(), &mut |_| true).unwrap();
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    let names: Vec<String> = mem.classifiers().unwrap().into_iter().map(|c| c.name).collect();
    assert!(names.contains(&"moods".to_owned()), "{names:?}");
    let got = mem.classify_as(&["I am absolutely furious with the landlord"], "moods", None).unwrap();
    assert_eq!(got[0].labels.first().map(String::as_str), Some("anger"), "{got:?}");
    let id = mem.remember(NewMemory::new("erin", "the rain again, lovely")).unwrap();
    mem.correct(id, &["joy".into()], "moods").unwrap();
    assert_eq!(mem.examples("moods", Some("erin")).unwrap().len(), 1);
    mem.calibrate("moods", "erin").unwrap();
    let v = mem.classifier("moods").unwrap().deployed.unwrap();
    mem.deploy_classifier("moods", Some(&v)).unwrap();
    let out = tmp.path().join("examples.jsonl");
    assert_eq!(mem.export_examples("moods", &out).unwrap(), 271);
    let opts = TrainOptions { epochs: Some(1), ..quick() };
    let paused = mem.train("moods", &opts).unwrap();
    mem.cancel_job(paused).ok();

    // Consolidation (extractive: no generator), as a call and as a background job.
    for (i, text) in ["we planned the garden", "we bought tomato seeds", "we dug the beds"].iter().enumerate()
    {
        mem.remember(NewMemory::new("ann", *text).session("s1").occurred_at(t(i as i64))).unwrap();
    }
    let report = mem.consolidate(&ConsolidateRequest::new("ann")).unwrap();
    assert_eq!(report.sessions, 1);
    assert_eq!(report.summaries.len(), 1);
    let first = mem.recent_matching(&Recall::new("ann", "garden").limit(10)).unwrap();
    assert!(first.iter().any(|m| !mem.derived(m.id).unwrap().is_empty()), "a source lists its summary");
    let job = mem.consolidate_in_background(&ConsolidateRequest::new("ann").session("s1")).unwrap();
    assert!(mem.jobs().unwrap().iter().any(|j| j.id == job));
    mem.job(job).unwrap();

    // Emotion: readings, history, timeline, contexts, close.
    for i in 0..5 {
        mem.observe(Reading::new("chat", Source::Voice).score("joy", 0.2 * i as f32).timestamp(t(i)))
            .unwrap();
    }
    assert_eq!(mem.emotional_history("chat", &HistoryRange::last(10)).unwrap().len(), 5);
    assert!(mem.emotional_state_at("chat", t(2)).unwrap().score("joy") > 0.0);
    assert!(mem.emotion_timeline_svg("chat", &TimelineOptions::default()).unwrap().starts_with("<svg"));
    assert!(mem.contexts().unwrap().iter().any(|c| c.context == "chat"));
    mem.close_context("chat").unwrap();

    // History and point-in-time restore of one user.
    let a = mem.remember(NewMemory::new("alice", "Lena lives in Lisbon").occurred_at(t(0))).unwrap();
    let before = time::OffsetDateTime::now_utc();
    std::thread::sleep(std::time::Duration::from_millis(20));
    mem.update(a, MemoryUpdate::default().text("Lena moved to Madrid")).unwrap();
    let later = mem.remember(NewMemory::new("alice", "I started the cello")).unwrap();
    let r = mem.restore_user("alice", before).unwrap();
    assert_eq!((r.reverted.len(), r.removed.clone()), (1, vec![later]), "{r:?}");
    assert_eq!(mem.get(a).unwrap().text, "Lena lives in Lisbon");
    assert_eq!(mem.history(a).unwrap().len(), 3, "written, edited, restored");

    // Export and import, listing and paging, the context frame.
    let file = tmp.path().join("alice.jsonl");
    assert_eq!(mem.export_user_to("alice", true, &file).unwrap(), 1);
    mem.forget_user("alice").unwrap();
    assert_eq!(mem.import_jsonl_from(&file, 10, &mut |_| {}).unwrap().imported, 1);
    let users: Vec<String> = mem.users(None).unwrap().into_iter().map(|u| u.user).collect();
    assert_eq!(users, ["alice", "ann", "erin"]);
    assert_eq!(mem.recent_matching(&Recall::new("ann", "").limit(2).offset(1)).unwrap().len(), 2);
    mem.context_frame("ann", None).unwrap();

    // Stats, health, metrics, alerts.
    assert!(mem.stats().unwrap().memories >= 6);
    mem.checkpoint().unwrap();
    assert_ne!(mem.health().unwrap().status, memorable_core::HealthStatus::Failing);
    assert!(mem.metrics().unwrap().gauges.store_bytes > 0, "the database's size");
    mem.evaluate_alerts().unwrap();
    mem.close().unwrap();
}

fn t(i: i64) -> time::OffsetDateTime {
    time::macros::datetime!(2026-11-01 10:00 UTC) + time::Duration::minutes(i)
}
