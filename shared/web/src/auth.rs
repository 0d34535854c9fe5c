//! Who is calling: a signed session cookie, `Authorization: Bearer <session token>` (signed
//! or bare), `Authorization: Bearer <api-key>` or `x-api-key: <api-key>`, in that order.
//! Each is resolved with ONE strongly consistent DynamoDB round trip that returns the
//! session (or key) and its user together. The guards are axum extractors.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::error::{ApiError, FORBIDDEN_ADMIN};

use crate::rate_limit::{Bucket, RateSlot};
use crate::state::AppState;
use portal_domain::store::StoreError;
use portal_domain::store::api_keys::key_user_id;
use portal_domain::store::keys;
use portal_domain::store::rate_limits::RateDecision;
use portal_domain::store::sessions::{Resolved, token_user_id};
use portal_domain::time::{iso, now};

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
    presented_signed(state, headers).map(|(presented, _)| presented)
}

/// [`presented`], and whether it came signed with our secret (a session cookie, or a bearer
/// value with its signature): such a token was minted by us, so the user id it carries names
/// its real owner even before the session is read.
fn presented_signed(state: &AppState, headers: &HeaderMap) -> Option<(Presented, bool)> {
    if let Some(token) = state.cookies.session_token(headers) {
        return Some((Presented::SessionToken(token), true));
    }
    if let Some(value) = bearer(headers) {
        if let Some(token) = state.cookies.verify(value) {
            return Some((Presented::SessionToken(token), true));
        }
        if token_user_id(value).is_some() {
            return Some((Presented::SessionToken(value.to_string()), false));
        }
        if key_user_id(value).is_some() {
            return Some((Presented::ApiKey(value.to_string()), false));
        }
    }
    headers
        .get(API_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(|v| (Presented::ApiKey(v.trim().to_string()), false))
}

/// The bucket a caller's request is counted in, known BEFORE the credential is read, so the
/// count and the read go out together: a signed session token's user (only we sign tokens,
/// so nobody can spend another user's allowance), an API key's own id (a hash of the key:
/// a forged key counts in a bucket nobody owns). `None` for an unsigned raw session token,
/// whose user id anyone could write: it is counted after the read.
pub fn bucket_before_reading(state: &AppState, headers: &HeaderMap) -> Option<Bucket> {
    let limits = &state.config.rate_limits;
    match presented_signed(state, headers)? {
        (Presented::SessionToken(token), true) => Some(Bucket::new(
            keys::rate_bucket_user(token_user_id(&token)?),
            limits.per_user,
        )),
        (Presented::ApiKey(raw), _) => Some(Bucket::new(
            keys::rate_bucket_api_key(&portal_domain::store::api_keys::key_id(&raw)),
            limits.per_api_key,
        )),
        (Presented::SessionToken(_), false) => None,
    }
}

pub use portal_services::moderation::{Identity, Via};

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
/// An API key's use is recorded (at most one write a minute per key).
pub async fn resolve(
    state: &AppState,
    presented: Option<Presented>,
) -> Result<Result<Identity, Refusal>, StoreError> {
    let outcome = read_identity(state, presented).await?;
    if let Ok(identity) = &outcome {
        record_key_use(state, identity).await;
    }
    Ok(outcome)
}

/// [`resolve`] without the bookkeeping write: ONE read, safe to run beside a rate-limit
/// count whose refusal must leave nothing else written.
pub async fn read_identity(
    state: &AppState,
    presented: Option<Presented>,
) -> Result<Result<Identity, Refusal>, StoreError> {
    let Some(presented) = presented else {
        return Ok(Err(Refusal::Missing));
    };
    let resolved = match &presented {
        Presented::SessionToken(token) => state.db.sessions().resolve(token).await?,
        Presented::ApiKey(raw) => state.db.api_keys().resolve(raw).await?,
    };
    let at = now();
    if let Some(Resolved::Session(_, user, _) | Resolved::ApiKey(_, user, _)) = &resolved {
        crate::request::identified(&user.id);
    }
    Ok(match resolved {
        None => Err(Refusal::Missing),
        Some(Resolved::Session(session, user, _))
            if session.is_expired_at(at) || session.generation < user.generations.sessions =>
        {
            Err(Refusal::SessionExpired(session.id))
        }
        // Made before the user's keys were revoked: as if it did not exist.
        Some(Resolved::ApiKey(key, user, _)) if key.generation < user.generations.api_keys => {
            Err(Refusal::Missing)
        }
        Some(Resolved::ApiKey(key, _, _)) if !key.enabled => Err(Refusal::KeyDisabled),
        Some(Resolved::ApiKey(key, _, _)) if key.is_expired_at(at) => Err(Refusal::KeyExpired),
        Some(Resolved::Session(_, user, _) | Resolved::ApiKey(_, user, _))
            if user.is_banned_at(at) =>
        {
            Err(Refusal::Banned)
        }
        Some(Resolved::Session(session, user, user_version)) => Ok(Identity {
            user,
            user_version,
            via: Via::Session(session),
        }),
        Some(Resolved::ApiKey(key, user, user_version)) => Ok(Identity {
            user,
            user_version,
            via: Via::ApiKey(key),
        }),
    })
}

/// A credential's identity, read beside the request's rate-limit count (the auth function's
/// limit layer does so for reads), for the handler to use instead of reading again.
#[derive(Debug, Clone)]
pub struct Prefetched {
    pub presented: Presented,
    pub outcome: Result<Identity, Refusal>,
}

/// Reads the identity of what `headers` present (nothing presented: `None`), to run beside
/// a rate-limit count.
pub async fn prefetch(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Prefetched>, StoreError> {
    let Some(shown) = presented(state, headers) else {
        return Ok(None);
    };
    let outcome = read_identity(state, Some(shown.clone())).await?;
    Ok(Some(Prefetched {
        presented: shown,
        outcome,
    }))
}

/// [`resolve`], taking the identity already read for this same credential when there is one.
pub async fn resolve_prefetched(
    state: &AppState,
    prefetched: Option<&Prefetched>,
    presented: Option<Presented>,
) -> Result<Result<Identity, Refusal>, StoreError> {
    match (prefetched, &presented) {
        (Some(p), Some(shown)) if p.presented == *shown => {
            if let Ok(identity) = &p.outcome {
                record_key_use(state, identity).await;
            }
            Ok(p.outcome.clone())
        }
        _ => resolve(state, presented).await,
    }
}

/// Usage bookkeeping of an API key (`lastRequest`, at most one write a minute per key);
/// never fails the call.
pub async fn record_key_use(state: &AppState, identity: &Identity) {
    let Via::ApiKey(key) = &identity.via else {
        return;
    };
    let at = now();
    let minute_ago = iso(at - time::Duration::minutes(1));
    if let Err(err) = state
        .db
        .api_keys()
        .record_use(key, &iso(at), &minute_ago)
        .await
    {
        tracing::warn!(error = %err, "could not record API key use");
    }
}

/// The identity of a request, read once (no bookkeeping write: see [`read_identity`]) and
/// kept in its extensions.
pub async fn identify(parts: &mut Parts, state: &AppState) -> Result<Option<Identity>, ApiError> {
    if let Some(cached) = parts.extensions.get::<Option<Identity>>() {
        return Ok(cached.clone());
    }
    let presented = presented(state, &parts.headers);
    let identity = read_identity(state, presented).await?.ok();
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

    /// One round trip when the caller's bucket is known from the credential
    /// ([`bucket_before_reading`]): the read and the count go out together. The count of a
    /// caller who turns out not to be signed in is dropped (401, nothing else written); a
    /// refused count answers 429 before any other write (an API key's use is recorded only
    /// after it passes).
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        check_cookie_origin(&state, parts)?;
        let slot = parts.extensions.get::<RateSlot>().cloned();
        let early = state
            .config
            .rate_limits
            .enabled
            .then(|| bucket_before_reading(&state, &parts.headers))
            .flatten();
        let identity = match early {
            Some(bucket) => {
                let counting = crate::rate_limit::check(&state, std::slice::from_ref(&bucket));
                let (identity, decision) = tokio::join!(identify(parts, &state), counting);
                let identity = identity?.ok_or(ApiError::Unauthorized)?;
                settle(decision?, slot.as_ref())?;
                identity
            }
            None => {
                let identity = identify(parts, &state)
                    .await?
                    .ok_or(ApiError::Unauthorized)?;
                count_identity(&state, &identity, slot.as_ref()).await?;
                identity
            }
        };
        record_key_use(&state, &identity).await;
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
        let config = &AppState::from_ref(state).config;
        match identity.moderator(config)? {
            Some(moderator) if moderator.is_admin() => Ok(RequireAdmin(identity)),
            _ => Err(ApiError::forbidden(FORBIDDEN_ADMIN)),
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
        let config = &AppState::from_ref(state).config;
        identity.require_moderator(config)?;
        Ok(RequireAdminOrStaff(identity))
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
    settle(crate::rate_limit::check(state, &[bucket]).await?, slot)
}

/// A caller's rate decision: into the response's headers, and 429 when refused.
fn settle(decision: Option<RateDecision>, slot: Option<&RateSlot>) -> Result<(), ApiError> {
    let Some(decision) = decision else {
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
