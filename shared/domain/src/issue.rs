//! The zod issue every validation problem becomes, and [`Rules`], which checks a parsed
//! value and produces issues directly (the web edge makes the 400 envelope of them).
//! The same issues also render in zod 4's wording for BetterAuth's `/api/auth/*` bodies.

use serde_json::{Map, Value, json};

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

    /// The issue as zod writes it.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("code".into(), json!(self.code));
        for (k, v) in &self.extra {
            obj.insert(k.clone(), v.clone());
        }
        obj.insert("message".into(), json!(self.message));
        obj.insert("path".into(), Value::Array(self.path.clone()));
        Value::Object(obj)
    }

    pub fn path_string(&self) -> String {
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
    pub fn summary(&self) -> String {
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

impl Issue {
    /// The issue as zod 4 words it, as BetterAuth answers: `[body.email] Invalid email
    /// address`, `[body.name] Invalid input: expected string, received undefined` (the
    /// contract's own envelopes use zod 3's wording).
    pub fn zod4_line(&self, source: &str) -> String {
        let message = match self.code {
            "invalid_type" => format!(
                "Invalid input: expected {}, received {}",
                self.extra
                    .get("expected")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown"),
                self.extra
                    .get("received")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown"),
            ),
            "invalid_string"
                if self.extra.get("validation").and_then(Value::as_str) == Some("email") =>
            {
                "Invalid email address".to_string()
            }
            _ => self.message.clone(),
        };
        if self.path.is_empty() {
            format!("[{source}] {message}")
        } else {
            format!("[{source}.{}] {message}", self.path_string())
        }
    }
}

/// The rules of a body, checked after it parsed: each broken rule is one issue at its
/// field (issues come out ordered by field).
#[derive(Debug, Default)]
pub struct Rules(Vec<Issue>);

impl Rules {
    /// `value` must have `min..=max` characters.
    pub fn length(&mut self, field: &str, value: &str, min: u64, max: u64) {
        self.sized(field, "string", value.chars().count() as u64, min, max);
    }

    /// `items` must have `min..=max` entries.
    pub fn count<T>(&mut self, field: &str, items: &[T], min: u64, max: u64) {
        self.sized(field, "array", items.len() as u64, min, max);
    }

    fn sized(&mut self, field: &str, kind: &str, n: u64, min: u64, max: u64) {
        if n < min {
            self.0.push(Issue::too_small(kind, min, false).at(field));
        } else if n > max {
            self.0.push(Issue::too_big(kind, max, false).at(field));
        }
    }

    /// A broken rule: `email` and `url` are zod's string checks; anything else is a custom
    /// issue. `message` replaces the default message.
    pub fn broken(&mut self, field: &str, code: &str, message: Option<&str>) {
        let issue = match code {
            "email" => Issue::invalid_string("email", "Invalid email"),
            "url" => Issue::invalid_string("url", "Invalid url"),
            other => Issue::custom(format!("Invalid {other}")),
        };
        let issue = match message {
            Some(m) => Issue {
                message: m.to_string(),
                ..issue
            },
            None => issue,
        };
        self.0.push(issue.at(field));
    }

    /// Any other issue (placed with [`Issue::at`]).
    pub fn push(&mut self, issue: Issue) {
        self.0.push(issue);
    }

    /// Every broken rule, ordered by field; `Ok` when none.
    pub fn finish(mut self) -> Result<(), Vec<Issue>> {
        if self.0.is_empty() {
            return Ok(());
        }
        self.0.sort_by_key(Issue::path_string);
        Err(self.0)
    }
}

/// What a parsed body checks about itself (see [`Rules`]).
pub trait Validate {
    fn validate(&self) -> Result<(), Vec<Issue>>;
}
