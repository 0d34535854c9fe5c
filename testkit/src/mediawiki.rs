//! A small MediaWiki Action API stand-in (real HTTP, `/w/api.php`): login tokens and a
//! session cookie, `action=login` for one bot, `createaccount`, `block`, `unblock`, and the
//! `list=users|usercontribs|allusers` reads, answered as MediaWiki does (HTTP 200 with the
//! action's result or `error: {code, info}`). It can be told to answer an HTTP status, to
//! hang, or to fail one action with an error code.

use crate::Sections;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};

pub const WIKI_BOT: &str = "Portal@portal";
pub const WIKI_BOT_PASSWORD: &str = "bot-test-password";

/// How the fake answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WikiMode {
    Normal,
    Http(u16),
    Hang(Duration),
    /// This action answers `error: {code}`.
    ErrorOn(&'static str, &'static str),
}

/// A wiki account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WikiUser {
    pub password: String,
    pub email: String,
    pub blocked: bool,
    /// Blocked from creating accounts too (Portal's "deleted").
    pub nocreate: bool,
    pub edits: Vec<(String, String, i64)>,
}

#[derive(Default)]
struct Data {
    users: BTreeMap<String, WikiUser>,
    /// session cookie -> (logged in as bot, tokens handed out)
    sessions: HashMap<String, (bool, Vec<String>)>,
}

#[derive(Clone)]
struct Shared {
    data: Arc<Mutex<Data>>,
    mode: Arc<Mutex<WikiMode>>,
    calls: Arc<Mutex<Vec<String>>>,
}

