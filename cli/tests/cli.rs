//! The real `portal-admin` binary against a table in the embedded engine, as an operator
//! would run it against portal-local's store.

use std::io::Write;
use std::process::{Command, Stdio};

use portal_domain::model::Role;
use portal_testkit::{fresh_db, person, shared_engine};
use portal_web::caller::token::{key_id, session_id};

fn admin_cli(table: &str, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    admin_cli_with(table, args, stdin, &[])
}

/// [`admin_cli`] with these variables too (the services' configuration).
fn admin_cli_with(
    table: &str,
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, String)],
) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portal-admin"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env("TABLE_NAME", table)
        .env("AWS_ENDPOINT_URL_DYNAMODB", shared_engine().endpoint())
        .env_remove("PORTAL_ADMIN_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test]
async fn an_operator_creates_an_admin_sets_roles_bans_and_reads_stats() {
    let db = fresh_db().await;
    let table = db.table().to_string();
    let (ok, out, err) = admin_cli(
        &table,
        &["create-admin", "--email", "Root@Example.org"],
        Some("a-long-password\n"),
    );
    assert!(ok, "{err}");
    assert!(out.starts_with("admin root@example.org ("), "{out}");
    let (user, _) = db
        .users()
        .find_by_email("root@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::Admin);

    let state = portal_web::AppState::new(portal_domain::Config::for_tests(&table), db.clone());
    let member = person(&state, "member@example.org", Role::User).await;
    let (ok, out, _) = admin_cli(
        &table,
        &[
            "set-role",
            "--email",
            "member@example.org",
            "--role",
            "staff",
        ],
        None,
    );
    assert!(ok);
    assert_eq!(out.trim(), "member@example.org is now staff");
    let (ok, out, _) = admin_cli(
        &table,
        &["ban", "--email", "member@example.org", "--reason", "spam"],
        None,
    );
    assert!(ok);
    assert_eq!(out.trim(), "member@example.org banned; 1 session(s) ended");
    assert!(
        db.sessions()
            .get(&session_id(&member.token))
            .await
            .unwrap()
            .is_none()
    );

    let (ok, out, _) = admin_cli(&table, &["stats"], None);
    assert!(ok);
    let stats: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        stats["users"],
        serde_json::json!({"total": 2, "admins": 1, "staff": 1, "banned": 1, "regular": 0})
    );
    let (ok, out, _) = admin_cli(&table, &["unban", "--email", "member@example.org"], None);
    assert!(ok, "{out}");
    assert!(
        !db.users()
            .get(&member.user.id)
            .await
            .unwrap()
            .unwrap()
            .banned
    );
}

#[tokio::test]
async fn mistakes_are_refused_with_a_message() {
    let db = fresh_db().await;
    let table = db.table().to_string();
    let (ok, _, err) = admin_cli(
        &table,
        &["create-admin", "--email", "a@example.org"],
        Some("short\n"),
    );
    assert!(!ok);
    assert!(err.contains("at least 8 characters"), "{err}");
    let (ok, _, err) = admin_cli(
        &table,
        &[
            "set-role",
            "--email",
            "nobody@example.org",
            "--role",
            "admin",
        ],
        None,
    );
    assert!(!ok);
    assert!(
        err.contains("no account with e-mail nobody@example.org"),
        "{err}"
    );
    let (ok, _, err) = admin_cli(
        &table,
        &["set-role", "--email", "a@example.org", "--role", "root"],
        None,
    );
    assert!(!ok);
    assert!(err.contains("`root` is not user, staff or admin"), "{err}");
}

#[tokio::test]
async fn the_cli_keeps_the_last_admin_rule() {
    let db = fresh_db().await;
    let table = db.table().to_string();
    let (ok, _, err) = admin_cli(
        &table,
        &["create-admin", "--email", "root@example.org"],
        Some("a-long-password\n"),
    );
    assert!(ok, "{err}");
    for args in [
        vec!["set-role", "--email", "root@example.org", "--role", "user"],
        vec!["ban", "--email", "root@example.org"],
    ] {
        let (ok, _, err) = admin_cli(&table, &args, None);
        assert!(!ok, "{args:?}");
        assert!(err.contains("last admin"), "{err}");
    }
    let (user, _) = db
        .users()
        .find_by_email("root@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::Admin);
    assert!(!user.banned);
}

#[tokio::test]
async fn create_admin_over_an_existing_account_revokes_what_it_had() {
    let db = fresh_db().await;
    let table = db.table().to_string();
    let state = portal_web::AppState::new(portal_domain::Config::for_tests(&table), db.clone());
    // Someone signed up with the address the operator is about to make admin.
    let squatter = person(&state, "root@example.org", Role::User).await;
    let (key, _) = portal_testkit::api_key_for(&state, &squatter.user, "theirs").await;
    let (ok, out, err) = admin_cli(
        &table,
        &["create-admin", "--email", "root@example.org"],
        Some("the-operators-password\n"),
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("taken over; 1 session(s) ended and 1 API key(s) deleted"),
        "{out}"
    );
    assert!(
        db.sessions()
            .get(&session_id(&squatter.token))
            .await
            .unwrap()
            .is_none()
    );
    assert!(db.api_keys().get(&key_id(&key)).await.unwrap().is_none());
    let (user, _) = db
        .users()
        .find_by_email("root@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.role, Role::Admin);
    assert!(user.email_verified);
}

#[tokio::test]
async fn bans_reach_service_accounts_and_reconcile_reports_and_repairs_drift() {
    use portal_testkit::{ATHEME_OPER, ATHEME_OPER_PASSWORD, FakeAtheme};
    let atheme = FakeAtheme::start().await;
    let env = [
        ("IRC_ATHEME_JSONRPC_URL", atheme.url()),
        ("IRC_ATHEME_OPER_ACCOUNT", ATHEME_OPER.to_string()),
        ("IRC_ATHEME_OPER_PASSWORD", ATHEME_OPER_PASSWORD.to_string()),
    ];
    let db = fresh_db().await;
    let table = db.table().to_string();
    let state = portal_web::AppState::new(portal_domain::Config::for_tests(&table), db.clone());
    let member = person(&state, "member@example.org", Role::User).await;
    let at = portal_domain::time::iso(portal_domain::time::now());
    let account = portal_domain::store::integration_accounts::Account {
        id: "irc-acct".into(),
        user_id: member.user.id.clone(),
        integration_id: "irc".into(),
        username: "member".into(),
        data: serde_json::json!({"nick": "Member", "server": "irc.example.org", "port": 6697}),
        status: "provisioning".into(),
        suspended_by_ban: false,
        metadata: None,
        created_at: at.clone(),
        updated_at: at.clone(),
    };
    let accounts = db.integration_accounts();
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
    atheme.add_nick("Member", "irc-password");
    atheme.add_nick("Stranger", "irc-password");
    // The ban, from a blocking thread: the fake answers on this runtime meanwhile.
    let run = |args: Vec<&'static str>| {
        let (table, env) = (table.clone(), env.clone());
        tokio::task::spawn_blocking(move || admin_cli_with(&table, &args, None, &env))
    };
    let (ok, out, err) = run(vec!["ban", "--email", "member@example.org"])
        .await
        .unwrap();
    assert!(ok, "{err}");
    assert_eq!(
        out.trim(),
        "member@example.org banned; 1 session(s) ended; irc account suspended"
    );
    assert!(atheme.nick("member").unwrap().frozen);
    // The nick dropped on IRC behind Portal's back.
    atheme.remove_nick("Member");
    let (ok, out, err) = run(vec!["reconcile", "--integration", "irc"])
        .await
        .unwrap();
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.trim().lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].contains("\"kind\":\"missing_upstream\"") && lines[0].contains("\"fixed\":false"),
        "{out}"
    );
    assert!(
        lines[1].contains("\"kind\":\"unknown_to_portal\"") && lines[1].contains("stranger"),
        "{out}"
    );
    assert_eq!(lines[2], "irc: 2 drift(s), 0 fixed, 2 left");
    let (ok, out, _) = run(vec!["reconcile", "--integration", "irc", "--fix"])
        .await
        .unwrap();
    assert!(ok);
    assert!(
        out.trim().ends_with("irc: 2 drift(s), 1 fixed, 1 left"),
        "{out}"
    );
    assert_eq!(
        accounts.get("irc-acct").await.unwrap().unwrap().status,
        "deleted"
    );
    let (ok, _, err) = run(vec!["reconcile", "--integration", "gopher"])
        .await
        .unwrap();
    assert!(!ok);
    assert_eq!(err.trim(), "portal-admin: no integration `gopher`");
}

