//! Wiki accounts on MediaWiki, through the Action API (`MEDIAWIKI_API_URL`, the wiki's
//! `api.php`), as a bot (`MEDIAWIKI_BOT_USERNAME` / `MEDIAWIKI_BOT_PASSWORD`, a
//! Special:BotPasswords pair). Each operation logs in afresh: `meta=tokens&type=login`,
//! `action=login`, then the token the action needs and the action itself, with the
//! session cookie MediaWiki sets along the way. Answers are HTTP 200 with the action's
//! result or `error: {code, info}`.
//!
//! - create: `action=createaccount` (`status: PASS`; `userexists` is a taken name);
//! - suspend / reactivate: `action=block` (infinite) / `action=unblock`;
//! - delete: MediaWiki cannot delete accounts, so `action=block` with `nocreate` and
//!   `autoblock` (the account stays on the wiki, blocked for good);
//! - password reset: not supported (MediaWiki only e-mails reset links): 400;
//! - user stats: `list=users` (edit count, registration) and `list=usercontribs`.

use portal_domain::config::{ExposeSecret, SecretString};
use std::collections::BTreeMap;

use reqwest::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use serde_json::{Value, json};

use super::service::{
    AccountChange, BoxFuture, Catalogue, Integration, NameRefused, NewAccount, Provisioned,
    UpstreamError,
};
use portal_domain::config::MediaWikiConfig;
use portal_domain::model::{User, normalize_username};
use portal_domain::store::integration_accounts::Account;

const ID: &str = "mediawiki";
const WHAT: &str = "Wiki";

pub const NO_USERNAME: &str =
    "Choose a wiki username, or set your username in account settings first";

pub struct MediaWiki {
    upstream: Option<Upstream>,
}

struct Upstream {
    api: url::Url,
    bot: String,
    bot_password: SecretString,
    client: crate::outbound::Outbound,
}

/// A wiki account's figures.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WikiStats {
    pub username: String,
    pub edit_count: u64,
    /// When the account was registered (ISO 8601), if the wiki knows.
    pub registration: Option<String>,
    /// The last 10 edits, newest first.
    pub contributions: Vec<Contribution>,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Contribution {
    pub title: String,
    pub timestamp: String,
    pub comment: String,
    /// Bytes added (negative: removed).
    pub size_diff: i64,
}

/// One logged-in conversation with the wiki: its session cookies.
struct Session<'a> {
    upstream: &'a Upstream,
    cookies: BTreeMap<String, String>,
}

impl MediaWiki {
    pub fn from_config(config: Option<&MediaWikiConfig>) -> Self {
        let Some(m) = config else {
            return Self { upstream: None };
        };
        let upstream = match (&m.api_url, &m.bot_username, &m.bot_password) {
            (Some(api), Some(bot), Some(password)) => crate::outbound::Outbound::new(m.timeout)
                .map(|client| Upstream {
                    api: api.clone(),
                    bot: bot.clone(),
                    bot_password: password.clone(),
                    client,
                }),
            _ => None,
        };
        Self { upstream }
    }

    fn upstream(&self) -> Result<&Upstream, UpstreamError> {
        self.upstream
            .as_ref()
            .ok_or_else(|| UpstreamError::Unavailable("The wiki is not configured".into()))
    }

