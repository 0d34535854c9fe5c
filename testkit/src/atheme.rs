//! A small Atheme JSON-RPC stand-in (real HTTP, `POST /jsonrpc`): `atheme.login`,
//! `atheme.logout` and `atheme.command` for the NickServ commands Portal runs (REGISTER,
//! INFO, FDROP, FREEZE, RESETPASS, SET PASSWORD, LIST), answered as Atheme does: HTTP 200
//! with `result` text, or `error: {code, message}` with Atheme's fault codes. Operator
//! commands need a cookie from logging in as an operator. It can be told to fail (an HTTP
//! status, or a fault on one command), to hang, or to ask new accounts for e-mail
//! verification.

use crate::Sections;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};

/// The operator account the fake knows.
pub const ATHEME_OPER: &str = "portal";
pub const ATHEME_OPER_PASSWORD: &str = "oper-test-password";

/// How the fake answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AthemeMode {
    Normal,
    /// Every call answers this HTTP status.
    Http(u16),
    /// Every call waits this long first.
    Hang(Duration),
    /// This NickServ command answers this fault code.
    FaultOn(&'static str, i64),
}

/// A registered nick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nick {
    pub nick: String,
    pub password: String,
    pub email: String,
    pub frozen: bool,
    pub verified: bool,
}

#[derive(Clone)]
struct Shared {
    nicks: Arc<Mutex<HashMap<String, Nick>>>,
    cookies: Arc<Mutex<HashMap<String, String>>>,
    mode: Arc<Mutex<AthemeMode>>,
    verify: Arc<Mutex<bool>>,
    calls: Arc<Mutex<Vec<String>>>,
}

