//! API keys: created through a session, shown once, used as Bearer or x-api-key.

mod common;

use common::{TestAuth, h};
use serde_json::{Value, json};

async fn create_key(t: &TestAuth, owner: &common::Browser, body: Value) -> Value {
    let res = t
        .send(
            "POST",
            "/api/auth/api-key/create",
            &h(&owner.headers()),
            Some(body),
        )
        .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    res.json()
}

#[tokio::test]
async fn a_key_is_shown_once_and_works_as_bearer_and_x_api_key() {
    let t = TestAuth::new(|_| {}).await;
    let me = t.sign_up("keys@example.org").await;
    let created = create_key(
        &t,
        &me,
        json!({"name": "ci", "metadata": {"team": "infra"}}),
    )
    .await;
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("portal_"), "{key}");
    assert!(key.len() >= 72);
    assert_eq!(created["name"], "ci");
    assert_eq!(created["enabled"], true);
    assert_eq!(created["start"], &key[..6]);
    assert_eq!(created["metadata"], json!({"team": "infra"}));
    assert_eq!(created["referenceId"], me.user["id"]);

    for (name, value) in [
        ("authorization", format!("Bearer {key}")),
        ("x-api-key", key.clone()),
    ] {
        let res = t
            .send("GET", "/api/test/whoami", &[(name, &value)], None)
            .await;
        assert_eq!(res.status, 200, "{name}");
        assert_eq!(res.json()["id"], me.user["id"]);
    }
    let session = t
        .send("GET", "/api/auth/get-session", &[("x-api-key", &key)], None)
        .await
        .json();
    assert_eq!(session["session"]["id"], created["id"]);
    assert_eq!(session["session"]["token"], key.as_str());
    assert_eq!(session["user"]["id"], me.user["id"]);

    let list = t
        .send("GET", "/api/auth/api-key/list", &h(&me.headers()), None)
        .await
        .json();
    assert_eq!(list["total"], 1);
    assert_eq!(list["apiKeys"][0]["id"], created["id"]);
    assert!(
        list["apiKeys"][0].get("key").is_none(),
        "never the key again"
    );
    let got = t
        .send(
            "GET",
            &format!(
                "/api/auth/api-key/get?id={}",
                created["id"].as_str().unwrap()
            ),
            &h(&me.headers()),
            None,
        )
        .await;
    assert_eq!(got.json()["name"], "ci");
    assert!(got.json().get("key").is_none());

    let dump = t.table_dump().await;
    assert!(!dump.contains(&key), "the key is stored only as a hash");
    assert!(
        !dump.contains(&me.token),
        "the session token is stored only as a hash"
    );
}

#[tokio::test]
async fn a_disabled_or_deleted_key_is_refused_on_the_next_request() {
    let t = TestAuth::new(|_| {}).await;
    let me = t.sign_up("off@example.org").await;
    let created = create_key(&t, &me, json!({})).await;
    let key = created["key"].as_str().unwrap().to_string();
    let id = created["id"].as_str().unwrap().to_string();
    let bearer = format!("Bearer {key}");
    let res = t
        .send(
            "POST",
            "/api/auth/api-key/update",
            &h(&me.headers()),
            Some(json!({"keyId": id, "enabled": false})),
        )
        .await;
    assert_eq!(res.json()["enabled"], false);
    let res = t
        .send(
            "GET",
            "/api/test/whoami",
            &[("authorization", &bearer)],
            None,
        )
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json(), json!({"ok": false, "error": "Unauthorized"}));
    let res = t
        .send("GET", "/api/auth/get-session", &[("x-api-key", &key)], None)
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.json(),
        json!({"code": "KEY_DISABLED", "message": "API Key is disabled"})
    );

    t.send(
        "POST",
        "/api/auth/api-key/update",
        &h(&me.headers()),
        Some(json!({"keyId": id, "enabled": true})),
    )
    .await;
    assert_eq!(
        t.send(
            "GET",
            "/api/test/whoami",
            &[("authorization", &bearer)],
            None
        )
        .await
        .status,
        200
    );
    let res = t
        .send(
            "POST",
            "/api/auth/api-key/delete",
            &h(&me.headers()),
            Some(json!({"keyId": id})),
        )
        .await;
    assert_eq!(res.json(), json!({"success": true}));
    assert_eq!(
        t.send(
            "GET",
            "/api/test/whoami",
            &[("authorization", &bearer)],
            None
        )
        .await
        .status,
        401
    );
    let res = t
        .send("GET", "/api/auth/get-session", &[("x-api-key", &key)], None)
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["code"], "INVALID_API_KEY");
}

