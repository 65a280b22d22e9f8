//! The model registry file and model manifests.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn scratch() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<memorable_core::models::cache::Manifest>(data);
    std::fs::write(scratch().join("registry.json"), data).unwrap();
    let _ = memorable_core::models::registry::Registry::read(scratch());
});
