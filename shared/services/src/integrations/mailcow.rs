//! Mailboxes on a Mailcow server, through its API (`MAILCOW_API_URL`, header `X-API-Key:
//! MAILCOW_API_KEY`): `POST /api/v1/add/mailbox`, `/edit/mailbox`, `/delete/mailbox`,
//! `GET /api/v1/get/mailbox/{address}`; app passwords (`/add|delete/app-passwd`,
//! `/get/app-passwd/all/{mailbox}`) and aliases (`/add|delete/alias`, `/get/alias/all`).
//! Mailcow answers writes with HTTP 200 and a list of `{type: success|danger|error, msg}`;
//! a wrong key is HTTP 401. Enabled when the URL, the key and `MAILCOW_DOMAIN` are set.
//!
//! Suspension sets the mailbox inactive (`active: 0`), which Mailcow enforces for IMAP,
//! SMTP and app passwords alike; reactivation sets it active again.

use portal_domain::config::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::service::{
    AccountChange, BoxFuture, Catalogue, Integration, NameRefused, NewAccount, Provisioned, Resets,
    UpstreamError,
};
use portal_domain::config::MailcowConfig;
use portal_domain::crypto::random_alphanumeric;
use portal_domain::issue::Issue;
use portal_domain::model::User;
use portal_domain::store::integration_accounts::Account;

const ID: &str = "mailcow";
const WHAT: &str = "Mail server";

pub const NO_LOCAL_PART: &str = "Choose an address, or set your username in account settings first";

pub struct Mailcow {
    upstream: Option<Upstream>,
}

struct Upstream {
    base: String,
    key: SecretString,
    domain: String,
    alias_domains: Vec<String>,
    quota_mb: u64,
    client: crate::outbound::Outbound,
}

/// An app password as listed (never its secret).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppPassword {
    pub id: String,
    pub name: String,
    pub created_at: Option<String>,
}

/// An alias delivering to the mailbox.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Alias {
    pub id: String,
    pub address: String,
    pub active: bool,
}

/// The mailbox's quota, in bytes.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    pub quota_used: u64,
    pub quota_total: u64,
    pub messages: u64,
}

