//! Custom classifiers end to end, with the real MiniLM (`scripts/fetch-model.sh`): import
//! examples (all or nothing), train with the quick preset, evaluate against the deployed
//! model, deploy, classify with the new labels, keep a model that does not win as a
//! candidate, roll back to the previous version's exact predictions, cancel without touching
//! what is deployed, pause and resume to the same model, per-user calibration, and
//! `forget_user` erasing a user's examples.
//!
//! Every test gets its own model cache (the real MiniLM linked in), so the registry the
//! trained versions land in is the test's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use memorable_core::models::cache::{self, Manifest};
use memorable_core::{
    Config, DeployPolicy, Error, ErrorCode, JobState, Memorable, NewMemory, Preset, TrainOptions,
    TrainingProgress,
};

pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/emotion_examples.jsonl")
}

/// A model cache holding only links to the verified MiniLM.
pub fn model_cache() -> tempfile::TempDir {
    let real = cache::cache_dir(None).expect("no model cache directory: set MEMORABLE_HOME or HOME");
    let minilm = Manifest::builtin().get("minilm").unwrap().clone();
    if let Err(reason) = cache::verify(&real.join("minilm"), &minilm) {
        panic!("all-MiniLM-L6-v2 is not usable in {}: {reason}; run scripts/fetch-model.sh", real.display());
    }
    let tmp = tempfile::tempdir().unwrap();
    for f in &minilm.files {
        let to = tmp.path().join("minilm").join(&f.path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(real.join("minilm").join(&f.path), &to).unwrap();
    }
    tmp
}

pub fn open(dir: &Path, models: &Path, run_jobs: bool) -> Memorable {
    let mut config = Config::default();
    config.embedder = "minilm".into();
    config.model_dir = Some(models.to_path_buf());
    config.classifiers.run_jobs = run_jobs;
    config.classifiers.personalize_min_corrections = 5;
    Memorable::builder(dir).config(config).open().unwrap()
}

pub fn quick() -> TrainOptions {
    TrainOptions { threads: 2, ..TrainOptions::default() }
}

fn result(job: &memorable_core::JobInfo) -> &serde_json::Value {
    job.result.as_ref().expect("a finished job has a result")
}

#[test]
fn import_train_evaluate_deploy_classify_rollback() {
    let models = model_cache();
    let dir = tempfile::tempdir().unwrap();
    let mem = open(dir.path(), models.path(), false);

    // Bad imports change nothing: an unknown label on line 3 of a file for an existing set.
    let imported = mem.import_examples("moods", &fixture()).unwrap();
    assert_eq!((imported.added, imported.duplicates, imported.created), (270, 0, true));
    let info = mem.classifier("moods").unwrap();
    assert_eq!(info.labels, ["anger", "joy", "sadness"]);
    assert_eq!(info.mapping.get("joy").map(String::as_str), Some("joy"));
    assert!(info.unmapped.is_empty() && info.deployed.is_none());
    let before = mem.example_stats("moods").unwrap();
    assert_eq!(before.per_label.values().sum::<u64>(), 270);
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        "{\"text\": \"fine\", \"labels\": [\"joy\"]}\n{\"text\": \"new one\", \"labels\": [\"joy\"]}\n{\"text\": \"x\", \"labels\": [\"fear\"]}\n",
    )
    .unwrap();
    let e = mem.import_examples("moods", &bad).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidInput);
    assert!(e.to_string().contains("line 3") && e.to_string().contains("\"fear\""), "{e}");
    assert_eq!(mem.example_stats("moods").unwrap(), before);
    // A duplicate text collapses into the row already there.
    let again = mem.import_examples("moods", &fixture()).unwrap();
    assert_eq!((again.added, again.duplicates), (0, 270));

    // Train (quick), evaluate, deploy: nothing was deployed, so it is.
    let mut phases = Vec::new();
    let job = mem
        .train_and_wait("moods", &quick(), &mut |p: &TrainingProgress| {
            if phases.last() != Some(&p.phase) {
                phases.push(p.phase.clone());
            }
            true
        })
        .unwrap();
    assert_eq!(job.state, JobState::Succeeded, "{job:?}");
    assert_eq!(phases, ["features", "train", "evaluate"]);
    let r = result(&job);
    assert_eq!(r["deployed"], true, "{r}");
    assert!(r["current"].is_null());
    let f1 = r["new"]["macro_f1"].as_f64().unwrap();
    assert!(f1 > 0.9, "macro-F1 {f1} on the evaluation split");
    assert_eq!(r["new"]["per_label"].as_array().unwrap().len(), 3);
    assert!(r["new"]["ece"].as_f64().unwrap() >= 0.0);
    let v1 = r["version"].as_str().unwrap().to_owned();
    assert_eq!(mem.classifier("moods").unwrap().deployed.as_deref(), Some(v1.as_str()));

    let texts = ["I am absolutely furious with the landlord", "We won! Best day ever, I'm so happy"];
    let got = mem.classify_as(&texts, "moods", None).unwrap();
    assert_eq!(got[0].labels.first().map(String::as_str), Some("anger"), "{got:?}");
    assert_eq!(got[1].labels.first().map(String::as_str), Some("joy"), "{got:?}");
    assert_eq!(got[0].scores.len(), 3);

    // The same data trains the same model: it does not beat the deployed one by the margin.
    let job2 = mem.train_and_wait("moods", &quick(), &mut |_| true).unwrap();
    let r2 = result(&job2);
    assert_eq!(r2["deployed"], false, "{r2}");
    assert!(r2["decision"].as_str().unwrap().contains("candidate"), "{r2}");
    assert_eq!(r2["current"]["model"].as_str().unwrap(), format!("moods@{v1}"));
    assert_eq!(r2["new"]["macro_f1"], r2["current"]["macro_f1"]);
    assert_eq!(mem.classifier("moods").unwrap().deployed.as_deref(), Some(v1.as_str()));

    // A third model with other settings, deployed by hand; rollback gives v1's exact scores.
    let opts = TrainOptions { seed: 7, epochs: Some(3), deploy: DeployPolicy::Never, ..quick() };
    let job3 = mem.train_and_wait("moods", &opts, &mut |_| true).unwrap();
    let v3 = result(&job3)["version"].as_str().unwrap().to_owned();
    assert_eq!(mem.deploy_classifier("moods", Some(&v3)).unwrap().version, v3);
    let with_v3 = mem.classify_as(&texts, "moods", None).unwrap();
    assert_ne!(with_v3, got, "another seed and fewer epochs give other scores");
    assert_eq!(mem.rollback_classifier("moods").unwrap().version, v1);
    assert_eq!(mem.classify_as(&texts, "moods", None).unwrap(), got);

    // The full preset (LoRA on the top layers after a probe) trains, installs and loads too.
    let full = TrainOptions { preset: Preset::Full, deploy: DeployPolicy::Never, ..quick() };
    let job4 = mem.train_and_wait("moods", &full, &mut |_| true).unwrap();
    assert_eq!(job4.state, JobState::Succeeded, "{job4:?}");
    assert!(result(&job4)["new"]["macro_f1"].as_f64().unwrap() > 0.9, "{}", result(&job4));
    assert!(job4.log.iter().any(|l| l.starts_with("probe epoch 1")), "{:?}", job4.log);

    // The shipped classifier is still the default `classify`.
    assert_eq!(mem.classify(&["so happy"]).unwrap()[0].scores.len(), 28);
    assert_eq!(
        mem.classify_as(&["x"], "nope", None).unwrap_err().code(),
        ErrorCode::NotFound,
        "an unknown classifier is NOT_FOUND"
    );
    mem.close().unwrap();
}

