//! The routes the web inspector reads besides the core `/v1` API: the users a key may see,
//! the memories derived from one, a user's emotion contexts and 4W frame, a context's
//! timeline picture, and active alerts.
//! Thin over the core like `routes.rs`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use memorable::{user_context, TimeWindow, TimelineOptions};
use serde_json::{json, Value};

use super::api::*;
use super::error::{ApiError, ErrorBody};
use super::extract::{Path, Query};
use super::routes::{acting, blocking, no_context, owned, scope, Caller};
use super::state::AppState;
use crate::util::memory_json;

#[utoipa::path(get, path = "/v1/users",
    responses((status = 200, body = UsersAnswer)), security(("bearer" = [])))]
pub(crate) async fn users(
    State(s): State<Arc<AppState>>,
    key: Caller,
) -> Result<Json<UsersAnswer>, ApiError> {
    let prefix = key.listing_prefix().map(str::to_owned);
    let holders = blocking(&s, move |mem| Ok(mem.users(prefix.as_deref())?)).await?;
    Ok(Json(UsersAnswer { users: key.visible(holders) }))
}

#[utoipa::path(get, path = "/v1/memories/{id}/derived", params(("id" = u64, Path), UserQuery),
    responses((status = 200, description = "`{\"memories\": [...]}`: the memories derived from this one", body = Object),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn derived(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Path(id): Path<u64>,
    Query(q): Query<UserQuery>,
) -> Result<Json<Value>, ApiError> {
    let user = acting(&key, q.user)?;
    let list = blocking(&s, move |mem| {
        owned(mem, id, &user)?;
        Ok(mem.derived(id)?)
    })
    .await?;
    Ok(Json(json!({ "memories": list.iter().map(memory_json).collect::<Vec<_>>() })))
}

#[utoipa::path(get, path = "/v1/users/{user}/frame", params(("user" = String, Path), FrameQuery),
    responses((status = 200, description = "the 4W context frame (who, what, when, where, emotion)", body = Object)),
    security(("bearer" = [])))]
pub(crate) async fn frame(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Path(user): Path<String>,
    Query(q): Query<FrameQuery>,
) -> Result<Json<Value>, ApiError> {
    scope(&key, &user)?;
    let window = q.window.as_deref().map(TimeWindow::parse).transpose()?;
    let frame = blocking(&s, move |mem| Ok(mem.context_frame(&user, window)?)).await?;
    Ok(Json(serde_json::to_value(frame).unwrap_or(Value::Null)))
}

#[utoipa::path(get, path = "/v1/contexts", params(UserQuery),
    responses((status = 200, description = "`{\"contexts\": [...]}`: the user's emotion contexts", body = Object)),
    security(("bearer" = [])))]
pub(crate) async fn contexts(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Query(q): Query<UserQuery>,
) -> Result<Json<Value>, ApiError> {
    let user = acting(&key, q.user)?;
    // The user's own contexts are named `user_context(user, name)`: list those, by name.
    let prefix = user_context(&user, "");
    let all = blocking(&s, |mem| Ok(mem.contexts()?)).await?;
    let mine: Vec<Value> = all
        .into_iter()
        .filter_map(|mut c| {
            let name = c.context.strip_prefix(&prefix)?.to_owned();
            c.context = name;
            serde_json::to_value(c).ok()
        })
        .collect();
    Ok(Json(json!({ "contexts": mine })))
}

#[utoipa::path(get, path = "/v1/contexts/{context}/timeline.svg", params(("context" = String, Path), TimelineQuery),
    responses((status = 200, description = "the context's emotion timeline", content_type = "image/svg+xml"),
        (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn timeline(
    State(s): State<Arc<AppState>>,
    key: Caller,
    Path(context): Path<String>,
    Query(q): Query<TimelineQuery>,
) -> Result<Response, ApiError> {
    let user = acting(&key, q.user.clone())?;
    let mut options = TimelineOptions {
        since: q.since,
        until: q.until,
        expressions: comma_list(q.expressions.as_deref()),
        title: Some(format!("Emotion timeline — {context}")),
        ..TimelineOptions::default()
    };
    options.top = q.top.unwrap_or(options.top);
    options.width = q.width.unwrap_or(options.width);
    options.height = q.height.unwrap_or(options.height);
    if let Some(theme) = q.theme.as_deref() {
        options.theme = theme.parse()?;
    }
    let id = user_context(&user, &context);
    let svg = blocking(&s, move |mem| mem.emotion_timeline_svg(&id, &options).map_err(no_context)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            // Opened on its own, the picture may not run or fetch anything.
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'"),
        ],
        svg,
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/alerts",
    responses((status = 200, description = "`{\"alerts\": [...]}`: the alerts firing now", body = Object)),
    security(("bearer" = [])))]
pub(crate) async fn alerts(State(s): State<Arc<AppState>>, _key: Caller) -> Result<Json<Value>, ApiError> {
    let firing = blocking(&s, |mem| Ok(mem.active_alerts())).await?;
    Ok(Json(json!({ "alerts": firing })))
}
