//! `/api/admin/users`.

mod common;

use common::{Admin, envelope};
use portal_domain::model::Role;
use portal_testkit::Sections;
use portal_testkit::{person, session_for};
use serde_json::{Value, json};

#[tokio::test]
async fn only_admins_and_staff_get_in() {
    let t = Admin::new().await;
    let res = t.send("GET", "/api/admin/users", None, None).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json(), envelope("Unauthorized"));
    let res = t.get("/api/admin/users", &t.user).await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.json(),
        envelope("Forbidden - Admin or Staff access required")
    );
    assert_eq!(t.get("/api/admin/users", &t.staff).await.status, 200);
    assert_eq!(t.get("/api/admin/users", &t.admin).await.status, 200);
}

#[tokio::test]
async fn the_list_has_the_documented_shape_newest_first() {
    let t = Admin::new().await;
    let res = t.get("/api/admin/users", &t.admin).await;
    let body = res.json();
    assert_eq!(
        body["pagination"],
        json!({"total": 3, "limit": 50, "offset": 0, "hasMore": false})
    );
    let emails: Vec<&str> = body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        emails,
        vec!["user@example.org", "staff@example.org", "admin@example.org"]
    );
    let first = &body["users"][0];
    for key in [
        "id",
        "name",
        "email",
        "role",
        "banned",
        "emailVerified",
        "twoFactorEnabled",
        "username",
        "displayUsername",
        "createdAt",
        "updatedAt",
    ] {
        assert!(first.get(key).is_some(), "{key}");
    }
    assert!(body.get("nextCursor").is_none());
}

