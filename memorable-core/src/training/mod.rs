//! Training jobs for custom models, run offline with candle-nn: today the text emotion
//! classifier ([`emotion`]) on GoEmotions ([`goemotions`]). A job writes safetensors weights
//! and a JSON manifest that the matching backend in [`crate::models`] loads.

mod config;
pub mod emotion;
pub mod goemotions;

pub use config::{EmotionTrainConfig, TrainProgress, TuneOn};
pub use emotion::train_emotion;
