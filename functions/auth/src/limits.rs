//! The auth rate limiter as BetterAuth applies it (per address and path, before routing)
//! plus Portal's per-target-e-mail limit of the credential and mail endpoints.

use std::sync::{Arc, Mutex};

use axum::body::Body as AxumBody;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portal_domain::config::{Config, Rule};
use portal_domain::store::keys;
use portal_domain::store::rate_counters::RateDecision;
use portal_web::AppState;
use portal_web::caller::identify;
use portal_web::http::{VerbatimBody, client_ip, rate_limit_subject};
use portal_web::openapi::AuthErrorBody;
use portal_web::rate_limit::{self, Bucket};

use crate::error::AuthError;
use crate::input::{Body, Fields};
use crate::origin::check_url_fields;
use crate::state::BASE_PATH;

/// Which rule a path is counted under.
pub fn rule_for(config: &Config, path: &str) -> Rule {
    let limits = &config.rate_limits;
    if [
        "/sign-in",
        "/sign-up",
        "/change-password",
        "/change-email",
        "/two-factor/",
        "/passkey/verify-authentication",
        "/oauth2/register",
    ]
    .iter()
    .any(|p| path.starts_with(p))
    {
        limits.credentials
    } else if path.starts_with("/request-password-reset")
        || path.starts_with("/send-verification-email")
        || path.starts_with("/forget-password")
    {
        limits.mail
    } else {
        limits.auth_default
    }
}

/// BetterAuth's 429: text/plain JSON message, `X-Retry-After`, plus our standard headers.
pub fn too_many(decision: &RateDecision) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain;charset=UTF-8"),
        )],
        AxumBody::from(
            serde_json::to_vec(&AuthErrorBody {
                code: None,
                message: "Too many requests. Please try again later.".into(),
            })
            .unwrap_or_default(),
        ),
    )
        .into_response();
    rate_limit::apply_headers(response.headers_mut(), decision);
    response.extensions_mut().insert(VerbatimBody);
    response
}

/// Per IP and path, before routing; the answer carries the `X-RateLimit-*` headers.
pub async fn rate_limit_by_ip(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !state.config.rate_limits.enabled {
        // Nothing to count: no bucket is even named.
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let full = parts.uri.path();
    let path = full.strip_prefix(BASE_PATH).unwrap_or(full).to_string();
    // Counted per route template: a raw path can carry a secret (a reset token), and a
    // table key never holds one.
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str())
        .unwrap_or("unmatched");
    let route = route.strip_prefix(BASE_PATH).unwrap_or(route).to_string();
    let ip = client_ip(&parts).map_or_else(|| "unknown".to_string(), rate_limit_subject);
    let bucket = Bucket::new(
        keys::rate_bucket_address(&ip, &route),
        rule_for(&state.config, &path),
    );
    let mut parts = parts;
    // Sign-in, sign-up and the OAuth token and userinfo endpoints count the address in their
    // handler, beside their own first reads (and sign-in's per-e-mail count): one round trip
    // for all; whatever the handler does, the
    // address is counted: if it answered without counting (a refused body), it is counted
    // now, and an address over its limit gets the 429 it would have got first.
    if HANDLER_COUNTS.contains(&(parts.method.as_str(), route.as_str()))
        && state.config.rate_limits.enabled
    {
        let address = AddressCount::new(bucket);
        parts.extensions.insert(address.clone());
        let response = next.run(Request::from_parts(parts, body)).await;
        let decision = match address.take() {
            Some(bucket) => match rate_limit::check(&state, &[bucket]).await {
                Ok(Some(d)) if !d.allowed => return too_many(&d),
                Ok(decision) => decision,
                Err(err) => return AuthError::from(err).into_response(),
            },
            None => address.decision(),
        };
        return with_headers(response, decision);
    }
    // A read (get-session, list-sessions, ...) that presents a credential: the identity is read
    // beside the count, one round trip for both; refused, the read is dropped unused. (With
    // limits off there is nothing to go beside: the handler reads.)
    let counting = rate_limit::check(&state, std::slice::from_ref(&bucket));
    let prefetching = parts.method == axum::http::Method::GET && state.config.rate_limits.enabled;
    let (decision, read) = if prefetching {
        let (decision, read) = tokio::join!(counting, identify(&mut parts, &state));
        (decision, read.map(drop))
    } else {
        (counting.await, Ok(()))
    };
    let decision = match decision {
        Ok(decision) => decision,
        Err(err) => return AuthError::from(err).into_response(),
    };
    if let Some(d) = decision.filter(|d| !d.allowed) {
        return too_many(&d);
    }
    // The read is kept in the request for the handler; if it failed, the handler would
    // fail the same way: answer now rather than wait again.
    if let Err(err) = read {
        return AuthError::from(err).into_response();
    }
    with_headers(next.run(Request::from_parts(parts, body)).await, decision)
}

fn with_headers(mut response: Response, decision: Option<RateDecision>) -> Response {
    if let Some(d) = decision {
        rate_limit::apply_headers(response.headers_mut(), &d);
    }
    response
}

