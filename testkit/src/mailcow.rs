//! A small Mailcow API stand-in (real HTTP): `X-API-Key` checked (401 otherwise), mailboxes,
//! app passwords and aliases in memory, writes answered as Mailcow does (HTTP 200 with
//! `[{type: success|danger, msg: [...]}]`). It can be told to answer an HTTP status, to
//! hang, or to refuse one kind of write.

use crate::Sections;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::any;
use serde_json::{Value, json};

pub const MAILCOW_KEY: &str = "mailcow-test-key";

/// How the fake answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailcowMode {
    Normal,
    /// Every call answers this HTTP status.
    Http(u16),
    /// Every call waits this long first.
    Hang(Duration),
    /// Writes to this path (e.g. `add/mailbox`) answer `danger` with this message.
    Refuse(&'static str, &'static str),
}

/// A mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: String,
    pub password: String,
    pub active: bool,
    pub quota_mb: u64,
    pub used_bytes: u64,
    pub messages: u64,
}

#[derive(Default)]
struct Data {
    mailboxes: BTreeMap<String, Mailbox>,
    /// id -> (mailbox, name, secret)
    app_passwords: BTreeMap<u64, (String, String, String)>,
    /// id -> (address, goto)
    aliases: BTreeMap<u64, (String, String)>,
    next_id: u64,
}

#[derive(Clone)]
struct Shared {
    data: Arc<Mutex<Data>>,
    mode: Arc<Mutex<MailcowMode>>,
    calls: Arc<Mutex<Vec<String>>>,
}

pub struct FakeMailcow {
    addr: SocketAddr,
    shared: Shared,
    /// Its OAuth server (`/oauth/*`, Mailcow's sign-in provider), beside its API.
    oauth: crate::oauth_provider::OAuthControl,
    task: tokio::task::JoinHandle<()>,
}

impl FakeMailcow {
    pub async fn start() -> Self {
        let shared = Shared {
            data: Arc::default(),
            mode: Arc::new(Mutex::new(MailcowMode::Normal)),
            calls: Arc::default(),
        };
        let (oauth_routes, oauth) =
            crate::oauth_provider::routes(crate::oauth_provider::Wire::Mailcow);
        let app = Router::new()
            .route("/api/v1/{verb}/{kind}", any(api))
            .route("/api/v1/{verb}/{kind}/{*rest}", any(api_with))
            .with_state(shared.clone())
            .merge(oauth_routes);
        let (addr, task) = crate::upstream::serve(app).await;
        Self {
            addr,
            shared,
            oauth,
            task,
        }
    }

    /// Its OAuth server: who is signed in at Mailcow, its failures.
    pub fn oauth(&self) -> &crate::oauth_provider::OAuthControl {
        &self.oauth
    }

    /// `http://127.0.0.1:<port>` (MAILCOW_API_URL).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Points `config` at this server with its key: mailboxes on `mail.example.org`,
    /// aliases there and on `example.org` (500 ms per call).
    pub fn configure(&self, config: &mut portal_domain::Config) {
        config.services_mut().mailcow.api_url = url::Url::parse(&self.url()).ok();
        config.services_mut().mailcow.api_key = Some(MAILCOW_KEY.into());
        config.services_mut().mailcow.domain = Some("mail.example.org".into());
        config.services_mut().mailcow.alias_domains =
            vec!["mail.example.org".into(), "example.org".into()];
        config.services_mut().mailcow.timeout = Duration::from_millis(500);
    }

    pub fn set_mode(&self, mode: MailcowMode) {
        *self.shared.mode.lock().expect("lock") = mode;
    }

    pub fn mailbox(&self, address: &str) -> Option<Mailbox> {
        self.shared
            .data
            .lock()
            .expect("lock")
            .mailboxes
            .get(address)
            .cloned()
    }

