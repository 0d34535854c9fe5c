//! The provider sends the browser back: `GET /callback/{provider}` (Discord) and
//! `GET /oauth2/callback/{provider}` (Mailcow); a POST (form_post) is turned into the GET,
//! as BetterAuth does. Every failure is a redirect to the flow's error URL (or BetterAuth's
//! error page) with an `error` code, never a page of ours with details.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use portal_domain::crypto::new_id;
use portal_domain::model::{Role, User};
use portal_domain::store::audit::{Event, Provenance};
use portal_domain::store::linked_accounts::LinkedAccount;
use portal_domain::store::users::CreateUserError;
use portal_domain::time::{iso, now, parse_iso};
use portal_web::http::RequestClient;
use serde_json::json;

use super::{
    Kind, Pending, Profile, Provider, STATE_COOKIE, STATE_KIND, Tokens, exchange, profile, provider,
};
use crate::error::AuthResult;
use crate::session::new_session;
use crate::state::AuthState;
use crate::views::{append_cookies, redirect, started_session, with_param};

/// BetterAuth's error page (`<base>/api/auth/error`).
fn error_page(state: &AuthState) -> String {
    state.link("/error")
}

/// A redirect to `base` with `error` (and a description).
fn to_error(base: &str, error: &str, description: Option<&str>) -> Response {
    let mut url = with_param(base, "error", error);
    if let Some(description) = description {
        url = with_param(&url, "error_description", description);
    }
    redirect(&url)
}

/// What the callback does after the state is read: each refusal names its `error` code.
struct Flow<'a> {
    state: &'a AuthState,
    provider: Provider<'a>,
    pending: Pending,
    origin: Provenance,
    client: portal_domain::model::Client,
}

