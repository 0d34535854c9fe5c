//! Extractors that parse request input once at the edge and turn every problem into the
//! contract's 400 envelope: `error` is a one-line summary naming the field, `details` holds
//! zod-shaped `issues` and `flattened` (`formErrors`, `fieldErrors`).
//!
//! JSON bodies are checked by `validator` derives; this module only maps their errors (and
//! serde's type errors) to zod's shapes. Query strings are read field by field through
//! [`QueryReader`] so every bad parameter is reported, not just the first.

use std::collections::HashMap;

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::crypto::Sealer;
use crate::error::{
    ApiError, INVALID_ID_FORMAT, INVALID_JSON_BODY, INVALID_REQUEST_BODY, UNSUPPORTED_MEDIA_TYPE,
};
use crate::store::listing::{Cursor, PageRequest};

/// Longest accepted path id, in characters.
pub const MAX_ID_LEN: usize = 128;
/// Largest page any list returns.
pub const MAX_LIMIT: u32 = 100;

/// One zod issue: `code`, `message`, `path`, plus code-specific members (`minimum`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub code: &'static str,
    pub message: String,
    pub path: Vec<Value>,
    pub extra: Map<String, Value>,
}

impl Issue {
    fn new(code: &'static str, path: Vec<Value>, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            path,
            extra: Map::new(),
        }
    }

    fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_string(), value);
        self
    }

    fn size(code: &'static str, kind: &str, bound: &str, n: u64, exact: bool) -> Self {
        let message = match (kind, code, exact) {
            ("string", _, true) => format!("String must contain exactly {n} character(s)"),
            ("string", "too_small", _) => format!("String must contain at least {n} character(s)"),
            ("string", _, _) => format!("String must contain at most {n} character(s)"),
            ("array", "too_small", _) => format!("Array must contain at least {n} element(s)"),
            ("array", _, _) => format!("Array must contain at most {n} element(s)"),
            (_, "too_small", _) => format!("Number must be greater than or equal to {n}"),
            _ => format!("Number must be less than or equal to {n}"),
        };
        Self::new(code, Vec::new(), message)
            .with(bound, json!(n))
            .with("type", json!(kind))
            .with("inclusive", json!(true))
            .with("exact", json!(exact))
    }

    pub fn too_small(kind: &str, minimum: u64, exact: bool) -> Self {
        Self::size("too_small", kind, "minimum", minimum, exact)
    }

    pub fn too_big(kind: &str, maximum: u64, exact: bool) -> Self {
        Self::size("too_big", kind, "maximum", maximum, exact)
    }

    pub fn invalid_type(expected: &str, received: &str) -> Self {
        let message = if received == "undefined" {
            "Required".to_string()
        } else {
            format!("Expected {expected}, received {received}")
        };
        Self::new("invalid_type", Vec::new(), message)
            .with("expected", json!(expected))
            .with("received", json!(received))
    }

    pub fn invalid_enum(options: &[&str], received: &str) -> Self {
        let listed: Vec<String> = options.iter().map(|o| format!("'{o}'")).collect();
        Self::new(
            "invalid_enum_value",
            Vec::new(),
            format!(
                "Invalid enum value. Expected {}, received '{received}'",
                listed.join(" | ")
            ),
        )
        .with("options", json!(options))
        .with("received", json!(received))
    }

    pub fn invalid_string(validation: &str, message: impl Into<String>) -> Self {
        Self::new("invalid_string", Vec::new(), message).with("validation", json!(validation))
    }

    pub fn custom(message: impl Into<String>) -> Self {
        Self::new("custom", Vec::new(), message)
    }

    /// Places the issue at `field` (a top-level member).
    pub fn at(mut self, field: &str) -> Self {
        self.path = vec![json!(field)];
        self
    }

    fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("code".into(), json!(self.code));
        for (k, v) in &self.extra {
            obj.insert(k.clone(), v.clone());
        }
        obj.insert("message".into(), json!(self.message));
        obj.insert("path".into(), Value::Array(self.path.clone()));
        Value::Object(obj)
    }

    fn path_string(&self) -> String {
        self.path
            .iter()
            .map(|p| match p {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    /// `Name must contain at least 3 character(s) at "name"`: zod-validation-error's line,
    /// with the value's type word replaced by the field it belongs to.
    fn summary(&self) -> String {
        let field = self.path.iter().rev().find_map(Value::as_str);
        let mut message = self.message.clone();
        if let Some(field) = field {
            for subject in ["String ", "Number ", "Array "] {
                if let Some(rest) = message.strip_prefix(subject) {
                    message = format!("{} {rest}", humanize(field));
                    break;
                }
            }
        }
        if self.path.is_empty() {
            message
        } else {
            format!("{message} at \"{}\"", self.path_string())
        }
    }
}

fn humanize(field: &str) -> String {
    let mut words = String::new();
    for (i, c) in field.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            words.push(' ');
            words.extend(c.to_lowercase());
        } else if c == '_' {
            words.push(' ');
        } else if i == 0 {
            words.extend(c.to_uppercase());
        } else {
            words.push(c);
        }
    }
    words
}

