//! BetterAuth's admin plugin (`/api/auth/admin/*`) as Portal's web app and staff use it:
//! the same rules as `/api/admin/*` (one table of powers, staff over regular users only,
//! the last admin kept, the audit record), BetterAuth's codes and bodies.

mod common;

use common::{TestAuth, set_cookies};
use portal_domain::model::Role;
use portal_testkit::TestResponse;
use portal_testkit::people::{Person, person};
use serde_json::{Value, json};

const PORTAL_BANNED: &str = "Your account has been suspended. Contact support for assistance.";

async fn portal() -> TestAuth {
    TestAuth::new(|c| {
        if let Some(auth) = c.auth.as_mut() {
            auth.banned_user_message = PORTAL_BANNED.into();
        }
    })
    .await
}

async fn call(
    t: &TestAuth,
    who: Option<&Person>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> TestResponse {
    let headers = who.map(Person::headers).unwrap_or_default();
    t.send(method, &format!("/api/auth/admin/{path}"), &headers, body)
        .await
}

fn refused(code: &str, message: &str) -> Value {
    json!({"code": code, "message": message})
}

async fn whoami(t: &TestAuth, who: &Person) -> axum::http::StatusCode {
    t.send("GET", "/api/test/whoami", &who.headers(), None)
        .await
        .status
}

#[tokio::test]
async fn staff_list_and_ban_regular_users_and_go_no_further() {
    let t = portal().await;
    let _admin = person(&t.state, "admin@example.org", Role::Admin).await;
    let other_admin = person(&t.state, "admin2@example.org", Role::Admin).await;
    let staff = person(&t.state, "staff@example.org", Role::Staff).await;
    let member = person(&t.state, "member@example.org", Role::User).await;

    let res = call(&t, Some(&staff), "GET", "list-users", None).await;
    assert_eq!(res.status, 200);
    let body = res.json();
    assert_eq!(body["total"], 4);
    assert_eq!(body["users"].as_array().unwrap().len(), 4);

    // No escalation: staff set no roles, ban no admins.
    let res = call(
        &t,
        Some(&staff),
        "POST",
        "set-role",
        Some(json!({"userId": member.id(), "role": "admin"})),
    )
    .await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        refused(
            "YOU_ARE_NOT_ALLOWED_TO_CHANGE_USERS_ROLE",
            "You are not allowed to change users role"
        )
    );
    let res = call(
        &t,
        Some(&staff),
        "POST",
        "ban-user",
        Some(json!({"userId": other_admin.id()})),
    )
    .await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        refused(
            "YOU_ARE_NOT_ALLOWED_TO_BAN_USERS",
            "You are not allowed to ban users"
        )
    );
    assert_eq!(whoami(&t, &other_admin).await, 200);
    // Nor the powers Portal gives admins only.
    for (path, body, code, message) in [
        (
            "remove-user",
            json!({"userId": member.id()}),
            "YOU_ARE_NOT_ALLOWED_TO_DELETE_USERS",
            "You are not allowed to delete users",
        ),
        (
            "set-user-password",
            json!({"userId": member.id(), "newPassword": "another-password-1"}),
            "YOU_ARE_NOT_ALLOWED_TO_SET_USERS_PASSWORD",
            "You are not allowed to set users password",
        ),
        (
            "impersonate-user",
            json!({"userId": member.id()}),
            "YOU_ARE_NOT_ALLOWED_TO_IMPERSONATE_USERS",
            "You are not allowed to impersonate users",
        ),
        (
            "create-user",
            json!({"email": "new@example.org", "name": "New", "password": "password-123"}),
            "YOU_ARE_NOT_ALLOWED_TO_CREATE_USERS",
            "You are not allowed to create users",
        ),
    ] {
        let res = call(&t, Some(&staff), "POST", path, Some(body)).await;
        assert_eq!(res.status, 403, "{path}");
        assert_eq!(res.json(), refused(code, message), "{path}");
    }

    // A ban with Portal's defaults: the reason, a week, every session ended at once.
    let before = portal_domain::time::now();
    let res = call(
        &t,
        Some(&staff),
        "POST",
        "ban-user",
        Some(json!({"userId": member.id()})),
    )
    .await;
    assert_eq!(res.status, 200);
    let user = &res.json()["user"];
    assert_eq!(user["banned"], true);
    assert_eq!(user["banReason"], "Violation of terms of service");
    let until = portal_domain::time::parse_iso(user["banExpires"].as_str().unwrap()).unwrap();
    let week = until - before;
    assert!(
        week >= time::Duration::days(7)
            && week < time::Duration::days(7) + time::Duration::minutes(1),
        "{week}"
    );
    assert_eq!(
        whoami(&t, &member).await,
        401,
        "the ban holds on the very next request"
    );
    let res = t.sign_in("member@example.org", "password-123").await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json(), refused("BANNED_USER", PORTAL_BANNED));
    let audit = t.table_dump().await;
    assert!(audit.contains("user.banned"), "the ban is in the audit log");

    // Yourself: never.
    let res = call(
        &t,
        Some(&staff),
        "POST",
        "ban-user",
        Some(json!({"userId": staff.id(), "banReason": "oops"})),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        refused("YOU_CANNOT_BAN_YOURSELF", "You cannot ban yourself")
    );

    let res = call(
        &t,
        Some(&staff),
        "POST",
        "unban-user",
        Some(json!({"userId": member.id()})),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["user"]["banned"], false);
    assert_eq!(res.json()["user"]["banReason"], Value::Null);
    assert_eq!(
        t.sign_in("member@example.org", "password-123").await.status,
        200
    );

    // A regular user holds none of it; nobody signed in gets 401.
    let bystander = person(&t.state, "bystander@example.org", Role::User).await;
    let res = call(&t, Some(&bystander), "GET", "list-users", None).await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        refused(
            "YOU_ARE_NOT_ALLOWED_TO_LIST_USERS",
            "You are not allowed to list users"
        )
    );
    let res = call(&t, None, "GET", "list-users", None).await;
    assert_eq!(res.status, 401);
    let res = call(
        &t,
        Some(&staff),
        "POST",
        "ban-user",
        Some(json!({"userId": "nobody"})),
    )
    .await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), refused("USER_NOT_FOUND", "User not found"));
    let res = call(
        &t,
        Some(&staff),
        "POST",
        "ban-user",
        Some(json!({"banReason": "x"})),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");
}

