//! Errors on the wire: `{"error": {"code": N, "name": "EMPTY_TEXT", "message": "..."}}`
//! with the core's stable codes (docs/errors.md), each mapped to one HTTP status.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use memorable::{ErrorCategory, ErrorCode};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug)]
pub(crate) struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub retry_after: Option<Duration>,
}

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorDetail {
    /// The stable number of the code (docs/errors.md).
    code: u32,
    /// The stable name of the code, e.g. `EMPTY_TEXT`.
    name: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError { code, message: message.into(), retry_after: None }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::InvalidInput, message)
    }

    /// What a call about another user's memory (or a missing one) answers: the same 404 in
    /// both cases, so ids are no oracle of other users' data.
    pub(crate) fn not_found() -> ApiError {
        ApiError::new(ErrorCode::NotFound, "no such memory")
    }

    pub(crate) fn status(&self) -> StatusCode {
        use ErrorCode as C;
        match self.code {
            C::Unauthorized => StatusCode::UNAUTHORIZED,
            C::Forbidden => StatusCode::FORBIDDEN,
            C::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            C::PayloadTooLarge | C::BatchTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            C::Overloaded
            | C::Timeout
            | C::Closed
            | C::Storage
            | C::Locked
            | C::NotWritable
            | C::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            C::UserQuotaExceeded | C::StoreFull | C::DestinationExists | C::NoPreviousVersion => {
                StatusCode::CONFLICT
            }
            code => match code.category() {
                ErrorCategory::InvalidInput => StatusCode::BAD_REQUEST,
                ErrorCategory::NotFound => StatusCode::NOT_FOUND,
                ErrorCategory::Remote => StatusCode::BAD_GATEWAY,
                ErrorCategory::Model
                    if matches!(code, C::ClassifierUnavailable | C::NoGenerator | C::Model) =>
                {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    pub(crate) fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code as u32,
                name: self.code.name(),
                message: self.message.clone(),
            },
        }
    }
}

impl From<memorable::Error> for ApiError {
    fn from(e: memorable::Error) -> ApiError {
        ApiError::new(e.code(), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(code = self.code.name(), message = %self.message, "request failed");
        }
        let mut response = (status, Json(self.body())).into_response();
        if self.code == ErrorCode::Unauthorized {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(wait) = self.retry_after {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