    /// Adds a mailbox as if made in Mailcow's own UI.
    pub fn add_mailbox(&self, address: &str, password: &str) {
        self.shared.data.lock().expect("lock").mailboxes.insert(
            address.into(),
            Mailbox {
                name: address.into(),
                password: password.into(),
                active: true,
                quota_mb: 1024,
                used_bytes: 0,
                messages: 0,
            },
        );
    }

    /// Removes a mailbox as if deleted in Mailcow's own UI.
    pub fn remove_mailbox(&self, address: &str) {
        self.shared
            .data
            .lock()
            .expect("lock")
            .mailboxes
            .remove(address);
    }

    /// Pretends mail arrived: `bytes` used, `messages` held.
    pub fn fill(&self, address: &str, bytes: u64, messages: u64) {
        if let Some(m) = self
            .shared
            .data
            .lock()
            .expect("lock")
            .mailboxes
            .get_mut(address)
        {
            m.used_bytes = bytes;
            m.messages = messages;
        }
    }

    /// The app passwords' `(mailbox, name, secret)`.
    pub fn app_passwords(&self) -> Vec<(String, String, String)> {
        self.shared
            .data
            .lock()
            .expect("lock")
            .app_passwords
            .values()
            .cloned()
            .collect()
    }

    /// The aliases' `(address, goto)`.
    pub fn aliases(&self) -> Vec<(String, String)> {
        self.shared
            .data
            .lock()
            .expect("lock")
            .aliases
            .values()
            .cloned()
            .collect()
    }

    /// Every call as `METHOD /path`.
    pub fn calls(&self) -> Vec<String> {
        self.shared.calls.lock().expect("lock").clone()
    }
}

