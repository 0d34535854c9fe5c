//! Everything two Portal functions would otherwise both write: configuration, the error
//! envelope, validated extractors, the single-table store, HTTP glue and telemetry.

pub mod config;
pub mod error;
pub mod http;
pub mod lambda;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod time;
pub mod validation;

pub use config::Config;
pub use error::ApiError;
pub use state::AppState;

/// The result type of every handler.
pub type ApiResult<T> = Result<T, ApiError>;
