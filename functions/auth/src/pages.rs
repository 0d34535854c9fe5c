//! `/ok` and `/error`: BetterAuth's health answer and its HTML error page.

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse, Response};

use crate::views::json_response;
use crate::wire::AuthOk;

#[utoipa::path(
    get, path = "/ok",
    responses((status = 200, description = "Up", body = crate::wire::AuthOk))
)]
pub async fn ok() -> Response {
    json_response(&AuthOk { ok: true })
}

/// BetterAuth's HTML error page (`?error=CODE`).
#[utoipa::path(
    get, path = "/error",
    params(("error" = Option<String>, Query)),
    responses((status = 200, description = "BetterAuth's error page", content_type = "text/html", body = String))
)]
pub async fn error_page(Query(query): Query<HashMap<String, String>>) -> Response {
    let code: String = query
        .get("error")
        .map(String::as_str)
        .unwrap_or("UNKNOWN")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    let mut response = Html(format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Error</title></head><body><h1>Something went wrong</h1><p>Error code: <code>{code}</code></p></body></html>"
    ))
    .into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}