impl Mailcow {
    pub fn from_config(config: Option<&MailcowConfig>) -> Self {
        let Some(m) = config else {
            return Self { upstream: None };
        };
        let upstream = match (&m.api_url, &m.api_key, &m.domain) {
            (Some(url), Some(key), Some(domain)) => {
                crate::outbound::Outbound::new(m.timeout).map(|client| Upstream {
                    base: url.as_str().trim_end_matches('/').to_string(),
                    key: key.clone(),
                    domain: domain.clone(),
                    alias_domains: if m.alias_domains.is_empty() {
                        vec![domain.clone()]
                    } else {
                        m.alias_domains.clone()
                    },
                    quota_mb: m.quota_mb,
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
            .ok_or_else(|| UpstreamError::Unavailable("Mail is not configured".into()))
    }

    /// The mailbox's app passwords.
    pub async fn app_passwords(
        &self,
        account: &Account,
    ) -> Result<Vec<AppPassword>, UpstreamError> {
        let upstream = self.upstream()?;
        let listed = upstream
            .get(&format!("/api/v1/get/app-passwd/all/{}", account.username))
            .await?;
        Ok(entries(&listed)
            .iter()
            .map(|p| AppPassword {
                id: text(&p["id"]),
                name: text(&p["name"]),
                created_at: p["created"].as_str().map(str::to_string),
            })
            .collect())
    }

    /// A new app password named `name`: its secret, shown once.
    pub async fn create_app_password(
        &self,
        account: &Account,
        name: &str,
    ) -> Result<String, UpstreamError> {
        let secret = random_alphanumeric(24);
        let body = json!({
            "username": account.username,
            "app_name": name,
            "app_passwd": secret,
            "app_passwd2": secret,
            "active": "1",
        });
        self.upstream()?
            .write("/api/v1/add/app-passwd", &body)
            .await?;
        Ok(secret)
    }

    /// Deletes one of the mailbox's app passwords; `false` when it has none with that id.
    pub async fn delete_app_password(
        &self,
        account: &Account,
        id: &str,
    ) -> Result<bool, UpstreamError> {
        if !self
            .app_passwords(account)
            .await?
            .iter()
            .any(|p| p.id == id)
        {
            return Ok(false);
        }
        self.upstream()?
            .write("/api/v1/delete/app-passwd", &json!([id]))
            .await?;
        Ok(true)
    }

    /// The aliases delivering to the mailbox.
    pub async fn aliases(&self, account: &Account) -> Result<Vec<Alias>, UpstreamError> {
        let listed = self.upstream()?.get("/api/v1/get/alias/all").await?;
        Ok(entries(&listed)
            .iter()
            .filter(|a| {
                text(&a["goto"])
                    .split(',')
                    .any(|to| to.trim() == account.username)
            })
            .map(|a| Alias {
                id: text(&a["id"]),
                address: text(&a["address"]),
                active: text(&a["active"]) == "1",
            })
            .collect())
    }

    /// The domains aliases may be made in.
    pub fn alias_domains(&self) -> &[String] {
        self.upstream.as_ref().map_or(&[], |u| &u.alias_domains)
    }

    /// A new alias `address` delivering to the mailbox (its domain already checked).
    pub async fn create_alias(
        &self,
        account: &Account,
        address: &str,
    ) -> Result<(), UpstreamError> {
        let body = json!({ "address": address, "goto": account.username, "active": "1" });
        self.upstream()?.write("/api/v1/add/alias", &body).await
    }

    /// Deletes one of the mailbox's aliases; `false` when it has none with that id.
    pub async fn delete_alias(&self, account: &Account, id: &str) -> Result<bool, UpstreamError> {
        if !self.aliases(account).await?.iter().any(|a| a.id == id) {
            return Ok(false);
        }
        self.upstream()?
            .write("/api/v1/delete/alias", &json!([id]))
            .await?;
        Ok(true)
    }

    /// The mailbox's quota and how much of it is used.
    pub async fn usage(&self, account: &Account) -> Result<Option<Usage>, UpstreamError> {
        let mailbox = self.upstream()?.mailbox(&account.username).await?;
        Ok(mailbox.map(|m| Usage {
            quota_used: number(&m["quota_used"]),
            quota_total: number(&m["quota"]),
            messages: number(&m["messages"]),
        }))
    }
}

/// A string or number field as text.
fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn number(value: &Value) -> u64 {
    match value {
        Value::Number(n) => n.as_u64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// A listing: an array, or one object, or `{}` for none.
fn entries(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Object(map) if !map.is_empty() => vec![value.clone()],
        _ => Vec::new(),
    }
}

/// What a write answered: success, or Mailcow's reason (`object_exists` is a taken name).
/// An answer without a `success` entry (not JSON, an empty list, a proxy's page) is a
/// failure: Portal never records what Mailcow did not confirm.
fn outcome(answer: &Value) -> Result<(), UpstreamError> {
    let first = entries(answer).into_iter().next().unwrap_or(Value::Null);
    let kind = first["type"].as_str().unwrap_or_default();
    if kind == "success" {
        return Ok(());
    }
    if kind != "error" && kind != "danger" {
        tracing::warn!("Mailcow answered a write without saying it succeeded");
        return Err(UpstreamError::failed(
            ID,
            format!("{WHAT} gave an answer Portal cannot read"),
        ));
    }
    let reason = match &first["msg"] {
        Value::Array(parts) => parts.iter().map(text).collect::<Vec<_>>().join(" "),
        other => text(other),
    };
    if reason.contains("object_exists") || reason.contains("is_alias_or_mailbox") {
        return Err(UpstreamError::Taken);
    }
    tracing::warn!(%reason, "Mailcow refused a write");
    let code = reason.split_whitespace().next().unwrap_or("error");
    Err(UpstreamError::failed(
        ID,
        format!("{WHAT} refused the change ({code})"),
    ))
}

impl Upstream {
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, UpstreamError> {
        let res = request
            .header("X-API-Key", self.key.expose_secret())
            .send()
            .await
            .map_err(|e| super::service::transport_error(ID, WHAT, &e))?;
        match res.status() {
            s if s.is_success() => {}
            reqwest::StatusCode::UNAUTHORIZED | reqwest::StatusCode::FORBIDDEN => {
                tracing::warn!("Mailcow refused the API key");
                return Err(UpstreamError::failed(
                    ID,
                    format!("{WHAT} refused Portal's credentials"),
                ));
            }
            s => {
                tracing::warn!(status = s.as_u16(), "Mailcow answered with an error");
                return Err(UpstreamError::failed(
                    ID,
                    format!("{WHAT} failed (status {})", s.as_u16()),
                ));
            }
        }
        let text = res
            .text()
            .await
            .map_err(|e| super::service::transport_error(ID, WHAT, &e))?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> Result<Value, UpstreamError> {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    async fn write(&self, path: &str, body: &Value) -> Result<(), UpstreamError> {
        let answer = self
            .send(self.client.post(format!("{}{path}", self.base)).json(body))
            .await?;
        outcome(&answer)
    }

    async fn mailbox(&self, address: &str) -> Result<Option<Value>, UpstreamError> {
        let found = self.get(&format!("/api/v1/get/mailbox/{address}")).await?;
        Ok(entries(&found)
            .into_iter()
            .find(|m| m["username"].as_str() == Some(address)))
    }

    async fn edit(&self, address: &str, attr: Value) -> Result<(), UpstreamError> {
        self.write(
            "/api/v1/edit/mailbox",
            &json!({ "items": [address], "attr": attr }),
        )
        .await
    }
}

/// A local part: a letter or digit, then letters, digits, `. _ -`; at most 64; lower-cased.
fn local_part(raw: &str) -> Result<String, Issue> {
    let local = raw.trim().to_lowercase();
    let ok = (1..=64).contains(&local.len())
        && local
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !local.ends_with('.')
        && !local.contains("..");
    if ok {
        Ok(local)
    } else {
        Err(Issue::invalid_string(
            "regex",
            "An address may contain letters, digits, . _ - and must start with a letter or digit",
        ))
    }
}

/// An alias address in one of `domains`: 400 validation envelope otherwise.
pub fn alias_address(raw: &str, domains: &[String]) -> Result<String, Issue> {
    let raw = raw.trim().to_lowercase();
    let Some((local, domain)) = raw.rsplit_once('@') else {
        return Err(Issue::invalid_string("email", "Invalid email").at("address"));
    };
    let local = local_part(local).map_err(|i| i.at("address"))?;
    if !domains.iter().any(|d| d == domain) {
        return Err(Issue::invalid_string(
            "regex",
            format!("The address must be in {}", domains.join(", ")),
        )
        .at("address"));
    }
    Ok(format!("{local}@{domain}"))
}

static CATALOGUE: Catalogue = Catalogue {
    id: ID,
    name: "Mail",
    description: "A mailbox on the community mail server",
    icon: Some("mail"),
    name_field: "localPart",
    name_aliases: &["local_part"],
    name_required: false,
    changes_passwords: true,
};

impl Integration for Mailcow {
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
        let Some(raw) = name.or_else(|| owner.username.clone()) else {
            return Err(NameRefused::Missing(NO_LOCAL_PART));
        };
        let local = local_part(&raw).map_err(NameRefused::Invalid)?;
        let address = format!("{local}@{}", upstream.domain);
        let data = json!({
            "email": address,
            "localPart": local,
            "domain": upstream.domain,
            "quotaMb": upstream.quota_mb,
        });
        Ok(NewAccount::new(owner, address, password, data))
    }

    fn exists(&self, username: &str) -> BoxFuture<'_, Result<bool, UpstreamError>> {
        let address = username.to_string();
        Box::pin(async move { Ok(self.upstream()?.mailbox(&address).await?.is_some()) })
    }

    fn provision<'a>(
        &'a self,
        account: &'a NewAccount,
    ) -> BoxFuture<'a, Result<Provisioned, UpstreamError>> {
        Box::pin(async move {
            let upstream = self.upstream()?;
            let local = account.username.split('@').next().unwrap_or_default();
            let body = json!({
                "local_part": local,
                "domain": upstream.domain,
                "name": account.owner_name,
                "quota": upstream.quota_mb,
                "password": account.password,
                "password2": account.password,
                "active": "1",
                "force_pw_update": "0",
                "tls_enforce_in": "1",
                "tls_enforce_out": "1",
            });
            upstream.write("/api/v1/add/mailbox", &body).await?;
            Ok(Provisioned::Active)
        })
    }

    fn apply<'a>(
        &'a self,
        account: &'a Account,
        change: &'a AccountChange,
    ) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            let upstream = self.upstream()?;
            let mut attr = serde_json::Map::new();
            match change.status.as_deref() {
                Some("suspended") => {
                    attr.insert("active".into(), json!("0"));
                }
                Some("active") => {
                    attr.insert("active".into(), json!("1"));
                }
                _ => {}
            }
            if let Some(password) = &change.password {
                attr.insert("password".into(), json!(password));
                attr.insert("password2".into(), json!(password));
            }
            if attr.is_empty() {
                return Ok(());
            }
            upstream.edit(&account.username, Value::Object(attr)).await
        })
    }

    fn deprovision<'a>(&'a self, account: &'a Account) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            let upstream = self.upstream()?;
            match upstream
                .write("/api/v1/delete/mailbox", &json!([account.username]))
                .await
            {
                Ok(()) => Ok(()),
                // Refused because it is already gone: deleted all the same.
                Err(err) if upstream.mailbox(&account.username).await?.is_none() => {
                    tracing::info!(error = %err, "mailbox already gone on Mailcow");
                    Ok(())
                }
                Err(err) => Err(err),
            }
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
                .ok_or_else(|| UpstreamError::Unavailable("Mail needs the new password".into()))?;
            let attr = json!({ "password": password, "password2": password });
            self.upstream()?.edit(&account.username, attr).await?;
            Ok(None)
        })
    }

    fn upstream_names(&self) -> BoxFuture<'_, Result<Option<Vec<String>>, UpstreamError>> {
        Box::pin(async move {
            let upstream = self.upstream()?;
            let all = upstream.get("/api/v1/get/mailbox/all").await?;
            let suffix = format!("@{}", upstream.domain);
            Ok(Some(
                entries(&all)
                    .iter()
                    .map(|m| text(&m["username"]).to_lowercase())
                    .filter(|name| name.ends_with(&suffix))
                    .collect(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_parts_and_alias_addresses() {
        assert_eq!(local_part("Ada.L").unwrap(), "ada.l");
        for bad in ["", ".ada", "ada.", "a..b", "ad a", "ädä", &"a".repeat(65)] {
            assert!(local_part(bad).is_err(), "{bad}");
        }
        let domains = vec!["example.org".to_string(), "alias.example.org".to_string()];
        assert_eq!(
            alias_address("Info@Alias.Example.org", &domains).unwrap(),
            "info@alias.example.org"
        );
        assert!(alias_address("info@elsewhere.org", &domains).is_err());
        assert!(alias_address("no-at-sign", &domains).is_err());
    }

    #[test]
    fn mailcow_answers_are_read() {
        assert!(outcome(&json!([{"type": "success", "msg": ["mailbox_added", "a@b"]}])).is_ok());
        assert_eq!(
            outcome(&json!([{"type": "danger", "msg": ["object_exists", "a@b"]}])),
            Err(UpstreamError::Taken)
        );
        for unreadable in [json!(null), json!([]), json!({}), json!([{"msg": "ok"}])] {
            assert!(
                matches!(outcome(&unreadable), Err(UpstreamError::Failed(m)) if m == "Mail server gave an answer Portal cannot read"),
                "{unreadable}"
            );
        }
        assert!(matches!(
            outcome(&json!([{"type": "error", "msg": "access_denied"}])),
            Err(UpstreamError::Failed(m)) if m == "Mail server refused the change (access_denied)"
        ));
    }
}
