//! The guards of every route: axum extractors over the request's one credential and one
//! read (see the module above).

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use portal_domain::store::rate_counters::RateDecision;

use super::credential::Credential;
use super::identity::{identify, record_key_use};
use crate::error::{ApiError, FORBIDDEN_ADMIN};
use crate::rate_limit::{Bucket, RateSlot};
use crate::state::AppState;
use portal_domain::store::keys;
use portal_services::moderation::{Identity, Via};

pub const MISSING_ORIGIN: &str = "Forbidden - missing or null Origin";
pub const INVALID_ORIGIN: &str = "Forbidden - invalid origin";

/// The cross-site request check of the Portal routes: a request that changes state
/// (anything but GET, HEAD, OPTIONS) and is authenticated by the session COOKIE must come
/// from a trusted origin (`Origin`, else `Referer`), as on `/api/auth/*`. API keys and
/// bearer tokens are not sent by browsers on their own, so they are not checked.
fn check_cookie_origin(
    state: &AppState,
    parts: &Parts,
    credential: Option<&Credential>,
) -> Result<(), ApiError> {
    use axum::http::Method;
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS)
        || !credential.is_some_and(Credential::is_cookie)
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
    /// ([`Credential::bucket`]): the read and the count go out together. The count of a
    /// caller who turns out not to be signed in is dropped (401, nothing else written); a
    /// refused count answers 429 before any other write (an API key's use is recorded only
    /// after it passes).
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let credential = Credential::of(parts, &state);
        check_cookie_origin(&state, parts, credential.as_ref())?;
        let slot = parts.extensions.get::<RateSlot>().cloned();
        let limits = &state.config.rate_limits;
        let early = credential
            .as_ref()
            .filter(|_| limits.enabled)
            .and_then(|c| c.bucket(limits));
        let identity = match early {
            Some(bucket) => {
                let counting = crate::rate_limit::check(&state, std::slice::from_ref(&bucket));
                let (identity, decision) = tokio::join!(identify(parts, &state), counting);
                let identity = identity?.map_err(|_| ApiError::Unauthorized)?;
                settle(decision?, slot.as_ref())?;
                identity
            }
            None => {
                let identity = identify(parts, &state)
                    .await?
                    .map_err(|_| ApiError::Unauthorized)?;
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
