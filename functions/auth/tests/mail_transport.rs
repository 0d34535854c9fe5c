//! Mail leaves through SES (real HTTP to a fake SES endpoint, signed by the real SDK) or
//! lands in the outbox folder.

use portal_auth::mail::{Mail, MailKind, Mailer};
use portal_testkit::{FakeUpstream, Reply};
use serde_json::Value;

fn mail() -> Mail {
    Mail {
        to: "ada@example.org".into(),
        from: "Portal <no-reply@example.org>".into(),
        subject: "Reset your password".into(),
        text: "Open https://portal.example.org/api/auth/reset-password/abc".into(),
        kind: MailKind::ResetPassword,
        url: "https://portal.example.org/api/auth/reset-password/abc".into(),
        created_at: "2026-11-25T21:48:39.970Z".into(),
    }
}

fn ses_client(endpoint: &str) -> aws_sdk_sesv2::Client {
    let config = aws_sdk_sesv2::Config::builder()
        .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_sesv2::config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .build();
    aws_sdk_sesv2::Client::from_conf(config)
}

#[tokio::test]
async fn ses_receives_a_signed_send_email_call() {
    let ses = FakeUpstream::start(Reply::json(200, r#"{"MessageId":"0100018c-test"}"#)).await;
    let mailer = Mailer::Ses(ses_client(&ses.url()));
    mailer.send(&mail()).await.unwrap();
    let seen = ses.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].path, "/v2/email/outbound-emails");
    assert!(
        seen[0].headers["authorization"]
            .to_str()
            .unwrap()
            .starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
    );
    let body: Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body["FromEmailAddress"], "Portal <no-reply@example.org>");
    assert_eq!(body["Destination"]["ToAddresses"][0], "ada@example.org");
    assert_eq!(
        body["Content"]["Simple"]["Subject"]["Data"],
        "Reset your password"
    );
    assert!(
        body["Content"]["Simple"]["Body"]["Text"]["Data"]
            .as_str()
            .unwrap()
            .contains("/reset-password/abc")
    );
}

#[tokio::test]
async fn an_ses_refusal_is_an_error() {
    let ses = FakeUpstream::start(Reply::json(
        400,
        r#"{"message":"Email address is not verified."}"#,
    ))
    .await;
    let err = Mailer::Ses(ses_client(&ses.url()))
        .send(&mail())
        .await
        .unwrap_err();
    assert!(err.to_string().starts_with("ses:"), "{err}");
}

#[tokio::test]
async fn the_outbox_keeps_one_json_file_per_mail() {
    let dir = std::env::temp_dir().join(format!(
        "portal-mail-test-{}",
        portal_domain::crypto::random_alphanumeric(8)
    ));
    Mailer::Outbox(dir.clone()).send(&mail()).await.unwrap();
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let saved: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!(saved["to"], "ada@example.org");
    assert_eq!(saved["kind"], "reset-password");
    assert_eq!(
        saved["url"],
        "https://portal.example.org/api/auth/reset-password/abc"
    );
    assert_eq!(saved["createdAt"], "2026-11-25T21:48:39.970Z");
    assert!(saved["subject"].is_string() && saved["text"].is_string());
    std::fs::remove_dir_all(dir).unwrap();
}
