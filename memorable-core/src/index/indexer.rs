//! The background indexer: one thread per open store that moves pending vectors into their
//! users' HNSW graphs, so `remember` returns as soon as its transaction commits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use super::{IndexCache, DRAIN_CHUNK};

struct Signal {
    work: Mutex<bool>,
    wake: Condvar,
    stop: AtomicBool,
}

pub(crate) struct Indexer {
    signal: Arc<Signal>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Indexer {
    pub fn start(cache: Arc<IndexCache>) -> Indexer {
        let signal =
            Arc::new(Signal { work: Mutex::new(false), wake: Condvar::new(), stop: AtomicBool::new(false) });
        let sig = signal.clone();
        let thread = std::thread::Builder::new()
            .name("memorable-indexer".into())
            .spawn(move || run(&cache, &sig))
            .ok();
        if thread.is_none() {
            tracing::warn!("could not start the indexer thread; pending vectors are indexed at close");
        }
        Indexer { signal, thread: Mutex::new(thread) }
    }

    /// Tell the indexer there are pending vectors.
    pub fn notify(&self) {
        *self.signal.work.lock() = true;
        self.signal.wake.notify_one();
    }

    /// Stop the thread (it finishes the chunk at hand) and wait for it.
    pub fn stop(&self) {
        self.signal.stop.store(true, Ordering::Release);
        self.notify();
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

fn run(cache: &IndexCache, signal: &Signal) {
    loop {
        {
            let mut work = signal.work.lock();
            if !*work && !signal.stop.load(Ordering::Acquire) {
                // The timeout is a safety net for a notification lost to a race.
                signal.wake.wait_for(&mut work, Duration::from_millis(250));
            }
            *work = false;
        }
        if signal.stop.load(Ordering::Acquire) {
            return;
        }
        for index in cache.all() {
            while index.has_pending() && !signal.stop.load(Ordering::Acquire) {
                let span = tracing::trace_span!("index_chunk", user_key = index.user_key);
                let _e = span.enter();
                // A panic while indexing must not kill indexing for everyone; the vectors stay
                // pending (searched exactly) and the index is rebuilt at next load.
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| index.drain(DRAIN_CHUNK, false)))
                    .is_err()
                {
                    tracing::error!(user_key = index.user_key, "indexing panicked; vectors stay pending");
                    break;
                }
            }
        }
    }
}
