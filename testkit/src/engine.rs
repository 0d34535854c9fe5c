//! The engine every test of a binary shares, a fresh table per test, and DynamoDB calls
//! counted by an SDK interceptor.

use std::sync::OnceLock;

use portal_domain::Config;
use portal_domain::store::Db;
pub use portal_engine::{EmbeddedDynamo, Storage};
use portal_web::AppState;

/// One in-memory engine per test binary; each test takes a table of its own.
pub fn shared_engine() -> &'static EmbeddedDynamo {
    static ENGINE: OnceLock<EmbeddedDynamo> = OnceLock::new();
    ENGINE.get_or_init(|| {
        EmbeddedDynamo::start(Storage::Memory).expect("the embedded DynamoDB engine starts")
    })
}

/// A new, empty table (same schema as production) in the shared engine.
pub async fn fresh_db() -> Db {
    let table = format!("t{}", uuid::Uuid::new_v4().simple());
    let db = shared_engine().db(&table);
    db.create_table().await.expect("test table is created");
    db
}

/// Test configuration on a fresh table. `adjust` changes the configuration first.
pub async fn test_state(adjust: impl FnOnce(&mut Config)) -> AppState {
    let db = fresh_db().await;
    let mut config = Config::for_tests(db.table());
    adjust(&mut config);
    AppState::new(config, db)
}

/// Records every DynamoDB call a client makes (the `X-Amz-Target` operation), so tests
/// can state how many round trips a request costs.
#[derive(Debug, Clone, Default)]
pub struct CallCounter(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl CallCounter {
    /// The operations since the last `take`, in order.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

impl aws_sdk_dynamodb::config::Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &aws_sdk_dynamodb::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let target = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or_default();
        let operation = target.rsplit('.').next().unwrap_or(target).to_string();
        self.0.lock().expect("lock").push(operation);
        Ok(())
    }
}

/// Like [`test_state`], with every DynamoDB call of the state's client counted.
pub async fn counted_state(adjust: impl FnOnce(&mut Config)) -> (AppState, CallCounter) {
    let table = format!("t{}", uuid::Uuid::new_v4().simple());
    shared_engine()
        .db(&table)
        .create_table()
        .await
        .expect("test table is created");
    let counter = CallCounter::default();
    let client_config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .endpoint_url(shared_engine().endpoint())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "local", "local", None, None, "test",
        ))
        .interceptor(counter.clone())
        .interceptor(portal_domain::observe::DynamoObserver)
        .build();
    let db = Db::new(
        aws_sdk_dynamodb::Client::from_conf(client_config),
        table.as_str(),
    );
    let mut config = Config::for_tests(&table);
    adjust(&mut config);
    (AppState::new(config, db), counter)
}
