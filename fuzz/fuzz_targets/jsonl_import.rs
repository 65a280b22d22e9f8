//! JSON Lines import into a store (hashing embedder): any bytes import or fail, never panic.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use memorable_core::{Config, Memorable};

fn store() -> &'static Memorable {
    static STORE: OnceLock<(tempfile::TempDir, Memorable)> = OnceLock::new();
    &STORE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let config = Config::from_json(r#"{"embedder": "hashing", "generator": "none"}"#).unwrap();
            let mem = Memorable::builder(dir.path()).config(config).open().unwrap();
            (dir, mem)
        })
        .1
}

fuzz_target!(|data: &[u8]| {
    let _ = store().import_jsonl(&mut &data[..], 64, &mut |_| {});
});
