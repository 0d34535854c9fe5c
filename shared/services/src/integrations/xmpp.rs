//! XMPP accounts on a Prosody server, through `mod_http_admin_api`:
//! `GET|PUT|DELETE {PROSODY_REST_URL}/admin_api/users/{localpart}` with
//! `Authorization: Bearer {PROSODY_REST_TOKEN}` and JSON `{"password": ...}`.
//! Enabled only when the URL, the token and `XMPP_DOMAIN` are all configured.
//!
//! Suspending an account is recorded by Portal (`status: suspended`) and not pushed to
//! Prosody: the admin API has no suspend call, and scrambling the password would make
//! re-activation lose the user's password.

use portal_domain::config::{ExposeSecret, SecretString};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::service::{
    AccountChange, BoxFuture, Catalogue, Integration, NameRefused, NewAccount, Provisioned, Resets,
    UpstreamError,
};
use portal_domain::config::ProsodyConfig;
use portal_domain::issue::Issue;
use portal_domain::model::User;
use portal_domain::store::integration_accounts::Account;

const MAX_LOCALPART: usize = 64;

pub const NO_USERNAME: &str =
    "Set your username in account settings before creating an XMPP account";

pub struct Xmpp {
    upstream: Option<Upstream>,
}

struct Upstream {
    base: String,
    token: SecretString,
    domain: String,
    client: crate::outbound::Outbound,
}

impl Xmpp {
    pub fn from_config(config: Option<&ProsodyConfig>) -> Self {
        let Some(prosody) = config else {
            return Self { upstream: None };
        };
        let upstream = match (&prosody.rest_url, &prosody.rest_token, &prosody.xmpp_domain) {
            (Some(url), Some(token), Some(domain)) => {
                crate::outbound::Outbound::new(prosody.timeout).map(|client| Upstream {
                    base: url.as_str().trim_end_matches('/').to_string(),
                    token: token.clone(),
                    domain: domain.to_lowercase(),
                    client,
                })
            }
            _ => None,
        };
        Self { upstream }
    }

    fn upstream(&self) -> Result<&Upstream, UpstreamError> {
        self.upstream
            .as_ref()
            .ok_or_else(|| UpstreamError::Failed("XMPP is not configured".into()))
    }
}

/// Letters, digits, `_ - .`; starts with a letter or digit; 1-64 characters; lower-cased.
fn localpart(raw: &str, domain: &str) -> Result<String, Issue> {
    let raw = raw.trim().to_lowercase();
    let local = match raw.split_once('@') {
        Some((local, d)) if d == domain => local.to_string(),
        Some(_) => {
            return Err(Issue::invalid_string(
                "regex",
                format!("Username must be a localpart or localpart@{domain}"),
            )
            .at("username"));
        }
        None => raw,
    };
    let len = local.chars().count();
    if len == 0 {
        return Err(Issue::too_small("string", 1, false).at("username"));
    }
    if len > MAX_LOCALPART {
        return Err(Issue::too_big("string", MAX_LOCALPART as u64, false).at("username"));
    }
    let starts_well = local
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let all_allowed = local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !starts_well || !all_allowed {
        return Err(Issue::invalid_string(
            "regex",
            "Username may contain letters, digits, _ - . and must start with a letter or digit",
        )
        .at("username"));
    }
    Ok(local)
}

fn transport(err: reqwest::Error) -> UpstreamError {
    super::service::transport_error(ID, "XMPP server", &err)
}

fn refused(status: StatusCode) -> UpstreamError {
    tracing::warn!(status = status.as_u16(), "Prosody answered with an error");
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            UpstreamError::failed(ID, "XMPP server refused Portal's credentials")
        }
        other => UpstreamError::failed(
            ID,
            format!("XMPP server failed (status {})", other.as_u16()),
        ),
    }
}

impl Upstream {
    fn url(&self, username: &str) -> String {
        format!("{}/admin_api/users/{username}", self.base)
    }

    async fn set_password(&self, username: &str, password: &str) -> Result<(), UpstreamError> {
        let res = self
            .client
            .put(self.url(username))
            .bearer_auth(self.token.expose_secret())
            .json(&json!({ "password": password }))
            .send()
            .await
            .map_err(transport)?;
        match res.status() {
            s if s.is_success() => Ok(()),
            StatusCode::CONFLICT => Err(UpstreamError::Taken),
            s => Err(refused(s)),
        }
    }
}

/// The integration's id (the path segment, the metric dimension).
const ID: &str = "xmpp";

static CATALOGUE: Catalogue = Catalogue {
    id: ID,
    name: "XMPP",
    description: "A chat account (Jabber/XMPP) on the community server",
    icon: Some("message-circle"),
    name_field: "username",
    name_aliases: &[],
    name_required: false,
    changes_passwords: true,
};

