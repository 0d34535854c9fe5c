//! Rate limiting over DynamoDB counters (see `store::rate_limits`): check a request
//! against one or more buckets and put the `X-RateLimit-*` headers on the response.

use axum::http::{HeaderMap, HeaderValue};

use crate::config::Rule;
use crate::state::AppState;
use crate::store::StoreError;
use crate::store::rate_limits::RateDecision;

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
    (crate::time::now().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Counts the request in every bucket; the answer is the first refusal, else the
/// tightest allowance. `None` when rate limiting is off.
pub async fn check(
    state: &AppState,
    buckets: &[Bucket],
) -> Result<Option<RateDecision>, StoreError> {
    if !state.config.rate_limits.enabled || buckets.is_empty() {
        return Ok(None);
    }
    let now = now_ms();
    let mut tightest: Option<RateDecision> = None;
    for bucket in buckets {
        let decision = state
            .db
            .rate_limits()
            .hit(&bucket.key, bucket.rule.max, bucket.rule.window_secs, now)
            .await?;
        if !decision.allowed {
            return Ok(Some(decision));
        }
        if tightest.is_none_or(|t| decision.remaining < t.remaining) {
            tightest = Some(decision);
        }
    }
    Ok(tightest)
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
