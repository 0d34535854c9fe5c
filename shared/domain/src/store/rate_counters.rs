//! Rate-limit counters: one item per bucket, changed only by conditional atomic updates,
//! so a limit holds across every Lambda instance. Semantics are BetterAuth's: the count
//! restarts once `window` has passed since the last allowed request.

use super::db::{Db, StoreError};
use super::item::n;
use super::table::{Expression, exists};
use super::{keys, schema};

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

pub struct RateCounters<'a> {
    db: &'a Db,
}

impl Db {
    pub fn rate_counters(&self) -> RateCounters<'_> {
        RateCounters { db: self }
    }
}

use super::item::number;

/// What this process last saw of each bucket: when its last allowed request was counted.
/// Only the ORDER of the two conditional updates depends on it (count within a live window
/// first, or open a new window first), so the usual request costs one UpdateItem whichever
/// case it is; a stale or missing hint costs the second update, never a wrong decision. Cleared
/// when it grows past a few thousand buckets.
static LAST_SEEN: std::sync::Mutex<Option<std::collections::HashMap<String, i64>>> =
    std::sync::Mutex::new(None);
const HINTS_KEPT: usize = 4096;

fn seen_live(bucket: &str, cutoff: i64) -> bool {
    let hints = LAST_SEEN.lock().unwrap_or_else(|e| e.into_inner());
    hints
        .as_ref()
        .and_then(|h| h.get(bucket))
        .is_some_and(|last| *last > cutoff)
}

fn remember(bucket: &str, last_ms: i64) {
    let mut hints = LAST_SEEN.lock().unwrap_or_else(|e| e.into_inner());
    let map = hints.get_or_insert_with(std::collections::HashMap::new);
    if map.len() >= HINTS_KEPT && !map.contains_key(bucket) {
        map.clear();
    }
    map.insert(bucket.to_string(), last_ms);
}

impl RateCounters<'_> {
    /// Counts one request in `bucket`, allowing at most `max` per `window_secs`: within a
    /// live window (last allowed request less than `window` ago) the count goes up unless it
    /// reached `max`; otherwise a new window opens with a count of 1. Each step is one
    /// conditional UpdateItem; which is tried first follows what this process last saw of
    /// the bucket ([`LAST_SEEN`]).
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
        let allowed = |remaining: u32| RateDecision {
            allowed: true,
            limit: max,
            remaining,
            reset_at: (now_ms + window_ms) / 1000,
            retry_after: 0,
        };
        // Hints are per table (tests run many tables in one process).
        let hint = format!("{}|{bucket}", self.db.table());
        let mut count_first = seen_live(&hint, cutoff);
        for _ in 0..3 {
            let key = keys::rate_counter(bucket);
            if count_first {
                // Count within a live window.
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
                match self
                    .db
                    .update_returning(key.clone(), count_one, live_and_under)
                    .await?
                {
                    Ok(new) => {
                        remember(&hint, now_ms);
                        let count = number(&new, "requestCount").unwrap_or(1);
                        return Ok(allowed(max.saturating_sub(count as u32)));
                    }
                    // Over the limit within a live window: refuse.
                    Err(Some(old)) => {
                        let last = number(&old, "lastRequest").unwrap_or(0);
                        let count = number(&old, "requestCount").unwrap_or(0);
                        if last > cutoff && count >= i64::from(max) {
                            remember(&hint, last);
                            let free_at = last + window_ms;
                            return Ok(RateDecision {
                                allowed: false,
                                limit: max,
                                remaining: 0,
                                reset_at: free_at / 1000,
                                retry_after: ((free_at - now_ms).max(0) as u64)
                                    .div_ceil(1000)
                                    .max(1),
                            });
                        }
                    }
                    Err(None) => {}
                }
            }
            // No live window: open one, unless a concurrent request just did.
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
                remember(&hint, now_ms);
                return Ok(allowed(max.saturating_sub(1)));
            }
            // A live window after all (another instance counted): count in it.
            count_first = true;
        }
        Err(StoreError::Dynamo(format!(
            "rate limit bucket {bucket} kept changing"
        )))
    }
}
