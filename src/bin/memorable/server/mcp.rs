//! MCP (Model Context Protocol) tools over the core, on rmcp: `memorable mcp` serves them on
//! stdio for one user; `memorable serve` on streamable HTTP at `/mcp`, where the bearer
//! key decides the user (its only user, or `?user=U` within its scope).

use std::sync::Arc;

use axum::http::request::Parts;
use memorable::{ConsolidateRequest, Memorable, Memory, NewMemory, RankWeights, Recall, TimeWindow};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::auth::{owned, Key, Refusal};
use super::state::AppState;
use crate::util::{describe, hit_json, memory_json};

/// The tools of one store. `user` is fixed on stdio; over HTTP it comes with each request.
#[derive(Clone)]
pub(crate) struct Tools {
    mem: Arc<Memorable>,
    fixed_user: Option<String>,
    /// Over HTTP: the server's settings (default recall weights) and its bound on core
    /// calls running at once.
    server: Option<Arc<AppState>>,
}

impl Tools {
    pub(crate) fn for_user(mem: Arc<Memorable>, user: String) -> Tools {
        Tools { mem, fixed_user: Some(user), server: None }
    }

    pub(crate) fn over_http(server: Arc<AppState>) -> Tools {
        Tools { mem: server.mem.clone(), fixed_user: None, server: Some(server) }
    }

    /// The caller's user: stdio's `--user`, else what the request's key may act for.
    fn user(&self, ctx: &RequestContext<RoleServer>) -> Result<String, McpError> {
        if let Some(u) = &self.fixed_user {
            return Ok(u.clone());
        }
        let parts = ctx
            .extensions
            .get::<Parts>()
            .ok_or_else(|| McpError::invalid_request("no HTTP request", None))?;
        let key = parts
            .extensions
            .get::<Arc<Key>>()
            .ok_or_else(|| McpError::invalid_request("no API key", None))?;
        let asked = axum::extract::Query::<UserParam>::try_from_uri(&parts.uri)
            .map_err(|e| McpError::invalid_request(format!("the MCP URL's query: {}", e.body_text()), None))?
            .0
            .user;
        key.acting_for(asked.as_deref()).map_err(|refusal| {
            let why = match refusal {
                Refusal::Blank => "MISSING_USER: the user id is blank",
                Refusal::Outside => "FORBIDDEN: the key may not act for this user",
                Refusal::Unnamed => "the key acts for several users: add ?user=U to the MCP URL",
            };
            McpError::invalid_request(why, None)
        })
    }
}

#[derive(Deserialize)]
struct UserParam {
    user: Option<String>,
}

fn schema(v: Value) -> JsonObject {
    match v {
        Value::Object(m) => m,
        _ => JsonObject::new(),
    }
}

const FILTERS: &str = r#"{
  "session": {"type": "string", "description": "Only memories of this conversation / session id."},
  "speaker": {"type": "string", "description": "Only memories said by this speaker."},
  "tags": {"type": "array", "items": {"type": "string"}, "description": "Only memories carrying every one of these tags."},
  "kinds": {"type": "array", "items": {"type": "string"}, "description": "Only memories of these kinds (e.g. message, summary, fact)."},
  "since": {"type": "string", "format": "date-time", "description": "Only memories that happened at or after this instant (RFC 3339)."},
  "until": {"type": "string", "format": "date-time", "description": "Only memories that happened before this instant (RFC 3339)."}
}"#;

