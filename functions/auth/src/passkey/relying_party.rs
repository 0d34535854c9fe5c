//! The passkeys' relying party (built once, on the first passkey call), apart from the
//! handlers so the function's state can hold it without depending on them.

use std::sync::{Arc, OnceLock};

use portal_domain::config::AuthConfig;
use webauthn_rs::prelude::{Url, Webauthn, WebauthnBuilder};

/// The relying party, or why there is none: built on the first passkey call (a cold start
/// that serves no passkey never pays for it).
#[derive(Clone, Default)]
pub struct RelyingParty(Arc<OnceLock<Result<Webauthn, String>>>);

impl RelyingParty {
    /// Says at start, without building anything, when the configuration leaves passkeys off.
    pub fn new(auth: &AuthConfig) -> Self {
        if let Err(why) = &auth.passkeys.rp_id {
            tracing::warn!(reason = %why, "passkeys are off");
        }
        Self::default()
    }

    pub fn get(&self, auth: &AuthConfig) -> &Result<Webauthn, String> {
        self.0.get_or_init(|| build(auth))
    }
}

/// The relying party the configuration names: its id, name, and the origins allowed (the
/// base URL's and every exact trusted origin; wildcards cannot be listed).
fn build(auth: &AuthConfig) -> Result<Webauthn, String> {
    let rp_id = auth.passkeys.rp_id.clone()?;
    let origin = Url::parse(auth.base_url.origin().ascii_serialization().as_str())
        .map_err(|e| e.to_string())?;
    let mut builder = WebauthnBuilder::new(&rp_id, &origin)
        .map_err(|e| format!("passkeys are off: {e}"))?
        .rp_name(&auth.passkeys.rp_name);
    for trusted in auth.trusted_origins.iter().filter(|o| !o.contains('*')) {
        if let Ok(url) = Url::parse(trusted) {
            builder = builder.append_allowed_origin(&url);
        }
    }
    builder
        .build()
        .map_err(|e| format!("passkeys are off: {e}"))
}