#[tokio::test]
async fn filters_by_role_and_ban_with_exact_totals() {
    let t = Admin::new().await;
    for i in 0..4 {
        person(&t.state, &format!("member{i}@example.org"), Role::User).await;
    }
    let banned = t.get("/api/admin/users?limit=1", &t.admin).await.json()["users"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    t.send(
        "PATCH",
        &format!("/api/admin/users/{banned}"),
        Some(&t.admin),
        Some(json!({"banned": true, "banReason": "spam"})),
    )
    .await;
    let cases = [
        ("role=user", 5),
        ("role=staff", 1),
        ("role=admin", 1),
        ("banned=true", 1),
        ("banned=false", 6),
        ("role=user&banned=false", 4),
        ("role=admin&banned=true", 0),
    ];
    for (query, total) in cases {
        let body = t
            .get(&format!("/api/admin/users?{query}"), &t.staff)
            .await
            .json();
        assert_eq!(body["pagination"]["total"], total, "{query}");
        assert_eq!(
            body["users"].as_array().unwrap().len(),
            total as usize,
            "{query}"
        );
    }
    let only_banned = t.get("/api/admin/users?banned=true", &t.staff).await.json();
    assert_eq!(only_banned["users"][0]["banReason"], "spam");
}

#[tokio::test]
async fn search_matches_email_or_name_prefixes_case_insensitively() {
    let t = Admin::new().await;
    let ada = person(&t.state, "ada.lovelace@example.org", Role::User).await;
    t.state
        .db
        .users()
        .update(&ada.user.id, "2026-01-01T00:00:00.000Z", |u| {
            u.name = "Countess Ada".into()
        })
        .await
        .unwrap();
    let grace = person(&t.state, "ghopper@navy.example.org", Role::User).await;
    t.state
        .db
        .users()
        .update(&grace.user.id, "2026-01-01T00:00:00.000Z", |u| {
            u.name = "Grace Hopper".into()
        })
        .await
        .unwrap();
    let by_email = t
        .get("/api/admin/users?search=ADA.L", &t.admin)
        .await
        .json();
    assert_eq!(by_email["pagination"]["total"], 1);
    assert_eq!(by_email["users"][0]["email"], "ada.lovelace@example.org");
    let by_name = t
        .get("/api/admin/users?search=grace", &t.admin)
        .await
        .json();
    assert_eq!(by_name["users"][0]["email"], "ghopper@navy.example.org");
    let renamed_away = t
        .get("/api/admin/users?search=ghopper", &t.admin)
        .await
        .json();
    assert_eq!(
        renamed_away["pagination"]["total"], 1,
        "e-mail still matches"
    );
    let none = t.get("/api/admin/users?search=zzz", &t.admin).await.json();
    assert_eq!(
        none["pagination"],
        json!({"total": 0, "limit": 50, "offset": 0, "hasMore": false})
    );
    let with_role = t
        .get("/api/admin/users?search=a&role=admin", &t.admin)
        .await
        .json();
    assert_eq!(with_role["users"][0]["email"], "admin@example.org");
    assert_eq!(with_role["pagination"]["total"], 1);
}

async fn walk(t: &Admin, first: &str, by_cursor: bool) -> Vec<String> {
    let mut seen = Vec::new();
    let mut path = first.to_string();
    let mut offset = 0;
    loop {
        let body = t.get(&path, &t.admin).await.json();
        let page: Vec<String> = body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        assert!(page.len() <= 4);
        seen.extend(page.clone());
        let has_more = body["pagination"]["hasMore"].as_bool().unwrap();
        if !has_more {
            assert!(body.get("nextCursor").is_none());
            return seen;
        }
        if by_cursor {
            let cursor = body["nextCursor"].as_str().unwrap();
            path = format!("{first}&cursor={cursor}");
        } else {
            offset += 4;
            path = format!("{first}&offset={offset}");
        }
    }
}

#[tokio::test]
async fn paging_by_offset_or_cursor_has_no_duplicates_or_gaps() {
    let t = Admin::new().await;
    for i in 0..14 {
        person(&t.state, &format!("p{i:02}@example.org"), Role::User).await;
    }
    let everyone = t.get("/api/admin/users?limit=100", &t.admin).await.json();
    let all: Vec<String> = everyone["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(all.len(), 17);
    for query in [
        "/api/admin/users?limit=4",
        "/api/admin/users?limit=4&role=user",
        "/api/admin/users?limit=4&search=p",
    ] {
        let expected: Vec<String> = if query.contains("role") || query.contains("search") {
            all.iter()
                .filter(|id| *id != &t.admin.user.id && *id != &t.staff.user.id)
                .filter(|id| !query.contains("search") || *id != &t.user.user.id)
                .cloned()
                .collect()
        } else {
            all.clone()
        };
        assert_eq!(walk(&t, query, false).await, expected, "offset {query}");
        assert_eq!(walk(&t, query, true).await, expected, "cursor {query}");
    }
    let last = t
        .get("/api/admin/users?limit=4&offset=16", &t.admin)
        .await
        .json();
    assert_eq!(
        last["pagination"],
        json!({"total": 17, "limit": 4, "offset": 16, "hasMore": false})
    );
}

#[tokio::test]
async fn bad_queries_are_validation_errors() {
    let t = Admin::new().await;
    let cases = [
        (
            "limit=0",
            "Validation error: Limit must be greater than or equal to 1 at \"limit\"",
        ),
        (
            "limit=101",
            "Validation error: Limit must be less than or equal to 100 at \"limit\"",
        ),
        (
            "limit=x",
            "Validation error: Expected number, received nan at \"limit\"",
        ),
        (
            "offset=-3",
            "Validation error: Offset must be greater than or equal to 0 at \"offset\"",
        ),
        (
            "banned=maybe",
            "Validation error: Invalid enum value. Expected 'true' | 'false', received 'maybe' at \"banned\"",
        ),
        (
            "role=root",
            "Validation error: Invalid enum value. Expected 'user' | 'staff' | 'admin', received 'root' at \"role\"",
        ),
        (
            "cursor=not-a-cursor",
            "Validation error: Invalid cursor at \"cursor\"",
        ),
    ];
    for (query, message) in cases {
        let res = t.get(&format!("/api/admin/users?{query}"), &t.admin).await;
        assert_eq!(res.status, 400, "{query}");
        assert_eq!(res.json()["error"], message, "{query}");
        assert!(res.json()["details"]["issues"].is_array());
    }
}

#[tokio::test]
async fn get_user_and_its_errors() {
    let t = Admin::new().await;
    let res = t
        .get(&format!("/api/admin/users/{}", t.user.user.id), &t.staff)
        .await;
    assert_eq!(res.json()["user"]["email"], "user@example.org");
    let res = t.get("/api/admin/users/nobody", &t.staff).await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), envelope("User not found"));
    let res = t
        .get(&format!("/api/admin/users/{}", "x".repeat(129)), &t.staff)
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json(), envelope("Invalid id format"));
}