fn tools() -> Vec<Tool> {
    let filters: Value = serde_json::from_str(FILTERS).unwrap_or_default();
    let mut recall_props = json!({
        "query": {"type": "string", "description": "What to look for, in plain words: a question or a topic."},
        "limit": {"type": "integer", "minimum": 1, "maximum": 100, "description": "How many memories to return (default 10)."}
    });
    if let (Some(p), Some(f)) = (recall_props.as_object_mut(), filters.as_object()) {
        p.extend(f.clone());
    }
    vec![
        Tool::new(
            "remember",
            "Store something worth remembering about the user (a fact, an event, a preference, what they said). \
             Returns the new memory's id.",
            schema(json!({"type": "object", "additionalProperties": false, "required": ["text"], "properties": {
                "text": {"type": "string", "description": "The memory, as a self-contained sentence."},
                "speaker": {"type": "string", "description": "Who said or did it (e.g. the user's name)."},
                "session": {"type": "string", "description": "The conversation / session id it belongs to."},
                "tags": {"type": "array", "items": {"type": "string"}, "description": "Labels to filter by later."},
                "occurred_at": {"type": "string", "format": "date-time", "description": "When it happened (RFC 3339; default now)."},
                "client_key": {"type": "string", "minLength": 1, "maxLength": 200, "description": "Your key for this write: remembering again with the same key returns the first memory's id and stores nothing (safe retries)."}
            }})),
        ),
        Tool::new(
            "recall",
            "Find the user's memories most relevant to a query, by meaning and keywords, best first, with scores.",
            schema(json!({"type": "object", "additionalProperties": false, "required": ["query"], "properties": recall_props})),
        ),
        Tool::new(
            "recent",
            "List the user's most recent memories, newest first.",
            schema(json!({"type": "object", "additionalProperties": false, "properties": {
                "limit": {"type": "integer", "minimum": 1, "maximum": 100, "description": "How many (default 10)."}
            }})),
        ),
        Tool::new(
            "get_memory",
            "Show one of the user's memories by id, with all its fields.",
            schema(json!({"type": "object", "additionalProperties": false, "required": ["id"], "properties": {
                "id": {"type": "integer", "minimum": 1, "description": "The memory's id (from remember, recall or recent)."}
            }})),
        ),
        Tool::new(
            "forget",
            "Erase one of the user's memories for good (by id). Use when the user asks to forget something.",
            schema(json!({"type": "object", "additionalProperties": false, "required": ["id"], "properties": {
                "id": {"type": "integer", "minimum": 1, "description": "The memory's id."}
            }})),
        ),
        Tool::new(
            "emotional_state",
            "How the user seems to feel in a conversation now: the fused emotional state of a context \
             (dominant emotion, valence, arousal, confidence, top expressions).",
            schema(json!({"type": "object", "additionalProperties": false, "required": ["context"], "properties": {
                "context": {"type": "string", "description": "The conversation / session id."}
            }})),
        ),
        Tool::new(
            "context_frame",
            "A who / what / when / where summary of the user's memories in a time window: the people, places, \
             topics and times that matter now.",
            schema(json!({"type": "object", "additionalProperties": false, "properties": {
                "window": {"type": "string", "description": "short, medium, long, or a number of seconds (default: all memories)."}
            }})),
        ),
        Tool::new(
            "consolidate",
            "Write summaries and facts from the user's conversation turns (derived memories that recall finds).",
            schema(json!({"type": "object", "additionalProperties": false, "properties": {
                "session": {"type": "string", "description": "Only this session's turns."}
            }})),
        ),
    ]
}

