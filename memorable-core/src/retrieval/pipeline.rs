//! The recall pipeline, from request to ranked hits:
//!
//! 1. analyse the query ([`super::query`]): keyword terms, people, dates, first-person form;
//! 2. candidates: the user's nearest memories by cosine (HNSW, or exact over a small
//!    filtered set) for the query and its first-person form, and the best BM25 matches
//!    (`index::keyword`), a
//!    pool of `limit × candidate_multiplier` (at least [`MIN_POOL`]) from each, and the
//!    memories of the dates the query names (when that span holds no more than a pool);
//! 3. conversational context: each candidate's session neighbours (`context_turns` on each
//!    side, by `occurred_at` then id) join the set, so an answer given in the turn after a
//!    question-like turn is found;
//! 4. every memory of the set is scored exactly (cosine against its stored vector, BM25 from
//!    the keyword pool), the scores fused ([`super::fusion`]), and each memory's relevance
//!    raised by the weighted mean relevance of its neighbours;
//! 5. re-ranking signals ([`super::signals`]) are added with the request's weights, the
//!    best `limit` fetched, and their access counted.

use std::sync::{Arc, OnceLock};

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::fusion::{fuse, ranks, SourceScores};
use super::query::analyze;
use super::request::{Mood, Recall, RecallMode, Recalled, ScoreBreakdown};
use super::signals;
use super::window::TimeWindow;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::index::dot;
use crate::memory::{validate_text, validate_user, Memory, MemoryId};
use crate::store::{self, Filters, RankRow, UserKey};
use crate::time::to_ms;

/// Smallest candidate pool per source, whatever the limit: fusion and context need a few
/// dozen candidates to be meaningful.
pub const MIN_POOL: usize = 50;

