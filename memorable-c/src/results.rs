//! `memorable_results`: the owned list of memories returned by recall, recent and get, with
//! index accessors. Strings are converted once, when the list is built, so accessors only
//! borrow. An index out of range (or a NULL list) gives 0 / NULL / NAN, never UB.

use std::ffi::c_char;

use memorable_core::{Memory, Recalled};

use crate::convert::to_ms;
use crate::error::ffi_or;

/// A list of memories (from `memorable_recall`, `memorable_recent` or `memorable_get`).
/// Owned by the caller; release with `memorable_results_free`. Not thread-safe: use one
/// results handle from one thread at a time. Using it after free is undefined behaviour.
pub struct memorable_results {
    items: Vec<Item>,
}

struct Item {
    id: u64,
    score: f64,
    breakdown: Option<memorable_core::ScoreBreakdown>,
    occurred_at_ms: i64,
    created_at_ms: i64,
    user: NulText,
    text: NulText,
    speaker: Option<NulText>,
    session: Option<NulText>,
    /// The memory's emotional snapshot as JSON.
    emotion: Option<NulText>,
    kind: NulText,
    derived_from: Vec<u64>,
}

/// UTF-8 bytes followed by a NUL, so C can read them as a string; text containing NUL bytes
/// (legal in UTF-8) stays whole and its length is known.
struct NulText(Box<[u8]>);

impl NulText {
    fn new(s: &str) -> NulText {
        let mut bytes = Vec::with_capacity(s.len() + 1);
        bytes.extend_from_slice(s.as_bytes());
        bytes.push(0);
        NulText(bytes.into_boxed_slice())
    }
    fn ptr(&self) -> *const c_char {
        self.0.as_ptr().cast()
    }
    fn len(&self) -> usize {
        self.0.len() - 1
    }
}

impl Item {
    fn new(m: &Memory, score: f64) -> Item {
        Item {
            id: m.id,
            score,
            breakdown: None,
            occurred_at_ms: to_ms(m.context.occurred_at),
            created_at_ms: to_ms(m.created_at),
            user: NulText::new(&m.user),
            text: NulText::new(&m.text),
            speaker: m.context.speaker.as_deref().map(NulText::new),
            session: m.session.as_deref().map(NulText::new),
            kind: NulText::new(&m.kind),
            derived_from: m.derived_from.clone(),
            emotion: m
                .emotion
                .as_ref()
                .and_then(|e| serde_json::to_string(e).ok())
                .as_deref()
                .map(NulText::new),
        }
    }
}

impl memorable_results {
    pub(crate) fn recalled(hits: &[Recalled]) -> memorable_results {
        let item = |h: &Recalled| Item {
            breakdown: Some(h.breakdown.clone()),
            ..Item::new(&h.memory, f64::from(h.score))
        };
        memorable_results { items: hits.iter().map(item).collect() }
    }

    /// Unranked memories (recent, get): their score is NAN.
    pub(crate) fn memories(memories: &[Memory]) -> memorable_results {
        memorable_results { items: memories.iter().map(|m| Item::new(m, f64::NAN)).collect() }
    }
}

unsafe fn item<'a>(r: *const memorable_results, i: usize) -> Option<&'a Item> {
    r.as_ref()?.items.get(i)
}

/// Number of memories in the list (0 for NULL).
#[no_mangle]
pub unsafe extern "C" fn memorable_results_len(r: *const memorable_results) -> usize {
    ffi_or!(0, { r.as_ref().map_or(0, |r| r.items.len()) })
}

/// Id of memory `i` (0 if out of range; real ids start at 1).
#[no_mangle]
pub unsafe extern "C" fn memorable_results_id(r: *const memorable_results, i: usize) -> u64 {
    ffi_or!(0, { item(r, i).map_or(0, |m| m.id) })
}

/// Text of memory `i`: borrowed, NUL-terminated UTF-8, valid until `memorable_results_free`.
/// NULL if out of range. Use `memorable_results_text_len` for text containing NUL bytes.
#[no_mangle]
pub unsafe extern "C" fn memorable_results_text(r: *const memorable_results, i: usize) -> *const c_char {
    ffi_or!(std::ptr::null(), { item(r, i).map_or(std::ptr::null(), |m| m.text.ptr()) })
}

/// Length in bytes of the text of memory `i` (without the NUL; 0 if out of range).
#[no_mangle]
pub unsafe extern "C" fn memorable_results_text_len(r: *const memorable_results, i: usize) -> usize {
    ffi_or!(0, { item(r, i).map_or(0, |m| m.text.len()) })
}

