//! Paged listings over an index: `limit`/`offset` (costs O(offset): DynamoDB has no
//! skip) or a [`Cursor`] (costs O(page)), with an optional filter. The store's own page
//! request and cursor: the edge turns them into the API's query parameters and seals the
//! cursor, so a client can neither read nor forge one.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

use super::db::{Db, StoreError};
use super::item::{Item, s};
use super::schema::{self, Gsi};
use super::table::{Expression, Query};

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Cursor {
    /// After this item (its key attributes) of the listing of `partition`.
    After {
        partition: String,
        key: BTreeMap<String, String>,
    },
    /// At this position of a computed result (a search for `search`).
    At { search: String, position: usize },
}

/// What page to read.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub limit: u32,
    pub offset: u32,
    pub cursor: Option<Cursor>,
}

/// A page of items; `next` continues after its last item.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
    pub next: Option<Cursor>,
}

/// The cursor after `item` in the listing of `partition` on `gsi`.
fn cursor_after(item: &Item, gsi: Gsi, partition: &str) -> Cursor {
    let mut key = BTreeMap::new();
    for name in [schema::PK, schema::SK, gsi.partition_key, gsi.sort_key] {
        if let Some(AttributeValue::S(v)) = item.get(name) {
            key.insert(name.to_string(), v.clone());
        }
    }
    Cursor::After {
        partition: partition.to_string(),
        key,
    }
}

/// Where a cursor starts the listing of `partition` on `gsi`; [`StoreError::BadCursor`]
/// when another listing made it.
fn start_of(cursor: &Cursor, gsi: Gsi, partition: &str) -> Result<Item, StoreError> {
    let Cursor::After {
        partition: made_for,
        key,
    } = cursor
    else {
        return Err(StoreError::BadCursor);
    };
    let wanted = [schema::PK, schema::SK, gsi.partition_key, gsi.sort_key];
    if made_for != partition
        || key.len() != wanted.len()
        || wanted.iter().any(|k| !key.contains_key(*k))
        || key.get(gsi.partition_key).map(String::as_str) != Some(partition)
    {
        return Err(StoreError::BadCursor);
    }
    Ok(key.iter().map(|(k, v)| (k.clone(), s(v.clone()))).collect())
}

impl Db {
    /// One page of `partition` on `gsi`, newest first, through the one paging loop; `read`
    /// turns each item into its entity.
    pub(crate) async fn list_page<T>(
        &self,
        gsi: Gsi,
        partition: &str,
        filter: Option<&Expression>,
        request: &PageRequest,
        read: impl Fn(Item) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        self.list_page_in(gsi, partition, (None, None), filter, request, read)
            .await
    }

    /// [`Db::list_page`] within a range of sort keys (inclusive, either end open).
    pub(crate) async fn list_page_in<T>(
        &self,
        gsi: Gsi,
        partition: &str,
        range: (Option<String>, Option<String>),
        filter: Option<&Expression>,
        request: &PageRequest,
        read: impl Fn(Item) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        let after = match &request.cursor {
            Some(cursor) => Some(start_of(cursor, gsi, partition)?),
            None => None,
        };
        let skip = if after.is_some() {
            0
        } else {
            request.offset as usize
        };
        let limit = request.limit as usize;
        let mut query = Query::index(gsi, partition).filtered(filter);
        query.sort_range = (range.0.as_deref(), range.1.as_deref());
        let (collected, _) = self.query(&query, after, Some(skip + limit + 1)).await?;
        let has_more = collected.len() > skip + limit;
        let items: Vec<Item> = collected.into_iter().skip(skip).take(limit).collect();
        let next = if has_more {
            items.last().map(|last| cursor_after(last, gsi, partition))
        } else {
            None
        };
        Ok(Page {
            items: items.into_iter().map(read).collect::<Result<Vec<_>, _>>()?,
            has_more,
            next,
        })
    }
}