#[test]
fn cancel_pause_resume_and_calibration() {
    let models = model_cache();
    let dir = tempfile::tempdir().unwrap();
    let mem = open(dir.path(), models.path(), false);
    mem.import_examples("moods", &fixture()).unwrap();

    // Cancelled from the progress callback: nothing is installed or deployed.
    let cancelled = mem.train_and_wait("moods", &quick(), &mut |p| p.phase != "train" || p.step < 3).unwrap();
    assert_eq!(cancelled.state, JobState::Cancelled);
    assert!(mem.classifier("moods").unwrap().deployed.is_none());
    assert!(memorable_core::models_list(Some(models.path())).unwrap().iter().all(|v| v.name != "moods"));

    // Cancel a queued job (no worker runs in this handle).
    let queued = mem.train("moods", &quick()).unwrap();
    assert_eq!(mem.job(queued).unwrap().state, JobState::Queued);
    assert_eq!(mem.cancel_job(queued).unwrap().state, JobState::Cancelled);

    // Paused before the first evaluation (a checkpoint of weights and AdamW moments), resumed:
    // the same model as a run without a pause.
    let straight = mem.train_and_wait("moods", &quick(), &mut |_| true).unwrap();
    let m2 = mem.clone();
    let paused = mem
        .train_and_wait("moods", &quick(), &mut |p| {
            if p.phase == "train" && p.step == 2 {
                m2.pause_job(p.job).unwrap();
            }
            true
        })
        .unwrap();
    assert_eq!(paused.state, JobState::Paused);
    let resumed = mem.run_job(paused.id, &mut |_| true).unwrap();
    assert_eq!(resumed.state, JobState::Succeeded);
    assert!(resumed.log.iter().any(|l| l.contains("resuming from checkpoint")), "{:?}", resumed.log);
    let sha = |j: &memorable_core::JobInfo| {
        result(j)["version"].as_str().unwrap().split('-').nth(1).unwrap().to_owned()
    };
    assert_eq!(sha(&resumed), sha(&straight), "resumed training makes the uninterrupted model");
    assert_eq!(result(&resumed)["new"], {
        let mut n = result(&straight)["new"].clone();
        n["model"] = result(&resumed)["new"]["model"].clone();
        n
    });

    // A user who never calls anything "sadness" gets a calibration that stops predicting it.
    let ids: Vec<u64> = mem
        .remember_batch(
            (0..8)
                .map(|i| NewMemory::new("dana", format!("I feel so sad and alone about thing {i}")))
                .collect(),
        )
        .unwrap();
    let sad = "I feel so sad and alone about everything";
    assert!(mem.classify_as(&[sad], "moods", Some("dana")).unwrap()[0]
        .labels
        .contains(&"sadness".to_owned()));
    for id in &ids {
        mem.correct(*id, &["anger".into()], "moods").unwrap();
    }
    let cal = mem.calibrate("moods", "dana").unwrap().expect("enough corrections");
    assert!(cal.thresholds["sadness"] > 1.0, "{cal:?}");
    assert!(cal.macro_f1_user >= cal.macro_f1_model);
    let mine = mem.classify_as(&[sad], "moods", Some("dana")).unwrap();
    assert!(!mine[0].labels.contains(&"sadness".to_owned()), "{mine:?}");
    assert!(mem.classify_as(&[sad], "moods", None).unwrap()[0].labels.contains(&"sadness".to_owned()));
    assert_eq!(mem.example_stats("moods").unwrap().corrections, 8);
    let e = mem.correct(ids[0], &["fear".into()], "moods").unwrap_err();
    assert!(matches!(e, Error::InvalidInput(_)), "{e}");

    // forget_user erases the user's corrections and calibration.
    mem.forget_user("dana").unwrap();
    let s = mem.example_stats("moods").unwrap();
    assert_eq!((s.corrections, s.users, s.total), (0, 0, 270));
    assert!(mem.examples("moods", Some("dana")).unwrap().is_empty());
    mem.close().unwrap();
}

