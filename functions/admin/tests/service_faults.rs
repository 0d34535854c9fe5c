//! Service-account moderation when the table or the configuration fails: a status change
//! the table cannot record is put back on the service, and acting on an account of a
//! service that is not configured is a 503.

use portal_domain::model::Role;
use portal_testkit::Sections;
use portal_testkit::{
    ATHEME_OPER, ATHEME_OPER_PASSWORD, FakeAtheme, Fault, TestApp, envelope, faulty_state, person,
    person_with_username, test_state,
};
use serde_json::json;

#[tokio::test]
async fn a_suspension_the_table_cannot_record_is_put_back_on_the_service() {
    let atheme = FakeAtheme::start().await;
    let (state, proxy) = faulty_state(|c| {
        c.rate_limits.enabled = false;
        c.services_mut().irc.jsonrpc_url = Some(url::Url::parse(&atheme.url()).unwrap());
        c.services_mut().irc.oper_account = Some(ATHEME_OPER.into());
        c.services_mut().irc.oper_password = Some(ATHEME_OPER_PASSWORD.into());
    })
    .await;
    let routes =
        portal_admin_api::router(state.clone()).merge(portal_integrations::router(state.clone()));
    let t = TestApp::new(state.clone(), routes);
    let admin = person(&state, "admin@example.org", Role::Admin).await;
    let ada = person_with_username(&state, "ada@example.org", "Ada", Role::User).await;
    let res = t
        .send(
            "POST",
            "/api/integrations/irc/accounts",
            Some(&ada),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.status, 201);
    let id = res.json()["account"]["id"].as_str().unwrap().to_string();
    let path = format!("/api/admin/irc-accounts/{id}");
    // The caller, the account and its owner are read; the write that records the
    // suspension fails.
    proxy.after(3, Fault::ServerError);
    let res = t
        .send(
            "PATCH",
            &path,
            Some(&admin),
            Some(json!({"status": "suspended"})),
        )
        .await;
    proxy.set(Fault::Pass);
    assert_eq!(res.status, 503, "{:?}", res.json());
    assert!(res.header("retry-after").is_some());
    assert!(
        !atheme.nick("ada").unwrap().frozen,
        "the freeze was undone on IRC"
    );
    let calls = atheme.calls();
    let freezes = calls.iter().filter(|c| c.ends_with("FREEZE")).count();
    assert_eq!(freezes, 2, "{calls:?}");
    let row = t.get(&path, &admin).await.json();
    assert_eq!(row["ircAccount"]["status"], "active");
}

#[tokio::test]
async fn acting_on_a_service_that_is_not_configured_is_503() {
    let state = test_state(|c| c.rate_limits.enabled = false).await;
    let t = TestApp::new(state.clone(), portal_admin_api::router(state.clone()));
    let admin = person(&state, "admin@example.org", Role::Admin).await;
    let member = person(&state, "member@example.org", Role::User).await;
    let at = portal_domain::time::iso(portal_domain::time::now());
    let account = portal_domain::store::integration_accounts::Account {
        id: "wiki-acct".into(),
        user_id: member.user.id.clone(),
        integration_id: "mediawiki".into(),
        username: "member".into(),
        data: json!({"username": "Member"}),
        status: "provisioning".into(),
        suspended_by_ban: false,
        metadata: None,
        created_at: at.clone(),
        updated_at: at.clone(),
    };
    let accounts = state.db.integration_accounts();
    accounts
        .reserve(
            &account,
            portal_domain::store::integration_accounts::Taker::user(),
        )
        .await
        .unwrap();
    accounts
        .activate(&account, "active", &at, None)
        .await
        .unwrap();
    // Listing and reading need only the table.
    let list = t.get("/api/admin/mediawiki-accounts", &admin).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["mediawikiAccounts"][0]["id"], "wiki-acct");
    let empty = t.get("/api/admin/mailcow-accounts", &admin).await;
    assert_eq!(empty.json()["mailcowAccounts"], json!([]));
    let path = "/api/admin/mediawiki-accounts/wiki-acct";
    assert_eq!(t.get(path, &admin).await.status, 200);
    for (method, body) in [
        ("PATCH", Some(json!({"status": "suspended"}))),
        ("DELETE", None),
    ] {
        let res = t.send(method, path, Some(&admin), body).await;
        assert_eq!(res.status, 503, "{method}");
        assert_eq!(res.json(), envelope("Wiki is not configured"));
        assert_eq!(res.header("retry-after"), Some("1"));
    }
    assert_eq!(
        accounts.get("wiki-acct").await.unwrap().unwrap().status,
        "active"
    );
}
