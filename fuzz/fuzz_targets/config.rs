//! The configuration and generation requests (JSON).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = memorable_core::Config::from_json(s);
        let _ = memorable_core::GenerateRequest::from_json(s);
    }
});
