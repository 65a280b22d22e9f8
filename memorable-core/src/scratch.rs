//! A per-thread score buffer for searches that score every memory of a user (sparse
//! vectors, BM25): at 100k memories a fresh buffer per search is a 400 KB allocation,
//! which the allocator maps and the kernel zero-fills page by page on every call.

use std::cell::RefCell;

thread_local! {
    static SCORES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Run `f` with `n` zeroed scores from this thread's buffer. Not reentrant: `f` must not
/// call it again (it panics if it does).
pub(crate) fn with_scores<R>(n: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    SCORES.with(|cell| {
        let mut scores = cell.borrow_mut();
        scores.clear();
        scores.resize(n, 0.0);
        let out = f(&mut scores);
        // A store that shrank (a user forgotten) should not pin the largest buffer forever.
        if scores.capacity() > 4 * n.max(1 << 16) {
            *scores = Vec::new();
        }
        out
    })
}
