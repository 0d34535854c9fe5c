//! Outgoing mail: password-reset and verification links, two-factor codes. SES (v2 API) in production; an
//! outbox folder (one JSON file per mail) locally and in tests.

use std::path::PathBuf;

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use serde::Serialize;

use portal_domain::config::{MailConfig, MailTransport};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MailKind {
    ResetPassword,
    VerifyEmail,
    /// A two-factor sign-in code (no link: `url` is empty, the code is in the text).
    TwoFactorCode,
}

/// A mail as the outbox records it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mail {
    pub to: String,
    pub from: String,
    pub subject: String,
    pub text: String,
    pub kind: MailKind,
    /// The link the user clicks.
    pub url: String,
    pub created_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("outbox: {0}")]
    Outbox(#[from] std::io::Error),
    #[error("ses: {0}")]
    Ses(String),
}

#[derive(Clone, Debug)]
pub enum Mailer {
    Outbox(PathBuf),
    Ses(aws_sdk_sesv2::Client),
}

impl Mailer {
    /// The transport the mail section names (the SES client reads the AWS environment).
    pub async fn new(config: &MailConfig) -> Self {
        match &config.transport {
            MailTransport::Outbox(dir) => Mailer::Outbox(dir.clone()),
            MailTransport::Ses => Mailer::Ses(aws_sdk_sesv2::Client::new(
                portal_domain::aws::sdk_config().await,
            )),
        }
    }

    pub async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        match self {
            Mailer::Outbox(dir) => {
                tokio::fs::create_dir_all(dir).await?;
                let name = format!(
                    "{}-{}-{}.json",
                    mail.created_at.replace(':', "-"),
                    match mail.kind {
                        MailKind::ResetPassword => "reset-password",
                        MailKind::VerifyEmail => "verify-email",
                        MailKind::TwoFactorCode => "two-factor-code",
                    },
                    portal_domain::crypto::random_alphanumeric(6)
                );
                let body = serde_json::to_vec_pretty(mail).map_err(std::io::Error::other)?;
                tokio::fs::write(dir.join(&name), body).await?;
                // Never the link (it carries a token) nor the address: the file has both.
                tracing::info!(kind = ?mail.kind, file = %name, "mail written to the outbox");
                Ok(())
            }
            Mailer::Ses(client) => {
                let content = |data: &str| {
                    Content::builder()
                        .data(data)
                        .charset("UTF-8")
                        .build()
                        .map_err(|e| MailError::Ses(e.to_string()))
                };
                let message = Message::builder()
                    .subject(content(&mail.subject)?)
                    .body(Body::builder().text(content(&mail.text)?).build())
                    .build();
                client
                    .send_email()
                    .from_email_address(&mail.from)
                    .destination(Destination::builder().to_addresses(&mail.to).build())
                    .content(EmailContent::builder().simple(message).build())
                    .send()
                    .await
                    .map_err(|e| {
                        MailError::Ses(aws_sdk_sesv2::error::DisplayErrorContext(&e).to_string())
                    })?;
                tracing::info!(kind = ?mail.kind, "mail sent through SES");
                Ok(())
            }
        }
    }
}
