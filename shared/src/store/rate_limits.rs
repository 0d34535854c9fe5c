//! Rate-limit counters: one item per bucket, changed only by conditional atomic updates,
//! so a limit holds across every Lambda instance. Semantics are BetterAuth's: the count
//! restarts once `window` has passed since the last allowed request.

use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::item::{key, n};
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
            // 1. Count within a live window.
            let counted = self
                .db
                .client()
                .update_item()
                .table_name(self.db.table())
                .set_key(Some(key(keys::rate_counter(bucket))))
                .condition_expression(
                    "attribute_exists(PK) AND lastRequest > :cutoff AND requestCount < :max",
                )
                .update_expression(
                    "SET requestCount = requestCount + :one, lastRequest = :now, #ttl = :ttl",
                )
                .expression_attribute_names("#ttl", schema::TTL_ATTRIBUTE)
                .expression_attribute_values(":cutoff", n(cutoff))
                .expression_attribute_values(":max", n(max))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now_ms))
                .expression_attribute_values(":ttl", n(ttl))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            let old = match counted {
                Ok(out) => {
                    let count = out.attributes.as_ref().and_then(|a| number(a, "requestCount")).unwrap_or(1);
                    return Ok(RateDecision {
                        allowed: true,
                        limit: max,
                        remaining: max.saturating_sub(count as u32),
                        reset_at: (now_ms + window_ms) / 1000,
                        retry_after: 0,
                    });
                }
                Err(err) => match err.as_service_error() {
                    Some(e) if e.is_conditional_check_failed_exception() => match e {
                        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => c.item.clone(),
                        _ => None,
                    },
                    _ => return Err(err.into()),
                },
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
            let started = self
                .db
                .client()
                .update_item()
                .table_name(self.db.table())
                .set_key(Some(key(keys::rate_counter(bucket))))
                .condition_expression("attribute_not_exists(PK) OR lastRequest <= :cutoff")
                .update_expression("SET requestCount = :one, lastRequest = :now, #ttl = :ttl")
                .expression_attribute_names("#ttl", schema::TTL_ATTRIBUTE)
                .expression_attribute_values(":cutoff", n(cutoff))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(now_ms))
                .expression_attribute_values(":ttl", n(ttl))
                .send()
                .await;
            match started {
                Ok(_) => {
                    return Ok(RateDecision {
                        allowed: true,
                        limit: max,
                        remaining: max.saturating_sub(1),
                        reset_at: (now_ms + window_ms) / 1000,
                        retry_after: 0,
                    });
                }
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
                {
                    continue;
                }
                Err(err) => return Err(err.into()),
            }
        }
        Err(StoreError::Dynamo(format!(
            "rate limit bucket {bucket} kept changing"
        )))
    }
}
