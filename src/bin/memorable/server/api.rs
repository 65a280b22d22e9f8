//! The request and answer shapes of `/v1` (the OpenAPI document is generated from them).
//! Requests refuse unknown fields; each maps one-to-one onto a core type.

use memorable::{MemoryUpdate, NewMemory, RankWeights, Recall, RecallMode, UserMemories};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

/// `POST /v1/memories` (and each item of `POST /v1/memories:batch`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RememberRequest {
    /// The user (default: the key's only user).
    pub user: Option<String>,
    pub text: String,
    pub speaker: Option<String>,
    /// A session (conversation) id; the session's emotional state is attached.
    pub session: Option<String>,
    /// When it happened (RFC 3339; default now).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub occurred_at: Option<OffsetDateTime>,
    pub place: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub topics: Vec<String>,
    /// A JSON object.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// In [0, 1].
    pub importance: Option<f32>,
    pub kind: Option<String>,
    /// Ids of the same user's memories this one is derived from (a summary's turns).
    #[serde(default)]
    pub derived_from: Vec<u64>,
    /// The caller's key for this write (1-200 characters), unique per user: a retried
    /// request with the same key answers the first one's id and stores nothing.
    pub client_key: Option<String>,
}

impl RememberRequest {
    pub(crate) fn into_new(self, user: String) -> NewMemory {
        let r = self;
        let mut m = NewMemory::new(user, r.text);
        m.speaker = r.speaker;
        m.session = r.session;
        m.occurred_at = r.occurred_at;
        m.place = r.place;
        m.tags = r.tags;
        m.topics = r.topics;
        m.metadata = r.metadata;
        m.importance = r.importance;
        m.kind = r.kind;
        m.derived_from = r.derived_from;
        m.client_key = r.client_key;
        m
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RememberBatchRequest {
    pub items: Vec<RememberRequest>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct IdAnswer {
    pub id: u64,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct IdsAnswer {
    pub ids: Vec<u64>,
}

/// `POST /v1/recall`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecallRequest {
    /// The user (default: the key's only user).
    pub user: Option<String>,
    pub query: String,
    /// 1..=1000 (default 10).
    pub limit: Option<usize>,
    pub session: Option<String>,
    pub speaker: Option<String>,
    /// Only memories carrying every one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Only memories at or after this instant (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub since: Option<OffsetDateTime>,
    /// Only memories before this instant (RFC 3339).
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<OffsetDateTime>,
    /// `hybrid` (default), `semantic` or `keyword`.
    #[schema(value_type = Option<String>)]
    pub mode: Option<RecallMode>,
    /// Ranking weights (default: the server's `[recall.weights]`, else the core's).
    #[schema(value_type = Option<Object>)]
    pub weights: Option<RankWeights>,
}

impl RecallRequest {
    pub(crate) fn into_recall(self, user: &str, default_weights: Option<&RankWeights>) -> Recall {
        let mut r = Recall::new(user, &self.query).tags(self.tags).kinds(self.kinds);
        if let Some(limit) = self.limit {
            r = r.limit(limit);
        }
        r.session = self.session;
        r.speaker = self.speaker;
        r.since = self.since;
        r.until = self.until;
        if let Some(mode) = self.mode {
            r.mode = mode;
        }
        if let Some(w) = self.weights.or_else(|| default_weights.cloned()) {
            r.weights = w;
        }
        r
    }
}

/// A memory with its score: the shape of `memorable recall --json`.
#[derive(Serialize, ToSchema)]
pub(crate) struct HitsAnswer {
    /// Each hit: the memory's fields (id, user, text, kind, speaker, session, occurred_at,
    /// tags, metadata, emotion, ...) plus `score` and `breakdown`.
    #[schema(value_type = Vec<Object>)]
    pub hits: Vec<Value>,
}

/// `PATCH /v1/memories/{id}`: the fields to change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PatchRequest {
    pub text: Option<String>,
    pub kind: Option<String>,
    pub speaker: Option<String>,
    pub topics: Option<Vec<String>>,
    pub place: Option<String>,
    pub tags: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    pub importance: Option<f32>,
}

impl From<PatchRequest> for MemoryUpdate {
    fn from(p: PatchRequest) -> MemoryUpdate {
        MemoryUpdate {
            text: p.text,
            kind: p.kind,
            speaker: p.speaker,
            topics: p.topics,
            place: p.place,
            tags: p.tags,
            metadata: p.metadata,
            importance: p.importance,
        }
    }
}

/// The user a call acts for (default: the key's only user; a key of several users must
/// name one).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct UserQuery {
    pub user: Option<String>,
}

/// `GET /v1/users/{user}/recent`: a page of the user's memories, newest first, filtered.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct RecentQuery {
    /// At most this many (1..=1000, default 10).
    pub limit: Option<usize>,
    /// Skip this many first (paging; default 0).
    pub offset: Option<usize>,
    /// Accepted for clients that always send it; must be the path's user.
    pub user: Option<String>,
    pub session: Option<String>,
    pub speaker: Option<String>,
    /// Comma-separated: only memories carrying every one of these tags.
    pub tags: Option<String>,
    /// Comma-separated: only memories of one of these kinds.
    pub kinds: Option<String>,
    /// RFC 3339: only memories at or after it.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub since: Option<OffsetDateTime>,
    /// RFC 3339: only memories before it.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub until: Option<OffsetDateTime>,
}

