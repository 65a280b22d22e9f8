//! The web inspector: one page of plain HTML, CSS and JavaScript compiled into the binary
//! (no CDN, no build step), served at `/` without a key — it holds no data; everything it
//! shows comes from the `/v1` API with the key the user types in. Strict headers: the page
//! runs only its own script, loads only its own style, and talks only to this origin.

use axum::http::header;
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("inspector/index.html");
const SCRIPT: &str = include_str!("inspector/app.js");
const STYLE: &str = include_str!("inspector/app.css");
const ICON: &str = include_str!("inspector/icon.svg");

/// The Content-Security-Policy of the inspector's page: no inline script or style, no other
/// origin; pictures from this origin or the `blob:` URLs the page makes of fetched SVGs.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

pub(crate) async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX)
}

pub(crate) async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

pub(crate) async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// The page's icon (browsers otherwise ask for `/favicon.ico` and log the 404).
pub(crate) async fn icon() -> Response {
    asset("image/svg+xml", ICON)
}