pub struct FakeAtheme {
    addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl FakeAtheme {
    pub async fn start() -> Self {
        let shared = Shared {
            nicks: Arc::default(),
            cookies: Arc::default(),
            mode: Arc::new(Mutex::new(AthemeMode::Normal)),
            verify: Arc::default(),
            calls: Arc::default(),
        };
        let app = Router::new()
            .route("/jsonrpc", post(rpc))
            .with_state(shared.clone());
        let (addr, task) = crate::upstream::serve(app).await;
        Self { addr, shared, task }
    }

    /// `http://127.0.0.1:<port>/jsonrpc` (IRC_ATHEME_JSONRPC_URL).
    pub fn url(&self) -> String {
        format!("http://{}/jsonrpc", self.addr)
    }

    /// Points `config` at this server with its operator account (500 ms per call).
    pub fn configure(&self, config: &mut portal_domain::Config) {
        config.services_mut().irc.jsonrpc_url = url::Url::parse(&self.url()).ok();
        config.services_mut().irc.oper_account = Some(ATHEME_OPER.into());
        config.services_mut().irc.oper_password = Some(ATHEME_OPER_PASSWORD.into());
        config.services_mut().irc.timeout = Duration::from_millis(500);
    }

    pub fn set_mode(&self, mode: AthemeMode) {
        *self.shared.mode.lock().expect("lock") = mode;
    }

    /// New registrations wait for e-mail verification.
    pub fn require_verification(&self, on: bool) {
        *self.shared.verify.lock().expect("lock") = on;
    }

    /// The nicks registered, by lower-cased name.
    pub fn nicks(&self) -> HashMap<String, Nick> {
        self.shared.nicks.lock().expect("lock").clone()
    }

    pub fn nick(&self, name: &str) -> Option<Nick> {
        self.nicks().get(&name.to_lowercase()).cloned()
    }

    /// Registers a nick as if done on IRC directly.
    pub fn add_nick(&self, nick: &str, password: &str) {
        self.shared.nicks.lock().expect("lock").insert(
            nick.to_lowercase(),
            Nick {
                nick: nick.into(),
                password: password.into(),
                email: format!("{nick}@irc.example.org"),
                frozen: false,
                verified: true,
            },
        );
    }

    /// Drops a nick as if done on IRC directly.
    pub fn remove_nick(&self, nick: &str) {
        self.shared
            .nicks
            .lock()
            .expect("lock")
            .remove(&nick.to_lowercase());
    }

    /// Every call as `method` or `method SERVICE COMMAND` (no arguments, so no secrets).
    pub fn calls(&self) -> Vec<String> {
        self.shared.calls.lock().expect("lock").clone()
    }

    /// Cookies still logged in (each operation should log out).
    pub fn open_sessions(&self) -> usize {
        self.shared.cookies.lock().expect("lock").len()
    }
}

impl Drop for FakeAtheme {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn fault(code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": "1", "result": null, "error": { "code": code, "message": message } })
}

fn done(result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": "1", "result": result, "error": null })
}

async fn rpc(State(s): State<Shared>, body: String) -> (StatusCode, String) {
    let request: Value = serde_json::from_str(&body).unwrap_or_default();
    let method = request["method"].as_str().unwrap_or_default().to_string();
    let params: Vec<String> = request["params"]
        .as_array()
        .map(|p| {
            p.iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    let command = if method == "atheme.command" && params.len() >= 5 {
        format!("{method} {} {}", params[3], params[4].to_uppercase())
    } else {
        method.clone()
    };
    s.calls.lock().expect("lock").push(command);
    let mode = *s.mode.lock().expect("lock");
    match mode {
        AthemeMode::Http(status) => {
            return (
                StatusCode::from_u16(status).expect("status"),
                "<html>error</html>".into(),
            );
        }
        AthemeMode::Hang(wait) => tokio::time::sleep(wait).await,
        AthemeMode::FaultOn(cmd, code)
            if method == "atheme.command"
                && params.get(4).is_some_and(|c| c.eq_ignore_ascii_case(cmd)) =>
        {
            return (StatusCode::OK, fault(code, "Fault injected").to_string());
        }
        _ => {}
    }
    let answer = match method.as_str() {
        "atheme.login" => login(&s, &params),
        "atheme.logout" => {
            let cookie = params.first().cloned().unwrap_or_default();
            s.cookies.lock().expect("lock").remove(&cookie);
            done(json!("You are now logged out."))
        }
        "atheme.command" => command_of(&s, &params),
        _ => fault(14, "Unknown method"),
    };
    (StatusCode::OK, answer.to_string())
}

fn login(s: &Shared, params: &[String]) -> Value {
    let (Some(account), Some(password)) = (params.first(), params.get(1)) else {
        return fault(1, "Insufficient parameters.");
    };
    let operator = account == ATHEME_OPER && password == ATHEME_OPER_PASSWORD;
    let user = s
        .nicks
        .lock()
        .expect("lock")
        .get(&account.to_lowercase())
        .is_some_and(|n| &n.password == password && !n.frozen);
    if !operator && !user {
        return fault(5, "The password is incorrect.");
    }
    let cookie = portal_domain::crypto::random_alphanumeric(20);
    s.cookies
        .lock()
        .expect("lock")
        .insert(cookie.clone(), account.clone());
    done(json!(cookie))
}

fn command_of(s: &Shared, params: &[String]) -> Value {
    let (cookie, account) = (params[0].as_str(), params[1].as_str());
    let logged_in = cookie != ".";
    if logged_in
        && s.cookies
            .lock()
            .expect("lock")
            .get(cookie)
            .map(String::as_str)
            != Some(account)
    {
        return fault(15, "Invalid authcookie for this account.");
    }
    let operator = logged_in && account == ATHEME_OPER;
    if !params[3].eq_ignore_ascii_case("NickServ") {
        return fault(3, "No such service.");
    }
    let args = &params[5..];
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let mut nicks = s.nicks.lock().expect("lock");
    let key = arg(0).to_lowercase();
    let needs_operator = ["FDROP", "FREEZE", "RESETPASS", "LIST"];
    let command = params[4].to_uppercase();
    if needs_operator.contains(&command.as_str()) && !operator {
        return fault(6, "You do not have the user:admin privilege.");
    }
    let missing = || fault(4, &format!("\u{2}{}\u{2} is not registered.", arg(0)));
    match command.as_str() {
        "REGISTER" => {
            if nicks.contains_key(&key) {
                return fault(8, &format!("\u{2}{}\u{2} is already registered.", arg(0)));
            }
            if arg(1).len() < 5 || !arg(2).contains('@') {
                return fault(2, "Invalid parameters for REGISTER.");
            }
            let verify = *s.verify.lock().expect("lock");
            nicks.insert(
                key,
                Nick {
                    nick: arg(0),
                    password: arg(1),
                    email: arg(2),
                    frozen: false,
                    verified: !verify,
                },
            );
            done(json!(if verify {
                format!(
                    "An email containing nickname activation instructions has been sent to \u{2}{}\u{2}.",
                    arg(2)
                )
            } else {
                format!(
                    "\u{2}{}\u{2} is now registered to \u{2}{}\u{2}.",
                    arg(0),
                    arg(2)
                )
            }))
        }
        "INFO" => match nicks.get(&key) {
            Some(n) => done(json!(format!(
                "Information on \u{2}{}\u{2} (account \u{2}{}\u{2}):\nRegistered : now",
                n.nick, n.nick
            ))),
            None => missing(),
        },
        "FDROP" => match nicks.remove(&key) {
            Some(_) => done(json!(format!(
                "The nickname \u{2}{}\u{2} has been dropped.",
                arg(0)
            ))),
            None => missing(),
        },
        "FREEZE" => match nicks.get_mut(&key) {
            Some(n) => {
                n.frozen = arg(1).eq_ignore_ascii_case("ON");
                done(json!(format!("\u{2}{}\u{2} is now frozen.", n.nick)))
            }
            None => missing(),
        },
        "RESETPASS" => match nicks.get_mut(&key) {
            Some(n) => {
                n.password = portal_domain::crypto::random_alphanumeric(12);
                done(json!(format!(
                    "The password for \u{2}{}\u{2} has been changed to \u{2}{}\u{2}.",
                    n.nick, n.password
                )))
            }
            None => missing(),
        },
        "SET" if arg(0).eq_ignore_ascii_case("PASSWORD") && logged_in => {
            match nicks.get_mut(&account.to_lowercase()) {
                Some(n) => {
                    n.password = arg(1);
                    done(json!(format!(
                        "The password for \u{2}{}\u{2} has been changed to \u{2}{}\u{2}.",
                        n.nick, n.password
                    )))
                }
                None => fault(3, "You are not logged in."),
            }
        }
        "LIST" => {
            let mut lines: Vec<String> = nicks
                .values()
                .map(|n| format!("- {} ({}) [last seen: now]", n.nick, n.nick))
                .collect();
            lines.sort();
            lines.push(format!("{} matches for pattern \u{2}*\u{2}", nicks.len()));
            done(json!(lines.join("\n")))
        }
        _ => fault(2, "Invalid command."),
    }
}
