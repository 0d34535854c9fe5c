//! What every auth handler is given: the functions' common state, this function's two
//! sections of the configuration, and the way its mail leaves.

use std::sync::Arc;

use axum::extract::FromRef;
use portal_domain::config::{AuthConfig, MailConfig};
use portal_web::AppState;

use crate::mail::Mailer;

/// Where the routes of this function are mounted.
pub const BASE_PATH: &str = "/api/auth";

#[derive(Clone)]
pub struct AuthState {
    pub app: AppState,
    pub auth: Arc<AuthConfig>,
    pub mail: Arc<MailConfig>,
    pub mailer: Mailer,
    /// The passkeys' relying party (or why there is none), built once.
    pub passkeys: crate::passkey::relying_party::RelyingParty,
}

const READ_AT_START: &str = "the auth function's NEEDS name its auth and mail sections";

impl AuthState {
    /// The state of `app`, whose configuration holds the auth and mail sections (the
    /// function's `NEEDS` make sure of it at start).
    pub fn new(app: AppState, mailer: Mailer) -> Self {
        let auth = Arc::new(app.config.auth.clone().expect(READ_AT_START));
        let mail = Arc::new(app.config.mail.clone().expect(READ_AT_START));
        let passkeys = crate::passkey::relying_party::RelyingParty::new(&auth);
        Self {
            app,
            auth,
            mail,
            mailer,
            passkeys,
        }
    }

    /// The public URL of an auth route (`rest` starts with `/`), for links in mails.
    pub fn link(&self, rest: &str) -> String {
        format!(
            "{}{BASE_PATH}{rest}",
            self.auth.base_url.as_str().trim_end_matches('/')
        )
    }
}

impl FromRef<AuthState> for AppState {
    fn from_ref(state: &AuthState) -> Self {
        state.app.clone()
    }
}
