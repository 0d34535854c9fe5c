//! What every function's router is built from: configuration and the table, built once.

use std::sync::Arc;

use crate::config::Config;
use crate::store::Db;

#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: Db,
}

impl AppState {
    pub fn new(config: Config, db: Db) -> Self {
        Self {
            config: Arc::new(config),
            db,
        }
    }
}
