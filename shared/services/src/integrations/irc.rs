//! IRC nicks on Atheme services, through Atheme's JSON-RPC interface
//! (`IRC_ATHEME_JSONRPC_URL`): every call is `POST {jsonrpc: "2.0", method, params, id}`,
//! answered with HTTP 200 and either `result` or `error: {code, message}` (Atheme's fault
//! codes). `atheme.command` runs a services command as
//! `[authcookie, account, sourceip, service, command, args...]`, where `.` stands for
//! "not logged in".
//!
//! - create: `NickServ REGISTER <nick> <password> <email>` (not logged in); Atheme that
//!   asks for e-mail verification leaves the account `pending`.
//! - suspend / reactivate: `NickServ FREEZE <nick> ON|OFF`, as the operator.
//! - delete: `NickServ FDROP <nick>`, as the operator.
//! - password reset: `NickServ RESETPASS <nick>` as the operator (Atheme picks a password);
//!   to set a chosen one, Portal then logs in as the nick with it and runs
//!   `NickServ SET PASSWORD`.
//!
//! The operator account (`IRC_ATHEME_OPER_ACCOUNT` / `IRC_ATHEME_OPER_PASSWORD`) is
//! logged in with `atheme.login` for each operation and logged out after it. Without it,
//! IRC still creates nicks, but suspension, resets and drops answer 503.

use portal_domain::config::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::service::{
    AccountChange, BoxFuture, Catalogue, Integration, NameRefused, NewAccount, Provisioned, Resets,
    UpstreamError,
};
use portal_domain::config::IrcConfig;
use portal_domain::issue::Issue;
use portal_domain::model::{User, normalize_username};
use portal_domain::store::integration_accounts::Account;

/// The integration's id (the path segment, the metric dimension).
const ID: &str = "irc";
/// The address Atheme records for commands Portal runs.
const SOURCE_IP: &str = "127.0.0.1";

pub const NO_USERNAME: &str =
    "Set your username in account settings before creating an IRC account";
pub const NO_OPERATOR: &str = "IRC operator credentials are not configured";

/// Atheme's fault codes (`libathemecore/fault.h`) Portal tells apart.
mod fault {
    pub const NOSUCH_TARGET: i64 = 4;
    pub const AUTHFAIL: i64 = 5;
    pub const NOPRIVS: i64 = 6;
    pub const ALREADYEXISTS: i64 = 8;
    pub const BADAUTHCOOKIE: i64 = 15;
}

pub struct Irc {
    upstream: Option<Upstream>,
}

struct Upstream {
    url: String,
    operator: Option<(String, SecretString)>,
    server: String,
    port: u16,
    client: crate::outbound::Outbound,
}

/// An Atheme fault: its code and message.
#[derive(Debug)]
struct Fault {
    code: i64,
    message: String,
}

enum Call {
    Done(Value),
    Fault(Fault),
}

impl Irc {
    pub fn from_config(config: Option<&IrcConfig>) -> Self {
        let Some(irc) = config else {
            return Self { upstream: None };
        };
        let upstream = irc.jsonrpc_url.as_ref().and_then(|url| {
            crate::outbound::Outbound::new(irc.timeout).map(|client| Upstream {
                url: url.to_string(),
                operator: irc.oper_account.clone().zip(irc.oper_password.clone()),
                server: irc.server.clone(),
                port: irc.port,
                client,
            })
        });
        Self { upstream }
    }

    fn upstream(&self) -> Result<&Upstream, UpstreamError> {
        self.upstream
            .as_ref()
            .ok_or_else(|| UpstreamError::Unavailable("IRC is not configured".into()))
    }
}

/// A fault that means Portal's own standing with Atheme is wrong, or any other fault.
fn failed(fault: &Fault) -> UpstreamError {
    tracing::warn!(code = fault.code, message = %fault.message, "Atheme answered with a fault");
    match fault.code {
        fault::AUTHFAIL | fault::NOPRIVS | fault::BADAUTHCOOKIE => {
            UpstreamError::failed(ID, "IRC services refused Portal's credentials")
        }
        code => UpstreamError::failed(ID, format!("IRC services failed (fault {code})")),
    }
}

/// The password RESETPASS set: `... changed to <password>.` (bold marks around it).
fn reset_password_of(text: &str) -> Option<String> {
    let (_, rest) = text.split_once("changed to ")?;
    let password: String = rest
        .chars()
        .filter(|c| *c != '\u{2}')
        .collect::<String>()
        .trim()
        .trim_end_matches('.')
        .to_string();
    (!password.is_empty() && !password.contains(char::is_whitespace)).then_some(password)
}