pub(crate) fn recall(engine: &Engine, r: &Recall) -> Result<Vec<Recalled>> {
    let span = tracing::debug_span!(
        "recall",
        limit = r.limit,
        user = tracing::field::Empty,
        query = tracing::field::Empty
    );
    // Text and user ids reach the logs only when the application allows it.
    if engine.config.log_content {
        span.record("user", r.user.as_str());
        span.record("query", r.query.as_str());
    }
    let _span = span.entered();
    validate_user(&r.user)?;
    validate_text(&r.query, engine.config.max_text_chars)?;
    r.validate_options()?;
    let filters = r.filters(&engine.config.windows)?;
    let Some(user_key) = engine.store.read(|c| store::user_key(c, &r.user))? else {
        return Ok(Vec::new());
    };
    if filters.is_void() {
        return Ok(Vec::new());
    }
    // This thread's reads see only this user's rows (row-level security on PostgreSQL).
    let _scope = store::for_user(user_key);
    let w = &r.weights;
    let known = engine.recall_cache.speakers(&engine.store, user_key)?;
    let qa = analyze(&r.query, &known);
    let use_sem = r.mode != RecallMode::Keyword && w.semantic > 0.0;
    let use_kw = r.mode != RecallMode::Semantic && w.keyword > 0.0;

    // Query vectors: the query, and its first-person form when speaker-aware.
    let mut texts = vec![r.query.as_str()];
    if let (true, true, Some(fp)) = (use_sem, w.who > 0.0, qa.first_person.as_deref()) {
        texts.push(fp);
    }
    let qvecs = if use_sem { engine.embed(&texts)? } else { Vec::new() };

    // Candidates from each source.
    let pool = ((r.limit + r.offset) * engine.config.candidate_multiplier).max(MIN_POOL);
    let allowed = Allowed { engine, user_key, filters: &filters, ids: OnceLock::new() };
    let max_users = engine.config.max_loaded_indexes;
    let semantic = || semantic_candidates(engine, user_key, &r.user, &qvecs, &allowed, pool);
    // A user's first recall loads the HNSW index and builds the keyword index: do both
    // at once (at 100k memories, ~2 s and ~0.3 s). The index loads on this thread, so
    // its logs stay in the caller's span; only the build runs on a scoped thread.
    let semantic_hits = if use_kw && engine.keywords.needs_build(&engine.store, user_key) {
        std::thread::scope(|scope| {
            let build = scope.spawn(|| engine.keywords.refresh(&engine.store, user_key, max_users));
            let hits = semantic();
            build.join().map_err(|_| Error::Internal("the keyword index build panicked".into()))??;
            hits
        })?
    } else {
        semantic()?
    };
    let mut order: Vec<MemoryId> = Vec::new();
    let mut seen: HashSet<MemoryId> = HashSet::default();
    for (id, _) in semantic_hits.into_iter().flatten() {
        if seen.insert(id) {
            order.push(id);
        }
    }
    let mut bm25: HashMap<MemoryId, f32> = HashMap::default();
    if use_kw && !qa.keyword_terms.is_empty() {
        let allowed = allowed.get()?;
        let hits = engine.keywords.search(
            &engine.store,
            user_key,
            &qa.keyword_terms,
            |id| allowed.is_none_or(|a| a.contains(&id)),
            pool * 2,
            max_users,
        )?;
        for (id, s) in hits {
            bm25.insert(id, s);
            if seen.insert(id) {
                order.push(id);
            }
        }
    }
    if w.date > 0.0 {
        for id in date_candidates(engine, user_key, &qa.dates, &filters, pool)? {
            if seen.insert(id) {
                order.push(id);
            }
        }
    }
    if order.is_empty() {
        return Ok(Vec::new());
    }
    let mood = mood_for(engine, r);
    // A loaded index that holds the user's vectors sparsely scores the candidates
    // itself: their rows are read and cached without vectors (1.5 KB of a row's ~2).
    let scorer = if qvecs.is_empty() { None } else { engine.indexes.get(user_key).filter(|i| i.is_sparse()) };
    let with_vectors = !qvecs.is_empty() && scorer.is_none();
    let mut rows =
        engine.recall_cache.rank_rows(&engine.store, user_key, &order, engine.model_id(), with_vectors)?;
    order.retain(|id| rows.contains_key(id));

    // Session neighbours: join the set (when they pass the filters) and lend context.
    let turns = if w.context > 0.0 { w.context_turns } else { 0 };
    let windows = if turns > 0 {
        neighbours(engine, user_key, &allowed, turns, with_vectors, &mut order, &mut seen, &mut rows)?
    } else {
        HashMap::default()
    };

    // Exact source scores over the whole set.
    let semantic: Vec<Option<f32>> = match &scorer {
        Some(index) => index.dots(&qvecs, &order),
        None => order
            .iter()
            .map(|id| {
                let v = rows[id].vector.as_ref()?;
                qvecs.iter().map(|q| dot(q, v)).reduce(f32::max)
            })
            .collect(),
    };
    let keyword: Vec<Option<f32>> = order.iter().map(|id| bm25.get(id).copied()).collect();
    let own =
        fuse(&SourceScores { semantic: &semantic, keyword: &keyword }, r.fusion, w, engine.config.rrf_k);
    let sem_ranks = ranks(&semantic);
    let kw_ranks = ranks(&keyword);
    let pos: HashMap<MemoryId, usize> = order.iter().enumerate().map(|(i, id)| (*id, i)).collect();

    let anchor = to_ms(r.anchor());
    let mut hits: Vec<(MemoryId, ScoreBreakdown)> = Vec::with_capacity(order.len());
    // Accesses counted since the log was last written (see `store::access`).
    let pending = engine.store.access.pending();
    for (i, id) in order.iter().enumerate() {
        let row = &rows[id];
        let context = windows.get(id).map_or(0.0, |ns| {
            let (mut sum, mut norm) = (0.0, 0.0);
            for &(nid, dist) in ns {
                if let Some(&j) = pos.get(&nid) {
                    let g = 1.0 / dist as f32;
                    sum += g * own[j];
                    norm += g;
                }
            }
            // Neighbours lend relevance, they never take it away: a memory that
            // answers on its own (a passing mention in a talk about something else)
            // keeps its own score among irrelevant neighbours.
            if norm > 0.0 {
                w.context * (sum / norm).max(0.0)
            } else {
                0.0
            }
        });
        let b = ScoreBreakdown {
            semantic: semantic[i],
            semantic_rank: sem_ranks[i],
            keyword: keyword[i],
            keyword_rank: kw_ranks[i],
            fused: own[i],
            context,
            recency: w.recency * signals::recency(row.occurred_at, anchor, w.recency_half_life_hours),
            importance: w.importance * row.memory.importance,
            arousal: w.arousal * signals::arousal(row.arousal),
            access: w.access * signals::access(row.access_count + pending.get(id).map_or(0, |p| p.0)),
            mood: mood
                .as_ref()
                .map_or(0.0, |m| w.mood * signals::mood_congruence(m, row.memory.emotion.as_ref())),
            who: w.who * signals::who(&qa, row),
            date: w.date * signals::date(&qa, row),
        };
        hits.push((*id, b));
    }
    drop(pending);
    hits.sort_by(|a, b| b.1.total().total_cmp(&a.1.total()).then(a.0.cmp(&b.0)));
    hits.drain(..r.offset.min(hits.len()));
    hits.truncate(r.limit);

    if r.track_access && !hits.is_empty() {
        let ids: Vec<MemoryId> = hits.iter().map(|(id, _)| *id).collect();
        engine.store.record_access(&ids, crate::time::now_ms())?;
    }
    Ok(hits
        .into_iter()
        .map(|(id, breakdown)| Recalled {
            memory: rows[&id].memory.clone(),
            score: breakdown.total(),
            breakdown,
        })
        .collect())
}

