//! dynoxide, the embeddable DynamoDB engine, served over HTTP on a loopback port from
//! inside this process so the real AWS SDK talks to it exactly as to DynamoDB.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::thread::JoinHandle;

use portal_shared::store::Db;
use portal_shared::{AppState, Config};
use tokio::sync::oneshot;

/// Where the engine keeps its data.
#[derive(Debug, Clone)]
pub enum Storage {
    /// Gone when the process ends.
    Memory,
    /// A SQLite file, kept across runs.
    File(PathBuf),
}

/// A running engine. Dropping it stops the server and waits for it.
pub struct EmbeddedDynamo {
    endpoint: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EmbeddedDynamo {
    /// Starts the engine on a free 127.0.0.1 port, on a thread and runtime of its own, so
    /// it outlives any one test's runtime.
    pub fn start(storage: Storage) -> Result<Self, String> {
        Self::start_on(storage, 0)
    }

    /// Starts the engine on 127.0.0.1:`port` (0: any free port).
    pub fn start_on(storage: Storage, port: u16) -> Result<Self, String> {
        let database = match &storage {
            Storage::Memory => dynoxide::Database::memory(),
            Storage::File(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                }
                dynoxide::Database::new(&path.to_string_lossy())
            }
        }
        .map_err(|e| format!("cannot open the embedded DynamoDB store: {e}"))?;

        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<String, String>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("dynoxide".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("dynoxide-worker")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("runtime: {e}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx
                                .send(Err(format!("cannot listen on 127.0.0.1:{port}: {e}")));
                            return;
                        }
                    };
                    let endpoint = match listener.local_addr() {
                        Ok(addr) => format!("http://{addr}"),
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("local_addr: {e}")));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(endpoint));
                    let stopped = async {
                        let _ = stop_rx.await;
                    };
                    if let Err(e) =
                        dynoxide::server::serve_with_shutdown(listener, database, stopped).await
                    {
                        tracing::error!(error = %e, "embedded DynamoDB stopped");
                    }
                });
            })
            .map_err(|e| format!("cannot start the engine thread: {e}"))?;
        let endpoint = ready_rx
            .recv()
            .map_err(|_| "the engine thread died during start".to_string())??;
        Ok(Self {
            endpoint,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_DYNAMODB` or `Db::local`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A handle on `table` in this engine.
    pub fn db(&self, table: &str) -> Db {
        Db::local(&self.endpoint, table)
    }
}

impl Drop for EmbeddedDynamo {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

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
        .build();
    let db = Db::new(
        aws_sdk_dynamodb::Client::from_conf(client_config),
        table.as_str(),
    );
    let mut config = Config::for_tests(&table);
    adjust(&mut config);
    (AppState::new(config, db), counter)
}
