//! BetterAuth's `lastLoginMethod` plugin as Portal enables it (defaults): after a response
//! that started a session, the way it was started is left in a cookie the page can read,
//! `better-auth.last_used_login_method` (the plugin's own name, whatever the cookie
//! prefix), for 30 days, so the sign-in page can say "last used". Only the ways the plugin
//! recognises are recorded (e-mail sign-in or sign-up, a passkey; a username sign-in is not
//! one).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::{AuthState, BASE_PATH};
use crate::views::{NewSession, append_cookies};

pub const COOKIE: &str = "better-auth.last_used_login_method";
const MAX_AGE: i64 = 30 * 24 * 3600;

/// The method a path signs in with, as the plugin resolves it.
pub fn method_of(path: &str) -> Option<&'static str> {
    match path {
        "/sign-in/email" | "/sign-up/email" => Some("email"),
        "/passkey/verify-authentication" => Some("passkey"),
        _ => None,
    }
}

pub async fn remember(State(state): State<AuthState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let method = method_of(path.strip_prefix(BASE_PATH).unwrap_or(path));
    let mut response = next.run(req).await;
    if let Some(method) = method
        && response.extensions().get::<NewSession>().is_some()
    {
        let cookie = state.app.cookies.readable_cookie(COOKIE, method, MAX_AGE);
        append_cookies(&mut response, vec![cookie]);
    }
    response
}
