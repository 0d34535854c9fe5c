//! Everything two Portal functions would otherwise both write: configuration, the error
//! envelope, validated extractors, the single-table store, HTTP glue and telemetry.

pub mod allocator;
pub mod audit;
pub mod auth;
pub mod aws;
pub mod config;
pub mod cookies;
pub mod crypto;
pub mod error;
pub mod hashing;
pub mod http;
pub mod integrations;
pub mod lambda;
pub mod mail;
pub mod metrics;
pub mod model;
pub mod moderation;
pub mod observe;
pub mod openapi;
pub mod origins;
pub mod outbound;
pub mod rate_limit;
pub mod reporting;
pub mod request;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod totp;
pub mod validation;

pub use config::Config;
pub use error::ApiError;
pub use state::AppState;

/// The result type of every handler.
pub type ApiResult<T> = Result<T, ApiError>;
