//! Credentials BetterAuth made, as `portal-admin import` leaves them (`Db::land`): a
//! 32-character session token that carries no user id (found by its hashed id, one read
//! more), an API key stored only as BetterAuth's hash (found by an id made of that hash).
//! They keep working after the move, and every rule holds for them as for ours: a forged
//! signature, an unknown token, a revocation on the very next request, a ban. The
//! end-to-end version, with rows written by the real BetterAuth server into PostgreSQL,
//! is `scripts/migration`.

mod common;

use common::TestAuth;
use portal_domain::crypto::{new_id, random_alphanumeric, random_letters};
use portal_domain::model::{Client, Role, User};
use portal_domain::store::api_keys::id_of_stored_hash;
use portal_domain::store::import::{Arrival, Landed};
use portal_domain::store::sessions::session_for_token;
use portal_domain::time::{iso, now};
use portal_testkit::envelope;
use portal_testkit::people::unsaved_api_key;
use portal_web::caller::token::{key_hash, session_id};
use serde_json::{Value, json};

/// Someone brought over from BetterAuth: their session token and API key as BetterAuth
/// made them.
struct Moved {
    user: User,
    token: String,
    key: String,
}

async fn moved(t: &TestAuth, email: &str) -> Moved {
    let at = iso(now());
    let user = User::new(
        new_id(),
        "Moved".into(),
        email.into(),
        true,
        Role::User,
        &at,
    );
    // BetterAuth: `generateId(32)` tokens, 64-letter keys stored as base64url SHA-256.
    let token = random_alphanumeric(32);
    let key = random_letters(64);
    let session = session_for_token(
        &t.state.keyring,
        &user,
        session_id(&token),
        &token,
        true,
        &Client::default(),
        now(),
    );
    let (_, mut api_key) = unsaved_api_key(&user, "ci", true);
    api_key.key_hash = key_hash(&key);
    api_key.id = id_of_stored_hash(&api_key.key_hash);
    api_key.start = Some(key[..6].to_string());
    api_key.prefix = None;
    let arrival = Arrival {
        user: user.clone(),
        password_hash: None,
        sessions: vec![session],
        api_keys: vec![api_key],
        two_factor: None,
        passkeys: vec![],
        linked: vec![],
        accounts: vec![],
        consents: vec![],
        grants: vec![],
    };
    assert!(matches!(
        t.state.db.land(&arrival).await.unwrap(),
        Landed::Written(_)
    ));
    assert_eq!(
        t.state.db.land(&arrival).await.unwrap(),
        Landed::AlreadyThere,
        "landing twice writes nothing"
    );
    Moved { user, token, key }
}

fn cookie(t: &TestAuth, token: &str) -> String {
    format!(
        "{}={}",
        t.state.cookies.name("session_token"),
        t.state.cookies.signed(token)
    )
}

async fn session_of(t: &TestAuth, headers: &[(&str, &str)]) -> Value {
    let res = t.send("GET", "/api/auth/get-session", headers, None).await;
    assert_eq!(res.status, 200);
    res.json()
}

#[tokio::test]
async fn better_auth_sessions_and_keys_keep_working_after_the_move() {
    let t = TestAuth::new(|_| {}).await;
    let m = moved(&t, "moved@example.org").await;
    let jar = cookie(&t, &m.token);
    let found = session_of(&t, &[("cookie", &jar)]).await;
    assert_eq!(found["user"]["id"], json!(m.user.id), "{found}");
    // The bearer plugin: the bare token, and the signed one.
    let bare = format!("Bearer {}", m.token);
    let res = t
        .send("GET", "/api/test/whoami", &[("authorization", &bare)], None)
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["id"], json!(m.user.id));
    let res = t
        .send("GET", "/api/test/whoami", &[("x-api-key", &m.key)], None)
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["id"], json!(m.user.id));
}

#[tokio::test]
async fn forged_and_unknown_better_auth_credentials_are_refused() {
    let t = TestAuth::new(|_| {}).await;
    let m = moved(&t, "forged@example.org").await;
    let name = t.state.cookies.name("session_token");
    let forged = format!("{name}={}.{}", m.token, "A".repeat(43) + "=");
    assert!(session_of(&t, &[("cookie", &forged)]).await.is_null());
    let unknown = cookie(&t, &random_alphanumeric(32));
    assert!(session_of(&t, &[("cookie", &unknown)]).await.is_null());
    // BetterAuth's five-minute cache cookie, even as it made it, is never trusted.
    let cached = format!(
        "{}={}",
        t.state.cookies.name("session_data"),
        t.state
            .cookies
            .signed(&json!({"session": {"userId": m.user.id}}).to_string())
    );
    assert!(session_of(&t, &[("cookie", &cached)]).await.is_null());
    for key in [random_letters(64), format!("{}x", &m.key[..63])] {
        let res = t
            .send("GET", "/api/test/whoami", &[("x-api-key", &key)], None)
            .await;
        assert_eq!(res.status, 401);
        assert_eq!(res.json(), envelope("Unauthorized"));
    }
}

#[tokio::test]
async fn revoking_a_moved_session_or_key_holds_on_the_next_request() {
    let t = TestAuth::new(|_| {}).await;
    let m = moved(&t, "revoked@example.org").await;
    let jar = cookie(&t, &m.token);
    let headers = [
        ("cookie", jar.as_str()),
        ("origin", "http://localhost:3000"),
    ];
    let listed = t
        .send("GET", "/api/auth/api-key/list", &headers, None)
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    let key_id = listed.json()["apiKeys"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let res = t
        .send(
            "POST",
            "/api/auth/api-key/delete",
            &headers,
            Some(json!({ "keyId": key_id })),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let res = t
        .send("GET", "/api/test/whoami", &[("x-api-key", &m.key)], None)
        .await;
    assert_eq!(res.status, 401, "a deleted key stops at once");
    let res = t
        .send("POST", "/api/auth/sign-out", &headers, Some(json!({})))
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert!(session_of(&t, &[("cookie", &jar)]).await.is_null());
}

#[tokio::test]
async fn a_moved_session_costs_one_read_more_than_ours() {
    let (t, calls) = TestAuth::counted(|_| {}).await;
    let m = moved(&t, "costs@example.org").await;
    let jar = cookie(&t, &m.token);
    calls.take();
    let res = t
        .send("GET", "/api/test/whoami", &[("cookie", &jar)], None)
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(calls.take(), vec!["GetItem", "BatchGetItem"]);
}
