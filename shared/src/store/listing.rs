//! Paged listings over an index: `limit`/`offset` (costs O(offset): DynamoDB has no
//! skip) and an opaque `cursor` (costs O(page)), with an optional filter.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::item::{Item, s};
use super::schema::{self, Gsi};
use super::table::{Expression, Query};
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
    /// One page of `partition` on `gsi`, newest first, through the one paging loop.
    pub(crate) async fn query_page(
        &self,
        gsi: Gsi,
        partition: &str,
        filter: Option<&Expression>,
        request: &PageRequest,
    ) -> Result<Page<Item>, StoreError> {
        let skip = if request.after.is_some() {
            0
        } else {
            request.offset as usize
        };
        let want = skip + request.limit as usize + 1;
        let query = Query::index(gsi, partition).filtered(filter);
        let (collected, _) = self
            .query(&query, request.after.clone(), Some(want))
            .await?;
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
        filter: Option<&Expression>,
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
}