#[tokio::test]
async fn staff_manage_regular_users_only() {
    let t = Admin::new().await;
    let path = format!("/api/admin/users/{}", t.user.user.id);
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.staff),
            Some(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["user"]["name"], "Renamed");
    let forbidden = envelope("Forbidden - Admin access required");
    for role in ["staff", "admin"] {
        let res = t
            .send("PATCH", &path, Some(&t.staff), Some(json!({"role": role})))
            .await;
        assert_eq!(res.status, 403, "{role}");
        assert_eq!(res.json(), forbidden);
    }
    let admin_path = format!("/api/admin/users/{}", t.admin.user.id);
    for body in [json!({"name": "x"}), json!({"banned": true})] {
        let res = t
            .send("PATCH", &admin_path, Some(&t.staff), Some(body))
            .await;
        assert_eq!(res.status, 403);
        assert_eq!(res.json(), forbidden);
    }
    let other_staff = person(&t.state, "staff2@example.org", Role::Staff).await;
    let res = t
        .send(
            "PATCH",
            &format!("/api/admin/users/{}", other_staff.user.id),
            Some(&t.staff),
            Some(json!({"role": "user"})),
        )
        .await;
    assert_eq!(res.status, 403, "staff cannot remove the staff role");
    let res = t.send("DELETE", &path, Some(&t.staff), None).await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json(), forbidden);
    let stored = t
        .state
        .db
        .users()
        .get(&t.admin.user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.name, "admin", "nothing changed");
}

#[tokio::test]
async fn admins_grant_and_remove_roles() {
    let t = Admin::new().await;
    let path = format!("/api/admin/users/{}", t.user.user.id);
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.admin),
            Some(json!({"role": "staff"})),
        )
        .await;
    assert_eq!(res.json()["user"]["role"], "staff");
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.admin),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(res.json()["user"]["role"], "admin");
    // Now there are two admins: the first may step down.
    let res = t
        .send(
            "PATCH",
            &format!("/api/admin/users/{}", t.admin.user.id),
            Some(&t.admin),
            Some(json!({"role": "user"})),
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["user"]["role"], "user");
}

#[tokio::test]
async fn the_last_admin_cannot_be_demoted_banned_or_deleted() {
    let t = Admin::new().await;
    let me = format!("/api/admin/users/{}", t.admin.user.id);
    let expected = envelope("Forbidden - the last admin cannot be demoted, banned or deleted");
    for body in [
        json!({"role": "user"}),
        json!({"role": "staff"}),
        json!({"banned": true}),
    ] {
        let res = t
            .send("PATCH", &me, Some(&t.admin), Some(body.clone()))
            .await;
        assert_eq!(res.status, 403, "{body}");
        assert_eq!(res.json(), expected);
    }
    let res = t.send("DELETE", &me, Some(&t.admin), None).await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json(), expected);
    assert_eq!(
        t.state
            .db
            .users()
            .get(&t.admin.user.id)
            .await
            .unwrap()
            .unwrap()
            .role,
        Role::Admin
    );
}