impl Flow<'_> {
    fn error_url(&self) -> String {
        self.pending
            .error_url
            .clone()
            .unwrap_or_else(|| error_page(self.state))
    }

    fn fail(&self, error: &str) -> Response {
        to_error(&self.error_url(), error, None)
    }

    /// The provider's tokens, sealed, on a linked account.
    fn account(
        &self,
        user_id: &str,
        profile: &Profile,
        tokens: &Tokens,
        at: &str,
    ) -> LinkedAccount {
        let keyring = &self.state.app.keyring;
        LinkedAccount {
            id: new_id(),
            user_id: user_id.to_string(),
            provider_id: self.provider.id.to_string(),
            account_id: profile.id.clone(),
            access_token_sealed: Some(keyring.seal(&tokens.access_token)),
            refresh_token_sealed: tokens.refresh_token.as_deref().map(|t| keyring.seal(t)),
            id_token_sealed: tokens.id_token.as_deref().map(|t| keyring.seal(t)),
            access_token_expires_at: tokens.access_token_expires_at.clone(),
            refresh_token_expires_at: None,
            scopes: tokens.scopes.clone(),
            created_at: at.to_string(),
            updated_at: at.to_string(),
        }
    }

    fn event(&self, action: &str, user_id: &str, profile: &Profile) -> Event {
        Event::now(
            &self.origin.as_user(user_id),
            action,
            Some(user_id),
            Some(json!({ "provider": self.provider.id, "accountId": profile.id })),
        )
    }

    /// Linking to the signed-in user who asked (`/link-social`, `/oauth2/link`).
    async fn link(
        &self,
        link: &super::LinkTo,
        profile: Profile,
        tokens: Tokens,
    ) -> AuthResult<Response> {
        if !profile.email_verified {
            return Ok(self.fail("unable_to_link_account"));
        }
        if profile.email.as_deref() != Some(link.email.to_lowercase().as_str()) {
            return Ok(self.fail("email_doesn't_match"));
        }
        let store = self.state.app.db.linked_accounts();
        let at = iso(now());
        match store.get(self.provider.id, &profile.id).await? {
            Some(held) if held.user_id != link.user_id => {
                return Ok(self.fail("account_already_linked_to_different_user"));
            }
            Some(held) => {
                let fresh = self.refreshed(held, &tokens, &at);
                store.save(&fresh).await?;
            }
            None => {
                let account = self.account(&link.user_id, &profile, &tokens, &at);
                let event = self.event("account.linked", &link.user_id, &profile);
                if !store.link(&account, Some(&event)).await? {
                    return Ok(self.fail("account_already_linked_to_different_user"));
                }
            }
        }
        Ok(redirect(&self.pending.callback_url))
    }

    /// `held` with the tokens just issued.
    fn refreshed(&self, mut held: LinkedAccount, tokens: &Tokens, at: &str) -> LinkedAccount {
        let fresh = self.account(
            &held.user_id,
            &Profile {
                id: held.account_id.clone(),
                email: None,
                email_verified: false,
                name: String::new(),
                image: None,
            },
            tokens,
            at,
        );
        held.access_token_sealed = fresh.access_token_sealed;
        if fresh.refresh_token_sealed.is_some() {
            held.refresh_token_sealed = fresh.refresh_token_sealed;
        }
        if fresh.id_token_sealed.is_some() {
            held.id_token_sealed = fresh.id_token_sealed;
        }
        held.access_token_expires_at = fresh.access_token_expires_at;
        if !fresh.scopes.is_empty() {
            held.scopes = fresh.scopes;
        }
        held.updated_at = at.to_string();
        held
    }

    /// Signing in (or up): the linked account's user; else the account with that e-mail
    /// (linked only when the provider verified the address); else a new account.
    async fn sign_in(&self, profile: Profile, tokens: Tokens) -> AuthResult<Response> {
        let Some(email) = profile.email.clone() else {
            return Ok(self.fail("email_not_found"));
        };
        let db = &self.state.app.db;
        let (accounts, users) = (db.linked_accounts(), db.users());
        let (linked, by_email) = futures::try_join!(
            accounts.get(self.provider.id, &profile.id),
            users.find_by_email(&email),
        )?;
        let at = iso(now());
        let remember = true;
        if let Some(held) = linked {
            let Some(user) = db.users().get(&held.user_id).await? else {
                return Ok(self.fail("unable_to_get_user_info"));
            };
            if let Some(refused) = self.banned(&user) {
                return Ok(refused);
            }
            let fresh = self.refreshed(held, &tokens, &at);
            db.linked_accounts().save(&fresh).await?;
            let event = self.event("sign_in.succeeded", &user.id, &profile);
            let (session, token) = crate::session::start_session(
                &self.state.app,
                &user,
                remember,
                false,
                &self.client,
                Some(&event),
            )
            .await?;
            return self.signed_in(&user, &session, &token, false).await;
        }
        if let Some((user, _)) = by_email {
            // An account with that address exists and is not linked: it is linked only when
            // the provider verified the address (never a takeover through an unverified
            // provider e-mail) AND the account's own address was verified (never into an
            // account someone else registered with that address first and could still use
            // with its password). Otherwise its owner links the provider from their settings.
            if !profile.email_verified || !user.email_verified {
                return Ok(self.fail("account_not_linked"));
            }
            if let Some(refused) = self.banned(&user) {
                return Ok(refused);
            }
            let account = self.account(&user.id, &profile, &tokens, &at);
            let (session, token) = new_session(&self.state.app, &user, remember, &self.client);
            let event = self.event("account.linked", &user.id, &profile);
            if !db
                .linked_accounts()
                .link_and_sign_in(&account, &session, Some(&event))
                .await?
            {
                return Ok(self.fail("unable_to_link_account"));
            }
            return self.signed_in(&user, &session, &token, false).await;
        }
        let mut user = User::new(
            new_id(),
            if profile.name.trim().is_empty() {
                email.clone()
            } else {
                profile.name.trim().chars().take(100).collect()
            },
            email,
            profile.email_verified,
            Role::User,
            &at,
        );
        user.image = profile.image.clone();
        let account = self.account(&user.id, &profile, &tokens, &at);
        let (session, token) = new_session(&self.state.app, &user, remember, &self.client);
        let event = Event::now(
            &self.origin.as_user(&user.id),
            "sign_up",
            Some(&user.id),
            Some(json!({ "via": self.provider.id })),
        );
        match db
            .linked_accounts()
            .sign_up(user, &session, &account, Some(&event))
            .await
        {
            Ok(user) => self.signed_in(&user, &session, &token, true).await,
            Err(CreateUserError::EmailTaken | CreateUserError::UsernameTaken) => {
                Ok(self.fail("unable_to_create_user"))
            }
            Err(CreateUserError::Store(err)) => Err(err.into()),
        }
    }

    /// BetterAuth's admin plugin at a social callback: the error URL with `banned`.
    fn banned(&self, user: &User) -> Option<Response> {
        user.is_banned_at(now()).then(|| {
            to_error(
                &self.error_url(),
                "banned",
                Some(&self.state.auth.banned_user_message),
            )
        })
    }

    /// The session cookies, and the browser to the callback URL (a new user's URL when
    /// one signed up); or, when the sign-in started on the OpenID Connect provider's login
    /// page (it carried the signed request), on to consent or to the service.
    async fn signed_in(
        &self,
        user: &User,
        session: &portal_domain::model::Session,
        token: &str,
        new_user: bool,
    ) -> AuthResult<Response> {
        let to = match (
            &self.pending.oauth_query,
            &self.pending.new_user_url,
            new_user,
        ) {
            (Some(query), _, _) => {
                let params = crate::oauth_provider::authorize::Params::parse(query)
                    .answered("login")
                    .answered("create");
                let who = crate::oauth_provider::authorize::SignedIn { user, session };
                match crate::oauth_provider::authorize::decide(self.state, params, Some(who)).await
                {
                    Ok(url) => url,
                    Err(_) => self.pending.callback_url.clone(),
                }
            }
            (None, Some(url), true) => url.clone(),
            _ => self.pending.callback_url.clone(),
        };
        Ok(started_session(
            redirect(&to),
            &self.state.app.cookies,
            token,
            true,
        ))
    }
}

