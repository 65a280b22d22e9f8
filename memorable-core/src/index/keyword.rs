//! Keyword search: BM25 over each user's memories, held in memory.
//!
//! The store keeps its FTS5 table (SQL tools and `verify` use it), but recall ranks keywords
//! here, for two reasons. Speed: FTS5's `bm25()` scores every row that matches any query
//! term before it can sort, a quarter of a conversation-sized recall and about half of one
//! at 100k memories; here a query walks only its terms' postings. Isolation: FTS5's
//! statistics (row count, average length, how many rows hold a term) are those of the whole
//! table, so one user's memories moved another user's scores; here every user has their own.
//!
//! - **Terms**: the text split where FTS5's `unicode61` tokenizer splits (runs of letters and
//!   digits), lowercased, diacritics removed ("café" → "cafe"), then stemmed with the
//!   Snowball English stemmer ("running" → "run"). Query terms go through the same function.
//! - **Score**: FTS5's BM25 (k1 = 1.2, b = 0.75; a term in more than half of the memories
//!   gets the smallest positive IDF, 1e-6, as in FTS5), summed over the distinct query terms.
//! - **Freshness**: [`KeywordCache`] stamps each user's index with the store's generations:
//!   memories added since are read by id (ids only grow) and appended; an update or forget
//!   ([`Store::texts_generation`]) rebuilds the index on the next recall.

use std::sync::{Arc, OnceLock};

use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashMap as HashMap;
use unicode_normalization::{char::is_combining_mark, UnicodeNormalization};

use crate::error::Result;
use crate::memory::MemoryId;
use crate::store::{self, Store, UserKey};

/// BM25 term-frequency saturation (FTS5's value).
const K1: f32 = 1.2;
/// BM25 length normalization (FTS5's value).
const B: f32 = 0.75;
/// IDF of a term in half of the memories or more (FTS5's floor).
const MIN_IDF: f32 = 1e-6;

fn stemmer() -> &'static Stemmer {
    static STEMMER: OnceLock<Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| Stemmer::create(Algorithm::English))
}

/// The index term of one lowercased word: diacritics removed, stemmed.
fn term_of(word: &str) -> String {
    if word.is_ascii() {
        return stemmer().stem(word).into_owned();
    }
    let folded: String = word.nfd().filter(|c| !is_combining_mark(*c)).collect();
    stemmer().stem(&folded).into_owned()
}

/// BM25 postings of one user's memories.
#[derive(Default)]
pub(crate) struct KeywordIndex {
    ids: Vec<MemoryId>,
    /// Terms in each memory, aligned with `ids`.
    lens: Vec<u32>,
    total_len: u64,
    /// Term → its id, an index into `postings`.
    vocab: HashMap<Box<str>, u32>,
    /// Lowercased word → the id of its term, so each distinct word is stemmed once.
    words: HashMap<Box<str>, u32>,
    /// Per term: (document index, occurrences), in document order.
    postings: Vec<Vec<(u32, u32)>>,
    /// The largest id indexed (0: none).
    max_id: MemoryId,
}

impl KeywordIndex {
    fn term_id(&mut self, word: &str) -> u32 {
        if let Some(&t) = self.words.get(word) {
            return t;
        }
        let term = term_of(word);
        let next = self.postings.len() as u32;
        let t = *self.vocab.entry(term.into_boxed_str()).or_insert(next);
        if t == next {
            self.postings.push(Vec::new());
        }
        self.words.insert(word.into(), t);
        t
    }

    /// Index one memory (ids must arrive in increasing order).
    pub fn add(&mut self, id: MemoryId, text: &str) {
        let doc = self.ids.len() as u32;
        let mut counts: Vec<(u32, u32)> = Vec::new();
        let mut len = 0u32;
        // The words of `text::words`, without an allocation per word: most are already
        // lowercase ASCII and are looked up as they are.
        let mut lower = String::new();
        for raw in crate::text::raw_words(text) {
            let word = if !raw.is_ascii() {
                lower = raw.to_lowercase();
                lower.as_str()
            } else if raw.bytes().any(|b| b.is_ascii_uppercase()) {
                lower.clear();
                lower.push_str(raw);
                lower.make_ascii_lowercase();
                lower.as_str()
            } else {
                raw
            };
            let t = self.term_id(word);
            len += 1;
            match counts.iter_mut().find(|(ct, _)| *ct == t) {
                Some(c) => c.1 += 1,
                None => counts.push((t, 1)),
            }
        }
        for (t, tf) in counts {
            self.postings[t as usize].push((doc, tf));
        }
        self.ids.push(id);
        self.lens.push(len);
        self.total_len += u64::from(len);
        self.max_id = self.max_id.max(id);
    }

