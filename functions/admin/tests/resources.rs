//! `/api/admin/sessions`, `/api/admin/api-keys`, `/api/admin/oauth-clients`.

mod common;

use common::{Admin, envelope};
use portal_domain::model::{ApiKey, Role};
use portal_testkit::{Person, person, session_for};
use serde_json::{Value, json};

async fn key_for(t: &Admin, who: &Person, name: &str) -> (String, ApiKey) {
    portal_testkit::api_key_for(&t.state, &who.user, name).await
}

#[tokio::test]
async fn sessions_are_listed_filtered_read_and_revoked() {
    let t = Admin::new().await;
    let (_, extra) = session_for(&t.state, &t.user.user).await;
    let (_, expired) = session_for(&t.state, &t.user.user).await;
    t.state
        .db
        .sessions()
        .extend(
            &expired,
            "2020-01-01T00:00:00.000Z",
            "2020-01-01T00:00:00.000Z",
        )
        .await
        .unwrap();
    let all = t.get("/api/admin/sessions", &t.staff).await.json();
    assert_eq!(all["sessions"].as_array().unwrap().len(), 5);
    assert!(
        all["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s.get("token").is_none())
    );
    let mine = t
        .get(
            &format!("/api/admin/sessions?userId={}", t.user.user.id),
            &t.staff,
        )
        .await
        .json();
    assert_eq!(mine["sessions"].as_array().unwrap().len(), 3);
    let active = t
        .get(
            &format!("/api/admin/sessions?userId={}&active=true", t.user.user.id),
            &t.staff,
        )
        .await
        .json();
    assert_eq!(active["sessions"].as_array().unwrap().len(), 2);
    let inactive = t
        .get("/api/admin/sessions?active=false", &t.staff)
        .await
        .json();
    assert_eq!(inactive["sessions"][0]["id"], expired.id.as_str());

    let one = t
        .get(&format!("/api/admin/sessions/{}", extra.id), &t.staff)
        .await
        .json();
    assert_eq!(one["session"]["userId"], t.user.user.id.as_str());
    assert_eq!(
        t.get("/api/admin/sessions/none", &t.staff).await.json(),
        envelope("Session not found")
    );

    let res = t
        .send(
            "DELETE",
            &format!("/api/admin/sessions/{}", extra.id),
            Some(&t.staff),
            None,
        )
        .await;
    assert_eq!(res.json(), json!({"ok": true}));
    assert!(
        t.state
            .db
            .sessions()
            .get(&extra.id)
            .await
            .unwrap()
            .is_none(),
        "stops at once"
    );
    let admins = portal_web::caller::token::session_id(&t.admin.token);
    let res = t
        .send(
            "DELETE",
            &format!("/api/admin/sessions/{admins}"),
            Some(&t.staff),
            None,
        )
        .await;
    assert_eq!(res.status, 403, "staff cannot revoke an admin's session");
    assert_eq!(t.get("/api/admin/sessions", &t.user).await.status, 403);
    let res = t
        .get("/api/admin/sessions?active=sometimes&limit=500", &t.staff)
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["details"]["issues"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn session_pages_follow_the_cursor_without_gaps() {
    let t = Admin::new().await;
    for _ in 0..6 {
        session_for(&t.state, &t.user.user).await;
    }
    let all: Vec<Value> = t
        .get("/api/admin/sessions?limit=100", &t.admin)
        .await
        .json()["sessions"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(all.len(), 9);
    let mut seen = Vec::new();
    let mut path = "/api/admin/sessions?limit=4".to_string();
    loop {
        let body = t.get(&path, &t.admin).await.json();
        seen.extend(
            body["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["id"].clone()),
        );
        match body["nextCursor"].as_str() {
            Some(c) => path = format!("/api/admin/sessions?limit=4&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        all.iter().map(|s| s["id"].clone()).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn api_keys_are_listed_with_their_owner_never_the_secret() {
    let t = Admin::new().await;
    let (raw, key) = key_for(&t, &t.user, "ci").await;
    let (_, admin_key) = key_for(&t, &t.admin, "ops").await;
    let mut disabled = admin_key.clone();
    disabled.enabled = false;
    t.state
        .db
        .api_keys()
        .save(&admin_key, &disabled)
        .await
        .unwrap();

    let res = t.get("/api/admin/api-keys", &t.staff).await;
    let list = res.json()["apiKeys"].as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    let text = String::from_utf8_lossy(&res.body).to_string();
    assert!(!text.contains(&raw) && !text.contains(&key.key_hash));
    let ci = list.iter().find(|k| k["name"] == "ci").unwrap();
    assert_eq!(
        ci,
        &json!({"id": key.id, "userId": t.user.user.id, "name": "ci", "enabled": true, "lastUsedAt": null,
            "start": key.start, "prefix": key.prefix, "lastRequest": null, "expiresAt": key.expires_at,
            "createdAt": key.created_at, "updatedAt": key.updated_at,
            "user": {"id": t.user.user.id, "email": "user@example.org", "name": "user"}})
    );
    // Portal's admin views recognise a key by its first characters: the key's own.
    let start = ci["start"].as_str().expect("BetterAuth's start");
    assert!(!start.is_empty() && raw.starts_with(start) && start.len() < raw.len());
    let enabled = t
        .get("/api/admin/api-keys?enabled=true", &t.staff)
        .await
        .json();
    assert_eq!(enabled["apiKeys"].as_array().unwrap().len(), 1);
    let by_user = t
        .get(
            &format!("/api/admin/api-keys?userId={}", t.admin.user.id),
            &t.staff,
        )
        .await
        .json();
    assert_eq!(by_user["apiKeys"][0]["name"], "ops");
    let one = t
        .get(&format!("/api/admin/api-keys/{}", key.id), &t.staff)
        .await
        .json();
    assert_eq!(one["apiKey"]["user"]["email"], "user@example.org");

    let res = t
        .send(
            "DELETE",
            &format!("/api/admin/api-keys/{}", admin_key.id),
            Some(&t.staff),
            None,
        )
        .await;
    assert_eq!(res.status, 403, "staff cannot delete an admin's key");
    let res = t
        .send(
            "DELETE",
            &format!("/api/admin/api-keys/{}", key.id),
            Some(&t.staff),
            None,
        )
        .await;
    assert_eq!(res.json(), json!({"ok": true}));
    assert!(
        t.state
            .db
            .api_keys()
            .get(&portal_web::caller::token::key_id(&raw))
            .await
            .unwrap()
            .is_none(),
        "stops working at once"
    );
    assert_eq!(
        t.get(&format!("/api/admin/api-keys/{}", key.id), &t.staff)
            .await
            .json(),
        envelope("API key not found")
    );
}

#[tokio::test]
async fn oauth_clients_are_created_by_admins_with_a_secret_shown_once() {
    let t = Admin::new().await;
    let body = json!({"name": "Wiki", "redirectUris": ["https://wiki.example.org/callback", "http://localhost:8080/cb"]});
    let res = t
        .send(
            "POST",
            "/api/admin/oauth-clients",
            Some(&t.staff),
            Some(body.clone()),
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json(), envelope("Forbidden - Admin access required"));
    let res = t
        .send(
            "POST",
            "/api/admin/oauth-clients",
            Some(&t.admin),
            Some(body),
        )
        .await;
    assert_eq!(res.status, 201);
    let created = res.json()["oauthClient"].clone();
    let secret = created["clientSecret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 48);
    assert_eq!(created["disabled"], false);
    assert_eq!(
        created["redirectUris"],
        json!([
            "https://wiki.example.org/callback",
            "http://localhost:8080/cb"
        ])
    );
    let id = created["id"].as_str().unwrap();

    let listed = t.get("/api/admin/oauth-clients", &t.staff).await;
    assert!(!String::from_utf8_lossy(&listed.body).contains(&secret));
    assert_eq!(
        listed.json()["oauthClients"][0]["clientId"],
        created["clientId"]
    );
    let one = t
        .get(&format!("/api/admin/oauth-clients/{id}"), &t.staff)
        .await
        .json();
    assert!(one["oauthClient"].get("clientSecret").is_none());
    let dump = format!(
        "{:?}",
        t.state
            .db
            .client()
            .scan()
            .table_name(t.state.db.table())
            .send()
            .await
            .unwrap()
            .items
    );
    assert!(!dump.contains(&secret), "stored hashed");

    let res = t
        .send(
            "PATCH",
            &format!("/api/admin/oauth-clients/{id}"),
            Some(&t.admin),
            Some(json!({"disabled": true, "name": "Wiki (old)"})),
        )
        .await;
    assert_eq!(res.json()["oauthClient"]["disabled"], true);
    assert_eq!(res.json()["oauthClient"]["name"], "Wiki (old)");
    let res = t
        .send(
            "PATCH",
            &format!("/api/admin/oauth-clients/{id}"),
            Some(&t.staff),
            Some(json!({"disabled": false})),
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(
        t.get("/api/admin/oauth-clients/nope", &t.staff)
            .await
            .json(),
        envelope("OAuth client not found")
    );
}

#[tokio::test]
async fn portals_admin_pages_read_client_and_clients_and_delete_a_client() {
    let t = Admin::new().await;
    let body = json!({"name": "Wiki", "redirectUris": ["https://wiki.example.org/callback"]});
    let res = t
        .send(
            "POST",
            "/api/admin/oauth-clients",
            Some(&t.admin),
            Some(body),
        )
        .await;
    assert_eq!(res.status, 201);
    assert_eq!(res.json()["client"], res.json()["oauthClient"]);
    let id = res.json()["client"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/admin/oauth-clients/{id}");
    // fetchOAuthClients reads `clients`; fetchOAuthClientById reads `client`.
    let listed = t.get("/api/admin/oauth-clients", &t.staff).await.json();
    assert_eq!(listed["clients"][0]["id"], id.as_str());
    assert_eq!(listed["clients"], listed["oauthClients"]);
    let one = t.get(&path, &t.staff).await.json();
    assert_eq!(one["client"]["name"], "Wiki");
    assert!(one["client"].get("clientSecret").is_none());
    let counted = |stats: Value| stats["oauthClients"]["total"].clone();
    assert_eq!(counted(t.get("/api/admin/stats", &t.admin).await.json()), 1);
    // deleteOAuthClient: staff may not, an admin may; then it is gone and uncounted.
    let res = t.send("DELETE", &path, Some(&t.staff), None).await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json(), envelope("Forbidden - Admin access required"));
    let res = t.send("DELETE", &path, Some(&t.admin), None).await;
    assert_eq!(
        (res.status.as_u16(), res.json()),
        (200, json!({"ok": true}))
    );
    assert_eq!(t.get(&path, &t.staff).await.status, 404);
    let res = t.send("DELETE", &path, Some(&t.admin), None).await;
    assert_eq!(
        (res.status.as_u16(), res.json()),
        (404, envelope("OAuth client not found"))
    );
    assert_eq!(counted(t.get("/api/admin/stats", &t.admin).await.json()), 0);
    let listed = t.get("/api/admin/oauth-clients", &t.staff).await.json();
    assert_eq!(listed["clients"], json!([]));
    let log = t.get("/api/admin/audit-log", &t.admin).await.json();
    let deleted = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "oauth_client.deleted")
        .expect("the deletion is audited");
    assert_eq!(deleted["details"]["oauthClientId"], id.as_str());
}

#[tokio::test]
async fn oauth_redirect_uris_must_be_https_or_local_http() {
    let t = Admin::new().await;
    for uris in [
        json!([]),
        json!(["http://wiki.example.org/cb"]),
        json!(["/relative"]),
        json!(["https://x.example.org/cb#frag"]),
        json!(["ftp://x.example.org"]),
    ] {
        let res = t
            .send(
                "POST",
                "/api/admin/oauth-clients",
                Some(&t.admin),
                Some(json!({"name": "X", "redirectUris": uris.clone()})),
            )
            .await;
        assert_eq!(res.status, 400, "{uris}");
        assert_eq!(
            res.json()["details"]["issues"][0]["path"],
            json!(["redirectUris"]),
            "{uris}"
        );
    }
    let res = t
        .send(
            "POST",
            "/api/admin/oauth-clients",
            Some(&t.admin),
            Some(json!({"redirectUris": ["https://a.example.org"]})),
        )
        .await;
    assert_eq!(
        res.json()["error"],
        "Validation error: Required at \"name\""
    );
}

#[tokio::test]
async fn anyone_else_is_refused_everywhere() {
    let t = Admin::new().await;
    let outsider = person(&t.state, "outsider@example.org", Role::User).await;
    for path in [
        "/api/admin/users",
        "/api/admin/sessions",
        "/api/admin/api-keys",
        "/api/admin/oauth-clients",
        "/api/admin/stats",
    ] {
        assert_eq!(t.get(path, &outsider).await.status, 403, "{path}");
        assert_eq!(t.send("GET", path, None, None).await.status, 401, "{path}");
    }
}

#[tokio::test]
async fn every_id_route_refuses_an_overlong_id_before_any_work() {
    let t = Admin::new().await;
    let long = "x".repeat(129);
    for (method, path) in [
        ("GET", "users"),
        ("PATCH", "users"),
        ("DELETE", "users"),
        ("GET", "sessions"),
        ("DELETE", "sessions"),
        ("GET", "api-keys"),
        ("DELETE", "api-keys"),
        ("GET", "oauth-clients"),
        ("PATCH", "oauth-clients"),
        ("DELETE", "oauth-clients"),
    ] {
        let res = t
            .send(
                method,
                &format!("/api/admin/{path}/{long}"),
                None,
                Some(json!({})),
            )
            .await;
        assert_eq!(res.status, 400, "{method} {path}");
        assert_eq!(res.json(), envelope("Invalid id format"), "{method} {path}");
    }
}

#[tokio::test]
async fn a_banned_users_api_key_is_refused_at_once() {
    let t = Admin::new().await;
    let (raw, _) = key_for(&t, &t.user, "before-ban").await;
    let presented = Some(portal_web::caller::Credential::ApiKey(raw.clone()));
    assert!(
        portal_web::caller::identity::read(&t.state, presented.as_ref())
            .await
            .unwrap()
            .is_ok()
    );
    t.send(
        "PATCH",
        &format!("/api/admin/users/{}", t.user.user.id),
        Some(&t.staff),
        Some(json!({"banned": true})),
    )
    .await;
    assert_eq!(
        portal_web::caller::identity::read(&t.state, presented.as_ref())
            .await
            .unwrap()
            .unwrap_err(),
        portal_web::caller::Refusal::Banned
    );
}

#[tokio::test]
async fn oauth_clients_carry_their_openid_connect_settings() {
    let t = Admin::new().await;
    let body = json!({
        "name": "Chat app",
        "redirectUris": ["org.example.chat:/oauth"],
        "public": true,
        "scopes": ["openid", "xmpp"],
        "skipConsent": true,
        "enableEndSession": true,
        "postLogoutRedirectUris": ["https://chat.example.org/bye"],
        "idTokenSignedResponseAlg": "RS256"
    });
    let res = t
        .send(
            "POST",
            "/api/admin/oauth-clients",
            Some(&t.admin),
            Some(body),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text());
    let created = res.json()["oauthClient"].clone();
    assert!(
        created.get("clientSecret").is_none(),
        "a public client has no secret"
    );
    assert_eq!(created["public"], true);
    assert_eq!(created["scopes"], json!(["openid", "xmpp"]));
    assert_eq!(created["skipConsent"], true);
    assert_eq!(created["idTokenSignedResponseAlg"], "RS256");
    let id = created["id"].as_str().unwrap().to_string();

    let res = t
        .send(
            "PATCH",
            &format!("/api/admin/oauth-clients/{id}"),
            Some(&t.admin),
            Some(json!({"skipConsent": false, "scopes": ["openid", "irc"]})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["oauthClient"]["skipConsent"], false);
    assert_eq!(
        res.json()["oauthClient"]["scopes"],
        json!(["openid", "irc"])
    );

    for bad in [
        json!({"scopes": ["openid", "admin"]}),
        json!({"grantTypes": ["password"]}),
        json!({"idTokenSignedResponseAlg": "none"}),
        json!({"postLogoutRedirectUris": ["javascript:alert(1)"]}),
    ] {
        let res = t
            .send(
                "PATCH",
                &format!("/api/admin/oauth-clients/{id}"),
                Some(&t.admin),
                Some(bad.clone()),
            )
            .await;
        assert_eq!(res.status, 400, "{bad}");
        assert_eq!(res.json()["ok"], false);
    }
    let res = t
        .send(
            "PATCH",
            &format!("/api/admin/oauth-clients/{id}"),
            Some(&t.staff),
            Some(json!({"skipConsent": true})),
        )
        .await;
    assert_eq!(res.status, 403, "staff read clients, never change them");
}
