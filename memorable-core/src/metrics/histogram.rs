//! [`Histogram`]: a lock-free latency histogram. Recording is three relaxed atomic adds (the
//! bucket, the count, the sum); quantiles are read from a [`HistogramSnapshot`].
//!
//! Buckets are log-linear over microseconds: exact below 16 µs, then 16 buckets per power of
//! two, so a quantile is within ~3% of the true value, from 1 µs to ~9 hours (values above
//! land in the last bucket). 528 buckets, 4 KiB per histogram.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
/// Highest power of two with its own buckets (2^35 µs ≈ 9.5 hours).
const MAX_EXP: u32 = 35;
/// Number of buckets.
pub(crate) const BUCKETS: usize = SUB + (MAX_EXP - SUB_BITS + 1) as usize * SUB;

/// Bucket of a value in microseconds.
fn bucket(us: u64) -> usize {
    if us < SUB as u64 {
        return us as usize;
    }
    let exp = (63 - us.leading_zeros()).min(MAX_EXP);
    if exp == MAX_EXP && us >= (1u64 << (MAX_EXP + 1)) {
        return BUCKETS - 1;
    }
    let sub = ((us >> (exp - SUB_BITS)) as usize) & (SUB - 1);
    SUB + (exp - SUB_BITS) as usize * SUB + sub
}

/// Lowest value (µs) of a bucket and its width.
fn bucket_range(i: usize) -> (u64, u64) {
    if i < SUB {
        return (i as u64, 1);
    }
    let exp = (i - SUB) / SUB + SUB_BITS as usize;
    let sub = ((i - SUB) % SUB) as u64;
    let width = 1u64 << (exp - SUB_BITS as usize);
    ((1u64 << exp) + sub * width, width)
}

/// A latency histogram that many threads record into at once.
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
    count: AtomicU64,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Record one duration.
    #[inline]
    pub fn record(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket(us)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        if us > self.max_us.load(Ordering::Relaxed) {
            self.max_us.fetch_max(us, Ordering::Relaxed);
        }
    }

    /// A copy of the counts (not atomic as a whole: a record racing with it may show in the
    /// count but not yet in its bucket; quantiles tolerate that).
    pub fn snapshot(&self) -> HistogramSnapshot {
        HistogramSnapshot {
            buckets: self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect(),
            count: self.count.load(Ordering::Relaxed),
            sum_us: self.sum_us.load(Ordering::Relaxed),
            max_us: self.max_us.load(Ordering::Relaxed),
        }
    }
}

/// Counts of a [`Histogram`] at one instant.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistogramSnapshot {
    buckets: Vec<u64>,
    pub count: u64,
    pub sum_us: u64,
    pub max_us: u64,
}

impl HistogramSnapshot {
    /// The value (µs) below which a share `q` (0..=1) of the recorded values fall; `None`
    /// when nothing was recorded.
    pub fn quantile_us(&self, q: f64) -> Option<f64> {
        let total: u64 = self.buckets.iter().sum();
        if total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let (lo, width) = bucket_range(i);
                // The middle of the bucket, never above the largest value seen.
                let mid = lo as f64 + (width as f64 - 1.0) / 2.0;
                return Some(if self.max_us > 0 { mid.min(self.max_us as f64) } else { mid });
            }
        }
        None
    }

    /// What was recorded after `earlier` (a snapshot of the same histogram).
    pub fn since(&self, earlier: &HistogramSnapshot) -> HistogramSnapshot {
        let buckets = if earlier.buckets.len() == self.buckets.len() {
            self.buckets.iter().zip(&earlier.buckets).map(|(a, b)| a.saturating_sub(*b)).collect()
        } else {
            self.buckets.clone()
        };
        HistogramSnapshot {
            buckets,
            count: self.count.saturating_sub(earlier.count),
            sum_us: self.sum_us.saturating_sub(earlier.sum_us),
            max_us: self.max_us,
        }
    }

    /// Count, mean and p50 / p95 / p99 / max in milliseconds.
    pub fn summary(&self) -> LatencySummary {
        let ms = |us: Option<f64>| us.map_or(0.0, |v| v / 1000.0);
        LatencySummary {
            count: self.count,
            sum_ms: self.sum_us as f64 / 1000.0,
            mean_ms: if self.count == 0 { 0.0 } else { self.sum_us as f64 / 1000.0 / self.count as f64 },
            p50_ms: ms(self.quantile_us(0.50)),
            p95_ms: ms(self.quantile_us(0.95)),
            p99_ms: ms(self.quantile_us(0.99)),
            max_ms: self.max_us as f64 / 1000.0,
        }
    }
}

/// Latency of one operation since the store was opened, in milliseconds (quantiles are
/// within ~3% of the true value; 0 when nothing was recorded).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    pub sum_ms: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_ordered() {
        let mut next = 0u64;
        for i in 0..BUCKETS - 1 {
            let (lo, width) = bucket_range(i);
            assert_eq!(lo, next, "bucket {i}");
            assert_eq!(bucket(lo), i);
            assert_eq!(bucket(lo + width - 1), i);
            next = lo + width;
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_are_close() {
        let h = Histogram::default();
        for ms in 1..=1000u64 {
            h.record(Duration::from_millis(ms));
        }
        let s = h.snapshot();
        for (q, want) in [(0.5, 500.0), (0.95, 950.0), (0.99, 990.0)] {
            let got = s.quantile_us(q).unwrap() / 1000.0;
            assert!((got - want).abs() / want < 0.035, "q{q}: {got} vs {want}");
        }
        assert_eq!(s.count, 1000);
        assert_eq!(s.summary().max_ms, 1000.0);
        let later = {
            h.record(Duration::from_secs(5));
            h.snapshot()
        };
        let delta = later.since(&s);
        assert_eq!(delta.count, 1);
        assert!((delta.quantile_us(0.5).unwrap() / 1e6 - 5.0).abs() < 0.2);
        assert_eq!(HistogramSnapshot::default().quantile_us(0.5), None);
    }
}
