//! `memorable classify`: emotion readings of texts from the shipped classifier (or a trained
//! classifier directory), one JSON object a line: `{"text", "scores", "labels"}`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};
use std::sync::Arc;

use memorable::models::cache;
use memorable::models::emotion_adapter::{builtin_manifest, load_default, AdapterEmotionClassifier};
use memorable::models::{ClassifierOptions, EmotionClassifier};

pub(crate) fn classify(classifier_dir: Option<&Path>, file: Option<&Path>, texts: &[String]) -> Result<()> {
    let classifier: Arc<dyn EmotionClassifier> = match classifier_dir {
        None => load_default(&builtin_manifest().embedder.model_id, None, ClassifierOptions::default())?,
        Some(dir) => {
            // A trained classifier directory runs on the cached MiniLM (its checksum is checked).
            let encoder = cache::cache_dir(None)
                .context("no model cache directory: set MEMORABLE_HOME")?
                .join("minilm");
            Arc::new(
                AdapterEmotionClassifier::load_dir(dir, &encoder, ClassifierOptions::default())
                    .with_context(|| format!("cannot load the classifier in {}", dir.display()))?,
            )
        }
    };
    let lines = crate::util::input_lines(file, texts)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for chunk in lines.chunks(256) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        for reading in memorable::classify_with(classifier.as_ref(), &refs)? {
            writeln!(out, "{}", serde_json::to_string(&reading)?)?;
        }
    }
    out.flush()?;
    Ok(())
}
