//! The HTTP edge every Portal function shares: the error envelope, validated extractors,
//! who is calling and the guards, rate limits, OpenAPI, telemetry and the Lambda `main`.

pub mod allocator;
pub mod audit;
pub mod caller;
pub mod cookies;
pub mod error;
pub mod http;
pub mod lambda;
pub mod metrics;
pub mod openapi;
pub mod origins;
pub mod rate_limit;
pub mod reporting;
pub mod request;
pub mod routes;
pub mod state;
pub mod telemetry;
pub mod validation;
pub mod views;

pub use error::ApiError;
pub use state::AppState;

/// The result type of every handler.
pub type ApiResult<T> = Result<T, ApiError>;
