//! The caller's identity: one read of the credential's item and its user, the rules that
//! refuse it, kept in the request's extensions so it is read once per request.

use axum::http::request::Parts;
use portal_domain::store::StoreError;
use portal_domain::store::sessions::Resolved;
use portal_domain::time::{iso, now};
use portal_services::moderation::{Identity, Via};

use super::credential::Credential;
use super::token::{
    is_legacy_session_token, key_hash, key_lookup, legacy_key_id, session_id, session_lookup,
};
use crate::state::AppState;

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

/// Who the request's credential names, or why nobody.
pub type Outcome = Result<Identity, Refusal>;

/// The request's read, kept in its extensions.
#[derive(Debug, Clone)]
struct Read(Outcome);

/// The identity of the request's credential: read on first use (ONE strongly consistent
/// round trip for the item and its user), then taken from the request's extensions. No
/// bookkeeping write: safe beside a rate-limit count whose refusal must leave nothing
/// else written.
pub async fn identify(parts: &mut Parts, state: &AppState) -> Result<Outcome, StoreError> {
    if let Some(Read(outcome)) = parts.extensions.get::<Read>() {
        return Ok(outcome.clone());
    }
    let credential = Credential::of(parts, state);
    let outcome = read(state, credential.as_ref()).await?;
    parts.extensions.insert(Read(outcome.clone()));
    Ok(outcome)
}

/// The one read of a credential, and the refusal rules.
pub async fn read(
    state: &AppState,
    credential: Option<&Credential>,
) -> Result<Outcome, StoreError> {
    let resolved = match credential {
        None => None,
        Some(Credential::Session { token, .. }) => match session_lookup(token) {
            Some(at) => state.db.sessions().resolve(&at.id, &at.user_id).await?,
            // A session BetterAuth made (brought over by an import): one read more.
            None if is_legacy_session_token(token) => {
                state
                    .db
                    .sessions()
                    .resolve_by_id(&session_id(token))
                    .await?
            }
            None => None,
        },
        Some(Credential::ApiKey(key)) => {
            let hash = key_hash(key);
            let ours = match key_lookup(key) {
                Some(at) => {
                    state
                        .db
                        .api_keys()
                        .resolve(&at.id, &at.user_id, &hash)
                        .await?
                }
                None => None,
            };
            match ours {
                Some(found) => Some(found),
                // A key BetterAuth made (brought over by an import; with a long prefix it
                // may look like ours): found by its hash alone, one read more.
                None => {
                    state
                        .db
                        .api_keys()
                        .resolve_by_id(&legacy_key_id(key), &hash)
                        .await?
                }
            }
        }
    };
    Ok(judge(resolved))
}

/// The refusal rules, applied to a credential's item and its user as read.
pub fn judge(resolved: Option<Resolved>) -> Outcome {
    let at = now();
    if let Some(Resolved::Session(_, user, _) | Resolved::ApiKey(_, user, _)) = &resolved {
        crate::request::identified(&user.id);
    }
    match resolved {
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
