//! Who is calling: a signed session cookie, `Authorization: Bearer <session token>` (signed
//! or bare), `Authorization: Bearer <api-key>` or `x-api-key: <api-key>`, in that order.
//! Each is resolved with ONE strongly consistent DynamoDB round trip that returns the
//! session (or key) and its user together. The guards are axum extractors.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::{ApiError, FORBIDDEN_ADMIN, FORBIDDEN_ADMIN_OR_STAFF};
use crate::model::{ApiKey, Role, Session, User};
use crate::rate_limit::{Bucket, RateSlot};
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::api_keys::key_user_id;
use crate::store::keys;
use crate::store::sessions::{Resolved, token_user_id};
use crate::time::{iso, now};

/// A secret the client presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presented {
    SessionToken(String),
    ApiKey(String),
}

pub const API_KEY_HEADER: &str = "x-api-key";

/// The bearer value of `Authorization` (scheme case-insensitive).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|v| !v.is_empty())
}

/// What the request presents, in the documented order of precedence.
pub fn presented(state: &AppState, headers: &HeaderMap) -> Option<Presented> {
    if let Some(token) = state.cookies.session_token(headers) {
        return Some(Presented::SessionToken(token));
    }
    if let Some(value) = bearer(headers) {
        if let Some(token) = state.cookies.verify(value) {
            return Some(Presented::SessionToken(token));
        }
        if token_user_id(value).is_some() {
            return Some(Presented::SessionToken(value.to_string()));
        }
        if key_user_id(value).is_some() {
            return Some(Presented::ApiKey(value.to_string()));
        }
    }
    headers
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| Presented::ApiKey(v.trim().to_string()))
}

/// How an identity was established.
#[derive(Debug, Clone)]
pub enum Via {
    Session(Session),
    ApiKey(ApiKey),
}

/// A signed-in, non-banned user.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: User,
    pub via: Via,
}

impl Identity {
    pub fn session_id(&self) -> Option<&str> {
        match &self.via {
            Via::Session(s) => Some(&s.id),
            Via::ApiKey(_) => None,
        }
    }
}

/// Why a presented secret did not give an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Nothing presented, or nothing it names.
    Missing,
    /// An expired session, or one revoked by a newer session generation on its user (the
    /// row may be deleted and cookies cleared).
    SessionExpired(String),
    KeyDisabled,
    KeyExpired,
    Banned,
}

/// Resolves what the request presents. `Ok(Err(refusal))` says why nobody is signed in.
pub async fn resolve(
    state: &AppState,
    presented: Option<Presented>,
) -> Result<Result<Identity, Refusal>, StoreError> {
    let Some(presented) = presented else {
        return Ok(Err(Refusal::Missing));
    };
    let resolved = match &presented {
        Presented::SessionToken(token) => state
            .db
            .sessions()
            .resolve(token)
            .await?
            .map(|(s, u)| Resolved::Session(s, u)),
        Presented::ApiKey(raw) => state.db.api_keys().resolve(raw).await?,
    };
    let at = now();
    if let Some(Resolved::Session(_, user) | Resolved::ApiKey(_, user)) = &resolved {
        crate::request::identified(&user.id);
    }
    Ok(match resolved {
        None => Err(Refusal::Missing),
        Some(Resolved::Session(session, user))
            if session.is_expired_at(at) || session.generation < user.generations.sessions =>
        {
            Err(Refusal::SessionExpired(session.id))
        }
        // Made before the user's keys were revoked: as if it did not exist.
        Some(Resolved::ApiKey(key, user)) if key.generation < user.generations.api_keys => {
            Err(Refusal::Missing)
        }
        Some(Resolved::ApiKey(key, _)) if !key.enabled => Err(Refusal::KeyDisabled),
        Some(Resolved::ApiKey(key, _)) if key.is_expired_at(at) => Err(Refusal::KeyExpired),
        Some(Resolved::Session(_, user) | Resolved::ApiKey(_, user)) if user.is_banned_at(at) => {
            Err(Refusal::Banned)
        }
        Some(Resolved::Session(session, user)) => Ok(Identity {
            user,
            via: Via::Session(session),
        }),
        Some(Resolved::ApiKey(key, user)) => {
            // Usage bookkeeping (at most one write a minute per key); never fails the call.
            let minute_ago = iso(at - time::Duration::minutes(1));
            if let Err(err) = state
                .db
                .api_keys()
                .record_use(&key, &iso(at), &minute_ago)
                .await
            {
                tracing::warn!(error = %err, "could not record API key use");
            }
            Ok(Identity {
                user,
                via: Via::ApiKey(key),
            })
        }
    })
}

