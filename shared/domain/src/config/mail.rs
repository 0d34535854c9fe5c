//! Outgoing mail: the auth function's section.

use super::vars::{ConfigError, Vars};

/// How mail leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// One JSON file per mail in this folder (development and tests).
    Outbox(std::path::PathBuf),
    /// Amazon SES (v2 API).
    Ses,
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub transport: MailTransport,
    /// `PORTAL_MAIL_FROM`, e.g. `Portal <no-reply@portal.example.org>`.
    pub from: String,
}

impl MailConfig {
    pub(super) fn load(vars: &Vars) -> Result<Self, ConfigError> {
        let outbox = || {
            MailTransport::Outbox(
                vars.get("PORTAL_MAIL_DIR")
                    .unwrap_or_else(|| ".portal/mail".into())
                    .into(),
            )
        };
        let transport = match vars
            .get("PORTAL_MAIL")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("ses") => MailTransport::Ses,
            Some("outbox") => outbox(),
            Some(other) => {
                return Err(ConfigError::Invalid {
                    name: "PORTAL_MAIL",
                    reason: format!("`{other}` is not ses or outbox"),
                });
            }
            None if vars.production => MailTransport::Ses,
            None => outbox(),
        };
        Ok(Self {
            transport,
            from: vars.required_in_production("PORTAL_MAIL_FROM", DEFAULT_FROM)?,
        })
    }
}

const DEFAULT_FROM: &str = "Portal <no-reply@localhost>";

/// The local part of a sender such as `Portal <no-reply@portal.example.org>`.
pub(super) fn sender_local_part(from: &str) -> Option<String> {
    let address = match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => &from[open + 1..close],
        _ => from,
    };
    let (local, _) = address.trim().rsplit_once('@')?;
    Some(local.to_lowercase()).filter(|l| !l.is_empty())
}