/// User of memory `i`: borrowed like the text. NULL if out of range.
#[no_mangle]
pub unsafe extern "C" fn memorable_results_user(r: *const memorable_results, i: usize) -> *const c_char {
    ffi_or!(std::ptr::null(), { item(r, i).map_or(std::ptr::null(), |m| m.user.ptr()) })
}

/// Relevance of memory `i` (higher is better) for `memorable_recall`; NAN for memories from
/// `memorable_recent` / `memorable_get`, and when out of range.
#[no_mangle]
pub unsafe extern "C" fn memorable_results_score(r: *const memorable_results, i: usize) -> f64 {
    ffi_or!(f64::NAN, { item(r, i).map_or(f64::NAN, |m| m.score) })
}

/// When memory `i` happened, in unix milliseconds (0 if out of range).
#[no_mangle]
pub unsafe extern "C" fn memorable_results_occurred_at_ms(r: *const memorable_results, i: usize) -> i64 {
    ffi_or!(0, { item(r, i).map_or(0, |m| m.occurred_at_ms) })
}

/// When memory `i` was stored, in unix milliseconds (0 if out of range).
#[no_mangle]
pub unsafe extern "C" fn memorable_results_created_at_ms(r: *const memorable_results, i: usize) -> i64 {
    ffi_or!(0, { item(r, i).map_or(0, |m| m.created_at_ms) })
}

/// Speaker of memory `i`, borrowed like the text; NULL when it has none or out of range.
#[no_mangle]
pub unsafe extern "C" fn memorable_results_speaker(r: *const memorable_results, i: usize) -> *const c_char {
    ffi_or!(std::ptr::null(), {
        item(r, i).and_then(|m| m.speaker.as_ref()).map_or(std::ptr::null(), NulText::ptr)
    })
}

/// Session of memory `i`, borrowed like the text; NULL when it has none or out of range.
#[no_mangle]
pub unsafe extern "C" fn memorable_results_session(r: *const memorable_results, i: usize) -> *const c_char {
    ffi_or!(std::ptr::null(), {
        item(r, i).and_then(|m| m.session.as_ref()).map_or(std::ptr::null(), NulText::ptr)
    })
}

/// The emotional snapshot stored with memory `i` as JSON (scores by catalog id, dominant,
/// valence, arousal, confidence), or NULL when it has none. Borrowed from the list.
#[no_mangle]
pub unsafe extern "C" fn memorable_results_emotion_json(
    r: *const memorable_results,
    i: usize,
) -> *const c_char {
    ffi_or!(std::ptr::null(), {
        item(r, i).and_then(|it| it.emotion.as_ref()).map_or(std::ptr::null(), NulText::ptr)
    })
}

/// Kind of memory `i` ("message", "summary", "fact", ...), borrowed like the text; NULL out
/// of range.
#[no_mangle]
pub unsafe extern "C" fn memorable_results_kind(r: *const memorable_results, i: usize) -> *const c_char {
    ffi_or!(std::ptr::null(), { item(r, i).map_or(std::ptr::null(), |m| m.kind.ptr()) })
}

/// The ids memory `i` was derived from (a consolidation's summary or fact): `*len_out`
/// ids, borrowed from the list; NULL (and 0) when it has none, out of range, or for NULL
/// arguments.
#[no_mangle]
pub unsafe extern "C" fn memorable_results_derived_from(
    r: *const memorable_results,
    i: usize,
    len_out: *mut usize,
) -> *const u64 {
    ffi_or!(std::ptr::null(), {
        let ids = item(r, i).map(|m| m.derived_from.as_slice()).unwrap_or(&[]);
        if let Some(out) = len_out.as_mut() {
            *out = ids.len();
        }
        if ids.is_empty() {
            std::ptr::null()
        } else {
            ids.as_ptr()
        }
    })
}

/// Release a results list and every string borrowed from it. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn memorable_results_free(r: *mut memorable_results) {
    ffi_or!((), {
        if !r.is_null() {
            drop(Box::from_raw(r));
        }
    })
}

/// The score breakdown of hit `i` (recall results only).
pub(crate) unsafe fn breakdown<'a>(
    r: *const memorable_results,
    i: usize,
) -> Option<&'a memorable_core::ScoreBreakdown> {
    item(r, i)?.breakdown.as_ref()
}
