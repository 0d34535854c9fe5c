//! Rotating the auth secret: with the previous secret configured, what it signed or sealed
//! (session cookies, sealed session tokens, e-mail links) keeps working and everything new
//! is signed with the new secret; without it, the old values are refused.

mod common;

use common::{Browser, PASSWORD, TestAuth, h};
use portal_testkit::Sections;
use portal_web::AppState;
use serde_json::{Value, json};

const OLD: &str = "the-secret-before-the-rotation-0123456789";
const NEW: &str = "the-secret-after-the-rotation-9876543210ab";

/// The same table, served with other secrets (a deploy of the rotation).
fn redeployed(before: &TestAuth, secret: &str, previous: Option<&str>) -> TestAuth {
    let mut config = (*before.state.config).clone();
    config.auth_mut().secret = secret.into();
    config.auth_mut().previous_secret = previous.map(Into::into);
    TestAuth::on(AppState::new(config, before.state.db.clone()))
}

async fn session_of(t: &TestAuth, who: &Browser) -> Value {
    t.send("GET", "/api/auth/get-session", &h(&who.headers()), None)
        .await
        .json()
}

#[tokio::test]
async fn sessions_and_links_from_before_a_rotation_hold_while_the_previous_secret_is_accepted() {
    let before = TestAuth::new(|c| c.auth_mut().secret = OLD.into()).await;
    let ada = before.sign_up("ada@example.org").await;
    let link = before.mails()[0]["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://localhost:3000")
        .split("&callbackURL")
        .next()
        .unwrap()
        .to_string();

    let during = redeployed(&before, NEW, Some(OLD));
    assert_eq!(
        session_of(&during, &ada).await["user"]["email"],
        "ada@example.org"
    );
    // Sealed session tokens (list-sessions) open with the previous secret.
    let listed = during
        .send("GET", "/api/auth/list-sessions", &h(&ada.headers()), None)
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json()[0]["token"], ada.token.as_str());
    // A verification link mailed before the rotation still verifies.
    let verified = during.send("GET", &link, &[], None).await;
    assert_eq!(verified.status, 200);
    assert_eq!(verified.json(), json!({"status": true, "user": null}));

    // A new sign-in is signed with the new secret only: the old deployment refuses it.
    let fresh = Browser::from_response(&during.sign_in("ada@example.org", PASSWORD).await);
    assert_eq!(
        session_of(&during, &fresh).await["user"]["email"],
        "ada@example.org"
    );
    assert_eq!(session_of(&before, &fresh).await, Value::Null);

    // The grace period over: the old cookie is refused, the new one still works.
    let after = redeployed(&before, NEW, None);
    assert_eq!(session_of(&after, &ada).await, Value::Null);
    assert_eq!(
        session_of(&after, &fresh).await["user"]["email"],
        "ada@example.org"
    );
}

#[tokio::test]
async fn without_the_previous_secret_a_rotation_signs_everyone_out() {
    let before = TestAuth::new(|c| c.auth_mut().secret = OLD.into()).await;
    let ada = before.sign_up("ada@example.org").await;
    let after = redeployed(&before, NEW, None);
    assert_eq!(session_of(&after, &ada).await, Value::Null);
    let listed = after
        .send("GET", "/api/auth/list-sessions", &h(&ada.headers()), None)
        .await;
    assert_eq!(listed.status, 401);
}
