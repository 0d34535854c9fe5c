//! Rate-limit counters: one item per bucket, changed only by conditional atomic updates,
//! so a limit holds across every Lambda instance. Semantics are BetterAuth's: the count
//! restarts once `window` has passed since the last allowed request.

use super::item::n;
use super::table::{Expression, exists};
use super::{Db, StoreError, keys, schema};

/// The outcome of one request against one bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds at which the bucket is whole again.
    pub reset_at: i64,
    /// Seconds to wait (0 when allowed).
    pub retry_after: u64,
}

pub struct RateLimits<'a> {
    db: &'a Db,
}

impl Db {
    pub fn rate_limits(&self) -> RateLimits<'_> {
        RateLimits { db: self }
    }
}

fn number(item: &super::item::Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

impl RateLimits<'_> {
    /// Counts one request in `bucket`, allowing at most `max` per `window_secs`.
    pub async fn hit(
        &self,
        bucket: &str,
        max: u32,
        window_secs: u64,
        now_ms: i64,
    ) -> Result<RateDecision, StoreError> {
        let window_ms = (window_secs * 1000) as i64;
        let cutoff = now_ms - window_ms;
        let ttl = now_ms / 1000 + window_secs as i64 + 60;
        for _ in 0..3 {
            let key = keys::rate_counter(bucket);
            // 1. Count within a live window.
            let count_one =
                Expression::new("SET #count = #count + :one, #last = :now, #ttl = :ttl")
                    .name("#ttl", schema::TTL_ATTRIBUTE)
                    .value(":one", n(1))
                    .value(":now", n(now_ms))
                    .value(":ttl", n(ttl));
            let live_and_under = exists().and(
                Expression::new("#last > :cutoff AND #count < :max")
                    .name("#last", "lastRequest")
                    .name("#count", "requestCount")
                    .value(":cutoff", n(cutoff))
                    .value(":max", n(max)),
            );
            let old = match self
                .db
                .update_returning(key.clone(), count_one, live_and_under)
                .await?
            {
                Ok(new) => {
                    let count = number(&new, "requestCount").unwrap_or(1);
                    return Ok(RateDecision {
                        allowed: true,
                        limit: max,
                        remaining: max.saturating_sub(count as u32),
                        reset_at: (now_ms + window_ms) / 1000,
                        retry_after: 0,
                    });
                }
                Err(old) => old,
            };
            // 2. Over the limit within a live window: refuse.
            if let Some(old) = &old {
                let last = number(old, "lastRequest").unwrap_or(0);
                let count = number(old, "requestCount").unwrap_or(0);
                if last > cutoff && count >= i64::from(max) {
                    let free_at = last + window_ms;
                    return Ok(RateDecision {
                        allowed: false,
                        limit: max,
                        remaining: 0,
                        reset_at: free_at / 1000,
                        retry_after: ((free_at - now_ms).max(0) as u64).div_ceil(1000).max(1),
                    });
                }
            }
            // 3. No live window: start one, unless a concurrent request just did.
            let start_window = Expression::new("SET #count = :one, #last = :now, #ttl = :ttl")
                .name("#count", "requestCount")
                .name("#ttl", schema::TTL_ATTRIBUTE)
                .value(":one", n(1))
                .value(":now", n(now_ms))
                .value(":ttl", n(ttl));
            let none_live = Expression::new("attribute_not_exists(#pk) OR #last <= :cutoff")
                .name("#pk", schema::PK)
                .name("#last", "lastRequest")
                .value(":cutoff", n(cutoff));
            if self.db.update_if(key, start_window, none_live).await? {
                return Ok(RateDecision {
                    allowed: true,
                    limit: max,
                    remaining: max.saturating_sub(1),
                    reset_at: (now_ms + window_ms) / 1000,
                    retry_after: 0,
                });
            }
            // A concurrent request started it: count again.
        }
        Err(StoreError::Dynamo(format!(
            "rate limit bucket {bucket} kept changing"
        )))
    }
}