#[test]
fn classifiers_are_named_and_labels_checked() {
    let models = model_cache();
    let dir = tempfile::tempdir().unwrap();
    let mem = open(dir.path(), models.path(), false);
    let labels: Vec<String> = ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral", "meh"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let info = mem.create_classifier("ekman", &labels, &BTreeMap::new()).unwrap();
    assert_eq!(info.unmapped, ["meh"], "an unmapped label is kept and reported");
    let mapped = mem
        .create_classifier("ekman", &labels, &BTreeMap::from([("meh".to_owned(), "boredom".to_owned())]))
        .unwrap();
    assert!(mapped.unmapped.is_empty());
    assert_eq!(
        mem.create_classifier("ekman", &labels[..3], &BTreeMap::new()).unwrap_err().code(),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        mem.create_classifier("Bad Name", &labels, &BTreeMap::new()).unwrap_err().code(),
        ErrorCode::InvalidInput
    );
    let names: Vec<String> = mem.classifiers().unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["goemotions", "ekman"]);
    let shipped = mem.classifier("goemotions").unwrap();
    assert!(shipped.builtin && shipped.deployed.is_some() && shipped.labels.len() == 28);
    let e = mem.add_example("ekman", "hm", &["nope".into()], "api", None).unwrap_err();
    assert!(e.to_string().contains("unknown label \"nope\""), "{e}");
    let r = mem.add_example("ekman", "I am scared", &["fear".into()], "api", Some("erin")).unwrap();
    assert_eq!((r.added, r.created), (1, false));
    assert_eq!(
        mem.add_example("nope", "x", &["a".into()], "api", None).unwrap_err().code(),
        ErrorCode::NotFound
    );
    let ex = mem.examples("ekman", None).unwrap();
    assert_eq!((ex[0].user.as_deref(), ex[0].source.as_str()), (Some("erin"), "api"));
    let out = dir.path().join("out.jsonl");
    assert_eq!(mem.export_examples("ekman", &out).unwrap(), 1);
    assert_eq!(mem.export_examples("ekman", &out).unwrap_err().code(), ErrorCode::DestinationExists);
    // Too few examples to train is a clear error, recorded on the job.
    let job = mem.train_and_wait("ekman", &quick(), &mut |_| true);
    assert!(job.is_err_and(|e| e.to_string().contains("too few examples")));
    mem.close().unwrap();
}
