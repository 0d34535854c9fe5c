//! Query strings, read parameter by parameter so every bad one is reported at once, and
//! the paging every listing takes (`limit`, `offset`, or a sealed `cursor`).

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::{Issue, invalid_cursor, validation_error};
use crate::error::ApiError;
use portal_domain::keyring::Keyring;
use portal_domain::store::listing::{Cursor, PageRequest};

/// Largest page any list returns.
pub const MAX_LIMIT: u32 = 100;

/// Reads query parameters one by one, collecting every issue. Build one with
/// [`QueryReader::parse`], read fields, then call [`QueryReader::finish`].
#[derive(Debug, Default)]
pub struct QueryReader {
    params: HashMap<String, String>,
    issues: Vec<Issue>,
}

impl QueryReader {
    pub fn parse(raw: Option<&str>) -> Self {
        let params = raw
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            params,
            issues: Vec::new(),
        }
    }

    fn raw(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// An integer between `min` and `max` (inclusive), `default` when absent.
    pub fn int(&mut self, name: &str, default: u32, min: u32, max: u32) -> u32 {
        let Some(raw) = self.raw(name) else {
            return default;
        };
        match raw.trim().parse::<i64>() {
            Err(_) => {
                let received = if raw.trim().parse::<f64>().is_ok() {
                    "float"
                } else {
                    "nan"
                };
                let expected = if received == "float" {
                    "integer"
                } else {
                    "number"
                };
                self.issues
                    .push(Issue::invalid_type(expected, received).at(name));
                default
            }
            Ok(n) if n < i64::from(min) => {
                self.issues
                    .push(Issue::too_small("number", u64::from(min), false).at(name));
                default
            }
            Ok(n) if n > i64::from(max) => {
                self.issues
                    .push(Issue::too_big("number", u64::from(max), false).at(name));
                default
            }
            Ok(n) => n as u32,
        }
    }

    /// `true` or `false`; anything else is an issue.
    pub fn bool(&mut self, name: &str) -> Option<bool> {
        match self.raw(name)? {
            "true" => Some(true),
            "false" => Some(false),
            other => {
                let other = other.to_string();
                self.issues
                    .push(Issue::invalid_enum(&["true", "false"], &other).at(name));
                None
            }
        }
    }

    /// An ISO 8601 date-time, normalised (`2026-11-26T18:00:00.000Z`); present but not one
    /// (blank included) is an issue.
    pub fn datetime(&mut self, name: &str) -> Option<String> {
        let raw = self.raw(name)?;
        match portal_domain::time::parse_iso(raw.trim()) {
            Some(at) => Some(portal_domain::time::iso(at)),
            None => {
                self.issues
                    .push(Issue::invalid_string("datetime", "Invalid datetime").at(name));
                None
            }
        }
    }

    /// A string of 1 to `max_len` characters, trimmed; absent or blank is `None`.
    pub fn string(&mut self, name: &str, max_len: usize) -> Option<String> {
        let value = self.raw(name)?.trim().to_string();
        if value.is_empty() {
            return None;
        }
        if value.chars().count() > max_len {
            self.issues
                .push(Issue::too_big("string", max_len as u64, false).at(name));
            return None;
        }
        Some(value)
    }

    /// One of `options`.
    pub fn one_of(&mut self, name: &str, options: &[&str]) -> Option<String> {
        let value = self.raw(name)?.to_string();
        if options.contains(&value.as_str()) {
            Some(value)
        } else {
            self.issues
                .push(Issue::invalid_enum(options, &value).at(name));
            None
        }
    }

    /// Records an issue found while reading (for rules between fields).
    pub fn push_issue(&mut self, issue: Issue) {
        self.issues.push(issue);
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(validation_error(self.issues))
        }
    }
}

/// A query type that reads itself from a [`QueryReader`].
pub trait FromQuery: Sized {
    fn from_query(query: &mut QueryReader) -> Self;
}

/// A validated query string.
#[derive(Debug, Clone)]
pub struct ValidQuery<T>(pub T);

impl<S: Send + Sync, T: FromQuery> FromRequestParts<S> for ValidQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let mut reader = QueryReader::parse(parts.uri.query());
        let value = T::from_query(&mut reader);
        reader.finish()?;
        Ok(ValidQuery(value))
    }
}

/// The `nextCursor` of a page: the store's cursor, sealed with the auth secret's sealing key
/// (a client can neither read nor forge one).
pub fn seal_cursor(keyring: &Keyring, next: Option<&Cursor>) -> Option<String> {
    next.and_then(|c| serde_json::to_string(c).ok())
        .map(|json| keyring.seal(&json))
}

/// The deepest `offset` a listing takes.
pub const MAX_OFFSET: u32 = 10_000;
/// The longest `cursor` a listing reads.
pub const MAX_CURSOR_LEN: usize = 2048;

/// `limit`/`offset` paging with an opaque `cursor` alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    pub limit: u32,
    pub offset: u32,
    pub cursor: Option<String>,
}

impl Paging {
    /// The store's page request. The cursor is sealed (see [`seal_cursor`]): one that does
    /// not open, or that another listing made, is 400 `Invalid cursor`.
    pub fn request(&self, keyring: &Keyring) -> Result<PageRequest, ApiError> {
        let cursor = match &self.cursor {
            None => None,
            Some(token) => Some(
                keyring
                    .open(token)
                    .and_then(|json| serde_json::from_str::<Cursor>(&json).ok())
                    .ok_or_else(invalid_cursor)?,
            ),
        };
        Ok(PageRequest {
            limit: self.limit,
            offset: self.offset,
            cursor,
        })
    }

    /// Reads `limit` (1..=100, default `default_limit`), `offset` (0..=10,000: an offset
    /// costs a read of every item it skips, so deeper pages take the `cursor`) and `cursor`.
    pub fn read(query: &mut QueryReader, default_limit: u32) -> Self {
        Self {
            limit: query.int("limit", default_limit, 1, MAX_LIMIT),
            offset: query.int("offset", 0, 0, MAX_OFFSET),
            cursor: query.string("cursor", MAX_CURSOR_LEN),
        }
    }
}
