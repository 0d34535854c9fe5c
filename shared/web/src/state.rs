//! What every function's router is built from: configuration and the table, built once.

use std::sync::Arc;

use crate::cookies::CookieJar;
use portal_domain::config::Config;
use portal_domain::keyring::Keyring;
use portal_domain::store::Db;
use portal_services::integrations::Registry;

/// Cloned for every request (axum's `State`): one reference count, nothing copied.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares.
#[derive(Debug)]
pub struct Shared {
    pub config: Arc<Config>,
    pub db: Db,
    pub cookies: CookieJar,
    /// The auth secret: signs, seals, keys hashes (see [`Keyring`]).
    pub keyring: Keyring,
    pub integrations: Registry,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(config: Config, db: Db) -> Self {
        let keyring = Keyring::from_config(&config);
        Self(Arc::new(Shared {
            cookies: CookieJar::new(&config, keyring.clone()),
            keyring,
            integrations: Registry::from_config(&config),
            config: Arc::new(config),
            db,
        }))
    }
}