fn args<T: DeserializeOwned>(arguments: Option<JsonObject>) -> Result<T, McpError> {
    serde_json::from_value(Value::Object(arguments.unwrap_or_default()))
        .map_err(|e| McpError::invalid_params(format!("invalid arguments: {e}"), None))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RememberArgs {
    text: String,
    speaker: Option<String>,
    session: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    occurred_at: Option<OffsetDateTime>,
    client_key: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecallArgs {
    query: String,
    limit: Option<usize>,
    session: Option<String>,
    speaker: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    kinds: Vec<String>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    since: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    until: Option<OffsetDateTime>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitArgs {
    limit: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdArgs {
    id: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextArgs {
    context: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowArgs {
    window: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionArgs {
    session: Option<String>,
}

/// A tool's answer: text for the model, the same data as structured content (an object).
fn answer(text: String, data: Value) -> CallToolResponse {
    let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
    r.structured_content = Some(data);
    r.into()
}

/// A core error as a failed tool call the model can read (not a protocol error).
fn failed(e: memorable::Error) -> CallToolResponse {
    let code = e.code();
    let mut r = CallToolResult::error(vec![ContentBlock::text(format!("{}: {e}", code.name()))]);
    r.structured_content =
        Some(json!({"error": {"code": code as u32, "name": code.name(), "message": e.to_string()}}));
    r.into()
}

fn listing(memories: &[Memory]) -> String {
    if memories.is_empty() {
        "(no memories)".to_owned()
    } else {
        memories.iter().map(describe).collect::<Vec<_>>().join("\n")
    }
}

fn call(
    mem: &Memorable,
    user: &str,
    name: &str,
    arguments: Option<JsonObject>,
    weights: Option<RankWeights>,
) -> Result<CallToolResponse, McpError> {
    let done = |r: memorable::Result<CallToolResponse>| Ok(r.unwrap_or_else(failed));
    match name {
        "remember" => {
            let a: RememberArgs = args(arguments)?;
            let mut m = NewMemory::new(user, a.text).tags(a.tags);
            m.speaker = a.speaker;
            m.session = a.session;
            m.occurred_at = a.occurred_at;
            m.client_key = a.client_key;
            done(mem.remember(m).map(|id| answer(format!("Remembered as memory #{id}."), json!({"id": id}))))
        }
        "recall" => {
            let a: RecallArgs = args(arguments)?;
            let mut r = Recall::new(user, &a.query).limit(a.limit.unwrap_or(10)).tags(a.tags).kinds(a.kinds);
            r.session = a.session;
            r.speaker = a.speaker;
            r.since = a.since;
            r.until = a.until;
            if let Some(w) = weights {
                r.weights = w;
            }
            done(mem.recall(&r).map(|hits| {
                let text = if hits.is_empty() {
                    "(nothing found)".to_owned()
                } else {
                    hits.iter()
                        .map(|h| format!("{:.3}  {}", h.score, describe(&h.memory)))
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                answer(text, json!({"hits": hits.iter().map(hit_json).collect::<Vec<_>>()}))
            }))
        }
        "recent" => {
            let a: LimitArgs = args(arguments)?;
            let r = Recall::new(user, "").limit(a.limit.unwrap_or(10));
            done(mem.recent_matching(&r).map(|list| {
                answer(listing(&list), json!({"memories": list.iter().map(memory_json).collect::<Vec<_>>()}))
            }))
        }
        "get_memory" => {
            let a: IdArgs = args(arguments)?;
            done(owned(mem, a.id, user).map(|m| answer(describe(&m), memory_json(&m))))
        }
        "forget" => {
            let a: IdArgs = args(arguments)?;
            done(
                owned(mem, a.id, user)
                    .and_then(|_| mem.forget(a.id))
                    .map(|()| answer(format!("Memory #{} is forgotten.", a.id), json!({"forgotten": 1}))),
            )
        }
        "emotional_state" => {
            let a: ContextArgs = args(arguments)?;
            let state = mem.emotional_state(&memorable::user_context(user, &a.context)).map_err(|e| {
                if e.code() == memorable::ErrorCode::NotFound {
                    memorable::Error::InvalidInput(format!(
                        "no emotion context {:?} yet: it starts with its first reading",
                        a.context
                    ))
                } else {
                    e
                }
            });
            done(state.map(|mut s| {
                s.context = a.context;
                let text = format!(
                    "dominant: {}, valence {:.2}, arousal {:.2}, confidence {:.2}",
                    s.dominant.as_deref().unwrap_or("none"),
                    s.valence,
                    s.arousal,
                    s.confidence
                );
                answer(text, serde_json::to_value(&s).unwrap_or(Value::Null))
            }))
        }
        "context_frame" => {
            let a: WindowArgs = args(arguments)?;
            let window = match a.window.as_deref().map(TimeWindow::parse).transpose() {
                Ok(w) => w,
                Err(e) => return done(Err(e)),
            };
            done(mem.context_frame(user, window).map(|f| {
                let v = serde_json::to_value(&f).unwrap_or(Value::Null);
                answer(serde_json::to_string_pretty(&v).unwrap_or_default(), v)
            }))
        }
        "consolidate" => {
            let a: SessionArgs = args(arguments)?;
            let mut r = ConsolidateRequest::new(user);
            r.session = a.session;
            done(mem.consolidate(&r).map(|report| {
                let v = serde_json::to_value(&report).unwrap_or(Value::Null);
                answer(serde_json::to_string_pretty(&v).unwrap_or_default(), v)
            }))
        }
        other => Err(McpError::invalid_params(format!("unknown tool {other:?}"), None)),
    }
}

impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("memorable", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Long-term memory of the user. `recall` before answering questions about the user's past; \
                 `remember` what is worth keeping; `forget` when asked to.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools().into_iter().find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let user = self.user(&context)?;
        let CallToolRequestParams { name, arguments, .. } = request;
        let mem = self.mem.clone();
        let name = name.into_owned();
        let (weights, slot) = match &self.server {
            Some(s) => {
                let slot = s
                    .core_slots
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| McpError::internal_error("stopping", None))?;
                (s.live().settings.recall.weights.clone(), Some(slot))
            }
            None => (None, None),
        };
        // The core blocks (SQLite, models): off the async workers, holding a core slot.
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            call(&mem, &user, &name, arguments, weights)
        })
        .await
        .map_err(|e| McpError::internal_error(format!("the tool panicked: {e}"), None))?
    }
}