/// The identity of a request, resolved once and kept in its extensions.
pub async fn identify(parts: &mut Parts, state: &AppState) -> Result<Option<Identity>, ApiError> {
    if let Some(cached) = parts.extensions.get::<Option<Identity>>() {
        return Ok(cached.clone());
    }
    let presented = presented(state, &parts.headers);
    let identity = resolve(state, presented).await?.ok();
    parts.extensions.insert(identity.clone());
    Ok(identity)
}

pub const MISSING_ORIGIN: &str = "Forbidden - missing or null Origin";
pub const INVALID_ORIGIN: &str = "Forbidden - invalid origin";

/// The cross-site request check of the Portal routes: a request that changes state
/// (anything but GET, HEAD, OPTIONS) and is authenticated by the session COOKIE must come
/// from a trusted origin (`Origin`, else `Referer`), as on `/api/auth/*`. API keys and
/// bearer tokens are not sent by browsers on their own, so they are not checked.
fn check_cookie_origin(state: &AppState, parts: &Parts) -> Result<(), ApiError> {
    use axum::http::Method;
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS)
        || state.cookies.session_token(&parts.headers).is_none()
    {
        return Ok(());
    }
    match crate::origins::check_request_origin(&state.config, &parts.headers) {
        Ok(()) => Ok(()),
        Err(crate::origins::OriginRefusal::Missing) => Err(ApiError::forbidden(MISSING_ORIGIN)),
        Err(crate::origins::OriginRefusal::Untrusted) => Err(ApiError::forbidden(INVALID_ORIGIN)),
    }
}

/// requireAuth: any signed-in, non-banned user; else 401 `Unauthorized`. Also counts the
/// request against the caller's own limit (per user, or per API key).
#[derive(Debug, Clone)]
pub struct RequireAuth(pub Identity);

/// requireAdmin: role admin; else 401 / 403 `Forbidden - Admin access required`.
#[derive(Debug, Clone)]
pub struct RequireAdmin(pub Identity);

/// requireAdminOrStaff: role admin or staff; else 401 / 403.
#[derive(Debug, Clone)]
pub struct RequireAdminOrStaff(pub Identity);

impl<S> FromRequestParts<S> for RequireAuth
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        check_cookie_origin(&state, parts)?;
        let identity = identify(parts, &state)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let slot = parts.extensions.get::<RateSlot>().cloned();
        count_identity(&state, &identity, slot.as_ref()).await?;
        Ok(RequireAuth(identity))
    }
}

impl<S> FromRequestParts<S> for RequireAdmin
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let RequireAuth(identity) = RequireAuth::from_request_parts(parts, state).await?;
        if identity.user.role == Role::Admin {
            Ok(RequireAdmin(identity))
        } else {
            Err(ApiError::forbidden(FORBIDDEN_ADMIN))
        }
    }
}

impl<S> FromRequestParts<S> for RequireAdminOrStaff
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let RequireAuth(identity) = RequireAuth::from_request_parts(parts, state).await?;
        if matches!(identity.user.role, Role::Admin | Role::Staff) {
            Ok(RequireAdminOrStaff(identity))
        } else {
            Err(ApiError::forbidden(FORBIDDEN_ADMIN_OR_STAFF))
        }
    }
}

/// Counts a request of a signed-in caller: per user for sessions, per key for API keys.
/// Over the limit: 429 `Too many requests` with `Retry-After`.
pub async fn count_identity(
    state: &AppState,
    identity: &Identity,
    slot: Option<&RateSlot>,
) -> Result<(), ApiError> {
    let limits = &state.config.rate_limits;
    let bucket = match &identity.via {
        Via::Session(_) => Bucket::new(keys::rate_bucket_user(&identity.user.id), limits.per_user),
        Via::ApiKey(key) => Bucket::new(keys::rate_bucket_api_key(&key.id), limits.per_api_key),
    };
    let Some(decision) = crate::rate_limit::check(state, &[bucket]).await? else {
        return Ok(());
    };
    if let Some(slot) = slot {
        slot.put(decision);
    }
    if decision.allowed {
        Ok(())
    } else {
        Err(ApiError::TooManyRequests {
            retry_after_secs: decision.retry_after,
        })
    }
}
