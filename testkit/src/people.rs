//! Users and sessions made straight in the store, for tests of functions that need a
//! signed-in caller (the auth function's own tests sign up through HTTP instead).

use portal_domain::crypto::{hash_password_blocking, new_id};
use portal_domain::model::{Role, Session, User};
use portal_domain::store::sessions::session_for_token;
use portal_domain::time::{iso, now};
use portal_web::AppState;
use portal_web::caller::token::{
    DEFAULT_KEY_PREFIX, key_hash, key_id, new_api_key, new_session, session_id,
};

/// The origin of the tests' front end: the base URL of the test configuration.
pub const BROWSER_ORIGIN: &str = "http://localhost:3000";

/// A signed-in user: their record, session token and the headers a browser would send.
#[derive(Debug, Clone)]
pub struct Person {
    pub user: User,
    pub token: String,
    pub cookie: String,
}

impl Person {
    /// What the browser of the test's own front end sends: the cookie and its origin.
    pub fn headers(&self) -> Vec<(&'static str, &str)> {
        vec![("cookie", self.cookie.as_str()), ("origin", BROWSER_ORIGIN)]
    }

    pub fn id(&self) -> &str {
        &self.user.id
    }
}

/// Creates a user with `role` (password `password-123`) and a live session for them.
pub async fn person(state: &AppState, email: &str, role: Role) -> Person {
    person_with(state, email, None, role).await
}

/// [`person`] with a username (as typed; stored lower-cased).
pub async fn person_with_username(
    state: &AppState,
    email: &str,
    username: &str,
    role: Role,
) -> Person {
    person_with(state, email, Some(username), role).await
}

async fn person_with(state: &AppState, email: &str, username: Option<&str>, role: Role) -> Person {
    let at = iso(now());
    let mut user = User::new(
        new_id(),
        email.split('@').next().unwrap_or("someone").to_string(),
        email.to_lowercase(),
        true,
        role,
        &at,
    );
    if let Some(username) = username {
        user.username = Some(username.to_lowercase());
        user.display_username = Some(username.to_string());
    }
    let hash = hash_password_blocking("password-123");
    let user = state
        .db
        .users()
        .create(user, Some(hash))
        .await
        .expect("user is created");
    let (token, _) = session_for(state, &user).await;
    signed_in(state, user, token)
}

fn signed_in(state: &AppState, user: User, token: String) -> Person {
    let cookie = state.cookies.session_cookies(&token, true)[0]
        .split(';')
        .next()
        .expect("a cookie pair")
        .to_string();
    Person {
        user,
        token,
        cookie,
    }
}

/// `person` signed in again on a session that passed the second factor (as after a code).
pub async fn with_second_factor(state: &AppState, person: &Person) -> Person {
    let from = portal_domain::model::Client {
        ip: "127.0.0.1".into(),
        user_agent: "portal-tests".into(),
    };
    let (mut session, token) = new_session(&state.keyring, &person.user, true, &from, now());
    session.two_factor_verified = true;
    state
        .db
        .sessions()
        .create(session)
        .await
        .expect("session is created");
    signed_in(state, person.user.clone(), token)
}

/// Another live session for `user`; returns its token and session.
pub async fn session_for(state: &AppState, user: &User) -> (String, Session) {
    let from = portal_domain::model::Client {
        ip: "127.0.0.1".into(),
        user_agent: "portal-tests".into(),
    };
    let (session, token) = new_session(&state.keyring, user, true, &from, now());
    let session = state
        .db
        .sessions()
        .create(session)
        .await
        .expect("session is created");
    (token, session)
}

/// The session token inside the cookie of the `events/*` fixtures that carry one (signed
/// with the development secret), and its user's id.
pub const FIXTURE_TOKEN: &str = "FixtureUser000000000000000000001FixtureSession00000000000000001X";
pub const FIXTURE_USER_ID: &str = "FixtureUser000000000000000000001";

/// Creates the fixtures' user (`fixture@example.org`, password `fixture-password-1`) and
/// the session their cookie names.
pub async fn fixture_person(state: &AppState, role: Role) -> User {
    let at = iso(now());
    let user = User::new(
        FIXTURE_USER_ID.into(),
        "Fixture".into(),
        "fixture@example.org".into(),
        true,
        role,
        &at,
    );
    let hash = hash_password_blocking("fixture-password-1");
    let user = state
        .db
        .users()
        .create(user, Some(hash))
        .await
        .expect("fixture user");
    let from = portal_domain::model::Client {
        ip: "203.0.113.7".into(),
        user_agent: "curl/8.5.0".into(),
    };
    let session = session_for_token(
        &state.keyring,
        &user,
        session_id(FIXTURE_TOKEN),
        FIXTURE_TOKEN,
        true,
        &from,
        now(),
    );
    state
        .db
        .sessions()
        .create(session)
        .await
        .expect("fixture session");
    user
}

/// A new API key for `user` (not stored yet) and its plaintext.
pub fn unsaved_api_key(
    user: &User,
    name: &str,
    enabled: bool,
) -> (String, portal_domain::model::ApiKey) {
    let raw = new_api_key(DEFAULT_KEY_PREFIX, &user.id);
    let at = iso(now());
    let key = portal_domain::model::ApiKey {
        id: key_id(&raw),
        config_id: "default".into(),
        name: Some(name.into()),
        start: Some(raw[..6].into()),
        prefix: Some("portal_".into()),
        key_hash: key_hash(&raw),
        user_id: user.id.clone(),
        enabled,
        rate_limit_enabled: true,
        rate_limit_time_window: 3_600_000,
        rate_limit_max: 1000,
        request_count: 0,
        remaining: None,
        last_request: None,
        expires_at: None,
        created_at: at.clone(),
        updated_at: at,
        metadata: None,
        generation: user.generations.api_keys,
    };
    (raw, key)
}

/// An enabled API key for `user`, stored; returns its plaintext and the stored key.
pub async fn api_key_for(
    state: &AppState,
    user: &User,
    name: &str,
) -> (String, portal_domain::model::ApiKey) {
    let (raw, key) = unsaved_api_key(user, name, true);
    let key = state
        .db
        .api_keys()
        .create(key)
        .await
        .expect("key is created");
    (raw, key)
}
