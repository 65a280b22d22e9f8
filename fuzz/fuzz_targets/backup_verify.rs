//! Backup files: `verify` and `restore` of any bytes give a report or a coded error.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn scratch() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fuzz_target!(|data: &[u8]| {
    let file = scratch().join("input.mrbak");
    std::fs::write(&file, data).unwrap();
    let _ = memorable_core::verify(&file);
    let target = scratch().join("restored");
    let _ = memorable_core::restore(&file, &target);
    let _ = std::fs::remove_dir_all(&target);
});
