//! Rate limiting over DynamoDB counters (see `store::rate_counters`): check a request
//! against one or more buckets and put the `X-RateLimit-*` headers on the response.

use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;
use portal_domain::config::Rule;
use portal_domain::store::StoreError;
use portal_domain::store::rate_counters::RateDecision;

/// One bucket to count a request in.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub key: String,
    pub rule: Rule,
}

impl Bucket {
    pub fn new(key: impl Into<String>, rule: Rule) -> Self {
        Self {
            key: key.into(),
            rule,
        }
    }
}

fn now_ms() -> i64 {
    (portal_domain::time::now().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Counts the request in every bucket, all at once (one round trip); the answer is the
/// first refusal in `buckets` order, else the tightest allowance. `None` when rate limiting
/// is off.
pub async fn check(
    state: &AppState,
    buckets: &[Bucket],
) -> Result<Option<RateDecision>, StoreError> {
    if !state.config.rate_limits.enabled || buckets.is_empty() {
        return Ok(None);
    }
    let now = now_ms();
    let limits = state.db.rate_counters();
    let decisions = futures::future::join_all(
        buckets
            .iter()
            .map(|b| limits.hit(&b.key, b.rule.max, b.rule.window_secs, now)),
    )
    .await;
    let mut tightest: Option<RateDecision> = None;
    for decision in decisions {
        let decision = decision?;
        if !decision.allowed {
            return Ok(Some(decision));
        }
        if tightest.is_none_or(|t| decision.remaining < t.remaining) {
            tightest = Some(decision);
        }
    }
    Ok(tightest)
}

/// Counts the request in `bucket`: 429 `Too many requests` with `Retry-After` when over.
pub async fn enforce(state: &AppState, bucket: Bucket) -> Result<(), crate::error::ApiError> {
    match check(state, &[bucket]).await? {
        Some(decision) if !decision.allowed => Err(crate::error::ApiError::TooManyRequests {
            retry_after_secs: decision.retry_after,
        }),
        _ => Ok(()),
    }
}

/// `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (unix seconds), and
/// on a refusal `Retry-After` and BetterAuth's `X-Retry-After`.
pub fn apply_headers(headers: &mut HeaderMap, decision: &RateDecision) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(decision.remaining),
    );
    headers.insert("x-ratelimit-reset", HeaderValue::from(decision.reset_at));
    if !decision.allowed {
        headers.insert("retry-after", HeaderValue::from(decision.retry_after));
        headers.insert("x-retry-after", HeaderValue::from(decision.retry_after));
    }
}

/// Where a guard leaves the rate decision of a request, so the response can carry its
/// headers whatever the handler returns.
#[derive(Debug, Clone, Default)]
pub struct RateSlot(Arc<Mutex<Option<RateDecision>>>);

impl RateSlot {
    pub fn put(&self, decision: RateDecision) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(decision);
        }
    }

    fn get(&self) -> Option<RateDecision> {
        self.0.lock().ok().and_then(|slot| *slot)
    }
}

/// Gives each request a [`RateSlot`] and turns what a guard put there into headers.
pub async fn rate_headers(mut req: Request, next: Next) -> Response {
    let slot = RateSlot::default();
    req.extensions_mut().insert(slot.clone());
    let mut response = next.run(req).await;
    if let Some(decision) = slot.get() {
        apply_headers(response.headers_mut(), &decision);
    }
    response
}