/// Add the session neighbours of every candidate in `order` (those passing `filters`,
/// their rows read with vectors when `with_vectors`) and return, for each memory of the
/// set, its neighbours with their distance in turns.
/// (`order`, `seen` and `rows` are the candidate set being built by `recall`.)
#[allow(clippy::too_many_arguments)] // (the candidate set's parts, borrowed apart)
fn neighbours(
    engine: &Engine,
    user_key: UserKey,
    allowed: &Allowed<'_>,
    turns: usize,
    with_vectors: bool,
    order: &mut Vec<MemoryId>,
    seen: &mut HashSet<MemoryId>,
    rows: &mut HashMap<MemoryId, Arc<RankRow>>,
) -> Result<HashMap<MemoryId, Vec<(MemoryId, usize)>>> {
    let mut sessions: Vec<String> = Vec::new();
    for id in order.iter() {
        if let Some(s) = &rows[id].memory.session {
            if !sessions.contains(s) {
                sessions.push(s.clone());
            }
        }
    }
    let timelines = engine.recall_cache.timelines(&engine.store, user_key, &sessions)?;
    let mut added: Vec<MemoryId> = Vec::new();
    let mut windows: HashMap<MemoryId, Vec<(MemoryId, usize)>> = HashMap::default();
    let members: HashSet<MemoryId> = order.iter().copied().collect();
    for tl in &timelines {
        for (p, id) in tl.iter().enumerate() {
            if !members.contains(id) {
                continue;
            }
            let lo = p.saturating_sub(turns);
            let hi = (p + turns).min(tl.len() - 1);
            for (q, &nid) in tl.iter().enumerate().take(hi + 1).skip(lo) {
                if q != p && seen.insert(nid) {
                    added.push(nid);
                }
            }
        }
    }
    if !added.is_empty() {
        let allowed = allowed.get()?;
        added.retain(|id| allowed.is_none_or(|a| a.contains(id)));
        rows.extend(engine.recall_cache.rank_rows(
            &engine.store,
            user_key,
            &added,
            engine.model_id(),
            with_vectors,
        )?);
        added.retain(|id| rows.contains_key(id));
        order.extend(&added);
    }
    let in_set: HashSet<MemoryId> = order.iter().copied().collect();
    for tl in &timelines {
        for (p, id) in tl.iter().enumerate() {
            if !in_set.contains(id) {
                continue;
            }
            let lo = p.saturating_sub(turns);
            let hi = (p + turns).min(tl.len() - 1);
            let ns: Vec<(MemoryId, usize)> =
                (lo..=hi).filter(|&q| q != p).map(|q| (tl[q], p.abs_diff(q))).collect();
            windows.insert(*id, ns);
        }
    }
    Ok(windows)
}

/// Memories that occurred on the dates the query names (within the request's filters).
/// A question about a date often shares no word and little meaning with the turn that
/// answers it ("What did Nate do for Joanna on 25 May, 2022?" — "I got this new pup for
/// you!"), so neither source would propose it. A span holding more than `pool` memories
/// (a year in a busy store) is not selective and proposes none.
fn date_candidates(
    engine: &Engine,
    user_key: UserKey,
    dates: &[(i64, i64)],
    filters: &Filters,
    pool: usize,
) -> Result<Vec<MemoryId>> {
    let mut out = Vec::new();
    for &(start, end) in dates {
        let mut f = filters.clone();
        f.since = Some(f.since.map_or(start, |s| s.max(start)));
        f.until = Some(f.until.map_or(end, |u| u.min(end)));
        if f.is_void() {
            continue;
        }
        let ids = engine.store.read(|c| store::filtered_memory_ids(c, user_key, &f, Some(pool + 1)))?;
        if ids.len() <= pool {
            out.extend(ids);
        }
    }
    Ok(out)
}

