//! Path ids: checked before any database work.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use crate::error::{ApiError, INVALID_ID_FORMAT};

/// Longest id a path may carry.
pub const MAX_ID_LEN: usize = 128;

/// The `{id}` path segment, 1 to 128 characters, else 400 `Invalid id format`; checked
/// before any database work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathId(pub String);

impl PathId {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let len = raw.chars().count();
        if (1..=MAX_ID_LEN).contains(&len) {
            Ok(Self(raw.to_string()))
        } else {
            Err(ApiError::bad_request(INVALID_ID_FORMAT))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request(INVALID_ID_FORMAT))?;
        let raw = params
            .get("id")
            .ok_or_else(|| ApiError::bad_request(INVALID_ID_FORMAT))?;
        Self::parse(raw)
    }
}
