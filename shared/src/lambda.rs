//! The `main` of every function: build the state once, warm the table connection during
//! init, then serve events with `lambda_http`.

use axum::Router;

use crate::config::{Config, Needs};
use crate::state::AppState;
use crate::store::Db;
use crate::telemetry;

/// Runs a function whose routes `build` makes, with the configuration sections it `needs`
/// (it is given no others, and is not refused for their absence). Configuration errors
/// stop the cold start.
pub async fn serve(
    function: &'static str,
    needs: Needs,
    build: fn(AppState) -> Router,
) -> Result<(), lambda_http::Error> {
    serve_with(function, needs, |state| std::future::ready(build(state))).await
}

/// Like [`serve`], for functions whose routes need async set-up (an SDK client).
pub async fn serve_with<F, Fut>(
    function: &'static str,
    needs: Needs,
    build: F,
) -> Result<(), lambda_http::Error>
where
    F: FnOnce(AppState) -> Fut,
    Fut: std::future::Future<Output = Router>,
{
    telemetry::init();
    let config = Config::from_env_for(needs).inspect_err(|err| {
        tracing::error!(function, error = %err, "configuration refused; not starting");
    })?;
    let db = Db::from_env(&config.table_name).await;
    if let Err(err) = db.ping().await {
        // Not fatal: the table may come back; /api/health reports it meanwhile.
        tracing::warn!(function, error = %err, "table did not answer during init");
    }
    let router = crate::http::finish(build(AppState::new(config.clone(), db)).await, &config);
    tracing::info!(function, "ready");
    lambda_http::run(router).await
}