impl Upstream {
    /// One JSON-RPC call: its result, or Atheme's fault.
    async fn call(&self, method: &str, params: &[&str]) -> Result<Call, UpstreamError> {
        let res = self
            .client
            .post(&self.url)
            .json(&json!({ "jsonrpc": "2.0", "method": method, "params": params, "id": "1" }))
            .send()
            .await
            .map_err(|e| super::service::transport_error(ID, "IRC services", &e))?;
        let status = res.status();
        if !status.is_success() {
            tracing::warn!(
                status = status.as_u16(),
                "Atheme's JSON-RPC answered with an HTTP error"
            );
            return Err(UpstreamError::failed(
                ID,
                format!("IRC services failed (status {})", status.as_u16()),
            ));
        }
        let body: Value = res
            .json()
            .await
            .map_err(|e| super::service::transport_error(ID, "IRC services", &e))?;
        match body.get("error") {
            Some(error) if !error.is_null() => Ok(Call::Fault(Fault {
                code: error.get("code").and_then(Value::as_i64).unwrap_or(16),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            })),
            _ => Ok(Call::Done(
                body.get("result").cloned().unwrap_or(Value::Null),
            )),
        }
    }

    /// A call that must succeed: its result text.
    async fn expect(&self, method: &str, params: &[&str]) -> Result<String, UpstreamError> {
        match self.call(method, params).await? {
            Call::Done(result) => Ok(result.as_str().unwrap_or_default().to_string()),
            Call::Fault(fault) => Err(failed(&fault)),
        }
    }

    /// A services command, as `account` holding `cookie` (`.`/`.`: nobody).
    async fn command(
        &self,
        (cookie, account): (&str, &str),
        service: &str,
        args: &[&str],
    ) -> Result<Call, UpstreamError> {
        let mut params = vec![cookie, account, SOURCE_IP, service];
        params.extend_from_slice(args);
        self.call("atheme.command", &params).await
    }

    /// Logs in as `account`, runs `work` with the cookie, logs out (whatever `work` did).
    async fn as_account<T, F>(
        &self,
        account: &str,
        password: &str,
        work: F,
    ) -> Result<T, UpstreamError>
    where
        F: AsyncFnOnce(&str) -> Result<T, UpstreamError>,
    {
        let cookie = self
            .expect("atheme.login", &[account, password, SOURCE_IP])
            .await?;
        let outcome = work(&cookie).await;
        if let Err(err) = self.call("atheme.logout", &[&cookie, account]).await {
            tracing::warn!(error = %err, "Atheme logout failed");
        }
        outcome
    }

    /// Runs `work` logged in as the operator (503 without operator credentials).
    async fn as_operator<T, F>(&self, work: F) -> Result<T, UpstreamError>
    where
        F: AsyncFnOnce(&str, &str) -> Result<T, UpstreamError>,
    {
        let (account, password) = self
            .operator
            .as_ref()
            .ok_or_else(|| UpstreamError::Unavailable(NO_OPERATOR.into()))?;
        self.as_account(account, password.expose_secret(), async |cookie| {
            work(cookie, account).await
        })
        .await
    }

    async fn operator_command(&self, service: &str, args: &[&str]) -> Result<Call, UpstreamError> {
        self.as_operator(async |cookie, account| {
            self.command((cookie, account), service, args).await
        })
        .await
    }

    /// RESETPASS, then (with `password`) SET PASSWORD as the nick: the temporary password
    /// when none was given.
    async fn reset(
        &self,
        nick: &str,
        password: Option<&str>,
    ) -> Result<Option<String>, UpstreamError> {
        let text = match self
            .operator_command("NickServ", &["RESETPASS", nick])
            .await?
        {
            Call::Done(result) => result.as_str().unwrap_or_default().to_string(),
            Call::Fault(fault) => return Err(failed(&fault)),
        };
        let temporary = reset_password_of(&text).ok_or_else(|| {
            tracing::warn!("RESETPASS answered without a password Portal could read");
            UpstreamError::failed(ID, "IRC services did not report the new password")
        })?;
        let Some(password) = password else {
            return Ok(Some(temporary));
        };
        self.as_account(nick, &temporary, async |cookie| {
            match self
                .command((cookie, nick), "NickServ", &["SET", "PASSWORD", password])
                .await?
            {
                Call::Done(_) => Ok(None),
                Call::Fault(fault) => Err(failed(&fault)),
            }
        })
        .await
    }
}

static CATALOGUE: Catalogue = Catalogue {
    id: ID,
    name: "IRC",
    description: "A registered nick on the community IRC network",
    icon: Some("hash"),
    name_field: "nick",
    name_aliases: &[],
    name_required: false,
    changes_passwords: true,
};

