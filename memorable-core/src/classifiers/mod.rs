//! Custom classifiers: an application's own label sets, the labelled examples and user
//! corrections it collects ([`collect`]), training jobs on them ([`train`]), evaluation
//! against the deployed model and deployment through the model registry ([`deploy`]), and
//! per-user calibration ([`personal`]). The shipped GoEmotions classifier is `goemotions`.

pub(crate) mod collect;
mod current;
pub(crate) mod deploy;
pub(crate) mod personal;
mod spec;
pub(crate) mod train;

pub use personal::Calibration;
pub use spec::{ClassifierInfo, Example, ExampleImport, ExampleStats, NewExample, GOEMOTIONS};
pub use train::{TrainingProgress, TrainingRuntime};

/// The job kind of training jobs.
pub const TRAINING_KIND: &str = crate::store::jobs::RESUMABLE_KIND;
