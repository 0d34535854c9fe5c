//! No secret reaches a log line or a table key: a whole sign-up, verification, reset and
//! API-key flow runs with the JSON logs of Lambda captured at the production level (info),
//! then the logs and the table are searched for every secret the flow handled.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use common::{PASSWORD, TestAuth};
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every log line of this test binary, as the Lambda subscriber writes them.
fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_writer(move || writer.clone())
            .init();
        captured
    })
}

fn query_param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

#[tokio::test]
async fn a_whole_account_flow_leaves_no_secret_in_the_logs_or_the_table_keys() {
    let logs = logs();
    let t = TestAuth::new(|c| c.rate_limits.enabled = true).await;
    let email = "secret-keeper@example.org";
    let mut secrets: Vec<String> = vec![PASSWORD.into(), email.into()];

    let signed_up = t.sign_up(email).await;
    secrets.push(signed_up.token.clone());
    secrets.push(signed_up.cookie.split_once('=').unwrap().1.to_string());

    // Verification by the mailed link.
    let verify_url = t.mails().last().unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let jwt = query_param(&verify_url, "token");
    secrets.push(jwt.clone());
    let path = verify_url.trim_start_matches("http://localhost:3000");
    assert_eq!(t.send("GET", path, &[], None).await.status, 302);

    // Reset by the mailed link.
    let res = t
        .post(
            "/api/auth/request-password-reset",
            json!({"email": email, "redirectTo": "/reset"}),
        )
        .await;
    assert_eq!(res.status, 200);
    let reset_url = t.mails().last().unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let token = common::token_of(&reset_url);
    secrets.push(token.clone());
    let path = reset_url.trim_start_matches("http://localhost:3000");
    assert_eq!(t.send("GET", path, &[], None).await.status, 302);
    let new_password = "a-brand-new-password-42";
    secrets.push(new_password.into());
    let res = t
        .post(
            "/api/auth/reset-password",
            json!({"token": token, "newPassword": new_password}),
        )
        .await;
    assert_eq!(res.json(), json!({"status": true}));

    // Sign in again, make an API key and use it.
    let res = t.sign_in(email, new_password).await;
    assert_eq!(res.status, 200);
    let browser = common::Browser::from_response(&res);
    secrets.push(browser.token.clone());
    let res = t
        .send(
            "POST",
            "/api/auth/api-key/create",
            &common::h(&browser.headers()),
            Some(json!({"name": "ci"})),
        )
        .await;
    let key = res.json()["key"].as_str().unwrap().to_string();
    secrets.push(key.clone());
    let res = t
        .send("GET", "/api/auth/get-session", &[("x-api-key", &key)], None)
        .await;
    assert_eq!(res.status, 200);
    // A wrong password and a forged cookie: refusals must not echo what was sent.
    let wrong = "wrong-password-xyz";
    secrets.push(wrong.into());
    assert_eq!(t.sign_in(email, wrong).await.status, 401);

    let written = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        written.contains("/api/auth/reset-password/{token}"),
        "requests are logged by route template: {written}"
    );
    assert!(written.contains("request finished"));
    // Once the caller is known, the request's lines name them by id.
    let user_id = signed_up.user["id"].as_str().unwrap();
    let finished_as = |route: &str| -> Vec<serde_json::Value> {
        written
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|l| l["message"] == "request finished" && l["span"]["route"] == route)
            .map(|l| l["span"]["user_id"].clone())
            .collect()
    };
    assert!(finished_as("/api/auth/get-session").contains(&json!(user_id)));
    assert!(finished_as("/api/auth/sign-up/email").contains(&json!(user_id)));
    assert!(
        finished_as("/api/auth/request-password-reset")
            .iter()
            .all(serde_json::Value::is_null),
        "an anonymous request names nobody"
    );
    let table = t.table_dump().await;
    assert!(
        table.contains("RATE#auth|ip|unknown|/reset-password/{token}"),
        "rate-limit keys are built from the route template"
    );
    for secret in &secrets {
        assert!(
            !written.contains(secret.as_str()),
            "the logs hold {secret:?}"
        );
    }
    // The table keeps only hashes of tokens and keys (the e-mail is data, not a secret).
    for secret in secrets.iter().filter(|s| s.as_str() != email) {
        assert!(
            !table.contains(secret.as_str()),
            "the table holds {secret:?}"
        );
    }
}