#[tokio::test]
async fn list_users_searches_filters_sorts_and_pages_as_the_plugin_does() {
    let t = portal().await;
    let admin = person(&t.state, "boss@example.org", Role::Admin).await;
    for email in ["alice@example.org", "bob@sample.net", "carol@example.org"] {
        person(&t.state, email, Role::User).await;
    }
    person(&t.state, "dave@example.org", Role::Staff).await;
    let list = |query: &'static str| {
        let admin = admin.clone();
        let t = &t;
        async move { call(t, Some(&admin), "GET", &format!("list-users{query}"), None).await }
    };
    let emails = |res: &TestResponse| -> Vec<String> {
        res.json()["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_string())
            .collect()
    };

    let res =
        list("?searchValue=example&searchField=email&searchOperator=contains&sortBy=email").await;
    assert_eq!(res.status, 200);
    assert_eq!(
        emails(&res),
        [
            "alice@example.org",
            "boss@example.org",
            "carol@example.org",
            "dave@example.org"
        ]
    );
    assert_eq!(res.json()["total"], 4);

    let res = list("?searchValue=sample.net&searchOperator=ends_with").await;
    assert_eq!(emails(&res), ["bob@sample.net"]);
    let res = list("?searchValue=ca&searchField=name&searchOperator=starts_with").await;
    assert_eq!(emails(&res), ["carol@example.org"]);

    // The indexed way (a role filter, no order): counted, paged.
    let res = list("?filterField=role&filterValue=user&limit=2").await;
    assert_eq!(res.status, 200);
    let body = res.json();
    assert_eq!(body["total"], 3);
    assert_eq!(body["limit"], 2);
    assert_eq!(body["users"].as_array().unwrap().len(), 2);
    assert!(
        body.get("offset").is_none(),
        "no offset asked: none answered"
    );

    // Sorted and paged in memory.
    let res = list("?sortBy=email&sortDirection=desc&limit=2&offset=1").await;
    assert_eq!(emails(&res), ["carol@example.org", "boss@example.org"]);
    assert_eq!(res.json()["total"], 5);
    assert_eq!(res.json()["offset"], 1);
    let res = list("?filterField=role&filterOperator=ne&filterValue=user&sortBy=email").await;
    assert_eq!(emails(&res), ["boss@example.org", "dave@example.org"]);
    let res =
        list("?filterField=role&filterOperator=in&filterValue=admin,staff&sortBy=email").await;
    assert_eq!(emails(&res), ["boss@example.org", "dave@example.org"]);
    // A field users do not have matches nobody.
    let res = list("?filterField=shoeSize&filterValue=9").await;
    assert_eq!(res.json(), json!({"users": [], "total": 0}));

    let res = list("?searchValue=x&searchField=phone").await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "VALIDATION_ERROR");
    assert!(
        res.json()["message"]
            .as_str()
            .unwrap()
            .contains("searchField")
    );
}