#[tokio::test]
async fn a_ban_ends_every_session_and_refuses_keys_at_once() {
    let t = Admin::new().await;
    let (second, _) = session_for(&t.state, &t.user.user).await;
    let path = format!("/api/admin/users/{}", t.user.user.id);
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.staff),
            Some(
                json!({"banned": true, "banReason": "abuse", "banExpires": "2999-01-01T00:00:00Z"}),
            ),
        )
        .await;
    assert_eq!(res.status, 200);
    let user = res.json()["user"].clone();
    assert_eq!(user["banned"], true);
    assert_eq!(user["banReason"], "abuse");
    assert_eq!(user["banExpires"], "2999-01-01T00:00:00.000Z");
    for token in [&t.user.token, &second] {
        assert!(
            t.state
                .db
                .sessions()
                .get(&portal_web::caller::token::session_id(token))
                .await
                .unwrap()
                .is_none(),
            "session revoked"
        );
    }
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.staff),
            Some(json!({"banned": false})),
        )
        .await;
    assert_eq!(res.json()["user"]["banned"], false);
    assert_eq!(res.json()["user"]["banReason"], Value::Null);
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.staff),
            Some(json!({"banned": true, "banExpires": "2020-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(
        res.json()["user"]["banned"],
        false,
        "a ban that already ended is no ban"
    );
}

#[tokio::test]
async fn patch_bodies_are_validated() {
    let t = Admin::new().await;
    let path = format!("/api/admin/users/{}", t.user.user.id);
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.admin),
            Some(json!({"role": "root"})),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.json()["details"]["issues"][0]["code"],
        "invalid_enum_value"
    );
    assert_eq!(res.json()["details"]["issues"][0]["path"], json!(["role"]));
    let res = t
        .send("PATCH", &path, Some(&t.admin), Some(json!({"name": ""})))
        .await;
    assert_eq!(
        res.json()["error"],
        "Validation error: Name must contain at least 1 character(s) at \"name\""
    );
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.admin),
            Some(json!({"banExpires": "tomorrow"})),
        )
        .await;
    assert_eq!(
        res.json()["error"],
        "Validation error: Invalid datetime at \"banExpires\""
    );
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.admin),
            Some(json!({"banned": "yes"})),
        )
        .await;
    assert_eq!(
        res.json()["error"],
        "Validation error: Expected boolean, received string at \"banned\""
    );
    let res = t
        .send(
            "PATCH",
            &format!("/api/admin/users/{}", "x".repeat(129)),
            Some(&t.admin),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.json(), envelope("Invalid id format"));
    let res = t
        .send(
            "PATCH",
            "/api/admin/users/nobody",
            Some(&t.admin),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(res.status, 404);
}