/// The routes whose handler counts the caller's address itself ([`AddressCount`]), beside
/// its own first read.
const HANDLER_COUNTS: [(&str, &str); 7] = [
    ("POST", "/sign-in/email"),
    ("POST", "/sign-in/username"),
    ("POST", "/sign-up/email"),
    ("POST", "/passkey/verify-authentication"),
    ("POST", "/oauth2/token"),
    ("GET", "/oauth2/userinfo"),
    ("POST", "/oauth2/userinfo"),
];

/// A request's per-address count, left by the limit layer for the handler to send with its
/// first round trip; taken at most once.
#[derive(Clone)]
pub struct AddressCount(Arc<Mutex<AddressState>>);

enum AddressState {
    Pending(Bucket),
    Counted(Option<RateDecision>),
}

impl AddressCount {
    fn new(bucket: Bucket) -> Self {
        Self(Arc::new(Mutex::new(AddressState::Pending(bucket))))
    }

    /// The bucket, if nobody has counted it yet (from now on, somebody has).
    fn take(&self) -> Option<Bucket> {
        let mut state = self.0.lock().ok()?;
        match std::mem::replace(&mut *state, AddressState::Counted(None)) {
            AddressState::Pending(bucket) => Some(bucket),
            counted => {
                *state = counted;
                None
            }
        }
    }

    fn settle(&self, decision: Option<RateDecision>) {
        if let Ok(mut state) = self.0.lock() {
            *state = AddressState::Counted(decision);
        }
    }

    fn decision(&self) -> Option<RateDecision> {
        match &*self.0.lock().ok()? {
            AddressState::Counted(decision) => *decision,
            AddressState::Pending(_) => None,
        }
    }
}

/// Counts the caller's address where the limit layer left it to the handler (a passkey
/// sign-in counts it beside its first reads); 429 when over.
pub async fn count_address(
    state: &AppState,
    address: Option<&AddressCount>,
) -> Result<(), Response> {
    let Some((address, bucket)) = address.and_then(|a| a.take().map(|b| (a, b))) else {
        return Ok(());
    };
    let decision = rate_limit::check(state, std::slice::from_ref(&bucket)).await;
    if let Ok(decided) = &decision {
        address.settle(*decided);
    }
    match decision {
        Ok(Some(d)) if !d.allowed => Err(too_many(&d)),
        Ok(_) => Ok(()),
        Err(err) => Err(AuthError::from(err).into_response()),
    }
}

/// Counts a request against the e-mail it targets (sign-in, sign-up, reset, verification).
pub async fn limit_email(state: &AppState, path: &str, email: &str) -> Result<(), Response> {
    count_credential_use(state, None, path, email).await
}

/// Counts a credential request against the account it targets (its e-mail, or its username
/// for `/sign-in/username`) and, when the limit layer left it, against the caller's
/// address: both at once. The address's refusal comes first.
pub async fn count_credential_use(
    state: &AppState,
    address: Option<&AddressCount>,
    path: &str,
    email: &str,
) -> Result<(), Response> {
    let by_email = Bucket::new(
        keys::rate_bucket_email(email, path),
        rule_for(&state.config, path),
    );
    let by_address = address.and_then(AddressCount::take);
    let counted = match by_address {
        Some(by_address) => {
            let (by_address, by_email) = tokio::join!(
                rate_limit::check(state, std::slice::from_ref(&by_address)),
                rate_limit::check(state, std::slice::from_ref(&by_email))
            );
            if let (Some(address), Ok(decision)) = (address, &by_address) {
                address.settle(*decision);
            }
            match by_address {
                Ok(Some(d)) if !d.allowed => Ok(Some(d)),
                Ok(_) => by_email,
                Err(err) => Err(err),
            }
        }
        None => rate_limit::check(state, &[by_email]).await,
    };
    match counted {
        Ok(Some(d)) if !d.allowed => Err(too_many(&d)),
        Ok(_) => Ok(()),
        Err(err) => Err(AuthError::from(err).into_response()),
    }
}

/// A body that asks for a mail to an address (reset, verification): `{email, <link field>?}`.
pub struct MailRequest {
    /// Lower-cased.
    pub email: String,
    /// Where the mailed link sends the browser (already checked).
    pub link: Option<String>,
}

/// Reads a mail request: the e-mail and the link field validated, every URL field of the
/// body checked, and the request counted against the address (`Ok(Err(429))` when over).
pub async fn mail_request(
    state: &AppState,
    body: Body,
    link_field: &str,
    path: &str,
) -> Result<Result<MailRequest, Response>, AuthError> {
    let body = body.json_only()?;
    let mut f = Fields::of("body", &body.value, false);
    let email = f.email("email");
    let link = f.optional_string(link_field);
    f.finish()?;
    let Some(email) = email.map(|e| e.to_lowercase()) else {
        return Err(AuthError::validation(
            "[body.email] Invalid email address".into(),
        ));
    };
    check_url_fields(&state.config, &body.value)?;
    if let Err(limited) = limit_email(state, path, &email).await {
        return Ok(Err(limited));
    }
    Ok(Ok(MailRequest { email, link }))
}
