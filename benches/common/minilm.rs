//! What the MiniLM benches share: the verified model folder and GoEmotions texts, each
//! exiting with a message (not failing) when absent, so `cargo bench` runs anywhere.

use std::path::{Path, PathBuf};

use memorable::models::cache::{self, Manifest};

/// The cached all-MiniLM-L6-v2 folder, checksums verified; exits when it is absent.
pub fn model_dir(bench: &str) -> PathBuf {
    let dir = cache::cache_dir(None).map(|d| d.join("minilm"));
    let minilm = Manifest::builtin().get("minilm").cloned().unwrap();
    match dir {
        Some(d) if cache::verify(&d, &minilm).is_ok() => d,
        _ => {
            eprintln!("{bench} bench: all-MiniLM-L6-v2 is not in the model cache; run scripts/fetch-model.sh. Exiting.");
            std::process::exit(0);
        }
    }
}

/// The non-blank texts of `../shared/data/goemotions/{split}.tsv`, in file order; exits when
/// the file is absent.
pub fn goemotions(bench: &str, split: &str) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../shared/data/goemotions/{split}.tsv"));
    let Ok(tsv) = std::fs::read_to_string(&path) else {
        eprintln!("{bench} bench: {} is absent; it needs the GoEmotions data. Exiting.", path.display());
        std::process::exit(0);
    };
    tsv.lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .filter(|t| !t.trim().is_empty())
        .map(str::to_owned)
        .collect()
}