/// The mood to rank by: the request's, else (when asked) the user's current state.
fn mood_for(engine: &Engine, r: &Recall) -> Option<Mood> {
    if let Some(m) = r.mood.as_ref().filter(|m| !m.is_empty()) {
        return Some(m.clone());
    }
    if r.current_mood {
        return current_mood(engine, &r.user);
    }
    None
}

/// The user's current emotional state as a mood.
///
/// Hook for the emotion layer: it returns the fused state of the user's active session
/// once that layer keeps one; until then there is no current state.
pub(crate) fn current_mood(_engine: &Engine, _user: &str) -> Option<Mood> {
    None
}

/// A user's memories in a window before now, newest first (all when `window` is None).
pub(crate) fn recent(
    engine: &Engine,
    user: &str,
    window: Option<TimeWindow>,
    limit: usize,
) -> Result<Vec<Memory>> {
    let mut r = Recall::new(user, "").limit(limit);
    r.window = window;
    recent_matching(engine, &r)
}

/// A user's memories after the request's filters (window included), newest first.
pub(crate) fn recent_matching(engine: &Engine, r: &Recall) -> Result<Vec<Memory>> {
    validate_user(&r.user)?;
    r.validate_options()?;
    let filters = r.filters(&engine.config.windows)?;
    let Some(user_key) = engine.store.read(|c| store::user_key(c, &r.user))? else {
        return Ok(Vec::new());
    };
    if filters.is_void() {
        return Ok(Vec::new());
    }
    let _scope = store::for_user(user_key);
    engine.store.read(|c| store::list_memories(c, user_key, &filters, r.limit, r.offset))
}

/// For each query vector, the nearest memories by cosine: exact over a small filtered
/// set, else from the index.
fn semantic_candidates(
    engine: &Engine,
    user_key: UserKey,
    user: &str,
    queries: &[Vec<f32>],
    allowed: &Allowed<'_>,
    pool: usize,
) -> Result<Vec<Vec<(MemoryId, f32)>>> {
    let filters = allowed.filters;
    let ef = engine.config.hnsw.ef_search;
    let exact_max = engine.config.exact_search_threshold;
    if queries.is_empty() {
        return Ok(Vec::new());
    }
    if filters.is_empty() {
        return Ok(engine.index(user_key, user)?.search(queries, pool, ef, None, exact_max));
    }
    // With pgvector, the database scans the filtered set exactly, whatever its size.
    if engine.store.searches_vectors_in_db() {
        return engine
            .store
            .read(|c| queries.iter().map(|q| store::nearest_in_db(c, user_key, filters, q, pool)).collect());
    }
    let exact = engine.store.read(|c| store::filtered_vectors(c, user_key, filters, exact_max))?;
    if let Some(rows) = exact {
        return Ok(queries
            .iter()
            .map(|q| {
                let mut scored: Vec<(MemoryId, f32)> = rows
                    .iter()
                    .filter(|(_, _, v)| v.len() == q.len())
                    .map(|(_, mid, v)| (*mid, dot(q, v)))
                    .collect();
                scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                scored.truncate(pool);
                scored
            })
            .collect());
    }
    let allowed = allowed.get()?;
    Ok(engine.index(user_key, user)?.search(queries, pool, ef.max(pool * 2), allowed, exact_max))
}

/// The ids of a user's memories that pass a request's filters: read at most once per recall,
/// and only when a step needs them (never for a request without filters).
struct Allowed<'a> {
    engine: &'a Engine,
    user_key: UserKey,
    filters: &'a Filters,
    ids: OnceLock<Option<HashSet<MemoryId>>>,
}

impl Allowed<'_> {
    /// `None` when the request has no filters (every memory passes).
    fn get(&self) -> Result<Option<&HashSet<MemoryId>>> {
        if let Some(ids) = self.ids.get() {
            return Ok(ids.as_ref());
        }
        let ids = if self.filters.is_empty() {
            None
        } else {
            let read = self
                .engine
                .store
                .read(|c| store::filtered_memory_ids(c, self.user_key, self.filters, None))?;
            Some(read.into_iter().collect())
        };
        Ok(self.ids.get_or_init(|| ids).as_ref())
    }
}