/// The 400 envelope for a non-empty list of issues.
pub fn validation_error(issues: Vec<Issue>) -> ApiError {
    let summary: Vec<String> = issues.iter().map(Issue::summary).collect();
    let mut form_errors = Vec::new();
    let mut field_errors: Map<String, Value> = Map::new();
    for issue in &issues {
        match issue.path.first() {
            None => form_errors.push(json!(issue.message)),
            Some(first) => {
                let key = match first {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let entry = field_errors.entry(key).or_insert_with(|| json!([]));
                if let Value::Array(list) = entry {
                    list.push(json!(issue.message));
                }
            }
        }
    }
    ApiError::Validation {
        message: format!("Validation error: {}", summary.join("; ")),
        details: json!({
            "issues": issues.iter().map(Issue::to_json).collect::<Vec<_>>(),
            "flattened": { "formErrors": form_errors, "fieldErrors": field_errors },
        }),
    }
}

// ---------------------------------------------------------------------------------------
// JSON bodies

/// A JSON body, deserialised and validated. Not JSON: 400 `Invalid JSON body`; wrong
/// shape or rule broken: 400 validation envelope; over the body cap: 413.
#[derive(Debug, Clone)]
pub struct ValidJson<T>(pub T);

impl<S, T> FromRequest<S> for ValidJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Validate,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonBody(bytes) = JsonBody::from_request(req, state).await?;
        parse_json(&bytes).map(ValidJson)
    }
}

/// A body sent as `application/json` (or `application/*+json`), read but not parsed:
/// 415 `Unsupported media type` for any other type, 413 over the cap.
pub struct JsonBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let media = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        let is_json = media == "application/json"
            || (media.starts_with("application/") && media.ends_with("+json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType(
                UNSUPPORTED_MEDIA_TYPE.into(),
            ));
        }
        Bytes::from_request(req, state)
            .await
            .map(JsonBody)
            .map_err(body_rejection)
    }
}

impl JsonBody {
    /// The body as a JSON document (400 `Invalid JSON body`).
    pub fn value(&self) -> Result<Value, ApiError> {
        serde_json::from_slice(&self.0).map_err(|_| ApiError::bad_request(INVALID_JSON_BODY))
    }
}

/// Maps a failure to read the body: over the cap is 413, anything else 400.
pub fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        ApiError::bad_request(INVALID_REQUEST_BODY)
    }
}

/// Parses and validates a JSON document (see [`ValidJson`]).
pub fn parse_json<T: DeserializeOwned + Validate>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|_| ApiError::bad_request(INVALID_JSON_BODY))?;
    let received = value.clone();
    let parsed: T = serde_path_to_error::deserialize(value)
        .map_err(|err| validation_error(vec![serde_issue(&err, &received)]))?;
    parsed
        .validate()
        .map_err(|errors| validation_error(validator_issues(&errors)))?;
    Ok(parsed)
}

