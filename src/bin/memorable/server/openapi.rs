//! The OpenAPI document of the HTTP API, generated from the handlers' annotations and the
//! request / answer types (`GET /v1/openapi.json`).

use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::api::*;
use super::error::{ErrorBody, ErrorDetail};
use super::{inspect, routes};

#[derive(OpenApi)]
#[openapi(
    info(title = "MemoRable", description = "Long-term memory for AI agents: the HTTP API of `memorable serve` (docs/server.md)."),
    paths(
        routes::remember, routes::remember_batch, routes::recall, routes::get_memory, routes::patch_memory,
        routes::delete_memory, routes::memory_history, routes::recent, routes::forget_user, routes::observe,
        routes::context_state, routes::context_history, routes::ingest_hume, routes::healthz, routes::readyz,
        routes::metrics, inspect::derived, inspect::users, inspect::frame, inspect::contexts, inspect::timeline, inspect::alerts,
    ),
    components(schemas(
        RememberRequest, RememberBatchRequest, IdAnswer, IdsAnswer, RecallRequest, HitsAnswer, PatchRequest,
        ReadingRequest, ForgottenAnswer, UsersAnswer, ErrorBody, ErrorDetail,
    )),
    modifiers(&BearerKeys)
)]
pub(crate) struct ApiDoc;

struct BearerKeys;

impl Modify for BearerKeys {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

pub(crate) async fn document() -> Response {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let text = DOC.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_default());
    ([(axum::http::header::CONTENT_TYPE, "application/json")], text.as_str()).into_response()
}