#[tokio::test]
async fn admins_create_update_reset_and_remove_users() {
    let t = portal().await;
    let admin = person(&t.state, "admin@example.org", Role::Admin).await;
    let res = call(
        &t,
        Some(&admin),
        "POST",
        "create-user",
        Some(json!({
            "email": "New.Person@Example.org", "name": "New Person", "password": "first-password-1",
            "role": "staff", "data": {"username": "NewPerson"}
        })),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let created = res.json()["user"].clone();
    assert_eq!(created["email"], "new.person@example.org");
    assert_eq!(created["role"], "staff");
    assert_eq!(created["username"], "newperson");
    assert_eq!(created["displayUsername"], "NewPerson");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        t.sign_in("new.person@example.org", "first-password-1")
            .await
            .status,
        200
    );

    let res = call(
        &t,
        Some(&admin),
        "POST",
        "create-user",
        Some(json!({"email": "new.person@example.org", "name": "Again"})),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        refused(
            "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL",
            "User already exists. Use another email."
        )
    );
    let res = call(
        &t,
        Some(&admin),
        "POST",
        "create-user",
        Some(json!({"email": "x@example.org", "name": "X", "role": "owner"})),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        refused(
            "YOU_ARE_NOT_ALLOWED_TO_SET_NON_EXISTENT_VALUE",
            "You are not allowed to set a non-existent role value"
        )
    );
    let res = call(
        &t,
        Some(&admin),
        "POST",
        "create-user",
        Some(json!({"email": "y@example.org", "name": "Y", "password": "short"})),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        refused("PASSWORD_TOO_SHORT", "Password too short")
    );
    let res = call(
        &t,
        Some(&admin),
        "POST",
        "create-user",
        Some(json!({"email": "not-an-email", "name": "Z"})),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json(), refused("INVALID_EMAIL", "Invalid email"));

    let res = call(&t, Some(&admin), "GET", &format!("get-user?id={id}"), None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["email"], "new.person@example.org");
    let res = call(&t, Some(&admin), "GET", "get-user?id=nobody", None).await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), refused("USER_NOT_FOUND", "User not found"));

    let update = |data: Value| {
        let admin = admin.clone();
        let id = id.clone();
        let t = &t;
        async move {
            call(
                t,
                Some(&admin),
                "POST",
                "update-user",
                Some(json!({"userId": id, "data": data})),
            )
            .await
        }
    };
    let res = update(json!({"name": "Renamed", "email": "Moved@Example.org"})).await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["name"], "Renamed");
    assert_eq!(res.json()["email"], "moved@example.org");
    assert_eq!(res.json()["emailVerified"], false);
    let res = update(json!({})).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        refused("NO_DATA_TO_UPDATE", "No data to update")
    );
    let res = update(json!({"password": "sneaky-password"})).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["code"],
        "PASSWORD_CANNOT_BE_UPDATED_VIA_UPDATE_USER"
    );
    let res = update(json!({"email": "admin@example.org"})).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL");
    let res = update(json!({"twoFactorEnabled": false})).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        refused(
            "FIELD_NOT_ALLOWED",
            "twoFactorEnabled is not allowed to be set"
        )
    );

    // A password set by an admin ends every session the user had.
    let res = t.sign_in("moved@example.org", "first-password-1").await;
    let browser = common::Browser::from_response(&res);
    let res = call(
        &t,
        Some(&admin),
        "POST",
        "set-user-password",
        Some(json!({"userId": id, "newPassword": "second-password-2"})),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"status": true}));
    let res = t
        .send(
            "GET",
            "/api/test/whoami",
            &common::h(&browser.headers()),
            None,
        )
        .await;
    assert_eq!(res.status, 401);
    assert_eq!(
        t.sign_in("moved@example.org", "first-password-1")
            .await
            .status,
        401
    );
    assert_eq!(
        t.sign_in("moved@example.org", "second-password-2")
            .await
            .status,
        200
    );
    let res = call(
        &t,
        Some(&admin),
        "POST",
        "set-user-password",
        Some(json!({"userId": id, "newPassword": ""})),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"code": "VALIDATION_ERROR", "message": "[body.newPassword] newPassword cannot be empty"})
    );

    let res = call(
        &t,
        Some(&admin),
        "POST",
        "remove-user",
        Some(json!({"userId": admin.id()})),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        refused("YOU_CANNOT_REMOVE_YOURSELF", "You cannot remove yourself")
    );
    let res = call(
        &t,
        Some(&admin),
        "POST",
        "remove-user",
        Some(json!({"userId": id})),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"success": true}));
    let res = call(&t, Some(&admin), "GET", &format!("get-user?id={id}"), None).await;
    assert_eq!(res.status, 404);
    let res = call(
        &t,
        Some(&admin),
        "POST",
        "remove-user",
        Some(json!({"userId": id})),
    )
    .await;
    assert_eq!(res.status, 404);
    let dump = t.table_dump().await;
    assert!(
        dump.contains("user.created")
            && dump.contains("user.password_set")
            && dump.contains("user.deleted")
    );
}

