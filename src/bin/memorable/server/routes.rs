//! The `/v1` handlers: check the key's scope, call the core on the blocking pool, shape
//! the answer. No logic the core does not have.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use memorable::{
    user_context, EmotionalState, ErrorCode, HistoryRange, Memorable, Memory, NewMemory, Reading, Recall,
};
use serde_json::{json, Value};

use super::api::*;
use super::auth::{self, Key, Refusal};
use super::error::{ApiError, ErrorBody};
use super::extract::{read_text, Body, Path, Query};
use super::state::AppState;
use crate::util::{hit_json, memory_json};

pub(crate) type Caller = Extension<Arc<Key>>;
type Answer<T> = Result<T, ApiError>;

/// Runs a core call on tokio's blocking pool (the core's calls block on SQLite and models).
pub(crate) async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Memorable) -> Answer<T> + Send + 'static,
) -> Answer<T> {
    let mem = state.mem.clone();
    let slot = state
        .core_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| ApiError::new(ErrorCode::Closed, "stopping"))?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        f(&mem)
    })
    .await
    .map_err(|e| ApiError::new(ErrorCode::Internal, format!("the call panicked: {e}")))?
}

pub(crate) fn scope(key: &Key, user: &str) -> Answer<()> {
    if key.may_act_for(user) {
        Ok(())
    } else {
        Err(forbidden(key))
    }
}

/// The user a call acts for: the one it names (within the key's scope), else the key's only
/// user.
pub(crate) fn acting(key: &Key, named: Option<String>) -> Answer<String> {
    key.acting_for(named.as_deref()).map_err(|refusal| match refusal {
        Refusal::Blank => ApiError::new(ErrorCode::MissingUser, "the user id is blank"),
        Refusal::Outside => forbidden(key),
        Refusal::Unnamed => {
            ApiError::new(ErrorCode::MissingUser, "name the user (`user`): this key acts for several")
        }
    })
}

fn forbidden(key: &Key) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, format!("key {:?} may not act for this user", key.name))
}

/// The memory `id` if it is `user`'s; any other case answers the same 404 body.
pub(crate) fn owned(mem: &Memorable, id: u64, user: &str) -> Answer<Memory> {
    auth::owned(mem, id, user).map_err(|e| {
        if e.code() == ErrorCode::NotFound {
            ApiError::not_found()
        } else {
            e.into()
        }
    })
}

/// A state as the caller named its context (the store keys it by user).
fn state_json(mut state: EmotionalState, context: &str) -> Value {
    context.clone_into(&mut state.context);
    serde_json::to_value(state).unwrap_or(Value::Null)
}

pub(crate) fn no_context(e: memorable::Error) -> ApiError {
    if e.code() == ErrorCode::NotFound {
        ApiError::new(ErrorCode::NotFound, "no such context")
    } else {
        e.into()
    }
}