impl Drop for FakeMailcow {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn success(what: &str, about: &str) -> Value {
    json!([{ "type": "success", "log": [], "msg": [what, about] }])
}

fn danger(what: &str, about: &str) -> Value {
    json!([{ "type": "danger", "log": [], "msg": [what, about] }])
}

async fn api(
    State(s): State<Shared>,
    method: Method,
    Path((verb, kind)): Path<(String, String)>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    answer(s, method, verb, kind, String::new(), headers, body).await
}

async fn api_with(
    State(s): State<Shared>,
    method: Method,
    Path((verb, kind, rest)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    answer(s, method, verb, kind, rest, headers, body).await
}

async fn answer(
    s: Shared,
    method: Method,
    verb: String,
    kind: String,
    rest: String,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    let path = format!("{verb}/{kind}");
    s.calls
        .lock()
        .expect("lock")
        .push(format!("{method} /api/v1/{path}"));
    let mode = *s.mode.lock().expect("lock");
    match mode {
        MailcowMode::Http(status) => {
            return (StatusCode::from_u16(status).expect("status"), "oops".into());
        }
        MailcowMode::Hang(wait) => tokio::time::sleep(wait).await,
        MailcowMode::Refuse(on, message) if on == path => {
            return (StatusCode::OK, danger(message, "").to_string());
        }
        _ => {}
    }
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(MAILCOW_KEY) {
        return (
            StatusCode::UNAUTHORIZED,
            json!({"type": "error", "msg": "authentication failed"}).to_string(),
        );
    }
    let input: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let field = |name: &str| input[name].as_str().unwrap_or_default().to_string();
    let mut data = s.data.lock().expect("lock");
    let answer = match (method, path.as_str()) {
        (Method::GET, "get/mailbox") if rest == "all" => Value::Array(
            data.mailboxes
                .iter()
                .map(|(address, m)| mailbox_json(address, m))
                .collect(),
        ),
        (Method::GET, "get/mailbox") => data
            .mailboxes
            .get(&rest)
            .map_or(json!({}), |m| mailbox_json(&rest, m)),
        (Method::POST, "add/mailbox") => {
            let address = format!("{}@{}", field("local_part"), field("domain"));
            let aliased = data.aliases.values().any(|(a, _)| *a == address);
            if data.mailboxes.contains_key(&address) || aliased {
                danger("object_exists", &address)
            } else if field("password") != field("password2") || field("password").len() < 8 {
                danger("password_mismatch", &address)
            } else {
                data.mailboxes.insert(
                    address.clone(),
                    Mailbox {
                        name: field("name"),
                        password: field("password"),
                        active: field("active") != "0",
                        quota_mb: input["quota"].as_u64().unwrap_or(0),
                        used_bytes: 0,
                        messages: 0,
                    },
                );
                success("mailbox_added", &address)
            }
        }
        (Method::POST, "edit/mailbox") => {
            let address = input["items"][0].as_str().unwrap_or_default().to_string();
            match data.mailboxes.get_mut(&address) {
                None => danger("access_denied", &address),
                Some(m) => {
                    let attr = &input["attr"];
                    if let Some(active) = attr["active"].as_str() {
                        m.active = active == "1";
                    }
                    if let Some(password) = attr["password"].as_str() {
                        m.password = password.to_string();
                    }
                    success("mailbox_modified", &address)
                }
            }
        }
        (Method::POST, "delete/mailbox") => {
            let address = input[0].as_str().unwrap_or_default().to_string();
            if data.mailboxes.remove(&address).is_some() {
                data.app_passwords.retain(|_, (m, _, _)| *m != address);
                success("mailbox_removed", &address)
            } else {
                danger("access_denied", &address)
            }
        }
        (Method::GET, "get/app-passwd") => {
            let mailbox = rest.strip_prefix("all/").unwrap_or(&rest);
            Value::Array(
                data.app_passwords
                    .iter()
                    .filter(|(_, (m, _, _))| m == mailbox)
                    .map(|(id, (m, name, _))| {
                        json!({"id": id, "name": name, "mailbox": m, "created": "2026-11-26 10:00:00", "active": "1"})
                    })
                    .collect(),
            )
        }
        (Method::POST, "add/app-passwd") => {
            let mailbox = field("username");
            if !data.mailboxes.contains_key(&mailbox) {
                danger("access_denied", &mailbox)
            } else {
                data.next_id += 1;
                let id = data.next_id;
                data.app_passwords
                    .insert(id, (mailbox.clone(), field("app_name"), field("app_passwd")));
                success("app_passwd_added", &id.to_string())
            }
        }
        (Method::POST, "delete/app-passwd") => {
            let id = input[0].as_str().and_then(|i| i.parse().ok()).unwrap_or(0);
            match data.app_passwords.remove(&id) {
                Some(_) => success("app_passwd_removed", &id.to_string()),
                None => danger("access_denied", &id.to_string()),
            }
        }
        (Method::GET, "get/alias") => Value::Array(
            data.aliases
                .iter()
                .map(|(id, (address, goto))| {
                    json!({"id": id, "address": address, "goto": goto, "active": "1"})
                })
                .collect(),
        ),
        (Method::POST, "add/alias") => {
            let address = field("address");
            let taken = data.mailboxes.contains_key(&address)
                || data.aliases.values().any(|(a, _)| *a == address);
            if taken {
                danger("is_alias_or_mailbox", &address)
            } else {
                data.next_id += 1;
                let id = data.next_id;
                data.aliases.insert(id, (address.clone(), field("goto")));
                success("alias_added", &address)
            }
        }
        (Method::POST, "delete/alias") => {
            let id = input[0].as_str().and_then(|i| i.parse().ok()).unwrap_or(0);
            match data.aliases.remove(&id) {
                Some(_) => success("alias_removed", &id.to_string()),
                None => danger("access_denied", &id.to_string()),
            }
        }
        _ => return (StatusCode::NOT_FOUND, "{}".into()),
    };
    (StatusCode::OK, answer.to_string())
}

fn mailbox_json(address: &str, m: &Mailbox) -> Value {
    json!({
        "username": address,
        "name": m.name,
        "active": if m.active { 1 } else { 0 },
        "quota": m.quota_mb * 1024 * 1024,
        "quota_used": m.used_bytes,
        "messages": m.messages,
    })
}