#[tokio::test]
async fn deleting_a_user_removes_everything_theirs() {
    let t = Admin::new().await;
    portal_testkit::api_key_for(&t.state, &t.user.user, "doomed").await;
    let at = portal_domain::time::iso(portal_domain::time::now());
    t.state
        .db
        .tokens()
        .issue(
            "reset-token-123456789012",
            "reset-password",
            &t.user.user,
            &at,
            "2999-01-01T00:00:00.000Z",
        )
        .await
        .unwrap();
    let res = t
        .send(
            "DELETE",
            &format!("/api/admin/users/{}", t.user.user.id),
            Some(&t.admin),
            None,
        )
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), json!({"ok": true}));
    // Every item of the user is gone; only the audit trail (which records the deletion
    // itself) keeps their id until its retention ends.
    let items = t.scan().await;
    let (audit, rest): (Vec<_>, Vec<_>) = items.into_iter().partition(|item| {
        item.get("PK")
            .and_then(|v| v.as_s().ok())
            .is_some_and(|pk| pk.starts_with("AUDIT#"))
    });
    let dump = format!("{rest:?}");
    assert!(
        !dump.contains(&t.user.user.id),
        "no item of the user is left: {dump}"
    );
    assert!(!dump.contains("user@example.org"));
    assert!(
        format!("{audit:?}").contains("user.deleted"),
        "the deletion is recorded"
    );
    assert!(
        t.state
            .db
            .users()
            .find_by_email("user@example.org")
            .await
            .unwrap()
            .is_none(),
        "the e-mail is free again"
    );
    assert_eq!(
        t.get(&format!("/api/admin/users/{}", t.user.user.id), &t.admin)
            .await
            .status,
        404
    );
    assert_eq!(
        t.send(
            "DELETE",
            &format!("/api/admin/users/{}", t.user.user.id),
            Some(&t.admin),
            None
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn deleting_a_user_deprovisions_their_integration_accounts() {
    let prosody = portal_testkit::FakeProsody::start().await;
    let state = portal_testkit::test_state(|c| {
        c.rate_limits.enabled = false;
        c.services_mut().prosody.rest_url = Some(url::Url::parse(&prosody.url()).unwrap());
        c.services_mut().prosody.rest_token = Some(portal_testkit::PROSODY_TOKEN.into());
        c.services_mut().prosody.xmpp_domain = Some("chat.example.org".into());
    })
    .await;
    let app = portal_web::http::finish(portal_admin_api::router(state.clone()), &state.config);
    let admin = person(&state, "root@example.org", Role::Admin).await;
    let member = person(&state, "member@example.org", Role::User).await;
    let at = portal_domain::time::iso(portal_domain::time::now());
    let account = portal_domain::store::integration_accounts::Account {
        id: "acct1".into(),
        user_id: member.user.id.clone(),
        integration_id: "xmpp".into(),
        username: "member".into(),
        data: json!({"username": "member", "jid": "member@chat.example.org"}),
        status: "provisioning".into(),
        suspended_by_ban: false,
        metadata: None,
        created_at: at.clone(),
        updated_at: at.clone(),
    };
    state
        .db
        .integration_accounts()
        .reserve(
            &account,
            portal_domain::store::integration_accounts::Taker::user(),
        )
        .await
        .unwrap();
    state
        .db
        .integration_accounts()
        .activate(&account, "active", &at, None)
        .await
        .unwrap();
    prosody.add_user("member", "pw-on-the-server");
    let delete = || {
        axum::http::Request::builder()
            .method("DELETE")
            .uri(format!("/api/admin/users/{}", member.user.id))
            .header("cookie", &admin.cookie)
            .header("origin", portal_testkit::BROWSER_ORIGIN)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    prosody.set_mode(portal_testkit::Mode::Fail(500));
    let res = portal_testkit::call(&app, delete()).await;
    assert_eq!(res.status, 502);
    assert!(
        state
            .db
            .users()
            .get(&member.user.id)
            .await
            .unwrap()
            .is_some(),
        "nothing deleted while Prosody fails"
    );
    prosody.set_mode(portal_testkit::Mode::Normal);
    let res = portal_testkit::call(&app, delete()).await;
    assert_eq!(res.status, 200);
    assert!(prosody.users().is_empty(), "deprovisioned upstream");
    assert!(
        state
            .db
            .integration_accounts()
            .get("acct1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        state
            .db
            .users()
            .get(&member.user.id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_banned_admin_does_not_count_as_the_other_admin() {
    let t = Admin::new().await;
    let other = portal_testkit::person(&t.state, "other-admin@example.org", Role::Admin).await;
    let last = envelope("Forbidden - the last admin cannot be demoted, banned or deleted");
    // Two admins who can act: one may be banned.
    let res = t
        .send(
            "PATCH",
            &format!("/api/admin/users/{}", other.user.id),
            Some(&t.admin),
            Some(json!({"banned": true})),
        )
        .await;
    assert_eq!(res.status, 200);
    // Now the remaining one is the last who can act, whatever the role counter says.
    let me = format!("/api/admin/users/{}", t.admin.user.id);
    for body in [json!({"role": "user"}), json!({"banned": true})] {
        let res = t.send("PATCH", &me, Some(&t.admin), Some(body)).await;
        assert_eq!(res.status, 403);
        assert_eq!(res.json(), last);
    }
    let res = t.send("DELETE", &me, Some(&t.admin), None).await;
    assert_eq!(res.json(), last);
    // The banned admin can be deleted; lifting the ban makes them count again.
    let res = t
        .send(
            "PATCH",
            &format!("/api/admin/users/{}", other.user.id),
            Some(&t.admin),
            Some(json!({"banned": false})),
        )
        .await;
    assert_eq!(res.status, 200);
    let res = t
        .send("PATCH", &me, Some(&t.admin), Some(json!({"role": "staff"})))
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["user"]["role"], "staff");
}

#[tokio::test]
async fn two_admins_demoting_each_other_at_once_leave_one_admin() {
    for _ in 0..5 {
        let t = Admin::new().await;
        let other = portal_testkit::person(&t.state, "other-admin@example.org", Role::Admin).await;
        let a_path = format!("/api/admin/users/{}", other.user.id);
        let b_path = format!("/api/admin/users/{}", t.admin.user.id);
        let (a, b) = tokio::join!(
            t.send(
                "PATCH",
                &a_path,
                Some(&t.admin),
                Some(json!({"role": "user"}))
            ),
            t.send(
                "PATCH",
                &b_path,
                Some(&other),
                Some(json!({"role": "user"}))
            )
        );
        let mut statuses = [a.status, b.status];
        statuses.sort();
        assert_eq!(statuses, [200, 403], "exactly one demotion passes");
        let admins = t.state.db.users().acting_admins().await.unwrap();
        assert_eq!(admins.len(), 1, "{admins:?}");
        let stats = t.state.db.stats().counters().await.unwrap();
        assert_eq!(stats.admins, 1);
    }
}

#[tokio::test]
async fn a_ban_expiry_the_date_library_cannot_hold_is_a_400() {
    let t = Admin::new().await;
    let path = format!("/api/admin/users/{}", t.user.user.id);
    for until in [
        "9999-12-31T23:59:59-23:59",
        "0000-01-01T00:00:00+23:59",
        "+10000-01-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
    ] {
        let res = t
            .send(
                "PATCH",
                &path,
                Some(&t.admin),
                Some(json!({"banned": true, "banExpires": until})),
            )
            .await;
        assert_eq!(res.status, 400, "{until}");
        assert_eq!(
            res.json()["error"],
            "Validation error: Invalid datetime at \"banExpires\""
        );
    }
    let res = t
        .send("GET", "/api/admin/users?offset=10001", Some(&t.admin), None)
        .await;
    assert_eq!(res.status, 400);
}

#[tokio::test]
async fn cursors_are_sealed_so_a_client_cannot_craft_one() {
    let t = Admin::new().await;
    let first = t.get("/api/admin/users?limit=1", &t.admin).await.json();
    let cursor = first["nextCursor"].as_str().unwrap().to_string();
    assert!(
        !cursor.contains("USER#") && !cursor.contains("GSI1"),
        "the cursor shows nothing of the table"
    );
    assert_eq!(
        t.get(
            &format!("/api/admin/users?limit=1&cursor={cursor}"),
            &t.admin
        )
        .await
        .status,
        200
    );
    // What the key of an item looks like, encoded by hand, and a flipped character.
    let crafted = data_encoding::BASE64URL_NOPAD
        .encode(br#"{"PK":"USER#x","SK":"USER","GSI1PK":"USERS","GSI1SK":"0"}"#);
    let mut flipped = cursor.into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    for bad in [crafted, String::from_utf8(flipped).unwrap()] {
        let res = t
            .get(&format!("/api/admin/users?limit=1&cursor={bad}"), &t.admin)
            .await;
        assert_eq!(res.status, 400, "{bad}");
        assert_eq!(
            res.json()["error"],
            "Validation error: Invalid cursor at \"cursor\""
        );
    }
}

#[tokio::test]
async fn admins_and_staff_change_usernames_which_are_unique_searchable_and_freed() {
    let t = Admin::new().await;
    let other = person(&t.state, "other@example.org", Role::User).await;
    let path = format!("/api/admin/users/{}", t.user.user.id);
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.staff),
            Some(json!({"username": "Wanda_Ng"})),
        )
        .await;
    assert_eq!(res.status, 200, "staff manage regular users");
    assert_eq!(res.json()["user"]["username"], "wanda_ng");
    assert_eq!(res.json()["user"]["displayUsername"], "Wanda_Ng");
    let found = t
        .get("/api/admin/users?search=WANDA", &t.admin)
        .await
        .json();
    assert_eq!(found["pagination"]["total"], 1);
    assert_eq!(found["users"][0]["id"], t.user.user.id.as_str());

    // Somebody else's username: 409, nothing changes.
    let res = t
        .send(
            "PATCH",
            &format!("/api/admin/users/{}", other.user.id),
            Some(&t.admin),
            Some(json!({"username": "wanda_ng", "name": "Renamed"})),
        )
        .await;
    assert_eq!(res.status, 409);
    assert_eq!(res.json(), envelope("Username is already taken"));
    let unchanged = t
        .state
        .db
        .users()
        .get(&other.user.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.name, other.user.name);
    assert_eq!(unchanged.username, None);

    // A new username frees the old one in the same write.
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.admin),
            Some(json!({"username": "wanda2"})),
        )
        .await;
    assert_eq!(res.json()["user"]["username"], "wanda2");
    let old = t.state.db.users().username_owner("wanda_ng").await.unwrap();
    assert_eq!(old, None, "the old username is free again");
    let gone = t
        .get("/api/admin/users?search=wanda_", &t.admin)
        .await
        .json();
    assert_eq!(gone["pagination"]["total"], 0);

    for (bad, error) in [
        (
            json!("ab"),
            "Validation error: Username must contain at least 3 character(s) at \"username\"",
        ),
        (
            json!("9lives"),
            "Validation error: A letter, then letters, digits, _ or - at \"username\"",
        ),
    ] {
        let res = t
            .send(
                "PATCH",
                &path,
                Some(&t.admin),
                Some(json!({"username": bad})),
            )
            .await;
        assert_eq!(res.status, 400);
        assert_eq!(res.json()["error"], error);
    }
    // Deleting the user frees their username.
    let res = t.send("DELETE", &path, Some(&t.admin), None).await;
    assert_eq!(res.status, 200);
    assert_eq!(t.count_items("USERNAME#").await, 0);
}

#[tokio::test]
async fn portals_user_sheet_changes_an_email_admins_only() {
    let t = Admin::new().await;
    let path = format!("/api/admin/users/{}", t.user.user.id);
    let before = t
        .state
        .db
        .users()
        .get(&t.user.user.id)
        .await
        .unwrap()
        .unwrap();
    // Staff may not: setting someone's address lets one reset their password.
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.staff),
            Some(json!({"email": "new@example.org"})),
        )
        .await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json(), envelope("Forbidden - Admin access required"));
    for bad in ["not-an-email", "a@b", " "] {
        let res = t
            .send("PATCH", &path, Some(&t.admin), Some(json!({"email": bad})))
            .await;
        assert_eq!(res.status, 400, "{bad}");
        assert_eq!(
            res.json()["error"],
            "Validation error: Invalid email at \"email\"",
            "{bad}"
        );
    }
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.admin),
            Some(json!({"email": "staff@example.org"})),
        )
        .await;
    assert_eq!(res.status, 409);
    assert_eq!(res.json(), envelope("Email is already in use"));
    // updateUser reads `result.user`.
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&t.admin),
            Some(json!({"email": "  New.Address@Example.org "})),
        )
        .await;
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.json()["user"]["email"], "new.address@example.org");
    assert_eq!(res.json()["user"]["emailVerified"], false);
    let users = t.state.db.users();
    let found = users
        .find_by_email("new.address@example.org")
        .await
        .unwrap();
    assert_eq!(found.map(|(u, _)| u.id), Some(t.user.user.id.clone()));
    assert!(
        users
            .find_by_email("user@example.org")
            .await
            .unwrap()
            .is_none(),
        "the old address is free"
    );
    let after = users.get(&t.user.user.id).await.unwrap().unwrap();
    assert_eq!(
        after.generations.reset_tokens,
        before.generations.reset_tokens + 1,
        "reset links sent to the old address stop working"
    );
    let log = t.get("/api/admin/audit-log", &t.admin).await.json();
    let changed = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["details"]["email"].is_object())
        .expect("the change is audited");
    assert_eq!(
        changed["details"]["email"],
        json!({"before": "user@example.org", "after": "new.address@example.org"})
    );
}

