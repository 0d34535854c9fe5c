//! The OpenAPI pieces every function shares: the two error envelopes, the common
//! parameters, the security schemes, and [`complete`], which gives every operation the
//! answers every route can give (429, 500, 503, the guard's 401/403, validation 400s), a
//! stable operation id and its group's tag. Each function documents only what is its own,
//! on its handlers (`#[utoipa::path]`), and builds its router from those annotations
//! (`utoipa_axum::routes!`), so the router and the document cannot disagree.

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder, Tag,
};
use utoipa::{IntoParams, PartialSchema, ToSchema};

/// The error envelope of every Portal route (`/api/user`, `/api/admin`, `/api/integrations`,
/// `/api/monitoring`, `/api/health`, and unknown routes).
#[derive(serde::Serialize, ToSchema)]
#[schema(example = json!({"ok": false, "error": "Unauthorized"}))]
pub struct ErrorEnvelope {
    /// Always `false`.
    pub ok: bool,
    /// One readable line; for validation errors it names the field.
    pub error: String,
    /// Validation errors only: zod-shaped `issues` and `flattened` field errors.
    #[schema(value_type = Option<Object>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// The error body of `/api/auth/*`, as BetterAuth sends it.
#[derive(serde::Serialize, ToSchema)]
#[schema(example = json!({"code": "INVALID_EMAIL_OR_PASSWORD", "message": "Invalid email or password"}))]
pub struct AuthErrorBody {
    /// Machine-readable code (absent on a few answers, e.g. the rate limiter's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
}

/// An OAuth error (RFC 6749 5.2): what the OpenID Connect provider's routes answer.
#[derive(serde::Serialize, ToSchema)]
#[schema(example = json!({"error": "invalid_grant", "error_description": "code verification failed"}))]
pub struct OAuthProtocolError {
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// An error of `/api/auth/oauth2/*`: OAuth's `{error, error_description}`, or BetterAuth's
/// own body where the plugin's routes answer with it (a body that fails validation, no
/// session, an untrusted origin).
#[derive(serde::Serialize, ToSchema)]
#[serde(untagged)]
pub enum OAuthErrorBody {
    OAuth(OAuthProtocolError),
    BetterAuth(AuthErrorBody),
}

/// Offset or cursor paging of every listing. Give `cursor` (the `nextCursor` of the
/// previous page) for O(page) paging; `offset` is for small jumps.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Page size (default 100; admin users: 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// Items to skip.
    #[param(minimum = 0, maximum = 10000)]
    pub offset: Option<u32>,
    /// The `nextCursor` of the previous page, as it was given.
    #[param(max_length = 2048)]
    pub cursor: Option<String>,
}

/// A path id: 1 to 128 characters, else 400 `Invalid id format`.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
pub struct Id {
    #[param(min_length = 1, max_length = 128)]
    pub id: String,
}

/// The security schemes. A guarded handler says `security(("signedIn" = []))`; the
/// published document lists the three credentials every guard accepts in its place.
pub const SESSION: &str = "session";
pub const BEARER: &str = "bearer";
pub const API_KEY: &str = "apiKey";
/// The chat bridge's own token (`BRIDGE_SERVICE_TOKEN`).
pub const BRIDGE_TOKEN: &str = "bridgeToken";

fn any_credential() -> Vec<SecurityRequirement> {
    [SESSION, BEARER, API_KEY]
        .into_iter()
        .map(|scheme| SecurityRequirement::new::<_, _, &str>(scheme, []))
        .collect()
}

fn json_error(description: &str, schema: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(schema)))
                .build(),
        )
        .build()
        .into()
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", item.get.as_mut()),
        ("put", item.put.as_mut()),
        ("post", item.post.as_mut()),
        ("delete", item.delete.as_mut()),
        ("patch", item.patch.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.map(|op| (method, op)))
}

/// `get /api/admin/users/{id}` → `getApiAdminUsersById`.
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_string();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let (by, name) = match segment.strip_prefix('{') {
            Some(param) => ("By", param.trim_end_matches('}')),
            None => ("", segment),
        };
        id.push_str(by);
        for word in name.split(['-', '_']).filter(|w| !w.is_empty()) {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                id.extend(first.to_uppercase());
                id.push_str(chars.as_str());
            }
        }
    }
    id
}

/// The group a path belongs to: its function.
pub fn group_of(path: &str) -> &'static str {
    let rest = path.trim_start_matches("/api/").trim_start_matches('/');
    match rest.split('/').next().unwrap_or("") {
        "auth" | ".well-known" => "auth",
        "user" => "user",
        "admin" => "admin",
        "integrations" | "bridge" => "integrations",
        _ => "monitoring",
    }
}