/// The zod name of a JSON value's type (`undefined` when absent).
pub fn type_name(value: Option<&Value>) -> &'static str {
    match value {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

/// Turns serde's error (a missing field, a wrong type, an unknown enum variant) into a
/// zod issue at the path serde_path_to_error tracked.
fn serde_issue(err: &serde_path_to_error::Error<serde_json::Error>, root: &Value) -> Issue {
    let mut path: Vec<Value> = Vec::new();
    let mut node = Some(root);
    for segment in err.path().iter() {
        use serde_path_to_error::Segment;
        match segment {
            Segment::Seq { index } => {
                path.push(json!(index));
                node = node.and_then(|n| n.get(*index));
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                path.push(json!(key));
                node = node.and_then(|n| n.get(key));
            }
            Segment::Unknown => {}
        }
    }
    let text = err.inner().to_string();
    let expected = text
        .split_once(", expected ")
        .map(|(_, e)| expected_word(e))
        .unwrap_or("object");
    let mut issue = if let Some(rest) = text.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        path.push(json!(field));
        Issue::invalid_type("string", "undefined")
    } else if text.starts_with("unknown variant") {
        let options: Vec<&str> = text
            .split_once("expected ")
            .map(|(_, list)| {
                list.split(['`', ','])
                    .map(str::trim)
                    .filter(|s| !s.is_empty() && *s != "one of" && *s != "or")
                    .collect()
            })
            .unwrap_or_default();
        let received = node.and_then(Value::as_str).unwrap_or_default();
        Issue::invalid_enum(&options, received)
    } else if text.starts_with("invalid type") {
        Issue::invalid_type(expected, type_name(node))
    } else {
        Issue::custom(INVALID_REQUEST_BODY)
    };
    issue.path = path;
    issue
}

fn expected_word(serde_expected: &str) -> &'static str {
    let e = serde_expected.to_ascii_lowercase();
    if e.contains("string") || e.contains("char") {
        "string"
    } else if e.contains("bool") {
        "boolean"
    } else if e.contains("integer")
        || e.contains("float")
        || e.contains("u8")
        || e.contains("u16")
        || e.contains("u32")
        || e.contains("u64")
        || e.contains("i32")
        || e.contains("i64")
        || e.contains("f64")
    {
        "number"
    } else if e.contains("sequence") || e.contains("array") {
        "array"
    } else {
        "object"
    }
}

fn camel_case(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut upper = false;
    for c in field.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Maps `validator`'s errors (length, range, email, url, custom) to zod issues.
pub fn validator_issues(errors: &ValidationErrors) -> Vec<Issue> {
    let mut issues = Vec::new();
    collect_issues(errors, &mut Vec::new(), &mut issues);
    issues
}

fn collect_issues(errors: &ValidationErrors, prefix: &mut Vec<Value>, out: &mut Vec<Issue>) {
    let mut fields: Vec<_> = errors.errors().iter().collect();
    fields.sort_by(|a, b| a.0.cmp(b.0));
    for (field, kind) in fields {
        let name = camel_case(field);
        let is_form_level = name == "__all__";
        if !is_form_level {
            prefix.push(json!(name));
        }
        match kind {
            ValidationErrorsKind::Field(list) => {
                for error in list {
                    let mut issue = field_issue(error);
                    issue.path = prefix.clone();
                    out.push(issue);
                }
            }
            ValidationErrorsKind::Struct(inner) => collect_issues(inner, prefix, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    prefix.push(json!(index));
                    collect_issues(inner, prefix, out);
                    prefix.pop();
                }
            }
        }
        if !is_form_level {
            prefix.pop();
        }
    }
}

