//! The C ABI's string and buffer inputs under arbitrary bytes (issue: fuzzing of every
//! parser): lengths that cut UTF-8 sequences, embedded NULs, invalid UTF-8, random JSON for
//! the Hume, configuration and classifier inputs, out-of-range result indices. Every call must return a
//! coded error or succeed — never `PANIC` (a panic caught at the boundary), never a crash —
//! and the store must keep working. `MEMORABLE_FUZZ_CASES` sets the cases (default 200, CI).

use std::ffi::{c_char, CString};

use proptest::prelude::*;
use proptest::test_runner::Config as RunConfig;

use crate::convert::memorable_options;
use crate::error::{memorable_error, memorable_error_code, memorable_error_free, MEMORABLE_ERROR_PANIC};
use crate::handle::memorable;
use crate::hume::{memorable_ingest_hume, memorable_ingest_hume_lines};
use crate::results::{
    memorable_results, memorable_results_free, memorable_results_len, memorable_results_text,
};
use crate::{
    memorable_free, memorable_open_in_memory, memorable_recall, memorable_remember, memorable_update,
};

fn runner() -> RunConfig {
    let cases = std::env::var("MEMORABLE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    RunConfig { cases, failure_persistence: None, ..RunConfig::default() }
}

/// The code of `e` (0 for success), freeing it.
fn code(e: *mut memorable_error) -> u32 {
    if e.is_null() {
        return 0;
    }
    let c = unsafe { memorable_error_code(e) };
    unsafe { memorable_error_free(e) };
    c
}

fn open() -> *mut memorable {
    let json = CString::new(r#"{"embedder": "hashing", "hashing_dim": 16, "generator": "none"}"#).unwrap();
    let opts =
        memorable_options { max_text_chars: 0, config_json: json.as_ptr(), embedder: std::ptr::null() };
    let mut m = std::ptr::null_mut();
    assert_eq!(code(unsafe { memorable_open_in_memory(&opts, &mut m) }), 0);
    m
}

/// Bytes that are often almost valid: ASCII words, multi-byte characters cut anywhere, NULs.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        "[a-zA-Z é😀\\x00]{0,24}".prop_map(|s| s.into_bytes()),
        ("[a-z é😀]{1,12}", 0usize..8).prop_map(|(s, cut)| {
            let b = s.into_bytes();
            b[..b.len().saturating_sub(cut)].to_vec()
        }),
    ]
}

#[test]
fn strings_and_buffers_never_panic() {
    let m = open();
    let stored = std::sync::atomic::AtomicUsize::new(0);
    proptest!(runner(), |(user in bytes(), text in bytes(), query in bytes())| {
        let p = |b: &Vec<u8>| b.as_ptr() as *const c_char;
        let mut id = 0u64;
        let c = code(unsafe { memorable_remember(m, p(&user), user.len(), p(&text), text.len(), std::ptr::null(), &mut id) });
        prop_assert_ne!(c, MEMORABLE_ERROR_PANIC);
        if c == 0 {
            stored.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // The stored text is the input, byte for byte (it was valid UTF-8).
            let mut res: *mut memorable_results = std::ptr::null_mut();
            prop_assert_eq!(code(unsafe { crate::memorable_get(m, id, &mut res) }), 0);
            // (Read with its length: a text may hold NULs, which end a C string early.)
            let len = unsafe { crate::results::memorable_results_text_len(res, 0) };
            let t = unsafe { std::slice::from_raw_parts(memorable_results_text(res, 0) as *const u8, len) };
            prop_assert_eq!(t, &text[..]);
            // Out-of-range indices are NULL, not a crash.
            let beyond = unsafe { memorable_results_text(res, 1 + id as usize) };
            prop_assert!(beyond.is_null());
            unsafe { memorable_results_free(res) };
            prop_assert_ne!(code(unsafe { memorable_update(m, id, p(&query), query.len()) }), MEMORABLE_ERROR_PANIC);
        }
        let mut res: *mut memorable_results = std::ptr::null_mut();
        let c = code(unsafe { memorable_recall(m, p(&user), user.len(), p(&query), query.len(), std::ptr::null(), &mut res) });
        prop_assert_ne!(c, MEMORABLE_ERROR_PANIC);
        if c == 0 {
            let n = unsafe { memorable_results_len(res) };
            prop_assert!(n <= 10);
            unsafe { memorable_results_free(res) };
        }
        // The same bytes as a context name and as Hume JSON / JSON Lines.
        let mut out: *mut c_char = std::ptr::null_mut();
        let c = code(unsafe { memorable_ingest_hume(m, p(&user), user.len(), p(&text), text.len(), &mut out) });
        prop_assert_ne!(c, MEMORABLE_ERROR_PANIC);
        if !out.is_null() { unsafe { crate::memorable_string_free(out) }; out = std::ptr::null_mut(); }
        let c = code(unsafe { memorable_ingest_hume_lines(m, p(&user), user.len(), p(&query), query.len(), &mut out) });
        prop_assert_ne!(c, MEMORABLE_ERROR_PANIC);
        if !out.is_null() { unsafe { crate::memorable_string_free(out) }; }
    });
    // The store still works, and holds exactly what was acknowledged.
    let mut json: *mut c_char = std::ptr::null_mut();
    assert_eq!(code(unsafe { crate::memorable_stats(m, &mut json) }), 0);
    let stats: serde_json::Value =
        serde_json::from_str(unsafe { std::ffi::CStr::from_ptr(json) }.to_str().unwrap()).unwrap();
    assert_eq!(stats["memories"].as_u64().unwrap() as usize, stored.into_inner());
    unsafe { crate::memorable_string_free(json) };
    unsafe { memorable_free(m) };
}