#[tokio::test]
async fn an_operator_registers_prosody_as_an_oauth_client_once() {
    let db = fresh_db().await;
    let table = db.table().to_string();
    let (ok, out, err) = admin_cli(
        &table,
        &[
            "create-oauth-client",
            "--client-id",
            "prosody",
            "--redirect-uri",
            "https://xmpp.example.org/oauth/callback",
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(
        out.starts_with("OAuth client \"Prosody XMPP Server\" created\nclient_id=prosody\n"),
        "{out}"
    );
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client_secret="))
        .expect("the secret is printed once")
        .to_string();
    assert_eq!(secret.len(), 64);
    let client = db
        .oauth_clients()
        .by_client_id("prosody")
        .await
        .unwrap()
        .expect("stored under its client id");
    // Upstream's script: scopes openid xmpp, trusted (no consent), secret in the body.
    assert_eq!(client.scopes, Some(vec!["openid".into(), "xmpp".into()]));
    assert!(client.skip_consent);
    assert_eq!(client.auth_method(), "client_secret_post");
    assert_eq!(
        client.client_secret_hash,
        portal_domain::crypto::sha256_hex(secret.as_bytes())
    );
    let items = db
        .client()
        .scan()
        .table_name(db.table())
        .send()
        .await
        .unwrap();
    assert!(
        !format!("{:?}", items.items).contains(&secret),
        "only its hash is kept"
    );

    // Again: shown, not changed, no secret.
    let (ok, out, _) = admin_cli(&table, &["create-oauth-client"], None);
    assert!(ok);
    assert!(
        out.contains("exists already") && out.contains("client_id=prosody"),
        "{out}"
    );
    assert!(!out.contains(&secret));
    // Mistakes.
    for args in [
        &[
            "create-oauth-client",
            "--name",
            "X",
            "--redirect-uri",
            "http://evil.example.org/cb",
        ][..],
        &[
            "create-oauth-client",
            "--name",
            "Y",
            "--scopes",
            "openid admin",
        ][..],
        &[
            "create-oauth-client",
            "--name",
            "Z",
            "--client-id",
            "no spaces please",
        ][..],
        &[
            "create-oauth-client",
            "--name",
            "W",
            "--client-id",
            "prosody",
        ][..],
    ] {
        let (ok, _, err) = admin_cli(&table, args, None);
        assert!(!ok, "{args:?}");
        assert!(err.starts_with("portal-admin: "), "{err}");
    }

    let (ok, out, err) = admin_cli(&table, &["rotate-signing-keys"], None);
    assert!(ok, "{err}");
    assert!(out.starts_with("0 signing key(s) retired"), "{out}");
}