fn field_issue(error: &validator::ValidationError) -> Issue {
    let num = |key: &str| error.params.get(key).and_then(Value::as_f64);
    let value = error.params.get("value");
    let custom_message = error.message.as_ref().map(|m| m.to_string());
    let issue = match error.code.as_ref() {
        "length" => {
            let (kind, len) = match value {
                Some(Value::Array(items)) => ("array", items.len() as f64),
                Some(Value::String(s)) => ("string", s.chars().count() as f64),
                _ => ("string", 0.0),
            };
            let exact = num("equal");
            match (exact, num("min"), num("max")) {
                (Some(n), _, _) if len < n => Issue::too_small(kind, n as u64, true),
                (Some(n), _, _) => Issue::too_big(kind, n as u64, true),
                (_, Some(min), _) if len < min => Issue::too_small(kind, min as u64, false),
                (_, _, Some(max)) => Issue::too_big(kind, max as u64, false),
                _ => Issue::custom("Invalid length"),
            }
        }
        "range" => {
            let v = value.and_then(Value::as_f64).unwrap_or_default();
            match (num("min"), num("max")) {
                (Some(min), _) if v < min => Issue::too_small("number", min as u64, false),
                (_, Some(max)) => Issue::too_big("number", max as u64, false),
                _ => Issue::custom("Number out of range"),
            }
        }
        "email" => Issue::invalid_string("email", "Invalid email"),
        "url" => Issue::invalid_string("url", "Invalid url"),
        code => {
            let message = custom_message
                .clone()
                .unwrap_or_else(|| format!("Invalid {code}"));
            return Issue::custom(message);
        }
    };
    match custom_message {
        Some(message) => Issue { message, ..issue },
        None => issue,
    }
}

/// Rules of a hand-written `Validate` impl, reported as `validator` errors (and so as zod
/// issues by [`validator_issues`]).
#[derive(Debug, Default)]
pub struct Rules(ValidationErrors);

impl Rules {
    /// `value` must have `min..=max` characters.
    pub fn length(&mut self, field: &'static str, value: &str, min: u64, max: u64) {
        let n = value.chars().count() as u64;
        if !(min..=max).contains(&n) {
            self.0.add(field, sized(value, min, max));
        }
    }

    /// `items` must have `min..=max` entries.
    pub fn count<T: serde::Serialize>(
        &mut self,
        field: &'static str,
        items: &[T],
        min: u64,
        max: u64,
    ) {
        let n = items.len() as u64;
        if !(min..=max).contains(&n) {
            self.0.add(field, sized(&items, min, max));
        }
    }

    /// A broken rule with its own code (`url`, `email` map to zod's) and message.
    pub fn broken(&mut self, field: &'static str, code: &'static str, message: Option<&str>) {
        let mut error = validator::ValidationError::new(code);
        error.message = message.map(|m| m.to_string().into());
        self.0.add(field, error);
    }

