//! Recall: what a query asks for ([`Recall`]), what it returns ([`Recalled`] with a
//! [`ScoreBreakdown`]), and how semantic and keyword candidates are fused.
//!
//! Candidates come from the user's HNSW index (cosine) and from FTS5 BM25, a pool of
//! `limit × candidate_multiplier` from each; they are fused by reciprocal rank
//! (`Σ 1 / (k + rank)`, k = 60 by default), so neither score scale dominates.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::memory::{Memory, MemoryId};
use crate::store::to_ms;

/// Largest `limit` a recall accepts.
pub const MAX_LIMIT: usize = 1_000;

/// Which candidate sources a recall uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecallMode {
    /// Semantic (HNSW) and keyword (BM25) candidates, fused (the default).
    #[default]
    Hybrid,
    /// Semantic candidates only, ranked by cosine similarity.
    Semantic,
    /// Keyword candidates only, ranked by BM25.
    Keyword,
}

/// A recall request: built with [`Recall::new`] and chained filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Recall {
    pub user: String,
    pub query: String,
    /// Number of results (1..=1000, default 10).
    pub limit: usize,
    /// Only memories of this session.
    pub session: Option<String>,
    /// Only memories with this speaker.
    pub speaker: Option<String>,
    /// Only memories carrying every one of these tags.
    pub tags: Vec<String>,
    /// Only memories of one of these kinds.
    pub kinds: Vec<String>,
    /// Only memories that occurred at or after this instant (inclusive).
    #[serde(with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    /// Only memories that occurred before this instant (exclusive).
    #[serde(with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
    /// Candidate sources (default hybrid).
    pub mode: RecallMode,
}

impl Default for Recall {
    fn default() -> Self {
        Recall {
            user: String::new(),
            query: String::new(),
            limit: 10,
            session: None,
            speaker: None,
            tags: Vec::new(),
            kinds: Vec::new(),
            since: None,
            until: None,
            mode: RecallMode::Hybrid,
        }
    }
}

impl Recall {
    pub fn new(user: impl Into<String>, query: impl Into<String>) -> Self {
        Recall { user: user.into(), query: query.into(), ..Default::default() }
    }
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
    pub fn session(mut self, session: impl Into<String>) -> Self {
        self.session = Some(session.into());
        self
    }
    pub fn speaker(mut self, speaker: impl Into<String>) -> Self {
        self.speaker = Some(speaker.into());
        self
    }
    pub fn tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }
    pub fn kinds<I, S>(mut self, kinds: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.kinds = kinds.into_iter().map(Into::into).collect();
        self
    }
    /// Half-open time range `[since, until)` on `occurred_at`.
    pub fn between(mut self, since: OffsetDateTime, until: OffsetDateTime) -> Self {
        self.since = Some(since);
        self.until = Some(until);
        self
    }
    pub fn since(mut self, since: OffsetDateTime) -> Self {
        self.since = Some(since);
        self
    }
    pub fn until(mut self, until: OffsetDateTime) -> Self {
        self.until = Some(until);
        self
    }
    pub fn mode(mut self, mode: RecallMode) -> Self {
        self.mode = mode;
        self
    }

    pub(crate) fn filters(&self) -> Filters {
        Filters {
            session: self.session.clone(),
            speaker: self.speaker.clone(),
            tags: self.tags.clone(),
            kinds: self.kinds.clone(),
            since: self.since.map(to_ms),
            until: self.until.map(to_ms),
        }
    }
}

/// Filters of a recall in store terms (times in unix milliseconds).
#[derive(Debug, Clone, Default)]
pub(crate) struct Filters {
    pub session: Option<String>,
    pub speaker: Option<String>,
    pub tags: Vec<String>,
    pub kinds: Vec<String>,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.session.is_none()
            && self.speaker.is_none()
            && self.tags.is_empty()
            && self.kinds.is_empty()
            && self.since.is_none()
            && self.until.is_none()
    }
}

/// How a hit's score came about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ScoreBreakdown {
    /// Cosine similarity to the query, when the memory was a semantic candidate.
    pub semantic: Option<f32>,
    /// 1-based rank among semantic candidates.
    pub semantic_rank: Option<u32>,
    /// BM25 score (higher is better), when the memory matched the query's keywords.
    pub keyword: Option<f32>,
    /// 1-based rank among keyword candidates.
    pub keyword_rank: Option<u32>,
    /// Reciprocal-rank fusion of the two ranks (the final score).
    pub fused: f32,
}

/// One recall hit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recalled {
    pub memory: Memory,
    pub score: f32,
    pub breakdown: ScoreBreakdown,
}

/// A candidate list from one source: (memory id, source score), best first.
pub(crate) type Ranked = Vec<(MemoryId, f32)>;

/// Reciprocal-rank fusion of semantic and keyword candidates; best first, ties by id.
pub(crate) fn fuse_rrf(semantic: &Ranked, keyword: &Ranked, k: f32) -> Vec<(MemoryId, ScoreBreakdown)> {
    let mut by_id: HashMap<MemoryId, ScoreBreakdown> = HashMap::new();
    for (rank, &(id, score)) in semantic.iter().enumerate() {
        let b = by_id.entry(id).or_default();
        b.semantic = Some(score);
        b.semantic_rank = Some(rank as u32 + 1);
        b.fused += 1.0 / (k + rank as f32 + 1.0);
    }
    for (rank, &(id, score)) in keyword.iter().enumerate() {
        let b = by_id.entry(id).or_default();
        b.keyword = Some(score);
        b.keyword_rank = Some(rank as u32 + 1);
        b.fused += 1.0 / (k + rank as f32 + 1.0);
    }
    let mut fused: Vec<_> = by_id.into_iter().collect();
    fused.sort_by(|a, b| b.1.fused.total_cmp(&a.1.fused).then(a.0.cmp(&b.0)));
    fused
}

/// An FTS5 query matching any of the text's content words (stopwords dropped unless nothing
/// else is left): each word quoted, so FTS syntax in user text is inert, and OR-ed.
/// `None` when the text has no words.
pub(crate) fn fts_query(text: &str) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    let terms: Vec<String> = crate::text::content_words(text)
        .into_iter()
        .filter(|w| seen.insert(w.clone()))
        .map(|w| format!("\"{w}\""))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_prefers_agreement_and_records_ranks() {
        let sem = vec![(1, 0.9), (2, 0.8), (3, 0.1)];
        let kw = vec![(2, 5.0), (4, 3.0)];
        let fused = fuse_rrf(&sem, &kw, 60.0);
        assert_eq!(fused[0].0, 2);
        let b = &fused[0].1;
        assert_eq!((b.semantic_rank, b.keyword_rank), (Some(2), Some(1)));
        assert_eq!(fused.len(), 4);
    }

    #[test]
    fn fts_query_quotes_words() {
        assert_eq!(fts_query("Biscuit's AND \"NEAR\" near").unwrap(), "\"biscuit\" OR \"near\"");
        assert!(fts_query("?!").is_none());
    }
}