pub struct FakeMediaWiki {
    addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl FakeMediaWiki {
    pub async fn start() -> Self {
        let shared = Shared {
            data: Arc::default(),
            mode: Arc::new(Mutex::new(WikiMode::Normal)),
            calls: Arc::default(),
        };
        let app = Router::new()
            .route("/w/api.php", any(api))
            .with_state(shared.clone());
        let (addr, task) = crate::upstream::serve(app).await;
        Self { addr, shared, task }
    }

    /// `http://127.0.0.1:<port>/w/api.php` (MEDIAWIKI_API_URL).
    pub fn url(&self) -> String {
        format!("http://{}/w/api.php", self.addr)
    }

    /// Points `config` at this wiki with its bot password (500 ms per call).
    pub fn configure(&self, config: &mut portal_domain::Config) {
        config.services_mut().mediawiki.api_url = url::Url::parse(&self.url()).ok();
        config.services_mut().mediawiki.bot_username = Some(WIKI_BOT.into());
        config.services_mut().mediawiki.bot_password = Some(WIKI_BOT_PASSWORD.into());
        config.services_mut().mediawiki.timeout = Duration::from_millis(500);
    }

    pub fn set_mode(&self, mode: WikiMode) {
        *self.shared.mode.lock().expect("lock") = mode;
    }

    pub fn user(&self, name: &str) -> Option<WikiUser> {
        self.shared
            .data
            .lock()
            .expect("lock")
            .users
            .get(name)
            .cloned()
    }

    /// Adds an account as if registered on the wiki directly, with `edits` edits.
    pub fn add_user(&self, name: &str, edits: usize) {
        let edits = (0..edits)
            .map(|i| {
                (
                    format!("Page {i}"),
                    format!("2026-11-{:02}T10:00:00Z", 10 + i % 15),
                    10 * i as i64,
                )
            })
            .collect();
        self.shared.data.lock().expect("lock").users.insert(
            name.into(),
            WikiUser {
                password: "on-the-wiki".into(),
                email: String::new(),
                blocked: false,
                nocreate: false,
                edits,
            },
        );
    }

    /// Gives an account `n` more edits.
    pub fn edit(&self, name: &str, n: usize) {
        if let Some(user) = self.shared.data.lock().expect("lock").users.get_mut(name) {
            for i in 0..n {
                user.edits.push((
                    format!("Article {i}"),
                    format!("2026-11-25T0{}:00:00Z", i % 10),
                    i as i64 - 3,
                ));
            }
        }
    }

    /// Every call's `action` (and `list`/`meta` for queries), in order.
    pub fn calls(&self) -> Vec<String> {
        self.shared.calls.lock().expect("lock").clone()
    }
}

impl Drop for FakeMediaWiki {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn error(code: &str, info: &str) -> Value {
    json!({ "error": { "code": code, "info": info } })
}

async fn api(
    State(s): State<Shared>,
    method: Method,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let mut params = query;
    if method == Method::POST {
        params.extend(url::form_urlencoded::parse(body.as_bytes()).into_owned());
    }
    let p = |name: &str| params.get(name).cloned().unwrap_or_default();
    let action = p("action");
    let what = match action.as_str() {
        "query" => format!("query {}{}", p("meta"), p("list")),
        other => other.to_string(),
    };
    s.calls.lock().expect("lock").push(what);
    let mode = *s.mode.lock().expect("lock");
    match mode {
        WikiMode::Http(status) => {
            return (
                StatusCode::from_u16(status).expect("status"),
                "<html>down</html>",
            )
                .into_response();
        }
        WikiMode::Hang(wait) => tokio::time::sleep(wait).await,
        WikiMode::ErrorOn(on, code) if on == action => {
            return axum::Json(error(code, "Injected")).into_response();
        }
        _ => {}
    }
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|c| {
            c.split(';')
                .find_map(|pair| pair.trim().strip_prefix("wikisession="))
        })
        .map(str::to_string);
    let mut data = s.data.lock().expect("lock");
    let mut new_cookie = None;
    let session = match cookie.filter(|c| data.sessions.contains_key(c)) {
        Some(c) => c,
        None => {
            let c = portal_domain::crypto::random_alphanumeric(16);
            data.sessions.insert(c.clone(), (false, Vec::new()));
            new_cookie = Some(c.clone());
            c
        }
    };
    let answer = answer(&mut data, &session, &action, &p);
    let mut response = axum::Json(answer).into_response();
    if let Some(c) = new_cookie
        && let Ok(value) = HeaderValue::from_str(&format!("wikisession={c}; path=/; HttpOnly"))
    {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn answer(data: &mut Data, session: &str, action: &str, p: &dyn Fn(&str) -> String) -> Value {
    let logged_in = data.sessions.get(session).is_some_and(|(l, _)| *l);
    let token_ok = |data: &Data, name: &str| {
        data.sessions
            .get(session)
            .is_some_and(|(_, tokens)| tokens.contains(&p(name)))
    };
    match action {
        "query" if p("meta") == "tokens" => {
            let kind = p("type");
            if kind == "csrf" && !logged_in {
                return json!({ "query": { "tokens": { "csrftoken": "+\\" } } });
            }
            let token = format!("{}+\\", portal_domain::crypto::random_alphanumeric(12));
            if let Some((_, tokens)) = data.sessions.get_mut(session) {
                tokens.push(token.clone());
            }
            json!({ "batchcomplete": true, "query": { "tokens": { format!("{kind}token"): token } } })
        }
        "query" if p("list") == "users" => {
            let name = p("ususers");
            let user = match data.users.get(&name) {
                Some(u) => json!({
                    "userid": 7, "name": name, "editcount": u.edits.len(),
                    "registration": "2026-11-01T09:00:00Z",
                }),
                None => json!({ "name": name, "missing": true }),
            };
            json!({ "batchcomplete": true, "query": { "users": [user] } })
        }
        "query" if p("list") == "usercontribs" => {
            let limit: usize = p("uclimit").parse().unwrap_or(10);
            let edits: Vec<Value> = data
                .users
                .get(&p("ucuser"))
                .map(|u| {
                    u.edits
                        .iter()
                        .rev()
                        .take(limit)
                        .map(|(title, at, diff)| json!({"title": title, "timestamp": at, "comment": "edit", "sizediff": diff}))
                        .collect()
                })
                .unwrap_or_default();
            json!({ "batchcomplete": true, "query": { "usercontribs": edits } })
        }
        "query" if p("list") == "allusers" => {
            let users: Vec<Value> = data
                .users
                .keys()
                .map(|n| json!({"userid": 1, "name": n}))
                .collect();
            json!({ "batchcomplete": true, "query": { "allusers": users } })
        }
        "login" => {
            if !token_ok(data, "lgtoken") {
                return json!({ "login": { "result": "WrongToken" } });
            }
            if p("lgname") == WIKI_BOT && p("lgpassword") == WIKI_BOT_PASSWORD {
                if let Some((l, _)) = data.sessions.get_mut(session) {
                    *l = true;
                }
                json!({ "login": { "result": "Success", "lguserid": 1, "lgusername": "Portal" } })
            } else {
                json!({ "login": { "result": "Failed", "reason": "Incorrect username or password entered." } })
            }
        }
        "createaccount" => {
            if !token_ok(data, "createtoken") {
                return error("badtoken", "Invalid CSRF token.");
            }
            let name = p("username");
            if data.users.contains_key(&name) {
                return json!({ "createaccount": { "status": "FAIL", "message": "Username entered already in use.", "messagecode": "userexists" } });
            }
            if p("password") != p("retype") {
                return json!({ "createaccount": { "status": "FAIL", "messagecode": "badretype" } });
            }
            data.users.insert(
                name.clone(),
                WikiUser {
                    password: p("password"),
                    email: p("email"),
                    blocked: false,
                    nocreate: false,
                    edits: Vec::new(),
                },
            );
            json!({ "createaccount": { "status": "PASS", "username": name } })
        }
        "block" | "unblock" => {
            if !logged_in {
                return error(
                    "permissiondenied",
                    "You don't have permission to block users.",
                );
            }
            if !token_ok(data, "token") {
                return error("badtoken", "Invalid CSRF token.");
            }
            let name = p("user");
            let Some(user) = data.users.get_mut(&name) else {
                return error("nosuchuser", "The user does not exist.");
            };
            if action == "block" {
                if user.blocked && p("reblock").is_empty() {
                    return error("alreadyblocked", "The user is already blocked.");
                }
                user.blocked = true;
                user.nocreate = !p("nocreate").is_empty();
                json!({ "block": { "user": name, "expiry": p("expiry") } })
            } else {
                if !user.blocked {
                    return error("cantunblock", "The user is not blocked.");
                }
                user.blocked = false;
                user.nocreate = false;
                json!({ "unblock": { "user": name } })
            }
        }
        _ => error("badvalue", "Unrecognized value for parameter \"action\"."),
    }
}