#[test]
fn configuration_json_never_panics() {
    let seed =
        r#"{"embedder": "hashing", "hashing_dim": 16, "limits": {"max_batch": 5}, "encryption_key": "k"}"#;
    proptest!(runner(), |(cut in 0..seed.len(), flip in any::<u8>(), at in 0..seed.len())| {
        let mut b = seed.as_bytes().to_vec();
        b[at] ^= flip;
        b.truncate(cut.max(1));
        b.retain(|c| *c != 0);
        let json = CString::new(b).unwrap();
        let opts = memorable_options { max_text_chars: 0, config_json: json.as_ptr(), embedder: std::ptr::null() };
        let mut m = std::ptr::null_mut();
        let c = code(unsafe { memorable_open_in_memory(&opts, &mut m) });
        prop_assert_ne!(c, MEMORABLE_ERROR_PANIC);
        if c == 0 { unsafe { memorable_free(m) }; }
    });
}

#[test]
fn classifier_inputs_never_panic() {
    use crate::classifiers::{
        memorable_add_examples, memorable_create_classifier, memorable_examples, memorable_train,
    };
    let m = open();
    let seed = r#"[{"text": "so glad", "labels": ["joy"]}, {"text": "how dare", "labels": ["anger"]}]"#;
    proptest!(runner(), |(name in bytes(), cut in 0..seed.len(), flip in any::<u8>(), at in 0..seed.len(), options in bytes())| {
        let p = |b: &Vec<u8>| b.as_ptr() as *const c_char;
        let mut b = seed.as_bytes().to_vec();
        b[at] ^= flip;
        b.truncate(cut.max(1));
        b.retain(|c| *c != 0);
        let examples = CString::new(b).unwrap();
        let options = CString::new(options.into_iter().filter(|c| *c != 0).collect::<Vec<u8>>()).unwrap();
        let mut out: *mut c_char = std::ptr::null_mut();
        let c = code(unsafe { memorable_create_classifier(m, p(&name), name.len(), examples.as_ptr(), options.as_ptr(), &mut out) });
        prop_assert_ne!(c, MEMORABLE_ERROR_PANIC);
        if !out.is_null() { unsafe { crate::memorable_string_free(out) }; out = std::ptr::null_mut(); }
        let c = code(unsafe { memorable_add_examples(m, p(&name), name.len(), examples.as_ptr(), options.as_ptr(), &mut out) });
        prop_assert_ne!(c, MEMORABLE_ERROR_PANIC);
        if !out.is_null() { unsafe { crate::memorable_string_free(out) }; out = std::ptr::null_mut(); }
        let c = code(unsafe { memorable_examples(m, p(&name), name.len(), options.as_ptr(), &mut out) });
        prop_assert_ne!(c, MEMORABLE_ERROR_PANIC);
        if !out.is_null() { unsafe { crate::memorable_string_free(out) }; }
        let mut job = 0u64;
        let c = code(unsafe { memorable_train(m, p(&name), name.len(), options.as_ptr(), &mut job) });
        prop_assert_ne!(c, MEMORABLE_ERROR_PANIC);
    });
    unsafe { memorable_free(m) };
}