/// The callback itself.
async fn callback(
    state: &AuthState,
    kind: Kind,
    id: &str,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    client: portal_domain::model::Client,
) -> AuthResult<Response> {
    let default_error = error_page(state);
    let Some(token) = query.get("state").filter(|s| !s.is_empty()) else {
        return Ok(redirect(&with_param(
            &default_error,
            "state",
            "state_not_found",
        )));
    };
    // The production side of a proxied (preview) flow: the state is a sealed package.
    if let Some(handed_over) = super::proxy::at_production(state, id, query).await? {
        return Ok(handed_over);
    }
    // Single use: taken whatever follows (a forged callback burns it).
    let taken = state
        .app
        .db
        .tokens()
        .consume_ceremony(STATE_KIND, token)
        .await?;
    let expire_cookie = state.app.cookies.expired(STATE_COOKIE);
    let restart = || {
        let mut response = to_error(&default_error, "please_restart_the_process", None);
        append_cookies(&mut response, vec![expire_cookie.clone()]);
        response
    };
    let Some(taken) = taken else {
        return Ok(restart());
    };
    if parse_iso(&taken.expires_at).is_none_or(|t| t <= now()) {
        return Ok(restart());
    }
    let Some(pending) = taken
        .payload
        .as_deref()
        .and_then(|p| serde_json::from_str::<Pending>(p).ok())
    else {
        return Ok(restart());
    };
    // Bound to the browser that started it.
    if state.app.cookies.verified(headers, STATE_COOKIE).as_deref() != Some(token.as_str())
        || pending.provider != id
    {
        let base = pending.error_url.clone().unwrap_or(default_error);
        let mut response = to_error(&base, "state_mismatch", None);
        append_cookies(&mut response, vec![expire_cookie]);
        return Ok(response);
    }
    let Some(provider) = provider(state, id).filter(|p| p.kind == kind) else {
        return Ok(to_error(&default_error, "oauth_provider_not_found", None));
    };
    let flow = Flow {
        state,
        provider,
        pending,
        origin: Provenance::request(&state.app.config, &client),
        client,
    };
    let mut response = run(&flow, query).await?;
    append_cookies(&mut response, vec![expire_cookie]);
    Ok(response)
}

async fn run(flow: &Flow<'_>, query: &HashMap<String, String>) -> AuthResult<Response> {
    if let Some(error) = query.get("error").filter(|e| !e.is_empty()) {
        return Ok(to_error(
            &flow.error_url(),
            error,
            query.get("error_description").map(String::as_str),
        ));
    }
    let Some(code) = query.get("code").filter(|c| !c.is_empty()) else {
        return Ok(flow.fail("no_code"));
    };
    let tokens = match exchange(flow.state, flow.provider, code, &flow.pending.code_verifier).await
    {
        Ok(tokens) => tokens,
        Err(failure) => {
            tracing::warn!(provider = flow.provider.id, reason = %failure.0, "code exchange failed");
            return Ok(flow.fail("invalid_code"));
        }
    };
    let person = match profile(flow.provider, &tokens.access_token).await {
        Ok(person) => person,
        Err(failure) => {
            tracing::warn!(provider = flow.provider.id, reason = %failure.0, "profile read failed");
            return Ok(flow.fail("unable_to_get_user_info"));
        }
    };
    flow.finish(person, tokens).await
}

