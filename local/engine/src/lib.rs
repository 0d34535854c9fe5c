//! dynoxide, the embeddable DynamoDB engine, served over HTTP on a loopback port from
//! inside this process so the real AWS SDK talks to it exactly as to DynamoDB.

use std::path::PathBuf;
use std::thread::JoinHandle;

use portal_domain::store::Db;
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
