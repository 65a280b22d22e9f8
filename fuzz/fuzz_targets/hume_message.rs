//! Hume messages (realtime v1, upload, legacy stream, EVI chat): any bytes parse or fail with
//! a coded error.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = memorable_core::hume::parse::parse(s);
    }
});
