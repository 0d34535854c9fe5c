//! The single DynamoDB table. Nothing outside this module builds a key or an expression.

pub mod api_keys;
pub mod audit;
pub mod integration_accounts;
pub mod item;
pub mod keys;
pub mod listing;
pub mod oauth_clients;
pub mod rate_counters;
pub mod schema;
pub mod sessions;
pub mod stats;
pub mod table;
pub mod tokens;
pub mod two_factor;
pub mod users;

use crate::model::User;

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

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
    client: Client,
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

    /// True when the table exists.
    pub async fn table_exists(&self) -> Result<bool, StoreError> {
        match self
            .client
            .describe_table()
            .table_name(self.table())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Creates the table exactly as `template.yaml` declares it (see `schema`), with TTL
    /// on. Used by the local gateway and the tests; production tables come from SAM.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let key = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
        };
        let mut request = self
            .client
            .create_table()
            .table_name(self.table())
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(schema::PK, KeyType::Hash)?)
            .key_schema(key(schema::SK, KeyType::Range)?);
        for name in schema::key_attributes() {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()?,
            );
        }
        for gsi in schema::GSIS {
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(gsi.name)
                    .key_schema(key(gsi.partition_key, KeyType::Hash)?)
                    .key_schema(key(gsi.sort_key, KeyType::Range)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()?,
            );
        }
        request.send().await?;
        self.client
            .update_time_to_live()
            .table_name(self.table())
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(schema::TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await?;
        Ok(())
    }

    /// Removes a user and everything that is theirs in the table: sessions (they stop
    /// working at once), API keys, one-time tokens, password, e-mail claim, name entry,
    /// and uncounts them. `None` when there was no such user. Integration accounts are
    /// removed by their owner module before this is called.
    pub async fn delete_user_and_belongings(
        &self,
        user_id: &str,
        audit: Option<&audit::Event>,
    ) -> Result<Option<Result<User, users::Conflict>>, StoreError> {
        // The caller checked the last-admin rule before anything was removed; the delete
        // of the user item enforces it again, atomically, through the roster.
        // Sessions, keys and one-time tokens are independent: removed together.
        let tokens = async {
            let found: Vec<table::Key> = self
                .query_index(schema::GSI1, &keys::tokens_of(user_id))
                .await?
                .iter()
                .filter_map(table::key_of)
                .collect();
            self.batch_delete(found).await
        };
        let (sessions, api_keys) = (self.sessions(), self.api_keys());
        futures::try_join!(
            sessions.delete_all_for_user(user_id, None),
            api_keys.delete_all_for_user(user_id),
            tokens,
        )?;
        self.users().delete(user_id, audit).await
    }

    /// Creates the table unless it exists.
    pub async fn ensure_table(&self) -> Result<bool, StoreError> {
        if self.table_exists().await? {
            return Ok(false);
        }
        self.create_table().await?;
        Ok(true)
    }
}