    /// The best `limit` memories by BM25 for the query words `words` (lowercased; stemmed
    /// here), among those `eligible` accepts: (id, score), best first, ties by id.
    pub fn search(
        &self,
        words: &[String],
        eligible: impl Fn(MemoryId) -> bool,
        limit: usize,
    ) -> Vec<(MemoryId, f32)> {
        let n = self.ids.len();
        if n == 0 || limit == 0 {
            return Vec::new();
        }
        let mut query: Vec<u32> =
            words.iter().filter_map(|w| self.vocab.get(term_of(w).as_str()).copied()).collect();
        query.sort_unstable();
        query.dedup();
        let avgdl = self.total_len as f32 / n as f32;
        let mut hits: Vec<(MemoryId, f32)> = crate::scratch::with_scores(n, |scores| {
            let mut touched: Vec<u32> = Vec::new();
            for t in query {
                let postings = &self.postings[t as usize];
                let df = postings.len() as f32;
                let idf = (((n as f32 - df + 0.5) / (df + 0.5)).ln()).max(MIN_IDF);
                for &(doc, tf) in postings {
                    let s = &mut scores[doc as usize];
                    if *s == 0.0 {
                        touched.push(doc);
                    }
                    let tf = tf as f32;
                    let norm = K1 * (1.0 - B + B * self.lens[doc as usize] as f32 / avgdl.max(1e-6));
                    *s += idf * tf * (K1 + 1.0) / (tf + norm);
                }
            }
            touched
                .into_iter()
                .map(|d| (self.ids[d as usize], scores[d as usize]))
                .filter(|(id, _)| eligible(*id))
                .collect()
        });
        let better = |a: &(MemoryId, f32), b: &(MemoryId, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if hits.len() > limit {
            hits.select_nth_unstable_by(limit - 1, better);
            hits.truncate(limit);
        }
        hits.sort_unstable_by(better);
        hits
    }
}

/// A user's keyword index with the store generations it reflects.
#[derive(Default)]
struct Stamped {
    /// [`Store::generation`] when last brought up to date (None: never built).
    generation: Option<u64>,
    /// [`Store::texts_generation`] of the build.
    texts_generation: u64,
    index: KeywordIndex,
}

/// A cached user's index, shared by concurrent recalls of that user.
type Entry = Arc<RwLock<Stamped>>;

/// Keyword indexes of the users recalled most recently.
#[derive(Default)]
pub(crate) struct KeywordCache {
    /// Each user's entry with the clock tick of its last use.
    users: Mutex<HashMap<UserKey, (u64, Entry)>>,
    clock: std::sync::atomic::AtomicU64,
}

impl KeywordCache {
    /// BM25 search of `user_key`'s memories (see [`KeywordIndex::search`]), on an index
    /// brought up to date with `store` first. At most `max_users` indexes stay cached.
    pub fn search(
        &self,
        store: &Store,
        user_key: UserKey,
        words: &[String],
        eligible: impl Fn(MemoryId) -> bool,
        limit: usize,
        max_users: usize,
    ) -> Result<Vec<(MemoryId, f32)>> {
        let entry = self.entry(user_key, max_users);
        let current = current(&entry, store, user_key)?;
        Ok(current.index.search(words, eligible, limit))
    }

    /// True when a search of `user_key` would build the index from all of the user's
    /// memories (none cached, or memories changed since), not just catch up with new ones.
    pub fn needs_build(&self, store: &Store, user_key: UserKey) -> bool {
        let entry = self.users.lock().get(&user_key).map(|(_, e)| e.clone());
        entry.is_none_or(|e| {
            let s = e.read();
            s.generation.is_none() || s.texts_generation != store.texts_generation()
        })
    }

    /// Bring `user_key`'s index up to date now (e.g. while the HNSW index loads), so the
    /// search that follows finds it current.
    pub fn refresh(&self, store: &Store, user_key: UserKey, max_users: usize) -> Result<()> {
        current(&self.entry(user_key, max_users), store, user_key).map(drop)
    }

    /// The user's cache entry (made if missing), marked as used now.
    fn entry(&self, user_key: UserKey, max_users: usize) -> Entry {
        let tick = self.clock.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut users = self.users.lock();
        let entry = users.entry(user_key).or_default();
        entry.0 = tick;
        let entry = entry.1.clone();
        if users.len() > max_users.max(1) {
            // Drop the least recently used (a scan: the map holds a few dozen users).
            if let Some(oldest) = users.iter().min_by_key(|(_, (t, _))| *t).map(|(k, _)| *k) {
                users.remove(&oldest);
            }
        }
        entry
    }
}

/// `entry` read-locked and up to date with `store` (brought up to date first when stale).
fn current<'a>(entry: &'a Entry, store: &Store, user_key: UserKey) -> Result<RwLockReadGuard<'a, Stamped>> {
    let read = entry.read();
    if read.generation == Some(store.generation()) {
        return Ok(read);
    }
    drop(read);
    let mut write = entry.write();
    // Another recall may have refreshed it between the two locks.
    if write.generation != Some(store.generation()) {
        refresh(&mut write, store, user_key)?;
    }
    Ok(RwLockWriteGuard::downgrade(write))
}