#[tokio::test]
async fn the_last_admin_is_kept() {
    let t = portal().await;
    let admin = person(&t.state, "only@example.org", Role::Admin).await;
    let res = call(
        &t,
        Some(&admin),
        "POST",
        "set-role",
        Some(json!({"userId": admin.id(), "role": "user"})),
    )
    .await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        refused(
            "LAST_ADMIN",
            "The last admin who can act cannot be demoted, banned or removed"
        )
    );
    let second = person(&t.state, "second@example.org", Role::User).await;
    let res = call(
        &t,
        Some(&admin),
        "POST",
        "set-role",
        Some(json!({"userId": second.id(), "role": ["admin"]})),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["user"]["role"], "admin");
    let res = call(
        &t,
        Some(&admin),
        "POST",
        "set-role",
        Some(json!({"userId": second.id(), "role": ["admin", "staff"]})),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], "INVALID_ROLE_TYPE");
    let res = call(
        &t,
        Some(&admin),
        "POST",
        "set-role",
        Some(json!({"userId": admin.id(), "role": "user"})),
    )
    .await;
    assert_eq!(res.status, 200, "another admin can act now");
}

/// The cookie pairs a response sets that a browser would keep (not expired).
fn cookie_header(previous: &str, res: &TestResponse) -> String {
    let mut jar: Vec<(String, String)> = previous
        .split("; ")
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for set in set_cookies(res) {
        let pair = set.split(';').next().unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        jar.retain(|(k, _)| k != name);
        if !set.contains("Max-Age=0") {
            jar.push((name.to_string(), value.to_string()));
        }
    }
    jar.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

#[tokio::test]
async fn an_admin_impersonates_for_an_hour_at_most_and_comes_back() {
    let t = portal().await;
    let admin = person(&t.state, "admin@example.org", Role::Admin).await;
    let other_admin = person(&t.state, "admin2@example.org", Role::Admin).await;
    let member = person(&t.state, "member@example.org", Role::User).await;

    let res = call(
        &t,
        Some(&admin),
        "POST",
        "impersonate-user",
        Some(json!({"userId": other_admin.id()})),
    )
    .await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        refused(
            "YOU_CANNOT_IMPERSONATE_ADMINS",
            "You cannot impersonate admins"
        )
    );

    let res = call(
        &t,
        Some(&admin),
        "POST",
        "impersonate-user",
        Some(json!({"userId": member.id()})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text());
    let body = res.json();
    assert_eq!(body["user"]["id"], member.id());
    assert_eq!(body["session"]["impersonatedBy"], admin.id());
    let cookies = set_cookies(&res);
    let session_cookie = cookies
        .iter()
        .find(|c| c.contains(".session_token="))
        .unwrap();
    assert!(
        !session_cookie.contains("Max-Age"),
        "a browser-session cookie: {session_cookie}"
    );
    assert!(
        cookies.iter().any(|c| c.contains(".admin_session=")),
        "{cookies:?}"
    );
    let browser = cookie_header(&admin.cookie, &res);
    let headers = [
        ("cookie", browser.as_str()),
        ("origin", "http://localhost:3000"),
    ];

    // Signed in as the user, for an hour; asking again does not stretch it.
    let res = t.send("GET", "/api/auth/get-session", &headers, None).await;
    assert_eq!(res.status, 200);
    let session = res.json()["session"].clone();
    assert_eq!(res.json()["user"]["id"], member.id());
    let expires = portal_domain::time::parse_iso(session["expiresAt"].as_str().unwrap()).unwrap();
    assert!(expires <= portal_domain::time::now() + time::Duration::hours(1));
    assert!(set_cookies(&res).is_empty(), "never refreshed");

    // The user sees it in their own list, marked.
    let res = t
        .send("GET", "/api/auth/list-sessions", &member.headers(), None)
        .await;
    let listed = res.json();
    let marked = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["impersonatedBy"] == admin.id())
        .count();
    assert_eq!(marked, 1);
    assert!(t.table_dump().await.contains("user.impersonated"));

    // Back to the admin's own session; the impersonation is over.
    let res = t
        .send("POST", "/api/auth/admin/stop-impersonating", &headers, None)
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["user"]["id"], admin.id());
    assert_eq!(res.json()["session"]["token"], admin.token);
    let back = cookie_header(&browser, &res);
    assert!(!back.contains("admin_session"), "{back}");
    let res = t
        .send(
            "GET",
            "/api/auth/get-session",
            &[("cookie", back.as_str())],
            None,
        )
        .await;
    assert_eq!(res.json()["user"]["id"], admin.id());
    let res = t.send("GET", "/api/test/whoami", &headers, None).await;
    assert_eq!(res.status, 401, "the impersonation session is gone");

    let res = t
        .send(
            "POST",
            "/api/auth/admin/stop-impersonating",
            &member.headers(),
            None,
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"message": "You are not impersonating anyone"})
    );
}

