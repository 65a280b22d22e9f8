//! The WAV reader (any RIFF layout, sample format and rate, resampled to 16 kHz mono).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = memorable_core::hume::wav::wav_to_pcm16k(data);
});
