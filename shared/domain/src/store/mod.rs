//! The single DynamoDB table. Nothing outside this module builds a key or an expression.

pub mod api_keys;
pub mod audit;
pub mod avatars;
pub mod db;
pub mod import;
pub mod integration_accounts;
pub mod item;
pub mod keys;
pub mod linked_accounts;
pub mod listing;
pub mod oauth;
pub mod oauth_clients;
pub mod passkeys;
pub mod rate_counters;
pub mod schema;
pub mod sessions;
pub mod signing_keys;
pub mod stats;
pub mod table;
pub mod tokens;
pub mod two_factor;
pub mod users;
pub use db::{Db, StoreError, local_timeouts, retries, timeouts};
