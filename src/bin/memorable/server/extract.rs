//! Extractors that answer bad input with the documented error body instead of axum's
//! plain-text rejections: JSON bodies (size limit from the live settings, UTF-8, unknown
//! fields), query strings and path parameters.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use memorable::ErrorCode;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The body size limit in force for this request (set by the auth middleware from the
/// current settings, so a reload changes it).
#[derive(Clone, Copy)]
pub(crate) struct BodyLimit(pub usize);

pub(crate) struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        let text = read_text(req).await?;
        serde_json::from_str(&text).map(Body).map_err(|e| ApiError::invalid(format!("request body: {e}")))
    }
}

/// The body as UTF-8 text, at most the limit in force.
pub(crate) async fn read_text(req: Request) -> Result<String, ApiError> {
    let limit = req.extensions().get::<BodyLimit>().map_or(1 << 20, |l| l.0);
    let too_large =
        || ApiError::new(ErrorCode::PayloadTooLarge, format!("the request body is over {limit} bytes"));
    let declared =
        req.headers().get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
    if declared.is_some_and(|n: usize| n > limit) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(req.into_body(), limit).await.map_err(|_| too_large())?;
    String::from_utf8(bytes.into())
        .map_err(|_| ApiError::new(ErrorCode::InvalidUtf8, "the request body is not UTF-8"))
}

pub(crate) struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| ApiError::invalid(e.body_text()))
    }
}

pub(crate) struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e: PathRejection| ApiError::invalid(e.body_text()))
    }
}