    /// The account's edit count, registration and last 10 contributions.
    pub async fn stats(&self, account: &Account) -> Result<WikiStats, UpstreamError> {
        let upstream = self.upstream()?;
        let name = wiki_name(account);
        let user_query = [
            ("list", "users"),
            ("ususers", name.as_str()),
            ("usprop", "editcount|registration"),
        ];
        let contribs_query = [
            ("list", "usercontribs"),
            ("ucuser", name.as_str()),
            ("uclimit", "10"),
            ("ucprop", "title|timestamp|comment|sizediff"),
        ];
        // The two reads do not depend on each other: sent together.
        let (users, contribs) =
            futures::try_join!(upstream.read(&user_query), upstream.read(&contribs_query))?;
        let user = &users["query"]["users"][0];
        Ok(WikiStats {
            username: name.clone(),
            edit_count: user["editcount"].as_u64().unwrap_or(0),
            registration: user["registration"].as_str().map(str::to_string),
            contributions: contribs["query"]["usercontribs"]
                .as_array()
                .map(|edits| {
                    edits
                        .iter()
                        .map(|e| Contribution {
                            title: e["title"].as_str().unwrap_or_default().into(),
                            timestamp: e["timestamp"].as_str().unwrap_or_default().into(),
                            comment: e["comment"].as_str().unwrap_or_default().into(),
                            size_diff: e["sizediff"].as_i64().unwrap_or(0),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// The name the wiki knows the account by.
fn wiki_name(account: &Account) -> String {
    account.data["username"]
        .as_str()
        .map_or_else(|| account.username.clone(), str::to_string)
}

/// MediaWiki's canonical form: the first letter upper-cased.
fn canonical(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// An `error: {code, info}` answer as the API shows it.
fn refused(error: &Value) -> UpstreamError {
    let code = error["code"].as_str().unwrap_or("unknown");
    tracing::warn!(
        code,
        info = error["info"].as_str().unwrap_or_default(),
        "MediaWiki answered with an error"
    );
    match code {
        "permissiondenied" | "badtoken" | "assertuserfailed" | "assertbotfailed"
        | "notloggedin" => {
            UpstreamError::failed(ID, format!("{WHAT} refused Portal's credentials"))
        }
        code => UpstreamError::failed(ID, format!("{WHAT} refused the change ({code})")),
    }
}

impl Upstream {
    /// A read that needs no login.
    async fn read(&self, params: &[(&str, &str)]) -> Result<Value, UpstreamError> {
        let mut params = params.to_vec();
        params.push(("action", "query"));
        Session::new(self).get(&params).await
    }
}

impl<'a> Session<'a> {
    fn new(upstream: &'a Upstream) -> Self {
        Self {
            upstream,
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Result<Value, UpstreamError> {
        let request = if self.cookies.is_empty() {
            request
        } else {
            request.header(COOKIE, self.cookie_header())
        };
        let res = request
            .send()
            .await
            .map_err(|e| super::service::transport_error(ID, WHAT, &e))?;
        for set in res.headers().get_all(SET_COOKIE) {
            if let Some((name, value)) = set
                .to_str()
                .ok()
                .and_then(|c| c.split(';').next())
                .and_then(|pair| pair.split_once('='))
            {
                self.cookies.insert(name.trim().into(), value.trim().into());
            }
        }
        let status = res.status();
        if !status.is_success() {
            tracing::warn!(
                status = status.as_u16(),
                "MediaWiki answered with an HTTP error"
            );
            return Err(UpstreamError::failed(
                ID,
                format!("{WHAT} failed (status {})", status.as_u16()),
            ));
        }
        let body: Value = res
            .json()
            .await
            .map_err(|e| super::service::transport_error(ID, WHAT, &e))?;
        match body.get("error") {
            Some(error) => Err(refused(error)),
            None => Ok(body),
        }
    }

    async fn get(&mut self, params: &[(&str, &str)]) -> Result<Value, UpstreamError> {
        let mut url = self.upstream.api.clone();
        url.query_pairs_mut()
            .extend_pairs(params)
            .append_pair("format", "json")
            .append_pair("formatversion", "2");
        let request = self.upstream.client.get(url);
        self.send(request).await
    }

    async fn post(&mut self, params: &[(&str, &str)]) -> Result<Value, UpstreamError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .append_pair("format", "json")
            .append_pair("formatversion", "2")
            .finish();
        let request = self
            .upstream
            .client
            .post(self.upstream.api.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    async fn token(&mut self, kind: &str) -> Result<String, UpstreamError> {
        let answer = self
            .get(&[("action", "query"), ("meta", "tokens"), ("type", kind)])
            .await?;
        answer["query"]["tokens"][format!("{kind}token")]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| UpstreamError::failed(ID, format!("{WHAT} gave no {kind} token")))
    }

    /// Logs the bot in (its session cookie kept for what follows).
    async fn login(&mut self) -> Result<(), UpstreamError> {
        let token = self.token("login").await?;
        let (bot, password) = (
            self.upstream.bot.clone(),
            self.upstream.bot_password.expose_secret().to_string(),
        );
        let answer = self
            .post(&[
                ("action", "login"),
                ("lgname", &bot),
                ("lgpassword", &password),
                ("lgtoken", &token),
            ])
            .await?;
        if answer["login"]["result"].as_str() == Some("Success") {
            Ok(())
        } else {
            tracing::warn!(result = %answer["login"]["result"], "MediaWiki refused the bot's login");
            Err(UpstreamError::failed(
                ID,
                format!("{WHAT} refused Portal's credentials"),
            ))
        }
    }

    /// Blocks (`nocreate`: for good, as a deletion) or unblocks `name`.
    async fn block(
        &mut self,
        name: &str,
        block: bool,
        for_good: bool,
    ) -> Result<(), UpstreamError> {
        self.login().await?;
        let token = self.token("csrf").await?;
        let mut params = vec![("user", name), ("token", token.as_str())];
        if block {
            params.extend([
                ("action", "block"),
                ("expiry", "infinite"),
                (
                    "reason",
                    if for_good {
                        "Account deleted in Portal"
                    } else {
                        "Suspended in Portal"
                    },
                ),
                ("reblock", "1"),
            ]);
            if for_good {
                params.extend([("nocreate", "1"), ("autoblock", "1")]);
            }
        } else {
            params.extend([("action", "unblock"), ("reason", "Reactivated in Portal")]);
        }
        match self.post(&params).await {
            Ok(_) => Ok(()),
            // Not blocked when unblocking, or gone: the wanted state holds.
            Err(UpstreamError::Failed(m))
                if m.contains("(cantunblock)") || m.contains("(nosuchuser)") =>
            {
                Ok(())
            }
            Err(err) => Err(err),
        }
    }
}

static CATALOGUE: Catalogue = Catalogue {
    id: ID,
    name: "Wiki",
    description: "An account on the community wiki",
    icon: Some("book-open"),
    name_field: "username",
    name_aliases: &["wikiUsername"],
    name_required: false,
    changes_passwords: false,
};

impl Integration for MediaWiki {
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
        self.upstream()?;
        let name = canonical(&super::service::portal_style_name(
            owner,
            name,
            NO_USERNAME,
            "A wiki username starts with a letter and contains only letters, digits, _ and -",
        )?);
        let data = json!({ "username": name });
        Ok(NewAccount::new(
            owner,
            normalize_username(&name),
            password,
            data,
        ))
    }

    fn exists(&self, username: &str) -> BoxFuture<'_, Result<bool, UpstreamError>> {
        let name = canonical(username);
        Box::pin(async move {
            let answer = self
                .upstream()?
                .read(&[("list", "users"), ("ususers", &name)])
                .await?;
            let user = &answer["query"]["users"][0];
            Ok(user.is_object() && user.get("missing").is_none() && user.get("invalid").is_none())
        })
    }

    fn provision<'a>(
        &'a self,
        account: &'a NewAccount,
    ) -> BoxFuture<'a, Result<Provisioned, UpstreamError>> {
        Box::pin(async move {
            let mut session = Session::new(self.upstream()?);
            session.login().await?;
            let token = session.token("createaccount").await?;
            let name = account.data["username"]
                .as_str()
                .unwrap_or(&account.username);
            let answer = session
                .post(&[
                    ("action", "createaccount"),
                    ("username", name),
                    ("password", &account.password),
                    ("retype", &account.password),
                    ("email", &account.email),
                    ("reason", "Created through Portal"),
                    ("createreturnurl", "https://portal.invalid/"),
                    ("createtoken", &token),
                ])
                .await?;
            let result = &answer["createaccount"];
            match result["status"].as_str() {
                Some("PASS") => Ok(Provisioned::Active),
                _ if result["messagecode"].as_str() == Some("userexists") => {
                    Err(UpstreamError::Taken)
                }
                _ => {
                    let code = result["messagecode"].as_str().unwrap_or("unknown");
                    tracing::warn!(code, "MediaWiki refused the new account");
                    Err(UpstreamError::failed(
                        ID,
                        format!("{WHAT} refused the change ({code})"),
                    ))
                }
            }
        })
    }

    fn apply<'a>(
        &'a self,
        account: &'a Account,
        change: &'a AccountChange,
    ) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            if change.password.is_some() {
                return Err(UpstreamError::Unavailable(
                    super::service::RESET_NOT_SUPPORTED.into(),
                ));
            }
            let block = match change.status.as_deref() {
                Some("suspended") => true,
                Some("active") => false,
                _ => return Ok(()),
            };
            Session::new(self.upstream()?)
                .block(&wiki_name(account), block, false)
                .await
        })
    }

    fn deprovision<'a>(&'a self, account: &'a Account) -> BoxFuture<'a, Result<(), UpstreamError>> {
        Box::pin(async move {
            Session::new(self.upstream()?)
                .block(&wiki_name(account), true, true)
                .await
        })
    }

    fn upstream_names(&self) -> BoxFuture<'_, Result<Option<Vec<String>>, UpstreamError>> {
        Box::pin(async move {
            let upstream = self.upstream()?;
            let mut names = Vec::new();
            let mut from = String::new();
            loop {
                let mut params = vec![("list", "allusers"), ("aulimit", "500")];
                if !from.is_empty() {
                    params.push(("aucontinue", from.as_str()));
                }
                let answer = upstream.read(&params).await?;
                names.extend(
                    answer["query"]["allusers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|u| u["name"].as_str())
                        .map(normalize_username),
                );
                match answer["continue"]["aucontinue"].as_str() {
                    Some(next) => from = next.to_string(),
                    None => break,
                }
            }
            Ok(Some(names))
        })
    }
}