#[tokio::test]
async fn the_view_of_a_user_lists_their_passkeys() {
    let t = Admin::new().await;
    let at = portal_domain::time::iso(portal_domain::time::now());
    let passkey = portal_domain::store::passkeys::Passkey {
        id: "0123456789abcdef0123456789abcdef".into(),
        user_id: t.user.user.id.clone(),
        name: Some("Phone".into()),
        credential_id: "Y3JlZGVudGlhbA".into(),
        public_key: "cHVibGlj".into(),
        counter: 3,
        device_type: "multiDevice".into(),
        backed_up: true,
        transports: "internal".into(),
        created_at: at.clone(),
        aaguid: None,
        last_used_at: Some(at.clone()),
        credential: "{}".into(),
    };
    let origin = portal_domain::store::audit::Provenance::operator(30);
    let event = portal_domain::store::audit::Event::now(
        &origin,
        "passkey.registered",
        Some(&t.user.user.id),
        None,
    );
    assert!(
        t.state
            .db
            .passkeys()
            .register(&passkey, &event)
            .await
            .unwrap()
    );
    let res = t
        .get(&format!("/api/admin/users/{}", t.user.user.id), &t.staff)
        .await;
    assert_eq!(res.status, 200);
    let listed = res.json()["passkeys"].clone();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["name"], "Phone");
    assert_eq!(listed[0]["deviceType"], "multiDevice");
    assert_eq!(listed[0]["lastUsedAt"], at.as_str());
    assert!(
        listed[0].get("credential").is_none(),
        "the library's record stays inside"
    );
    // Nobody else's.
    let res = t
        .get(&format!("/api/admin/users/{}", t.staff.user.id), &t.admin)
        .await;
    assert_eq!(res.json()["passkeys"], serde_json::json!([]));
}
