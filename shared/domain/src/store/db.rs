//! The handle every repository works through: the SDK client and the table's name, its
//! limits (timeouts, one attempt), and the store's error.

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("dynamodb: {0}")]
    Dynamo(String),
    #[error("stored item is malformed: {0}")]
    Malformed(String),
    /// A paging cursor that this listing did not make.
    #[error("invalid cursor")]
    BadCursor,
    /// DynamoDB throttled, timed out or could not be reached (after the SDK's retries):
    /// nothing was written, and a retry later can succeed.
    #[error("dynamodb unavailable: {0}")]
    Unavailable(String),
}

/// Error codes of DynamoDB that say "not now": a retry later can succeed.
const TRANSIENT_CODES: [&str; 8] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionConflictException",
    "TransactionInProgressException",
    "LimitExceededException",
];

impl<E, R> From<SdkError<E, R>> for StoreError
where
    E: std::error::Error + aws_sdk_dynamodb::error::ProvideErrorMetadata + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    fn from(err: SdkError<E, R>) -> Self {
        let detail = DisplayErrorContext(&err).to_string();
        match &err {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => Self::Unavailable(detail),
            SdkError::ServiceError(service)
                if service
                    .err()
                    .code()
                    .is_some_and(|code| TRANSIENT_CODES.contains(&code)) =>
            {
                Self::Unavailable(detail)
            }
            _ => Self::Dynamo(detail),
        }
    }
}

impl From<aws_sdk_dynamodb::error::BuildError> for StoreError {
    fn from(err: aws_sdk_dynamodb::error::BuildError) -> Self {
        Self::Dynamo(err.to_string())
    }
}

/// True when a request failed only because its condition expression did not hold.
pub(crate) fn condition_failed<E, R>(err: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

/// Timeouts of every DynamoDB call, chosen for a Lambda answering a browser: a connection
/// takes at most 1 s, one attempt 2 s, the whole call (retries included) 5 s; past that the
/// request answers 503 with `Retry-After` rather than holding the function.
pub fn timeouts() -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
    aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(1))
        .operation_attempt_timeout(std::time::Duration::from_secs(2))
        .operation_timeout(std::time::Duration::from_secs(5))
        .build()
}

/// Timeouts for a local engine under a parallel test suite: a loaded laptop, not a
/// failing service.
pub fn local_timeouts() -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
    aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(2))
        .operation_attempt_timeout(std::time::Duration::from_secs(30))
        .operation_timeout(std::time::Duration::from_secs(60))
        .build()
}

/// The SDK's standard retry mode: 3 attempts with jittered exponential backoff, on
/// throttling, transient service errors and I/O failures.
pub fn retries() -> aws_sdk_dynamodb::config::retry::RetryConfig {
    aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(3)
}

/// A handle on the table: the SDK client (built once per process) and the table name.
#[derive(Clone, Debug)]
pub struct Db {
    pub(super) client: Client,
    table: Arc<str>,
}

impl Db {
    pub fn new(client: Client, table: impl Into<Arc<str>>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The client of the environment: credentials, region and `AWS_ENDPOINT_URL_DYNAMODB`
    /// as the SDK reads them, over the process's shared HTTPS client ([`crate::aws`]).
    pub async fn from_env(table: &str) -> Self {
        let config = aws_sdk_dynamodb::config::Builder::from(crate::aws::sdk_config().await)
            .timeout_config(timeouts())
            .retry_config(retries())
            .interceptor(crate::observe::DynamoObserver)
            .build();
        Self::new(Client::from_conf(config), table)
    }

    /// A client for a local DynamoDB-compatible engine at `endpoint` (dummy credentials).
    /// The embedded engine serves every parallel test of a binary from one SQLite file, so
    /// its calls get generous timeouts ([`local_timeouts`]); [`Db::local_with`] takes others.
    pub fn local(endpoint: &str, table: &str) -> Self {
        Self::local_with(endpoint, table, local_timeouts())
    }

    /// [`Db::local`] with the given timeouts (the fault tests use the production ones).
    pub fn local_with(
        endpoint: &str,
        table: &str,
        timeouts: aws_sdk_dynamodb::config::timeout::TimeoutConfig,
    ) -> Self {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new("us-east-1"))
            .timeout_config(timeouts)
            .retry_config(retries())
            .credentials_provider(Credentials::new(
                "local",
                "local",
                None,
                None,
                "portal-local",
            ))
            .interceptor(crate::observe::DynamoObserver)
            .build();
        Self::new(Client::from_conf(config), table)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// One cheap call that proves the table answers (and, at cold start, opens the
    /// connection so the first request does not pay for it).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.client
            .describe_table()
            .table_name(self.table())
            .send()
            .await?;
        Ok(())
    }
}
