//! Custom classifiers: label sets, examples and corrections, training jobs, deployment,
//! named classification and per-user calibration.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use super::Memorable;
use crate::classifiers::{
    collect, deploy, personal, train, Calibration, ClassifierInfo, Example, ExampleImport, ExampleStats,
    NewExample, TrainingProgress,
};
use crate::classify::Classified;
use crate::error::{Error, Result};
use crate::jobs::{JobId, JobInfo};
use crate::models::registry::ModelVersion;
use crate::training::TrainOptions;

impl Memorable {
    /// Create a classifier with its label set; `mapping` maps labels to catalog expressions
    /// (labels it leaves out map to the expression of the same name, if any; the rest are
    /// kept unmapped and listed). Creating it again with the same labels changes the mapping
    /// only; other labels are refused.
    pub fn create_classifier(
        &self,
        name: &str,
        labels: &[String],
        mapping: &BTreeMap<String, String>,
    ) -> Result<ClassifierInfo> {
        self.metrics.track(self.engine().and_then(|e| collect::create(&e, name, labels, mapping)))
    }

    /// One classifier: labels, mapping, deployed version, example count.
    pub fn classifier(&self, name: &str) -> Result<ClassifierInfo> {
        collect::info(&*self.engine()?, name)
    }

    /// Every classifier, `goemotions` first.
    pub fn classifiers(&self) -> Result<Vec<ClassifierInfo>> {
        collect::list(&*self.engine()?)
    }

    /// Add one labelled example to an existing classifier (the application's, or with
    /// `user` that user's). A text already there gets the new labels.
    pub fn add_example(
        &self,
        classifier: &str,
        text: &str,
        labels: &[String],
        source: &str,
        user: Option<&str>,
    ) -> Result<ExampleImport> {
        let one = [NewExample { text: text.to_owned(), labels: labels.to_vec() }];
        self.metrics
            .track(self.engine().and_then(|e| collect::add(&e, classifier, &one, source, user, false)))
    }

    /// Add many examples, all or nothing (an error names the 1-based position as `line`).
    /// A classifier that does not exist is created with the labels the examples use.
    pub fn add_examples(
        &self,
        classifier: &str,
        examples: &[NewExample],
        source: &str,
        user: Option<&str>,
    ) -> Result<ExampleImport> {
        self.metrics
            .track(self.engine().and_then(|e| collect::add(&e, classifier, examples, source, user, true)))
    }

    /// Import examples from a JSON Lines or TSV file (`-`: stdin), all or nothing, errors
    /// with line numbers; creates the classifier when it does not exist.
    pub fn import_examples(&self, classifier: &str, path: &Path) -> Result<ExampleImport> {
        self.metrics.track(self.engine().and_then(|e| {
            let set = collect::labels_of(&e, classifier)?.map(|(l, _)| l);
            let examples = collect::parse_file(path, set.as_deref())?;
            let name = path.file_name().map_or("-".into(), |n| n.to_string_lossy().into_owned());
            collect::add(&e, classifier, &examples, &format!("import:{name}"), None, true)
        }))
    }

    /// Record that `labels` (of `classifier`) are what memory `memory_id` expresses, as its
    /// owner's correction; with enough of them the owner gets their own thresholds
    /// (recalibrated as their corrections grow by a quarter, or a new version is deployed).
    pub fn correct(&self, memory_id: u64, labels: &[String], classifier: &str) -> Result<Example> {
        self.metrics.track(self.engine().and_then(|e| {
            let example = collect::correct(&e, memory_id, labels, classifier)?;
            if let Some(user) = &example.user {
                // No deployed version yet: nothing to calibrate, the correction still counts.
                match personal::after_correction(&e, classifier, user) {
                    Ok(()) | Err(Error::ClassifierUnavailable(_)) => {}
                    Err(err) => return Err(err),
                }
            }
            Ok(example)
        }))
    }

    /// The examples of `classifier` (with `user`: that user's only).
    pub fn examples(&self, classifier: &str, user: Option<&str>) -> Result<Vec<Example>> {
        collect::examples(&*self.engine()?, classifier, user)
    }