/// The document as published: title, security schemes, the shared error schemas, and on
/// every operation the answers any route can give.
pub fn complete(mut doc: OpenApi) -> OpenApi {
    doc.info = InfoBuilder::new()
        .title("Portal API")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "The community account portal: BetterAuth-compatible `/api/auth/*`, the signed-in \
             user's `/api/user/*`, staff and admin `/api/admin/*`, community service accounts \
             `/api/integrations/*`, and monitoring. Every Portal error is \
             `{ok: false, error, details?}`; `/api/auth/*` errors are BetterAuth's \
             `{code, message}`. Rate-limited routes send `X-RateLimit-*` headers and, over the \
             limit, 429 with `Retry-After`; a store that cannot answer is 503 with `Retry-After`.",
        ))
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components
        .schemas
        .insert("ErrorEnvelope".into(), ErrorEnvelope::schema());
    components
        .schemas
        .insert("AuthErrorBody".into(), AuthErrorBody::schema());
    components
        .schemas
        .insert("OAuthProtocolError".into(), OAuthProtocolError::schema());
    components
        .schemas
        .insert("OAuthErrorBody".into(), OAuthErrorBody::schema());
    components.add_security_scheme(
        SESSION,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            "better-auth.session_token",
            "The signed session cookie set by sign-in (`__Secure-` prefixed over https).",
        ))),
    );
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API key (`portal_…`) or a signed session token (BetterAuth's bearer plugin).",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        API_KEY,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "x-api-key",
            "An API key, as BetterAuth's api-key plugin sends it.",
        ))),
    );
    components.add_security_scheme(
        BRIDGE_TOKEN,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "The chat bridge's `BRIDGE_SERVICE_TOKEN`; when it is configured, the only \
                     credential `/api/bridge/*` takes.",
                ))
                .build(),
        ),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        let group = group_of(path);
        let auth = group == "auth";
        let schema = if auth && path.contains("/oauth2/") {
            "OAuthErrorBody"
        } else if auth {
            "AuthErrorBody"
        } else {
            "ErrorEnvelope"
        };
        for (method, op) in operations(item) {
            op.operation_id = Some(operation_id(method, path));
            op.tags = Some(vec![group.to_string()]);
            let takes_input =
                op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            let guarded = op.security.as_ref().is_some_and(|s| !s.is_empty());
            if guarded {
                let bridge = serde_json::to_string(&op.security)
                    .is_ok_and(|text| text.contains(BRIDGE_TOKEN));
                let mut accepted = any_credential();
                if bridge {
                    accepted.insert(0, SecurityRequirement::new::<_, _, &str>(BRIDGE_TOKEN, []));
                }
                op.security = Some(accepted);
            }
            let mut add = |status: &str, description: &str| {
                op.responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| json_error(description, schema));
            };
            if takes_input {
                add("400", "The input is invalid (the body names the field).");
            }
            if guarded {
                add("401", "No valid session or API key.");
            }
            if group == "admin" {
                add(
                    "403",
                    "The caller is not staff or admin, or the role rules refuse the change.",
                );
            }
            if op.request_body.is_some() {
                add("413", "The body is larger than the limit.");
                add("415", "The body is not of a supported content type.");
            }
            if auth && method != "get" {
                add(
                    "403",
                    "The request's origin is not trusted (cookie-carrying requests).",
                );
            }
            add("429", "Too many requests: wait `Retry-After` seconds.");
            add(
                "500",
                "Unexpected failure (the cause is logged, never sent).",
            );
            add(
                "503",
                "The store or a service is unavailable: retry after `Retry-After` seconds.",
            );
        }
    }
    doc.tags = Some(
        [
            ("auth", "BetterAuth's wire protocol: sign-up, sign-in, sessions, passwords, e-mail verification, API keys."),
            ("user", "The signed-in user's own profile and sessions."),
            ("admin", "Staff and admins: users, sessions, API keys, OAuth clients, statistics."),
            ("integrations", "Accounts on community services."),
            ("monitoring", "Health and the Sentry tunnel."),
        ]
        .into_iter()
        .map(|(name, description)| {
            let mut tag = Tag::new(name);
            tag.description = Some(description.to_string());
            tag
        })
        .collect(),
    );
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_read_like_the_route() {
        assert_eq!(
            operation_id("get", "/api/admin/users/{id}"),
            "getApiAdminUsersById"
        );
        assert_eq!(
            operation_id("post", "/api/auth/sign-up/email"),
            "postApiAuthSignUpEmail"
        );
        assert_eq!(
            operation_id("get", "/api/integrations/{integration}/accounts"),
            "getApiIntegrationsByIntegrationAccounts"
        );
    }
}
