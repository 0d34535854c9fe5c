//! Request bodies as BetterAuth reads them: JSON (and form-encoded for sign-in/sign-up),
//! 415 for other types, 400 `Invalid JSON in request body`, and zod-4 style validation
//! messages (`[body.email] Invalid email address`, joined with `; `).

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use bytes::Bytes;
use portal_web::validation::{Issue, type_name};
use serde_json::{Map, Value};

use crate::error::AuthError;

/// A parsed body (`Value::Null` when there was none) and its media type.
#[derive(Debug, Clone)]
pub struct Body {
    pub value: Value,
    pub was_form: bool,
}

fn media_type(req: &Request) -> String {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_json(media: &str) -> bool {
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = AuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let media = media_type(&req);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AuthError::with_message(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "PAYLOAD_TOO_LARGE",
                    "Request body too large",
                )
            } else {
                AuthError::with_message(
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    "Invalid request body",
                )
            }
        })?;
        if bytes.is_empty() {
            return Ok(Self {
                value: Value::Null,
                was_form: false,
            });
        }
        if is_json(&media) {
            let value = serde_json::from_slice(&bytes).map_err(|_| {
                AuthError::with_message(
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    "Invalid JSON in request body",
                )
            })?;
            return Ok(Self {
                value,
                was_form: false,
            });
        }
        if media == "application/x-www-form-urlencoded" {
            let map: Map<String, Value> = url::form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect();
            return Ok(Self {
                value: Value::Object(map),
                was_form: true,
            });
        }
        let message = if media.is_empty() {
            "Content-Type is required. Allowed types: application/json".to_string()
        } else {
            format!("Content-Type \"{media}\" is not allowed. Allowed types: application/json")
        };
        Err(AuthError::with_message(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            message,
        ))
    }
}

impl Body {
    /// Only sign-in and sign-up take form bodies.
    pub fn json_only(self) -> Result<Self, AuthError> {
        if self.was_form {
            return Err(AuthError::with_message(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "Content-Type \"application/x-www-form-urlencoded\" is not allowed. Allowed types: application/json",
            ));
        }
        Ok(self)
    }
}

/// A query string's pairs as an object, for [`Fields`] to read as BetterAuth reads a query
/// (every value a string).
pub fn query_object(query: &std::collections::HashMap<String, String>) -> Value {
    Value::Object(
        query
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Reads fields of an object body (or query), collecting the shared zod issues, worded
/// as zod 4 words them (BetterAuth's messages).
pub struct Fields<'a> {
    source: &'static str,
    object: Option<&'a Map<String, Value>>,
    issues: Vec<Issue>,
}

impl<'a> Fields<'a> {
    /// `source` is `body` or `query`. A body that is not an object is one issue.
    pub fn of(source: &'static str, value: &'a Value, optional: bool) -> Self {
        let mut issues = Vec::new();
        let object = match value {
            Value::Object(map) => Some(map),
            Value::Null if optional => None,
            other => {
                let received = if other.is_null() {
                    "undefined"
                } else {
                    type_name(Some(other))
                };
                issues.push(Issue::invalid_type("object", received));
                None
            }
        };
        Self {
            source,
            object,
            issues,
        }
    }

    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.object.and_then(|o| o.get(name))
    }

    pub fn has(&self, name: &str) -> bool {
        self.raw(name).is_some()
    }

    fn wrong(&mut self, name: &str, expected: &str) {
        let received = type_name(self.raw(name));
        self.issues
            .push(Issue::invalid_type(expected, received).at(name));
    }

    pub fn string(&mut self, name: &str) -> Option<String> {
        match self.raw(name) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => {
                if self.object.is_some() {
                    self.wrong(name, "string");
                }
                None
            }
        }
    }

    pub fn optional_string(&mut self, name: &str) -> Option<String> {
        match self.raw(name) {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.wrong(name, "string");
                None
            }
        }
    }

    /// Optional string that may also be `null` (to clear).
    pub fn nullable_string(&mut self, name: &str) -> Option<Option<String>> {
        match self.raw(name) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(_) => {
                self.wrong(name, "string");
                None
            }
        }
    }

    pub fn optional_bool(&mut self, name: &str) -> Option<bool> {
        match self.raw(name) {
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            // Form bodies carry booleans as text.
            Some(Value::String(s)) if s == "true" || s == "false" => Some(s == "true"),
            Some(_) => {
                self.wrong(name, "boolean");
                None
            }
        }
    }

    pub fn optional_number(&mut self, name: &str) -> Option<Option<f64>> {
        match self.raw(name) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(Value::Number(n)) => Some(n.as_f64()),
            Some(_) => {
                self.wrong(name, "number");
                None
            }
        }
    }

    /// An optional string that must be one of `options` (zod's enum).
    pub fn one_of(&mut self, name: &str, options: &[&str]) -> Option<String> {
        let value = self.optional_string(name)?;
        if options.contains(&value.as_str()) {
            Some(value)
        } else {
            self.issues
                .push(Issue::invalid_enum(options, &value).at(name));
            None
        }
    }

    /// An optional array of 1 to `max` non-empty strings (zod's `z.array(z.string().min(1))`
    /// with its bounds).
    pub fn optional_strings(&mut self, name: &str, max: usize) -> Option<Vec<String>> {
        match self.raw(name) {
            None | Some(Value::Null) => None,
            Some(Value::Array(all)) if all.iter().all(Value::is_string) => {
                let found: Vec<String> = all
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                if found.is_empty() || found.iter().any(String::is_empty) {
                    self.issue(name, "Too small: expected array to have >=1 items");
                    None
                } else if found.len() > max {
                    self.issue(
                        name,
                        &format!("Too big: expected array to have <={max} items"),
                    );
                    None
                } else {
                    Some(found)
                }
            }
            Some(_) => {
                self.wrong(name, "array");
                None
            }
        }
    }

    /// A required e-mail (`Invalid email address` when malformed).
    pub fn email(&mut self, name: &str) -> Option<String> {
        let value = self.string(name)?;
        if is_email(&value) {
            Some(value)
        } else {
            self.issues
                .push(Issue::invalid_string("email", "Invalid email").at(name));
            None
        }
    }

    /// A broken rule of `field`, with BetterAuth's message.
    pub fn issue(&mut self, field: &str, message: &str) {
        self.issues.push(Issue::custom(message).at(field));
    }

    /// 400 VALIDATION_ERROR with every issue, or Ok.
    pub fn finish(self) -> Result<(), AuthError> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            let lines: Vec<String> = self
                .issues
                .iter()
                .map(|i| i.zod4_line(self.source))
                .collect();
            Err(AuthError::validation(lines.join("; ")))
        }
    }
}

pub use portal_domain::model::is_email;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn issues_are_joined_in_zod_4_wording() {
        let body = json!({"email": "nope", "rememberMe": "yes"});
        let mut f = Fields::of("body", &body, false);
        f.string("name");
        f.email("email");
        f.optional_bool("rememberMe");
        let err = f.finish().unwrap_err();
        assert_eq!(
            err.message,
            "[body.name] Invalid input: expected string, received undefined; [body.email] Invalid email address; [body.rememberMe] Invalid input: expected boolean, received string"
        );
        assert_eq!(err.code, Some("VALIDATION_ERROR"));
    }

    #[test]
    fn a_missing_body_is_one_issue() {
        let mut f = Fields::of("body", &Value::Null, false);
        assert_eq!(f.string("email"), None);
        assert_eq!(
            f.finish().unwrap_err().message,
            "[body] Invalid input: expected object, received undefined"
        );
    }
}