    /// Write the examples of `classifier` as JSON Lines into the new file `path`; returns how
    /// many.
    pub fn export_examples(&self, classifier: &str, path: &Path) -> Result<u64> {
        let all = self.examples(classifier, None)?;
        let file = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::DestinationExists { path: path.to_path_buf() }
            } else {
                Error::Storage(format!("{}: {e}", path.display()))
            }
        })?;
        let mut w = std::io::BufWriter::new(file);
        for e in &all {
            serde_json::to_writer(&mut w, e)?;
            w.write_all(b"\n")?;
        }
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(all.len() as u64)
    }

    /// Counts of `classifier`'s examples, per label.
    pub fn example_stats(&self, classifier: &str) -> Result<ExampleStats> {
        collect::stats(&*self.engine()?, classifier)
    }

    /// Queue a training job for `classifier` on its examples; returns its id at once. It runs
    /// on a background thread (`classifiers.run_jobs`), one job at a time.
    pub fn train(&self, classifier: &str, options: &TrainOptions) -> Result<JobId> {
        let engine = self.engine()?;
        let id = self.metrics.track(train::queue(&engine, classifier, options))?;
        if engine.config.classifiers.run_jobs {
            train::start_worker(&self.ops.training, engine)?;
        }
        Ok(id)
    }

    /// Train on this thread and wait: queue the job and run it, calling `progress` at every
    /// step (returning false cancels). Returns the job as it ended (or paused).
    pub fn train_and_wait(
        &self,
        classifier: &str,
        options: &TrainOptions,
        progress: &mut (dyn FnMut(&TrainingProgress) -> bool + Send),
    ) -> Result<JobInfo> {
        let engine = self.engine()?;
        let id = train::queue(&engine, classifier, options)?;
        self.metrics.track(train::run(&engine, &self.ops.training, id, progress))
    }

    /// Run a queued, paused or interrupted training job on this thread until it ends.
    pub fn run_job(
        &self,
        id: JobId,
        progress: &mut (dyn FnMut(&TrainingProgress) -> bool + Send),
    ) -> Result<JobInfo> {
        let engine = self.engine()?;
        train::resume(&engine, id)?;
        self.metrics.track(train::run(&engine, &self.ops.training, id, progress))
    }

    /// Pause a training job (a running one checkpoints first).
    pub fn pause_job(&self, id: JobId) -> Result<JobInfo> {
        train::pause(&*self.engine()?, &self.ops.training, id)
    }

    /// Queue a paused or interrupted training job again; it resumes from its checkpoint on
    /// the background worker (`classifiers.run_jobs`) or with [`Memorable::run_job`].
    pub fn resume_job(&self, id: JobId) -> Result<JobInfo> {
        let engine = self.engine()?;
        let job = train::resume(&engine, id)?;
        if engine.config.classifiers.run_jobs {
            train::start_worker(&self.ops.training, engine)?;
        }
        Ok(job)
    }

    /// Deploy a version of `classifier` (default: its newest candidate) through the model
    /// registry; `classify` uses it from the next call, in every process.
    pub fn deploy_classifier(&self, classifier: &str, version: Option<&str>) -> Result<ModelVersion> {
        self.metrics.track(self.engine().and_then(|e| deploy::deploy(&e, classifier, version)))
    }

    /// Make the previously deployed version of `classifier` active again.
    pub fn rollback_classifier(&self, classifier: &str) -> Result<ModelVersion> {
        self.metrics.track(self.engine().and_then(|e| deploy::rollback(&e, classifier)))
    }

    /// Readings of `texts` by the named classifier as deployed now; with `user`, labels
    /// follow that user's calibration when they have one.
    pub fn classify_as(
        &self,
        texts: &[&str],
        classifier: &str,
        user: Option<&str>,
    ) -> Result<Vec<Classified>> {
        self.metrics.track(self.engine().and_then(|e| deploy::classify(&e, texts, classifier, user)))
    }

    /// Tune `user`'s thresholds for `classifier` on their corrections now (`None`: fewer
    /// than `classifiers.personalize_min_corrections`).
    pub fn calibrate(&self, classifier: &str, user: &str) -> Result<Option<Calibration>> {
        personal::calibrate(&*self.engine()?, classifier, user)
    }
}
