//! Paged listings over an index: `limit`/`offset` (costs O(offset): DynamoDB has no
//! skip) and an opaque `cursor` (costs O(page)), with an optional filter.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::item::{Item, s};
use super::schema::{self, Gsi};
use super::{Db, StoreError};

/// What page to read.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub limit: u32,
    pub offset: u32,
    /// Decoded cursor: the key of the last item of the previous page.
    pub after: Option<Item>,
}

/// A page of items; `next_cursor` continues after its last item.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_more: self.has_more,
            next_cursor: self.next_cursor,
        }
    }
}

/// A filter expression applied after the key condition.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub expression: String,
    pub names: Vec<(String, String)>,
    pub values: Vec<(String, AttributeValue)>,
}

impl Filter {
    /// `a AND b` of two optional filters.
    pub fn and(self, other: Filter) -> Filter {
        if self.expression.is_empty() {
            return other;
        }
        if other.expression.is_empty() {
            return self;
        }
        Filter {
            expression: format!("({}) AND ({})", self.expression, other.expression),
            names: self.names.into_iter().chain(other.names).collect(),
            values: self.values.into_iter().chain(other.values).collect(),
        }
    }
}

/// Encodes the key attributes of `item` for `gsi` as an opaque cursor.
pub fn encode_cursor(item: &Item, gsi: Gsi) -> String {
    let mut keys = serde_json::Map::new();
    for name in [schema::PK, schema::SK, gsi.partition_key, gsi.sort_key] {
        if let Some(AttributeValue::S(v)) = item.get(name) {
            keys.insert(name.to_string(), serde_json::Value::String(v.clone()));
        }
    }
    URL_SAFE_NO_PAD.encode(serde_json::Value::Object(keys).to_string())
}

/// Decodes a cursor for a listing of `partition` on `gsi`; `None` when it is not one.
pub fn decode_cursor(cursor: &str, gsi: Gsi, partition: &str) -> Option<Item> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let map: HashMap<String, String> = serde_json::from_slice(&bytes).ok()?;
    let wanted = [schema::PK, schema::SK, gsi.partition_key, gsi.sort_key];
    if map.len() != 4 || wanted.iter().any(|k| !map.contains_key(*k)) {
        return None;
    }
    if map.get(gsi.partition_key).map(String::as_str) != Some(partition) {
        return None;
    }
    Some(map.into_iter().map(|(k, v)| (k, s(v))).collect())
}

impl Db {
    /// One page of `partition` on `gsi`, newest first.
    pub(crate) async fn query_page(
        &self,
        gsi: Gsi,
        partition: &str,
        filter: Option<&Filter>,
        request: &PageRequest,
    ) -> Result<Page<Item>, StoreError> {
        let skip = if request.after.is_some() {
            0
        } else {
            request.offset as usize
        };
        let want = skip + request.limit as usize + 1;
        let mut collected: Vec<Item> = Vec::new();
        let mut start = request.after.clone();
        loop {
            let mut query = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(gsi.name)
                .key_condition_expression("#gpk = :gpk")
                .expression_attribute_names("#gpk", gsi.partition_key)
                .expression_attribute_values(":gpk", s(partition))
                .scan_index_forward(false)
                .limit(((want - collected.len()) as i32).clamp(25, 500))
                .set_exclusive_start_key(start.take());
            if let Some(f) = filter.filter(|f| !f.expression.is_empty()) {
                query = query.filter_expression(&f.expression);
                for (k, v) in &f.names {
                    query = query.expression_attribute_names(k, v);
                }
                for (k, v) in &f.values {
                    query = query.expression_attribute_values(k, v.clone());
                }
            }
            let page = query.send().await?;
            collected.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if collected.len() >= want || start.is_none() {
                break;
            }
        }
        let has_more = collected.len() > skip + request.limit as usize;
        let items: Vec<Item> = collected
            .into_iter()
            .skip(skip)
            .take(request.limit as usize)
            .collect();
        let next_cursor = if has_more {
            items.last().map(|last| encode_cursor(last, gsi))
        } else {
            None
        };
        Ok(Page {
            items,
            has_more,
            next_cursor,
        })
    }

    /// [`Db::query_page`] with the paging of the API: `cursor` (if any) must be one this
    /// listing made, else [`StoreError::BadCursor`].
    pub(crate) async fn list_page<T>(
        &self,
        gsi: Gsi,
        partition: &str,
        filter: Option<&Filter>,
        paging: &crate::validation::Paging,
        read: impl Fn(Item) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let (limit, offset) = (paging.limit, paging.offset);
        let after = match paging.cursor.as_deref() {
            Some(c) => Some(decode_cursor(c, gsi, partition).ok_or(StoreError::BadCursor)?),
            None => None,
        };
        let page = self
            .query_page(
                gsi,
                partition,
                filter,
                &PageRequest {
                    limit,
                    offset,
                    after,
                },
            )
            .await?;
        Ok(Page {
            items: page
                .items
                .into_iter()
                .map(read)
                .collect::<Result<Vec<_>, _>>()?,
            has_more: page.has_more,
            next_cursor: page.next_cursor,
        })
    }

    /// How many items of `partition` on `gsi` pass `filter` (reads them: O(partition)).
    pub(crate) async fn count(
        &self,
        gsi: Gsi,
        partition: &str,
        filter: Option<&Filter>,
    ) -> Result<i64, StoreError> {
        let mut total = 0i64;
        let mut start = None;
        loop {
            let mut query = self
                .client()
                .query()
                .table_name(self.table())
                .index_name(gsi.name)
                .key_condition_expression("#gpk = :gpk")
                .expression_attribute_names("#gpk", gsi.partition_key)
                .expression_attribute_values(":gpk", s(partition))
                .select(aws_sdk_dynamodb::types::Select::Count)
                .set_exclusive_start_key(start);
            if let Some(f) = filter.filter(|f| !f.expression.is_empty()) {
                query = query.filter_expression(&f.expression);
                for (k, v) in &f.names {
                    query = query.expression_attribute_names(k, v);
                }
                for (k, v) in &f.values {
                    query = query.expression_attribute_values(k, v.clone());
                }
            }
            let page = query.send().await?;
            total += i64::from(page.count);
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(total);
            }
        }
    }
}