impl Integration for Irc {
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
        let nick = super::service::portal_style_name(
            owner,
            name,
            NO_USERNAME,
            "Nick must start with a letter and contain only letters, digits, _ and -",
        )?;
        let data = json!({ "nick": nick, "server": upstream.server, "port": upstream.port });
        Ok(NewAccount::new(
            owner,
            normalize_username(&nick),
            password,
            data,
        ))
    }

    fn password_issue(&self, password: &str) -> Option<Issue> {
        password.contains(char::is_whitespace).then(|| {
            Issue::invalid_string("regex", "An IRC password cannot contain spaces").at("password")
        })
    }

    fn exists(&self, username: &str) -> BoxFuture<'_, Result<bool, UpstreamError>> {
        let nick = username.to_string();
        Box::pin(async move {
            match self
                .upstream()?
                .command((".", "."), "NickServ", &["INFO", &nick])
                .await?
            {
                Call::Done(_) => Ok(true),
                Call::Fault(f) if f.code == fault::NOSUCH_TARGET => Ok(false),
                Call::Fault(f) => Err(failed(&f)),
            }
        })
    }

    fn provision<'a>(
        &'a self,
        account: &'a NewAccount,
    ) -> BoxFuture<'a, Result<Provisioned, UpstreamError>> {
        Box::pin(async move {
            let nick = account.data["nick"].as_str().unwrap_or(&account.username);
            let args = ["REGISTER", nick, &account.password, &account.email];
            match self
                .upstream()?
                .command((".", "."), "NickServ", &args)
                .await?
            {
                // Atheme with e-mail verification on says it sent the activation mail.
                Call::Done(result) => {
                    let text = result.as_str().unwrap_or_default().to_lowercase();
                    Ok(if text.contains("activat") || text.contains("verif") {
                        Provisioned::Pending
                    } else {
                        Provisioned::Active
                    })
                }
                Call::Fault(f) if f.code == fault::ALREADYEXISTS => Err(UpstreamError::Taken),
                Call::Fault(f) => Err(failed(&f)),
            }
        })
    }

    fn apply<'a>(
        &'a self,
        account: &'a Account,
        change: &'a AccountChange,
    ) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            let upstream = self.upstream()?;
            let freeze = match change.status.as_deref() {
                Some("suspended") if account.status != "suspended" => Some("ON"),
                Some("active") if account.status == "suspended" => Some("OFF"),
                _ => None,
            };
            if let Some(on_off) = freeze {
                let mut args = vec!["FREEZE", &account.username, on_off];
                if on_off == "ON" {
                    args.push("Suspended by Portal");
                }
                if let Call::Fault(f) = upstream.operator_command("NickServ", &args).await? {
                    return Err(failed(&f));
                }
            }
            if let Some(password) = &change.password {
                upstream.reset(&account.username, Some(password)).await?;
            }
            Ok(())
        })
    }

    fn deprovision<'a>(&'a self, account: &'a Account) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            let upstream = self.upstream()?;
            match upstream
                .operator_command("NickServ", &["FDROP", &account.username])
                .await?
            {
                Call::Done(_) => Ok(()),
                Call::Fault(f) if f.code == fault::NOSUCH_TARGET => Ok(()),
                Call::Fault(f) => Err(failed(&f)),
            }
        })
    }

    fn resets_passwords(&self) -> Resets {
        Resets::AnyPassword
    }

    fn reset_password<'a>(
        &'a self,
        account: &'a Account,
        password: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<String>, UpstreamError>> {
        Box::pin(async move { self.upstream()?.reset(&account.username, password).await })
    }

    fn upstream_names(&self) -> BoxFuture<'_, Result<Option<Vec<String>>, UpstreamError>> {
        Box::pin(async move {
            let text = match self
                .upstream()?
                .operator_command("NickServ", &["LIST", "*"])
                .await?
            {
                Call::Done(result) => result.as_str().unwrap_or_default().to_string(),
                Call::Fault(f) => return Err(failed(&f)),
            };
            // One line per account: `- <nick> (<account>) ...`.
            Ok(Some(
                text.lines()
                    .filter_map(|line| line.strip_prefix("- "))
                    .filter_map(|rest| rest.split_whitespace().next())
                    .map(normalize_username)
                    .collect(),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_password_resetpass_set() {
        assert_eq!(
            reset_password_of(
                "The password for \u{2}ada\u{2} has been changed to \u{2}Xk3pQ9wz\u{2}."
            )
            .as_deref(),
            Some("Xk3pQ9wz")
        );
        assert_eq!(
            reset_password_of("The password for ada has been changed to abc123.").as_deref(),
            Some("abc123")
        );
        assert_eq!(reset_password_of("ada has been frozen."), None);
        assert_eq!(reset_password_of("changed to ."), None);
    }
}