#[tokio::test]
async fn staff_list_and_revoke_sessions_without_seeing_their_secrets() {
    let t = portal().await;
    let staff = person(&t.state, "staff@example.org", Role::Staff).await;
    let member = person(&t.state, "member@example.org", Role::User).await;
    let admin = person(&t.state, "admin@example.org", Role::Admin).await;
    let (second_token, _) = portal_testkit::people::session_for(&t.state, &member.user).await;

    let res = call(
        &t,
        Some(&staff),
        "POST",
        "list-user-sessions",
        Some(json!({"userId": member.id()})),
    )
    .await;
    assert_eq!(res.status, 200);
    let sessions = res.json()["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2);
    let text = res.text();
    assert!(
        !text.contains(&member.token) && !text.contains(&second_token),
        "no secret is shown"
    );
    for s in &sessions {
        assert_eq!(s["token"], s["id"]);
    }

    let first_id = portal_web::caller::token::session_id(&member.token);
    let res = call(
        &t,
        Some(&staff),
        "POST",
        "revoke-user-session",
        Some(json!({"sessionToken": first_id})),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"success": true}));
    assert_eq!(
        whoami(&t, &member).await,
        401,
        "ended on the very next request"
    );

    // Staff cannot end an admin's sessions.
    let res = call(
        &t,
        Some(&staff),
        "POST",
        "revoke-user-sessions",
        Some(json!({"userId": admin.id()})),
    )
    .await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json()["code"],
        "YOU_ARE_NOT_ALLOWED_TO_REVOKE_USERS_SESSIONS"
    );
    assert_eq!(whoami(&t, &admin).await, 200);

    let res = call(
        &t,
        Some(&staff),
        "POST",
        "revoke-user-sessions",
        Some(json!({"userId": member.id()})),
    )
    .await;
    assert_eq!(res.status, 200);
    let res = call(
        &t,
        Some(&staff),
        "POST",
        "list-user-sessions",
        Some(json!({"userId": member.id()})),
    )
    .await;
    assert_eq!(res.json(), json!({"sessions": []}));
    let res = call(
        &t,
        Some(&member),
        "POST",
        "list-user-sessions",
        Some(json!({"userId": staff.id()})),
    )
    .await;
    assert_eq!(res.status, 401, "the member has no session left");
}