#[tokio::test]
async fn other_users_keys_are_not_found_and_server_fields_are_refused() {
    let t = TestAuth::new(|_| {}).await;
    let me = t.sign_up("mine@example.org").await;
    let other = t.sign_up("theirs@example.org").await;
    let theirs = create_key(&t, &other, json!({"name": "theirs"})).await;
    let id = theirs["id"].as_str().unwrap();
    let expected = json!({"code": "KEY_NOT_FOUND", "message": "API Key not found"});
    let res = t
        .send(
            "POST",
            "/api/auth/api-key/delete",
            &h(&me.headers()),
            Some(json!({"keyId": id})),
        )
        .await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), expected);
    let res = t
        .send(
            "GET",
            &format!("/api/auth/api-key/get?id={id}"),
            &h(&me.headers()),
            None,
        )
        .await;
    assert_eq!(res.status, 404);
    let res = t
        .send(
            "POST",
            "/api/auth/api-key/update",
            &h(&me.headers()),
            Some(json!({"keyId": id, "enabled": false})),
        )
        .await;
    assert_eq!(res.status, 404);

    let res = t
        .send(
            "POST",
            "/api/auth/api-key/create",
            &h(&me.headers()),
            Some(json!({"remaining": 5})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "SERVER_ONLY_PROPERTY");
    let res = t
        .send(
            "POST",
            "/api/auth/api-key/create",
            &h(&me.headers()),
            Some(json!({"expiresIn": 60})),
        )
        .await;
    assert_eq!(res.json()["code"], "EXPIRES_IN_IS_TOO_SMALL");
    let res = t
        .send(
            "POST",
            "/api/auth/api-key/create",
            &h(&me.headers()),
            Some(json!({"name": "x".repeat(33)})),
        )
        .await;
    assert_eq!(res.json()["code"], "INVALID_NAME_LENGTH");
    let res = t.post("/api/auth/api-key/create", json!({})).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.json(),
        json!({"code": "UNAUTHORIZED_SESSION", "message": "Unauthorized or invalid session"})
    );
    let res = t
        .send(
            "POST",
            "/api/auth/api-key/update",
            &h(&me.headers()),
            Some(json!({"keyId": "x"})),
        )
        .await;
    assert_eq!(res.status, 404);
}

#[tokio::test]
async fn a_key_with_an_expiry_says_so_when_it_has_passed() {
    let t = TestAuth::new(|_| {}).await;
    let me = t.sign_up("expiry@example.org").await;
    let created = create_key(&t, &me, json!({"expiresIn": 86400})).await;
    assert!(created["expiresAt"].is_string());
    let key = created["key"].as_str().unwrap().to_string();
    let stored = t
        .state
        .db
        .api_keys()
        .get(created["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut expired = stored.clone();
    expired.expires_at = Some("2020-01-01T00:00:00.000Z".into());
    assert!(t.state.db.api_keys().save(&stored, &expired).await.unwrap());
    let res = t
        .send("GET", "/api/auth/get-session", &[("x-api-key", &key)], None)
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["code"], "KEY_EXPIRED");
    assert_eq!(
        t.send("GET", "/api/test/whoami", &[("x-api-key", &key)], None)
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn a_custom_prefix_is_kept_and_checked() {
    let t = TestAuth::new(|_| {}).await;
    let me = t.sign_up("prefix@example.org").await;
    let created = create_key(&t, &me, json!({"prefix": "ci-bot_"})).await;
    let key = created["key"].as_str().unwrap();
    assert!(key.starts_with("ci-bot_"));
    assert_eq!(created["prefix"], "ci-bot_");
    assert_eq!(
        t.send(
            "GET",
            "/api/test/whoami",
            &[("authorization", &format!("Bearer {key}"))],
            None
        )
        .await
        .status,
        200
    );
    let res = t
        .send(
            "POST",
            "/api/auth/api-key/create",
            &h(&me.headers()),
            Some(json!({"prefix": "bad prefix!"})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "INVALID_PREFIX_LENGTH");
}

/// Found by schemathesis: `?offset=null` was silently ignored. Paging numbers that are not
/// non-negative integers are a validation error, as BetterAuth's `coerce.number()` makes them.
#[tokio::test]
async fn list_paging_must_be_numbers() {
    let t = TestAuth::new(|_| {}).await;
    let me = t.sign_up("paging@example.org").await;
    for name in ["a", "b", "c"] {
        create_key(&t, &me, json!({ "name": name })).await;
    }
    let res = t
        .send(
            "GET",
            "/api/auth/api-key/list?limit=2&offset=1",
            &h(&me.headers()),
            None,
        )
        .await;
    assert_eq!(res.status, 200);
    let page = res.json();
    assert_eq!(page["total"], 3);
    assert_eq!(
        (page["limit"].clone(), page["offset"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(page["apiKeys"].as_array().unwrap().len(), 2);
    for (query, name) in [
        ("offset=null", "offset"),
        ("limit=-1", "limit"),
        ("limit=2.5", "limit"),
        ("offset=", "offset"),
    ] {
        let res = t
            .send(
                "GET",
                &format!("/api/auth/api-key/list?{query}"),
                &h(&me.headers()),
                None,
            )
            .await;
        assert_eq!(res.status, 400, "{query}");
        assert_eq!(
            res.json(),
            json!({
                "code": "VALIDATION_ERROR",
                "message": format!("[query.{name}] Invalid input: expected number, received NaN"),
            }),
            "{query}"
        );
    }
}
