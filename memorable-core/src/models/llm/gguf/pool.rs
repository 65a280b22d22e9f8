//! A small persistent thread pool for the decoder: one token runs ~200 matrix-vector products
//! of tens of microseconds each, so handing work over must cost far less than a rayon join
//! (which parks and wakes threads). The caller takes part 0 of every job and the workers the
//! others; a worker spins briefly for the next job, then sleeps on a condition variable.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle worker spins before it sleeps: tokens come back to back while a
/// generation runs, and between generations the workers cost nothing.
const SPIN: Duration = Duration::from_micros(200);

type Job = *const (dyn Fn(usize) + Sync);

struct Shared {
    /// Bumped for every job (workers wait for it to change).
    generation: AtomicUsize,
    /// Workers that have finished the current job.
    done: AtomicUsize,
    stop: AtomicBool,
    job: UnsafeCell<Option<Job>>,
    sleep: Mutex<()>,
    wake: Condvar,
}

// Safety: `job` is written only by `run` while no worker reads it (between jobs), and read by
// workers only between the generation bump and their `done` increment, while `run` waits.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

pub struct Pool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    /// Serializes jobs: one generation at a time uses the pool.
    lock: Mutex<()>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("threads", &self.threads()).finish()
    }
}

impl Pool {
    /// A pool of `threads` (the caller counts as one).
    pub fn new(threads: usize) -> Pool {
        let shared = Arc::new(Shared {
            generation: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            job: UnsafeCell::new(None),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
        });
        let workers = (1..threads.max(1))
            .filter_map(|part| {
                let shared = shared.clone();
                std::thread::Builder::new()
                    .name(format!("memorable-gen-{part}"))
                    .spawn(move || worker(&shared, part, 0))
                    .ok()
            })
            .collect();
        Pool { shared, workers, lock: Mutex::new(()) }
    }

    pub fn threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// Run `f(part)` for every part `0..threads()` at once, the caller taking part 0;
    /// returns when all are done.
    pub fn run(&self, f: &(dyn Fn(usize) + Sync)) {
        if self.workers.is_empty() {
            f(0);
            return;
        }
        let _one = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        // Safety: the lifetime is erased only until this call returns, and it returns after
        // every worker has finished with the job.
        let job: Job = unsafe { std::mem::transmute::<&(dyn Fn(usize) + Sync), Job>(f) };
        unsafe { *self.shared.job.get() = Some(job) };
        self.shared.done.store(0, Ordering::Release);
        {
            let _g = self.shared.sleep.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.generation.fetch_add(1, Ordering::AcqRel);
        }
        self.shared.wake.notify_all();
        f(0);
        let n = self.workers.len();
        while self.shared.done.load(Ordering::Acquire) < n {
            std::hint::spin_loop();
        }
        unsafe { *self.shared.job.get() = None };
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        {
            let _g = self.shared.sleep.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.generation.fetch_add(1, Ordering::AcqRel);
        }
        self.shared.wake.notify_all();
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

/// `seen`: the generation before the worker's first job. Given at spawn, not read when the
/// thread starts: a job posted before the new thread first runs would otherwise be taken for
/// an old one and never run.
fn worker(shared: &Shared, part: usize, mut seen: usize) {
    loop {
        // Spin for the next job, then sleep.
        let spin_until = Instant::now() + SPIN;
        while shared.generation.load(Ordering::Acquire) == seen {
            if Instant::now() > spin_until {
                let mut g = shared.sleep.lock().unwrap_or_else(|e| e.into_inner());
                while shared.generation.load(Ordering::Acquire) == seen {
                    g = shared.wake.wait(g).unwrap_or_else(|e| e.into_inner());
                }
                break;
            }
            std::hint::spin_loop();
        }
        seen = shared.generation.load(Ordering::Acquire);
        if shared.stop.load(Ordering::Acquire) {
            return;
        }
        // Safety: `run` set the job before bumping the generation and waits for `done`.
        if let Some(job) = unsafe { *shared.job.get() } {
            let f = unsafe { &*job };
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(part))).is_err() {
                tracing::error!("a generation worker panicked; its part of the step is missing");
            }
        }
        shared.done.fetch_add(1, Ordering::AcqRel);
    }
}

/// The part `part` of `0..n` split into `parts` near-equal ranges.
pub fn split(n: usize, part: usize, parts: usize) -> std::ops::Range<usize> {
    n * part / parts..n * (part + 1) / parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_once_per_job() {
        let pool = Pool::new(3);
        let hits: Vec<AtomicUsize> = (0..3).map(|_| AtomicUsize::new(0)).collect();
        for _ in 0..1000 {
            pool.run(&|p| {
                hits[p].fetch_add(1, Ordering::Relaxed);
            });
        }
        for h in &hits {
            assert_eq!(h.load(Ordering::Relaxed), 1000);
        }
        assert_eq!(split(10, 0, 3), 0..3);
        assert_eq!(split(10, 2, 3), 6..10);
    }
}
