//! What one request did, as it happens: its DynamoDB calls (operation, IAM actions, latency,
//! throttled attempts) and its failed upstream calls. `http::finish` opens an [`Invocation`]
//! around every request; the SDK interceptor [`DynamoObserver`] (on every client [`Db`]
//! builds) and [`upstream_failed`] write into it; the metrics layer turns it into EMF lines and
//! hands it on in the response's extensions ([`Observed`]), where tests read it.
//!
//! Nothing here changes a call: the interceptor only reads.
//!
//! [`Db`]: crate::store::Db

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

tokio::task_local! {
    static CURRENT: Arc<Invocation>;
}

/// One DynamoDB call, retries included.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamoCall {
    /// The API operation (`GetItem`, `TransactWriteItems`, ...).
    pub operation: String,
    /// The IAM actions it needs: a transaction needs the action of each of its items.
    pub actions: Vec<&'static str>,
    pub latency: Duration,
    /// Attempts DynamoDB answered with a throttling error.
    pub throttled: u32,
}

/// The record of one request.
#[derive(Debug, Default)]
pub struct Invocation {
    dynamo: Mutex<Vec<DynamoCall>>,
    upstream_failures: Mutex<Vec<&'static str>>,
}

impl Invocation {
    pub fn dynamo_calls(&self) -> Vec<DynamoCall> {
        self.dynamo.lock().expect("lock").clone()
    }

    /// The integrations whose upstream failed, once per failure.
    pub fn upstream_failures(&self) -> Vec<&'static str> {
        self.upstream_failures.lock().expect("lock").clone()
    }
}

/// On a response: what its request did.
#[derive(Debug, Clone)]
pub struct Observed(pub Arc<Invocation>);

/// Runs `work` with `invocation` as the current request's record.
pub async fn scope<F: std::future::Future>(invocation: Arc<Invocation>, work: F) -> F::Output {
    CURRENT.scope(invocation, work).await
}

fn with_current(f: impl FnOnce(&Invocation)) {
    // Outside a request (init, a CLI, a test's own setup) nothing is recorded.
    let _ = CURRENT.try_with(|current| f(current));
}

/// Notes that the upstream of `integration` failed (unreachable, timed out, 5xx, or an
/// answer we could not read), for the `UpstreamFailures` metric.
pub fn upstream_failed(integration: &'static str) {
    with_current(|current| {
        current
            .upstream_failures
            .lock()
            .expect("lock")
            .push(integration)
    });
}

/// The SDK interceptor that records every DynamoDB call of a request.
#[derive(Debug, Clone, Default)]
pub struct DynamoObserver;

#[derive(Debug, Clone)]
struct Started(Instant);
impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

#[derive(Debug, Clone)]
struct Actions(Vec<&'static str>);
impl Storable for Actions {
    type Storer = StoreReplace<Self>;
}

#[derive(Debug, Clone, Copy)]
struct Throttled(u32);
impl Storable for Throttled {
    type Storer = StoreReplace<Self>;
}

/// DynamoDB's throttling error codes (the `__type` of a 400 answer).
const THROTTLING: [&str; 3] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
];

impl Intercept for DynamoObserver {
    fn name(&self) -> &'static str {
        "DynamoObserver"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(Started(Instant::now()));
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Actions>().is_none() {
            let operation = cfg.load::<Metadata>().map(|m| m.name().to_string());
            let body = context.request().body().bytes().unwrap_or_default();
            let actions = iam_actions(operation.as_deref().unwrap_or_default(), body);
            cfg.interceptor_state().store_put(Actions(actions));
        }
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let throttled = context.response().is_some_and(|response| {
            response.status().as_u16() == 400
                && response.body().bytes().is_some_and(|body| {
                    let text = String::from_utf8_lossy(body);
                    THROTTLING.iter().any(|code| text.contains(code))
                })
        });
        if throttled {
            let before = cfg.load::<Throttled>().map_or(0, |t| t.0);
            cfg.interceptor_state().store_put(Throttled(before + 1));
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let call = DynamoCall {
            operation: cfg
                .load::<Metadata>()
                .map_or_else(|| "unknown".to_string(), |m| m.name().to_string()),
            actions: cfg
                .load::<Actions>()
                .map(|a| a.0.clone())
                .unwrap_or_default(),
            latency: cfg
                .load::<Started>()
                .map_or(Duration::ZERO, |s| s.0.elapsed()),
            throttled: cfg.load::<Throttled>().map_or(0, |t| t.0),
        };
        with_current(|current| current.dynamo.lock().expect("lock").push(call));
        Ok(())
    }
}

/// The IAM actions a DynamoDB request needs. Most operations are their own action; a
/// `TransactWriteItems` needs the action of each item (`Put` → `PutItem`, `Update` →
/// `UpdateItem`, `Delete` → `DeleteItem`, `ConditionCheck` → `ConditionCheckItem`) and a
/// `TransactGetItems` `GetItem`, as DynamoDB authorises them.
pub fn iam_actions(operation: &str, body: &[u8]) -> Vec<&'static str> {
    let single = match operation {
        "GetItem" => "dynamodb:GetItem",
        "BatchGetItem" => "dynamodb:BatchGetItem",
        "PutItem" => "dynamodb:PutItem",
        "UpdateItem" => "dynamodb:UpdateItem",
        "DeleteItem" => "dynamodb:DeleteItem",
        "BatchWriteItem" => "dynamodb:BatchWriteItem",
        "Query" => "dynamodb:Query",
        "Scan" => "dynamodb:Scan",
        "DescribeTable" => "dynamodb:DescribeTable",
        "CreateTable" => "dynamodb:CreateTable",
        "UpdateTimeToLive" => "dynamodb:UpdateTimeToLive",
        "TransactGetItems" => "dynamodb:GetItem",
        "TransactWriteItems" => return transaction_actions(body),
        _ => "dynamodb:(unknown)",
    };
    vec![single]
}

fn transaction_actions(body: &[u8]) -> Vec<&'static str> {
    let parsed: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let mut actions: Vec<&'static str> = parsed["TransactItems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item.as_object())
        .flat_map(|item| item.keys())
        .filter_map(|kind| match kind.as_str() {
            "Put" => Some("dynamodb:PutItem"),
            "Update" => Some("dynamodb:UpdateItem"),
            "Delete" => Some("dynamodb:DeleteItem"),
            "ConditionCheck" => Some("dynamodb:ConditionCheckItem"),
            _ => None,
        })
        .collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_needs_the_action_of_each_of_its_items() {
        let body = br#"{"TransactItems":[
            {"Put":{"TableName":"t","Item":{}}},
            {"ConditionCheck":{"TableName":"t","Key":{}}},
            {"Update":{"TableName":"t","Key":{}}},
            {"Put":{"TableName":"t","Item":{}}}
        ]}"#;
        assert_eq!(
            iam_actions("TransactWriteItems", body),
            vec![
                "dynamodb:ConditionCheckItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem"
            ]
        );
        assert_eq!(
            iam_actions("TransactGetItems", b"{}"),
            vec!["dynamodb:GetItem"]
        );
        assert_eq!(iam_actions("Query", b"{}"), vec!["dynamodb:Query"]);
        assert!(iam_actions("TransactWriteItems", b"not json").is_empty());
    }

    #[tokio::test]
    async fn upstream_failures_are_recorded_only_inside_a_request() {
        upstream_failed("xmpp");
        let invocation = Arc::new(Invocation::default());
        scope(invocation.clone(), async { upstream_failed("xmpp") }).await;
        assert_eq!(invocation.upstream_failures(), vec!["xmpp"]);
    }
}
