//! Portal's domain and its single DynamoDB table: the model, the store (one repository
//! per entity), the configuration, and the secrets kept in the table. No HTTP here.

pub mod avatar;
pub mod aws;
pub mod config;
pub mod crypto;
pub mod hashing;
pub mod issue;
pub mod keyring;
pub mod model;
pub mod observe;
pub mod store;
pub mod time;

pub use config::Config;