/// Bring `s` up to date: rebuild after a change to existing memories, else append the
/// memories added since.
fn refresh(s: &mut Stamped, store: &Store, user_key: UserKey) -> Result<()> {
    // Read the counters before the rows: a write committing meanwhile leaves the stamps
    // older than what was read, so the next search looks again (and finds nothing twice,
    // since it reads only ids above the largest indexed).
    let generation = store.generation();
    let texts_generation = store.texts_generation();
    if s.generation.is_none() || s.texts_generation != texts_generation {
        s.index = KeywordIndex::default();
    }
    let mut rows = store.read(|c| store::memory_texts(c, user_key, s.index.max_id))?;
    rows.sort_unstable_by_key(|(id, _)| *id);
    for (id, text) in &rows {
        s.index.add(*id, text);
    }
    s.generation = Some(generation);
    s.texts_generation = texts_generation;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(texts: &[&str]) -> KeywordIndex {
        let mut k = KeywordIndex::default();
        for (i, t) in texts.iter().enumerate() {
            k.add(i as MemoryId + 1, t);
        }
        k
    }

    fn words(q: &str) -> Vec<String> {
        crate::text::words(q).collect()
    }

    #[test]
    fn terms_fold_case_diacritics_and_endings() {
        let terms: Vec<String> = words("Running to the Café, she runs!").iter().map(|w| term_of(w)).collect();
        assert_eq!(terms, ["run", "to", "the", "cafe", "she", "run"]);
        // Indexing takes the same path for mixed case and non-ASCII words.
        let k = index(&["Zoë RUNS to the CAFÉ", "nothing here"]);
        let hits = k.search(&words("zoe running café"), |_| true, 10);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, 1);
    }

    #[test]
    fn bm25_prefers_rare_terms_short_texts_and_more_matches() {
        let k = index(&[
            "the dog went to the park",
            "a dog and a cat",
            "the cat sat on the mat with the other cat and the dog",
            "nothing to see here",
            "dogs everywhere",
        ]);
        // "cat" is rarer than "dog": the cat-and-dog memory ranks first; the shorter of two
        // memories with one "dog" ranks above the longer; the memory without either is absent.
        let hits = k.search(&words("cat dog"), |_| true, 10);
        let ids: Vec<MemoryId> = hits.iter().map(|h| h.0).collect();
        assert_eq!(ids[..2], [2, 3], "{hits:?}");
        assert!(!ids.contains(&4));
        assert!(ids.contains(&5), "stemming matches dogs: {hits:?}");
        assert!(hits.windows(2).all(|w| w[0].1 >= w[1].1));
        // The filter and the limit apply.
        let hits = k.search(&words("dog"), |id| id != 2, 2);
        assert_eq!(hits.len(), 2);
        assert!(hits.iter().all(|h| h.0 != 2));
        assert!(k.search(&words("zebra"), |_| true, 10).is_empty());
    }

    #[test]
    fn matches_fts5_bm25() {
        // FTS5's bm25() of the same texts and query, as SQLite computes it (negated).
        let texts = [
            "alpha beta",
            "alpha alpha gamma delta",
            "beta epsilon",
            "epsilon zeta",
            "eta theta iota",
            "kappa",
        ];
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE f USING fts5(t, tokenize = 'porter unicode61 remove_diacritics 2');",
        )
        .unwrap();
        for (i, t) in texts.iter().enumerate() {
            conn.execute("INSERT INTO f(rowid, t) VALUES (?1, ?2)", rusqlite::params![i as i64 + 1, t])
                .unwrap();
        }
        let mut stmt = conn.prepare("SELECT rowid, -bm25(f) FROM f WHERE f MATCH 'alpha OR gamma'").unwrap();
        let fts: HashMap<i64, f64> =
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(|r| r.unwrap()).collect();
        let ours = index(&texts).search(&words("alpha gamma"), |_| true, 10);
        assert_eq!(ours.len(), fts.len());
        for (id, s) in ours {
            let want = fts[&(id as i64)] as f32;
            assert!((s - want).abs() < 1e-4 * want.abs().max(1.0), "memory {id}: {s} vs FTS5 {want}");
        }
    }
}
