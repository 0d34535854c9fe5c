//! The local gateway serves every group under one origin, with the same envelopes.

use portal_local::gateway;
use portal_testkit::{get, test_state};
use serde_json::json;

#[tokio::test]
async fn one_origin_answers_for_every_group() {
    let app = gateway(test_state(|_| {}).await).await;
    let res = get(&app, "/api/monitoring").await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json(),
        json!({"status": "ok", "service": "sentry-tunnel"})
    );
    let res = get(&app, "/api/health").await;
    assert_eq!(res.status, 200);
    let res = get(&app, "/api/does-not-exist").await;
    assert_eq!(res.status, 404);
    assert_eq!(res.json(), json!({"ok": false, "error": "Not found"}));
}