impl Integration for Xmpp {
    fn catalogue(&self) -> &'static Catalogue {
        &CATALOGUE
    }

    fn enabled(&self) -> bool {
        self.upstream.is_some()
    }

    fn new_account(
        &self,
        owner: &User,
        name: Option<String>,
        password: Option<String>,
    ) -> Result<NewAccount, NameRefused> {
        let upstream = self.upstream()?;
        // Portal's own form sends only a password: the account takes the owner's username.
        let Some(raw) = name.or_else(|| owner.username.clone()) else {
            return Err(NameRefused::Missing(NO_USERNAME));
        };
        let username = localpart(&raw, &upstream.domain).map_err(NameRefused::Invalid)?;
        let data =
            json!({ "username": username, "jid": format!("{username}@{}", upstream.domain) });
        Ok(NewAccount::new(owner, username, password, data))
    }

    fn exists(&self, username: &str) -> BoxFuture<'_, Result<bool, UpstreamError>> {
        let username = username.to_string();
        Box::pin(async move {
            let upstream = self.upstream()?;
            let res = upstream
                .client
                .get(upstream.url(&username))
                .bearer_auth(upstream.token.expose_secret())
                .send()
                .await
                .map_err(transport)?;
            match res.status() {
                s if s.is_success() => Ok(true),
                StatusCode::NOT_FOUND => Ok(false),
                s => Err(refused(s)),
            }
        })
    }

    fn provision<'a>(
        &'a self,
        account: &'a NewAccount,
    ) -> BoxFuture<'a, Result<Provisioned, UpstreamError>> {
        Box::pin(async move {
            self.upstream()?
                .set_password(&account.username, &account.password)
                .await?;
            Ok(Provisioned::Active)
        })
    }

    fn resets_passwords(&self) -> Resets {
        Resets::GivenPassword
    }

    fn reset_password<'a>(
        &'a self,
        account: &'a Account,
        password: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<String>, UpstreamError>> {
        Box::pin(async move {
            let password = password
                .ok_or_else(|| UpstreamError::Unavailable("XMPP needs the new password".into()))?;
            self.upstream()?
                .set_password(&account.username, password)
                .await?;
            Ok(None)
        })
    }

    fn upstream_names(&self) -> BoxFuture<'_, Result<Option<Vec<String>>, UpstreamError>> {
        Box::pin(async move {
            let upstream = self.upstream()?;
            let res = upstream
                .client
                .get(format!("{}/admin_api/users", upstream.base))
                .bearer_auth(upstream.token.expose_secret())
                .send()
                .await
                .map_err(transport)?;
            if !res.status().is_success() {
                return Err(refused(res.status()));
            }
            let users: Vec<Value> = res.json().await.map_err(transport)?;
            Ok(Some(
                users
                    .iter()
                    .filter_map(|u| u.get("username").and_then(Value::as_str))
                    .map(str::to_lowercase)
                    .collect(),
            ))
        })
    }

    fn apply<'a>(
        &'a self,
        account: &'a Account,
        change: &'a AccountChange,
    ) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            let upstream = self.upstream()?;
            let suspending =
                change.status.as_deref() == Some("suspended") && account.status != "suspended";
            if suspending {
                // Prosody's admin API has no "disable" call: suspension replaces the
                // password with a random one nobody knows, so no client can sign in.
                let lock = portal_domain::crypto::random_alphanumeric(64);
                return upstream.set_password(&account.username, &lock).await;
            }
            if let Some(password) = &change.password {
                upstream.set_password(&account.username, password).await?;
            }
            Ok(())
        })
    }

    fn deprovision<'a>(&'a self, account: &'a Account) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            let upstream = self.upstream()?;
            let res = upstream
                .client
                .delete(upstream.url(&account.username))
                .bearer_auth(upstream.token.expose_secret())
                .send()
                .await
                .map_err(transport)?;
            match res.status() {
                s if s.is_success() || s == StatusCode::NOT_FOUND => Ok(()),
                s => Err(refused(s)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localparts() {
        for (raw, want) in [
            ("Ada", "ada"),
            ("ada.l-ove_1", "ada.l-ove_1"),
            ("ada@chat.example.org", "ada"),
            ("9lives", "9lives"),
        ] {
            assert_eq!(localpart(raw, "chat.example.org").unwrap(), want, "{raw}");
        }
        for raw in [
            "",
            "-ada",
            ".ada",
            "ada lovelace",
            "ada@other.org",
            "ad/a",
            &"a".repeat(65),
            "ädä",
        ] {
            assert!(localpart(raw, "chat.example.org").is_err(), "{raw}");
        }
    }
}
