//! `memorable classify`: emotion readings of texts, one JSON object a line:
//! `{"text", "scores", "labels"}` — from the shipped classifier, a classifier of the store by
//! name (its deployed version, with `--user` that user's thresholds), or a trained
//! classifier directory.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};
use std::sync::Arc;

use memorable::models::cache;
use memorable::models::emotion_adapter::{builtin_manifest, embedder_name, AdapterEmotionClassifier};
use memorable::models::{ClassifierOptions, EmotionClassifier};
use memorable::{Classified, Memorable};

use crate::global::Global;

/// Readings of one chunk of texts.
type Reader = Box<dyn FnMut(&[&str]) -> Result<Vec<Classified>>>;

pub(crate) fn classify(
    g: &Global,
    classifier: Option<&str>,
    user: Option<&str>,
    file: Option<&Path>,
    texts: &[String],
) -> Result<()> {
    let lines = crate::util::input_lines(file, texts)?;
    // A value naming a folder (a path, or an existing directory) is a classifier directory.
    let dir = classifier.filter(|c| c.contains('/') || Path::new(c).is_dir());
    let named = classifier.filter(|_| dir.is_none()).filter(|c| *c != "goemotions" || user.is_some());
    let mut run: Reader = match (named, dir) {
        (Some(name), _) => {
            let mem = Memorable::builder(&g.store)
                .config(g.config())
                .open()
                .with_context(|| format!("cannot open store {}", crate::util::store_name(&g.store)))?;
            let name = name.to_owned();
            let user = user.map(str::to_owned);
            Box::new(move |refs| Ok(mem.classify_as(refs, &name, user.as_deref())?))
        }
        (None, None) => {
            // The default classifier as a store runs it: on the store embedder's own native
            // forward when this CPU has it (the one-pass classifier), else on candle. An
            // in-memory store on the MiniLM it was trained on, so the store folder is not
            // touched. `--embedder minilm-int8` keeps the int8 forward, whose activations the
            // classifier then reads, as an int8 store runs it.
            let mut config = g.config();
            let base = embedder_name(&builtin_manifest())?;
            config.embedder = if g.embedder == format!("{base}-int8") { g.embedder.clone() } else { base };
            let mem = memorable::Builder::in_memory().config(config).open().context("cannot load MiniLM")?;
            Box::new(move |refs| Ok(mem.classify(refs)?))
        }
        (None, Some(dir)) => {
            // A trained classifier directory runs on the cached MiniLM (its checksum is checked).
            let encoder = cache::cache_dir(None)
                .context("no model cache directory: set MEMORABLE_HOME")?
                .join("minilm");
            let c: Arc<dyn EmotionClassifier> = Arc::new(
                AdapterEmotionClassifier::load_dir(Path::new(dir), &encoder, ClassifierOptions::default())
                    .with_context(|| format!("cannot load the classifier in {dir}"))?,
            );
            Box::new(move |refs| Ok(memorable::classify_with(c.as_ref(), refs)?))
        }
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for chunk in lines.chunks(256) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        for reading in run(&refs)? {
            writeln!(out, "{}", serde_json::to_string(&reading)?)?;
        }
    }
    out.flush()?;
    Ok(())
}
