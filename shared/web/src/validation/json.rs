//! JSON bodies: sent as JSON (415 otherwise), within the cap (413), parsed by serde (its
//! type errors become zod `invalid_type` issues at the path it tracked), then checked by
//! the body's own [`Validate`] rules.

use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{Issue, Validate, type_name, validation_error};
use crate::error::{ApiError, INVALID_JSON_BODY, INVALID_REQUEST_BODY, UNSUPPORTED_MEDIA_TYPE};

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

/// A body that may be absent: empty, it is `None`; otherwise as [`JsonBody`].
pub struct OptionalJsonBody(pub Option<JsonBody>);

impl<S: Send + Sync> FromRequest<S> for OptionalJsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let typed = req.headers().contains_key(axum::http::header::CONTENT_TYPE);
        let empty = req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0");
        if !typed || empty {
            let bytes = Bytes::from_request(req, state)
                .await
                .map_err(body_rejection)?;
            if bytes.is_empty() {
                return Ok(Self(None));
            }
            return Err(ApiError::UnsupportedMediaType(
                UNSUPPORTED_MEDIA_TYPE.into(),
            ));
        }
        JsonBody::from_request(req, state)
            .await
            .map(|body| Self((!body.0.is_empty()).then_some(body)))
    }
}

impl OptionalJsonBody {
    /// The body as a JSON document, `None` when there is none.
    pub fn value(&self) -> Result<Option<Value>, ApiError> {
        self.0.as_ref().map(JsonBody::value).transpose()
    }
}

impl JsonBody {
    /// The body as a JSON document (400 `Invalid JSON body`).
    pub fn value(&self) -> Result<Value, ApiError> {
        json_document(&self.0)
    }
}

/// A JSON document, or 400 `Invalid JSON body`: not JSON, nested deeper than serde_json's
/// limit (128), or an object with a key twice (parsers disagree on which one wins, so we
/// take neither).
fn json_document(bytes: &[u8]) -> Result<Value, ApiError> {
    let invalid = |_| ApiError::bad_request(INVALID_JSON_BODY);
    serde_json::from_slice::<NoDuplicateKeys>(bytes).map_err(invalid)?;
    serde_json::from_slice(bytes).map_err(invalid)
}

/// Walks a JSON document and fails on an object that repeats a key.
struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NoDuplicateKeysVisitor)
    }
}

struct NoDuplicateKeysVisitor;

impl<'de> serde::de::Visitor<'de> for NoDuplicateKeysVisitor {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key) {
                return Err(serde::de::Error::custom("duplicate key"));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(NoDuplicateKeys)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
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
/// Every body is a JSON object: serde would otherwise read a struct from an array by
/// position (`[null, null]` as `{name: null, image: null}`).
pub fn parse_json<T: DeserializeOwned + Validate>(bytes: &[u8]) -> Result<T, ApiError> {
    let value = json_document(bytes)?;
    if !value.is_object() {
        return Err(validation_error(vec![Issue::invalid_type(
            "object",
            type_name(Some(&value)),
        )]));
    }
    let received = value.clone();
    let parsed: T = serde_path_to_error::deserialize(value)
        .map_err(|err| validation_error(vec![serde_issue(&err, &received)]))?;
    parsed.validate().map_err(validation_error)?;
    Ok(parsed)
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

/// For `Option<Option<T>>` fields: absent is `None`, `null` is `Some(None)` (clear it).
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The JSON object of a hand-read body (400 otherwise).
pub fn object(body: &Value) -> Result<&serde_json::Map<String, Value>, ApiError> {
    body.as_object()
        .ok_or_else(|| validation_error(vec![Issue::invalid_type("object", type_name(Some(body)))]))
}

/// An optional string field of a hand-read body (an issue when it has another type).
pub fn optional_string(
    map: &serde_json::Map<String, Value>,
    field: &str,
    issues: &mut Vec<Issue>,
) -> Option<String> {
    match map.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            issues.push(Issue::invalid_type("string", type_name(Some(other))).at(field));
            None
        }
    }
}