impl Flow<'_> {
    /// With the person and their tokens read: link, or sign in.
    async fn finish(&self, person: Profile, tokens: Tokens) -> AuthResult<Response> {
        match self.pending.link.clone() {
            Some(link) => self.link(&link, person, tokens).await,
            None => self.sign_in(person, tokens).await,
        }
    }
}

/// A flow finished elsewhere (a proxied one: production read the person): link, or sign in,
/// here.
pub async fn finish(
    state: &AuthState,
    provider: Provider<'_>,
    pending: Pending,
    client: portal_domain::model::Client,
    person: Profile,
    tokens: Tokens,
) -> AuthResult<Response> {
    let flow = Flow {
        state,
        provider,
        pending,
        origin: Provenance::request(&state.app.config, &client),
        client,
    };
    flow.finish(person, tokens).await
}

/// `GET /callback/{provider}`: the provider's answer to `/sign-in/social` or `/link-social`.
#[utoipa::path(
    get, path = "/callback/{provider}",
    params(
        ("provider" = String, Path, description = "`discord`"),
        ("code" = Option<String>, Query), ("state" = Option<String>, Query),
        ("error" = Option<String>, Query), ("error_description" = Option<String>, Query),
    ),
    responses((status = 302, description = "To the callback URL (signed in: the session cookies set), or to the error URL with `error`"))
)]
pub async fn social(
    State(state): State<AuthState>,
    Path(id): Path<String>,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> AuthResult<Response> {
    callback(&state, Kind::Social, &id, &headers, &query, client).await
}

/// `GET /oauth2/callback/{provider}`: the genericOAuth plugin's callback (Mailcow).
#[utoipa::path(
    get, path = "/oauth2/callback/{provider}",
    params(
        ("provider" = String, Path, description = "`mailcow`"),
        ("code" = Option<String>, Query), ("state" = Option<String>, Query),
        ("error" = Option<String>, Query), ("error_description" = Option<String>, Query),
    ),
    responses((status = 302, description = "To the callback URL, or to the error URL with `error`"))
)]
pub async fn generic(
    State(state): State<AuthState>,
    Path(id): Path<String>,
    RequestClient(client): RequestClient,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> AuthResult<Response> {
    callback(&state, Kind::Generic, &id, &headers, &query, client).await
}

/// A provider that answers with a form POST (`response_mode=form_post`): turned into the
/// GET of the same callback with the same fields, as BetterAuth does.
fn to_get(
    state: &AuthState,
    path: &str,
    query: &HashMap<String, String>,
    body: &serde_json::Value,
) -> Response {
    let mut merged: Vec<(String, String)> = Vec::new();
    for name in [
        "code",
        "error",
        "error_description",
        "state",
        "device_id",
        "user",
    ] {
        let value = query
            .get(name)
            .cloned()
            .or_else(|| body.get(name).and_then(|v| v.as_str()).map(str::to_string));
        if let Some(value) = value {
            merged.push((name.to_string(), value));
        }
    }
    let encoded = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(merged)
        .finish();
    redirect(&format!("{}?{encoded}", state.link(path)))
}

/// `POST /callback/{provider}`: a form post back, turned into the GET.
#[utoipa::path(
    post, path = "/callback/{provider}",
    params(("provider" = String, Path)),
    responses((status = 302, description = "To `GET /callback/{provider}` with the same fields (`code`, `state`, `error`, `error_description`, from the query or a form body)"))
)]
pub async fn social_post(
    State(state): State<AuthState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: crate::input::Body,
) -> AuthResult<Response> {
    Ok(to_get(
        &state,
        &format!("/callback/{id}"),
        &query,
        &body.value,
    ))
}

/// `POST /oauth2/callback/{provider}`: a form post back, turned into the GET.
#[utoipa::path(
    post, path = "/oauth2/callback/{provider}",
    params(("provider" = String, Path)),
    responses((status = 302, description = "To `GET /oauth2/callback/{provider}` with the same fields (`code`, `state`, `error`, `error_description`, from the query or a form body)"))
)]
pub async fn generic_post(
    State(state): State<AuthState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: crate::input::Body,
) -> AuthResult<Response> {
    Ok(to_get(
        &state,
        &format!("/oauth2/callback/{id}"),
        &query,
        &body.value,
    ))
}
