//! Training jobs for custom models, run offline with candle-nn: the text emotion classifier
//! on GoEmotions ([`emotion`], `memorable train emotion --data`), and an application's own
//! classifiers on the examples it collected ([`custom`], with its [`split`] and the
//! [`report`] each job stores). A job writes safetensors weights and a JSON manifest that the
//! matching backend in [`crate::models`] loads.

mod config;
pub mod custom;
pub mod emotion;
pub mod goemotions;
mod options;
pub mod report;
pub mod split;

pub use config::{EmotionTrainConfig, TrainProgress, TuneOn};
pub use emotion::train_emotion;
pub use options::{DeployPolicy, Preset, TrainOptions};
pub use report::{Confusion, EvalReport, LabelScore};