    pub fn finish(self) -> Result<(), ValidationErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

fn sized<T: serde::Serialize + ?Sized>(
    value: &T,
    min: u64,
    max: u64,
) -> validator::ValidationError {
    let mut error = validator::ValidationError::new("length");
    error.add_param("min".into(), &min);
    error.add_param("max".into(), &max);
    error.add_param("value".into(), &value);
    error
}

/// For `Option<Option<T>>` fields: absent is `None`, `null` is `Some(None)` (clear it).
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

// ---------------------------------------------------------------------------------------
// Query strings

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
pub fn seal_cursor(sealer: &Sealer, next: Option<&Cursor>) -> Option<String> {
    next.and_then(|c| serde_json::to_string(c).ok())
        .map(|json| sealer.seal(&json))
}

/// 400 `Invalid cursor` at `cursor`.
pub fn invalid_cursor() -> ApiError {
    validation_error(vec![Issue::custom("Invalid cursor").at("cursor")])
}

/// The deepest `offset` a listing takes.
pub const MAX_OFFSET: u32 = 10_000;

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
    pub fn request(&self, sealer: &Sealer) -> Result<PageRequest, ApiError> {
        let cursor = match &self.cursor {
            None => None,
            Some(token) => Some(
                sealer
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
            cursor: query.string("cursor", 2048),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Path ids

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Validate)]
    #[serde(rename_all = "camelCase")]
    struct Profile {
        #[validate(length(min = 3, max = 10))]
        name: String,
        #[validate(email)]
        contact_email: Option<String>,
        #[validate(range(min = 1, max = 5))]
        stars: Option<u32>,
    }

    fn split(err: ApiError) -> (String, Value) {
        match err {
            ApiError::Validation { message, details } => (message, details),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn a_short_name_gives_the_contract_envelope() {
        let err = parse_json::<Profile>(br#"{"name":"ab"}"#).unwrap_err();
        let (message, details) = split(err);
        assert_eq!(
            message,
            "Validation error: Name must contain at least 3 character(s) at \"name\""
        );
        assert_eq!(
            details,
            json!({
                "issues": [{
                    "code": "too_small", "minimum": 3, "type": "string", "inclusive": true,
                    "exact": false, "message": "String must contain at least 3 character(s)",
                    "path": ["name"]
                }],
                "flattened": {
                    "formErrors": [],
                    "fieldErrors": {"name": ["String must contain at least 3 character(s)"]}
                }
            })
        );
    }

    #[test]
    fn every_broken_rule_is_reported_with_camel_case_paths() {
        let err =
            parse_json::<Profile>(br#"{"name":"abcdefghijkl","contactEmail":"nope","stars":9}"#)
                .unwrap_err();
        let (message, details) = split(err);
        assert_eq!(
            message,
            "Validation error: Invalid email at \"contactEmail\"; Name must contain at most 10 character(s) at \"name\"; Stars must be less than or equal to 5 at \"stars\""
        );
        assert_eq!(details["issues"].as_array().unwrap().len(), 3);
        assert_eq!(
            details["flattened"]["fieldErrors"]["contactEmail"],
            json!(["Invalid email"])
        );
        assert_eq!(details["issues"][2]["maximum"], json!(5));
    }

    #[test]
    fn wrong_types_and_missing_fields_are_invalid_type_issues() {
        let (message, details) = split(parse_json::<Profile>(br#"{"name":12}"#).unwrap_err());
        assert_eq!(
            message,
            "Validation error: Expected string, received number at \"name\""
        );
        assert_eq!(
            details["issues"][0],
            json!({"code":"invalid_type","expected":"string","received":"number",
                   "message":"Expected string, received number","path":["name"]})
        );
        let (message, _) = split(parse_json::<Profile>(br#"{}"#).unwrap_err());
        assert_eq!(message, "Validation error: Required at \"name\"");
    }

    #[test]
    fn not_json_is_invalid_json_body() {
        for body in [&b"{name:"[..], b"", b"<xml/>"] {
            let err = parse_json::<Profile>(body).unwrap_err();
            assert!(matches!(err, ApiError::BadRequest(ref m) if m == INVALID_JSON_BODY));
        }
    }

    #[test]
    fn query_reader_reports_every_bad_parameter() {
        let mut q = QueryReader::parse(Some("limit=abc&offset=-1&active=yes"));
        let paging = Paging::read(&mut q, 50);
        let active = q.bool("active");
        assert_eq!(paging.limit, 50);
        assert_eq!(active, None);
        let (message, details) = split(q.finish().unwrap_err());
        assert_eq!(
            message,
            "Validation error: Expected number, received nan at \"limit\"; Offset must be greater than or equal to 0 at \"offset\"; Invalid enum value. Expected 'true' | 'false', received 'yes' at \"active\""
        );
        assert_eq!(details["issues"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn limit_is_capped_at_100_and_at_least_1() {
        for (raw, code) in [("limit=101", "too_big"), ("limit=0", "too_small")] {
            let mut q = QueryReader::parse(Some(raw));
            Paging::read(&mut q, 50);
            let (_, details) = split(q.finish().unwrap_err());
            assert_eq!(details["issues"][0]["code"], code);
        }
        let mut q = QueryReader::parse(Some("limit=100&offset=20&cursor=abc"));
        let paging = Paging::read(&mut q, 50);
        q.finish().unwrap();
        assert_eq!(
            paging,
            Paging {
                limit: 100,
                offset: 20,
                cursor: Some("abc".into())
            }
        );
    }

    #[test]
    fn ids_are_one_to_128_characters() {
        assert!(PathId::parse("a").is_ok());
        assert!(PathId::parse(&"x".repeat(128)).is_ok());
        for bad in [String::new(), "x".repeat(129)] {
            let err = PathId::parse(&bad).unwrap_err();
            assert!(matches!(err, ApiError::BadRequest(ref m) if m == INVALID_ID_FORMAT));
        }
    }
}