/// The non-empty items of a comma-separated list.
pub(crate) fn comma_list(s: Option<&str>) -> Vec<String> {
    s.map(|s| s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

impl RecentQuery {
    pub(crate) fn into_recall(self, user: &str) -> Recall {
        let mut r = Recall::new(user, "")
            .tags(comma_list(self.tags.as_deref()))
            .kinds(comma_list(self.kinds.as_deref()));
        if let Some(limit) = self.limit {
            r = r.limit(limit);
        }
        r.offset = self.offset.unwrap_or(0);
        r.session = self.session;
        r.speaker = self.speaker;
        r.since = self.since;
        r.until = self.until;
        r
    }
}

/// `GET /v1/users/{user}/frame`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct FrameQuery {
    /// `short`, `medium`, `long` or a number of seconds (default: every memory).
    pub window: Option<String>,
}

/// `GET /v1/contexts/{context}/timeline.svg`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct TimelineQuery {
    /// Default: the key's only user.
    pub user: Option<String>,
    /// RFC 3339.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub since: Option<OffsetDateTime>,
    /// RFC 3339.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub until: Option<OffsetDateTime>,
    /// The N expressions with the highest peak (1..=12, default 5).
    pub top: Option<usize>,
    /// Comma-separated expressions to draw instead of the top ones.
    pub expressions: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// `light` (default) or `dark`.
    pub theme: Option<String>,
}

/// `{"users": [{"user", "memories"}]}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct UsersAnswer {
    #[schema(value_type = Vec<Object>)]
    pub users: Vec<UserMemories>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryQuery {
    /// Default: the key's only user.
    pub user: Option<String>,
    /// RFC 3339.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub since: Option<OffsetDateTime>,
    /// RFC 3339.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = Option<String>)]
    pub until: Option<OffsetDateTime>,
    pub limit: Option<usize>,
}

/// `POST /v1/contexts/{context}/readings`: a reading as `observe` takes it, without its
/// context (the path gives it).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadingRequest {
    /// Optional; when given it must equal the path's context.
    #[serde(skip_serializing)]
    pub context: Option<String>,
    /// `text`, `voice`, `face`, `evi`, `hume` or `custom:<name>`.
    pub source: String,
    /// Expression name → score in [0, 1].
    #[schema(value_type = Object)]
    pub scores: serde_json::Map<String, Value>,
    /// In [0, 1] (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    /// RFC 3339 (default now).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub timestamp: Option<String>,
    /// `dense` (default), `sparse`, or `{"kind": "sparse", "missing": 0, "vocabulary": "hume"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub semantics: Option<Value>,
}

/// `{"forgotten": n}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct ForgottenAnswer {
    pub forgotten: u64,
}
