//! Deterministic pseudo-text for the benchmarks (shared by `core` and `encryption`).

/// Deterministic pseudo-text: 8-15 words from a skewed 5,000-word vocabulary.
pub struct TextGen(pub u64);

impl TextGen {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn word(&mut self) -> String {
        // Squaring a uniform draw skews towards small ids: a few common words, a long tail.
        let u = (self.next() % 10_000) as f64 / 10_000.0;
        format!("w{}", (u * u * 5_000.0) as u64)
    }
    pub fn text(&mut self, min: u64, max: u64) -> String {
        let n = min + self.next() % (max - min + 1);
        (0..n).map(|_| self.word()).collect::<Vec<_>>().join(" ")
    }
}