#[tokio::test]
async fn has_permission_answers_from_the_one_table() {
    let t = TestAuth::new(|c| {
        if let Some(auth) = c.auth.as_mut() {
            auth.require_2fa_for_staff = false;
        }
    })
    .await;
    let staff = person(&t.state, "staff@example.org", Role::Staff).await;
    let admin = person(&t.state, "admin@example.org", Role::Admin).await;
    let member = person(&t.state, "member@example.org", Role::User).await;
    let ask = |who: &Person, permissions: Value| {
        let who = who.clone();
        let t = &t;
        async move {
            call(
                t,
                Some(&who),
                "POST",
                "has-permission",
                Some(json!({"permissions": permissions})),
            )
            .await
        }
    };
    let yes = json!({"error": null, "success": true});
    let no = json!({"error": null, "success": false});
    assert_eq!(
        ask(
            &staff,
            json!({"user": ["list", "ban"], "session": ["revoke"]})
        )
        .await
        .json(),
        yes
    );
    assert_eq!(ask(&staff, json!({"user": ["set-role"]})).await.json(), no);
    assert_eq!(ask(&staff, json!({"user": ["delete"]})).await.json(), no);
    assert_eq!(
        ask(
            &admin,
            json!({"user": ["create", "delete", "impersonate", "set-password"]})
        )
        .await
        .json(),
        yes
    );
    assert_eq!(
        ask(&admin, json!({"user": ["impersonate-admins"]}))
            .await
            .json(),
        no
    );
    assert_eq!(ask(&admin, json!({"project": ["create"]})).await.json(), no);
    assert_eq!(ask(&member, json!({"user": ["list"]})).await.json(), no);
    assert_eq!(ask(&admin, json!({})).await.json(), no);

    let res = call(
        &t,
        Some(&admin),
        "POST",
        "has-permission",
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json(),
        json!({"message": "invalid permission check. no permission(s) were passed."})
    );
    let res = call(
        &t,
        None,
        "POST",
        "has-permission",
        Some(json!({"permissions": {"user": ["list"]}})),
    )
    .await;
    assert_eq!(res.status, 401);
}

#[tokio::test]
async fn a_staff_role_counts_only_past_the_second_factor_when_asked() {
    let t = TestAuth::new(|c| {
        if let Some(auth) = c.auth.as_mut() {
            auth.require_2fa_for_staff = true;
        }
    })
    .await;
    let staff = person(&t.state, "staff@example.org", Role::Staff).await;
    let res = call(&t, Some(&staff), "GET", "list-users", None).await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        refused("TWO_FACTOR_REQUIRED", "Two-factor authentication required")
    );
    let res = call(
        &t,
        Some(&staff),
        "POST",
        "has-permission",
        Some(json!({"permissions": {"user": ["list"]}})),
    )
    .await;
    assert_eq!(res.json(), json!({"error": null, "success": false}));
    let verified = portal_testkit::people::with_second_factor(&t.state, &staff).await;
    let res = call(&t, Some(&verified), "GET", "list-users", None).await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn an_impersonation_leaves_nothing_behind_that_outlives_it() {
    let t = portal().await;
    let admin = person(&t.state, "admin@example.org", Role::Admin).await;
    let member = person(&t.state, "member@example.org", Role::User).await;
    let res = call(
        &t,
        Some(&admin),
        "POST",
        "impersonate-user",
        Some(json!({"userId": member.id()})),
    )
    .await;
    assert_eq!(res.status, 200);
    let browser = cookie_header(&admin.cookie, &res);
    let headers = [
        ("cookie", browser.as_str()),
        ("origin", "http://localhost:3000"),
    ];
    let refused = json!({
        "code": "IMPERSONATION_NOT_ALLOWED",
        "message": "Not while impersonating: this stays the user's own to do"
    });
    // No passkey (a way back in after the hour), no API key, no deleted account.
    for (method, path, body) in [
        ("GET", "/api/auth/passkey/generate-register-options", None),
        (
            "POST",
            "/api/auth/api-key/create",
            Some(json!({"name": "backdoor"})),
        ),
        ("POST", "/api/auth/delete-user", Some(json!({}))),
    ] {
        let res = t.send(method, path, &headers, body).await;
        assert_eq!(res.status, 403, "{path}");
        assert_eq!(res.json(), refused, "{path}");
    }
    assert!(t.state.db.users().get(member.id()).await.unwrap().is_some());
    assert_eq!(t.count_items("APIKEY#").await, 0);
}