#[utoipa::path(post, path = "/v1/memories", request_body = RememberRequest,
    responses((status = 201, body = IdAnswer), (status = "4XX", body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn remember(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Body(req): Body<RememberRequest>,
) -> Answer<Response> {
    let user = acting(&key, req.user.clone())?;
    let id = blocking(&s, move |mem| Ok(mem.remember(req.into_new(user))?)).await?;
    Ok((StatusCode::CREATED, Json(IdAnswer { id })).into_response())
}

#[utoipa::path(post, path = "/v1/memories:batch", request_body = RememberBatchRequest,
    responses((status = 200, body = IdsAnswer), (status = "4XX", body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn remember_batch(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Body(req): Body<RememberBatchRequest>,
) -> Answer<Json<IdsAnswer>> {
    let mut items: Vec<NewMemory> = Vec::with_capacity(req.items.len());
    for item in req.items {
        let user = acting(&key, item.user.clone())?;
        items.push(item.into_new(user));
    }
    let ids = blocking(&s, move |mem| Ok(mem.remember_batch(items)?)).await?;
    Ok(Json(IdsAnswer { ids }))
}

#[utoipa::path(post, path = "/v1/recall", request_body = RecallRequest,
    responses((status = 200, body = HitsAnswer), (status = "4XX", body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn recall(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Body(req): Body<RecallRequest>,
) -> Answer<Json<HitsAnswer>> {
    let user = acting(&key, req.user.clone())?;
    let recall: Recall = req.into_recall(&user, s.live().settings.recall.weights.as_ref());
    let hits = blocking(&s, move |mem| Ok(mem.recall(&recall)?)).await?;
    Ok(Json(HitsAnswer { hits: hits.iter().map(hit_json).collect() }))
}

#[utoipa::path(get, path = "/v1/memories/{id}", params(("id" = u64, Path), UserQuery),
    responses((status = 200, description = "the memory", body = Object), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn get_memory(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Path(id): Path<u64>,
    Query(q): Query<UserQuery>,
) -> Answer<Json<Value>> {
    let user = acting(&key, q.user)?;
    let m = blocking(&s, move |mem| owned(mem, id, &user)).await?;
    Ok(Json(memory_json(&m)))
}

#[utoipa::path(patch, path = "/v1/memories/{id}", params(("id" = u64, Path), UserQuery), request_body = PatchRequest,
    responses((status = 200, description = "the changed memory", body = Object), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn patch_memory(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Path(id): Path<u64>,
    Query(q): Query<UserQuery>,
    Body(patch): Body<PatchRequest>,
) -> Answer<Json<Value>> {
    let user = acting(&key, q.user)?;
    let m = blocking(&s, move |mem| {
        owned(mem, id, &user)?;
        Ok(mem.update(id, patch.into())?)
    })
    .await?;
    Ok(Json(memory_json(&m)))
}

#[utoipa::path(delete, path = "/v1/memories/{id}", params(("id" = u64, Path), UserQuery),
    responses((status = 200, body = ForgottenAnswer), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub(crate) async fn delete_memory(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Path(id): Path<u64>,
    Query(q): Query<UserQuery>,
) -> Answer<Json<ForgottenAnswer>> {
    let user = acting(&key, q.user)?;
    blocking(&s, move |mem| {
        owned(mem, id, &user)?;
        Ok(mem.forget(id)?)
    })
    .await?;
    Ok(Json(ForgottenAnswer { forgotten: 1 }))
}

#[utoipa::path(get, path = "/v1/memories/{id}/history", params(("id" = u64, Path), UserQuery),
    responses((status = 200, description = "`{\"versions\": [...]}`, oldest first", body = Object), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn memory_history(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Path(id): Path<u64>,
    Query(q): Query<UserQuery>,
) -> Answer<Json<Value>> {
    let user = acting(&key, q.user)?;
    let versions = blocking(&s, move |mem| {
        owned(mem, id, &user)?;
        Ok(mem.history(id)?)
    })
    .await?;
    Ok(Json(json!({ "versions": versions })))
}

#[utoipa::path(get, path = "/v1/users/{user}/recent", params(("user" = String, Path), RecentQuery),
    responses((status = 200, description = "`{\"memories\": [...]}`, newest first", body = Object)), security(("bearer" = [])))]
pub(crate) async fn recent(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Path(user): Path<String>,
    Query(q): Query<RecentQuery>,
) -> Answer<Json<Value>> {
    scope(&key, &user)?;
    if q.user.as_ref().is_some_and(|u| *u != user) {
        return Err(ApiError::invalid("?user= differs from the path's user"));
    }
    let request = q.into_recall(&user);
    let list = blocking(&s, move |mem| Ok(mem.recent_matching(&request)?)).await?;
    Ok(Json(json!({ "memories": list.iter().map(memory_json).collect::<Vec<_>>() })))
}

#[utoipa::path(delete, path = "/v1/users/{user}", params(("user" = String, Path)),
    responses((status = 200, body = ForgottenAnswer)), security(("bearer" = [])))]
pub(crate) async fn forget_user(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Path(user): Path<String>,
) -> Answer<Json<ForgottenAnswer>> {
    scope(&key, &user)?;
    let forgotten = blocking(&s, move |mem| Ok(mem.forget_user(&user)?)).await?;
    Ok(Json(ForgottenAnswer { forgotten }))
}

#[utoipa::path(post, path = "/v1/contexts/{context}/readings", params(("context" = String, Path), UserQuery), request_body = ReadingRequest,
    responses((status = 200, description = "the context's fused state", body = Object), (status = "4XX", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn observe(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Path(context): Path<String>,
    Query(q): Query<UserQuery>,
    Body(reading): Body<ReadingRequest>,
) -> Answer<Json<Value>> {
    let user = acting(&key, q.user)?;
    if reading.context.as_ref().is_some_and(|c| *c != context) {
        return Err(ApiError::invalid("the body's context differs from the path's"));
    }
    let mut v = serde_json::to_value(reading).map_err(|e| ApiError::invalid(e.to_string()))?;
    v["context"] = Value::String(user_context(&user, &context));
    let reading: Reading =
        serde_json::from_value(v).map_err(|e| ApiError::invalid(format!("request body: {e}")))?;
    let state = blocking(&s, move |mem| Ok(mem.observe(reading)?)).await?;
    Ok(Json(state_json(state, &context)))
}

#[utoipa::path(get, path = "/v1/contexts/{context}/state", params(("context" = String, Path), UserQuery),
    responses((status = 200, description = "the context's fused state now", body = Object), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn context_state(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Path(context): Path<String>,
    Query(q): Query<UserQuery>,
) -> Answer<Json<Value>> {
    let user = acting(&key, q.user)?;
    let id = user_context(&user, &context);
    let state = blocking(&s, move |mem| mem.emotional_state(&id).map_err(no_context)).await?;
    Ok(Json(state_json(state, &context)))
}

#[utoipa::path(get, path = "/v1/contexts/{context}/history", params(("context" = String, Path), HistoryQuery),
    responses((status = 200, description = "`{\"states\": [...]}`, oldest first", body = Object), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn context_history(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Path(context): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Answer<Json<Value>> {
    let user = acting(&key, q.user)?;
    let id = user_context(&user, &context);
    let range = HistoryRange {
        since: q.since,
        until: q.until,
        limit: q.limit.unwrap_or(HistoryRange::default().limit),
    };
    let states = blocking(&s, move |mem| mem.emotional_history(&id, &range).map_err(no_context)).await?;
    let states: Vec<Value> = states.into_iter().map(|st| state_json(st, &context)).collect();
    Ok(Json(json!({ "states": states })))
}

#[utoipa::path(post, path = "/v1/contexts/{context}/hume", params(("context" = String, Path), UserQuery),
    request_body(content = Object, description = "one Hume message (EVI or Expression Measurement), as Hume sent it"),
    responses((status = 200, description = "what was ingested", body = Object), (status = "4XX", body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn ingest_hume(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Path(context): Path<String>,
    Query(q): Query<UserQuery>,
    req: Request,
) -> Answer<Json<Value>> {
    let user = acting(&key, q.user)?;
    let text = read_text(req).await?;
    let id = user_context(&user, &context);
    let report = blocking(&s, move |mem| Ok(mem.ingest_hume(&id, &text)?)).await?;
    let mut v = serde_json::to_value(report).unwrap_or(Value::Null);
    if v.get("context").is_some() {
        v["context"] = Value::String(context.clone());
    }
    if v.get("state").is_some_and(Value::is_object) {
        v["state"]["context"] = Value::String(context);
    }
    Ok(Json(v))
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "the process is up")))]
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

#[utoipa::path(get, path = "/readyz",
    responses((status = 200, description = "the store's health report", body = Object), (status = 503, description = "failing")))]
pub(crate) async fn readyz(State(s): State<Arc<AppState>>) -> Answer<Response> {
    let report = blocking(&s, |mem| Ok(mem.health()?)).await?;
    let status = if report.status == memorable::HealthStatus::Failing {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    Ok((status, Json(report)).into_response())
}

#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub(crate) async fn metrics(State(s): State<Arc<AppState>>) -> Answer<Response> {
    let core = blocking(&s, |mem| Ok(mem.metrics_prometheus()?)).await?;
    // The endpoint needs no key, so the per-user gauge (its labels are user ids) is left out.
    let mut text: String =
        core.lines().filter(|l| !l.contains("memorable_user_memories")).flat_map(|l| [l, "\n"]).collect();
    text.push_str(&s.http.render());
    Ok(([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}
