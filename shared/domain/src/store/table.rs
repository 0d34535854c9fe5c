//! The table's primitives: every read and every transaction of the repositories goes
//! through here. A strongly consistent get; a batch get that sends its chunks together and
//! retries unprocessed keys with backoff; puts and deletes gathered into ONE transaction
//! whose outcome is typed ("a condition did not hold, at these positions"); ONE paging loop
//! for every Query (table or index, key prefix, filter, order, consistency); a count; a
//! batch delete. Entity modules own their item types and repositories, nothing else.

use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, DeleteRequest, KeysAndAttributes, Put, Select, TransactWriteItem,
    Update, WriteRequest,
};

use super::db::{Db, StoreError};
use super::item::{Item, key, s};
use super::schema::{self, Gsi};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

/// A primary key: `(PK, SK)`.
pub type Key = (String, String);

/// A condition or filter expression with the names and values it uses.
#[derive(Debug, Clone, Default)]
pub struct Expression {
    pub text: String,
    pub names: Vec<(String, String)>,
    pub values: Vec<(String, AttributeValue)>,
}

impl Expression {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            ..Self::default()
        }
    }

    pub fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names.push((placeholder.into(), attribute.into()));
        self
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.push((placeholder.into(), value));
        self
    }

    /// `a AND b`.
    pub fn and(self, other: Expression) -> Expression {
        if self.text.is_empty() {
            return other;
        }
        if other.text.is_empty() {
            return self;
        }
        Expression {
            text: format!("({}) AND ({})", self.text, other.text),
            names: self.names.into_iter().chain(other.names).collect(),
            values: self.values.into_iter().chain(other.values).collect(),
        }
    }

    /// Both of two optional expressions, or either, or none.
    pub fn both(a: Option<Expression>, b: Option<Expression>) -> Option<Expression> {
        match (a, b) {
            (Some(a), Some(b)) => Some(a.and(b)),
            (a, b) => a.or(b),
        }
    }
}

/// `attribute_not_exists(PK)`: the item is new.
pub(crate) fn is_new() -> Expression {
    Expression::new("attribute_not_exists(#pk)").name("#pk", schema::PK)
}

/// `attribute_exists(PK)`: the item is there.
pub(crate) fn exists() -> Expression {
    Expression::new("attribute_exists(#pk)").name("#pk", schema::PK)
}

/// The optimistic-concurrency guard of a versioned item: unchanged since it was read at
/// `version` (0: written before versions existed).
pub(crate) fn at_version(version: i64) -> Expression {
    if version == 0 {
        exists().and(
            Expression::new("attribute_not_exists(#version)").name("#version", schema::VERSION),
        )
    } else {
        Expression::new("#version = :version")
            .name("#version", schema::VERSION)
            .value(":version", super::item::n(version))
    }
}

/// What a transaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Committed {
    Yes,
    /// Nothing was written: the conditions of the items at these positions did not hold.
    ConditionFailed(Vec<usize>),
}

impl Committed {
    pub(crate) fn is_yes(&self) -> bool {
        *self == Committed::Yes
    }
}

/// One Query: of the table (`index: None`) or of an index, on one partition, optionally on
/// a sort-key prefix, with a filter, in either order.
#[derive(Debug, Clone)]
pub(crate) struct Query<'a> {
    pub index: Option<Gsi>,
    pub partition: &'a str,
    pub sort_prefix: Option<&'a str>,
    /// Only sort keys greater than this.
    pub sort_after: Option<&'a str>,
    /// Only sort keys from the first to the second (inclusive), either end open.
    pub sort_range: (Option<&'a str>, Option<&'a str>),
    pub filter: Option<&'a Expression>,
    pub newest_first: bool,
    pub consistent: bool,
}

impl<'a> Query<'a> {
    /// A partition of an index, newest first.
    pub(crate) fn index(gsi: Gsi, partition: &'a str) -> Self {
        Self {
            index: Some(gsi),
            partition,
            sort_prefix: None,
            sort_after: None,
            sort_range: (None, None),
            filter: None,
            newest_first: true,
            consistent: false,
        }
    }

    /// A partition of the table, strongly consistent.
    pub(crate) fn table(partition: &'a str) -> Self {
        Self {
            index: None,
            partition,
            sort_prefix: None,
            sort_after: None,
            sort_range: (None, None),
            filter: None,
            newest_first: false,
            consistent: true,
        }
    }

    pub(crate) fn prefix(mut self, prefix: &'a str) -> Self {
        self.sort_prefix = Some(prefix);
        self
    }

    pub(crate) fn after(mut self, after: &'a str) -> Self {
        self.sort_after = Some(after);
        self
    }

    /// The key condition, its names and values.
    fn key_condition(&self) -> Expression {
        let (pk, sk) = self.keys();
        let partition = Expression::new("#pk = :pk")
            .name("#pk", pk)
            .value(":pk", s(self.partition));
        let sort = if let Some(prefix) = self.sort_prefix {
            Some(Expression::new("begins_with(#sk, :prefix)").value(":prefix", s(prefix)))
        } else if let Some(after) = self.sort_after {
            Some(Expression::new("#sk > :after").value(":after", s(after)))
        } else {
            match self.sort_range {
                (Some(from), Some(to)) => Some(
                    Expression::new("#sk BETWEEN :from AND :to")
                        .value(":from", s(from))
                        .value(":to", s(to)),
                ),
                (Some(from), None) => Some(Expression::new("#sk >= :from").value(":from", s(from))),
                (None, Some(to)) => Some(Expression::new("#sk <= :to").value(":to", s(to))),
                (None, None) => None,
            }
        };
        match sort {
            Some(sort) => Expression {
                text: format!("{} AND {}", partition.text, sort.text),
                names: partition
                    .names
                    .into_iter()
                    .chain([("#sk".to_string(), sk.to_string())])
                    .collect(),
                values: partition.values.into_iter().chain(sort.values).collect(),
            },
            None => partition,
        }
    }

    pub(crate) fn filtered(mut self, filter: Option<&'a Expression>) -> Self {
        self.filter = filter.filter(|f| !f.text.is_empty());
        self
    }

    fn keys(&self) -> (&'static str, &'static str) {
        match self.index {
            Some(gsi) => (gsi.partition_key, gsi.sort_key),
            None => (schema::PK, schema::SK),
        }
    }
}

const BATCH_GET_MAX: usize = 100;
const BATCH_WRITE_MAX: usize = 25;
const ATTEMPTS: u32 = 5;

/// Waits before retry `attempt` (1, 2, ...): 25 ms doubling.
async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(25u64 << attempt.min(6))).await;
}

pub(crate) fn cancelled_by_condition(
    err: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, impl std::fmt::Debug>,
) -> Option<Vec<usize>> {
    match err.as_service_error() {
        // Cancelled for a conflict or throttling: transient, not a refusal.
        Some(TransactWriteItemsError::TransactionCanceledException(e))
            if e.cancellation_reasons().iter().any(|r| {
                matches!(
                    r.code(),
                    Some(
                        "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
                    )
                )
            }) =>
        {
            None
        }
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
            let failed: Vec<usize> = e
                .cancellation_reasons()
                .iter()
                .enumerate()
                .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                .map(|(i, _)| i)
                .collect();
            (!failed.is_empty()).then_some(failed)
        }
        _ => None,
    }
}

impl Db {
    /// One item by primary key, read strongly consistently.
    pub(crate) async fn get_item(&self, k: Key) -> Result<Option<Item>, StoreError> {
        let found = self
            .client()
            .get_item()
            .table_name(self.table())
            .set_key(Some(key(k)))
            .consistent_read(true)
            .send()
            .await?;
        Ok(found.item)
    }

    /// Items by primary key, read strongly consistently, in no particular order (missing
    /// ones are absent). Chunks of 100 go out together; unprocessed keys are retried with
    /// backoff, and an error says so if some are still left.
    pub(crate) async fn batch_get(&self, keys: Vec<Key>) -> Result<Vec<Item>, StoreError> {
        let chunks = keys
            .chunks(BATCH_GET_MAX)
            .map(|chunk| self.batch_get_chunk(chunk));
        let found = futures::future::try_join_all(chunks).await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn batch_get_chunk(&self, chunk: &[Key]) -> Result<Vec<Item>, StoreError> {
        let mut request = KeysAndAttributes::builder().consistent_read(true);
        for k in chunk {
            request = request.keys(key(k.clone()));
        }
        let mut pending = Some(request.build()?);
        let mut items = Vec::new();
        for attempt in 0..ATTEMPTS {
            let Some(request) = pending.take() else { break };
            if attempt > 0 {
                backoff(attempt).await;
            }
            let out = self
                .client()
                .batch_get_item()
                .request_items(self.table(), request)
                .send()
                .await?;
            if let Some(mut responses) = out.responses {
                items.extend(responses.remove(self.table()).unwrap_or_default());
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(self.table()))
                .filter(|k| !k.keys().is_empty());
        }
        if pending.is_some() {
            return Err(StoreError::Dynamo(
                "batch read left keys unprocessed".into(),
            ));
        }
        Ok(items)
    }

    /// A put for a transaction, under `condition` if any.
    pub(crate) fn put(
        &self,
        item: Item,
        condition: Option<Expression>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder().table_name(self.table()).set_item(Some(item));
        if let Some(c) = condition {
            put = put.condition_expression(c.text);
            for (k, v) in c.names {
                put = put.expression_attribute_names(k, v);
            }
            for (k, v) in c.values {
                put = put.expression_attribute_values(k, v);
            }
        }
        Ok(TransactWriteItem::builder().put(put.build()?).build())
    }

    /// A delete for a transaction, under `condition` if any.
    pub(crate) fn delete(
        &self,
        k: Key,
        condition: Option<Expression>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut delete = Delete::builder()
            .table_name(self.table())
            .set_key(Some(key(k)));
        if let Some(c) = condition {
            delete = delete.condition_expression(c.text);
            for (k, v) in c.names {
                delete = delete.expression_attribute_names(k, v);
            }
            for (k, v) in c.values {
                delete = delete.expression_attribute_values(k, v);
            }
        }
        Ok(TransactWriteItem::builder().delete(delete.build()?).build())
    }

    /// An update for a transaction: `update` is the update expression (with its names and
    /// values), under `condition` if any.
    pub(crate) fn update(
        &self,
        k: Key,
        update: Expression,
        condition: Option<Expression>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut builder = Update::builder()
            .table_name(self.table())
            .set_key(Some(key(k)))
            .update_expression(update.text);
        let condition = condition.unwrap_or_default();
        if !condition.text.is_empty() {
            builder = builder.condition_expression(condition.text);
        }
        for (k, v) in update.names.into_iter().chain(condition.names) {
            builder = builder.expression_attribute_names(k, v);
        }
        for (k, v) in update.values.into_iter().chain(condition.values) {
            builder = builder.expression_attribute_values(k, v);
        }
        Ok(TransactWriteItem::builder()
            .update(builder.build()?)
            .build())
    }

    /// Writes one item on its own, unconditionally.
    pub(crate) async fn put_item(&self, item: Item) -> Result<(), StoreError> {
        self.client()
            .put_item()
            .table_name(self.table())
            .set_item(Some(item))
            .send()
            .await?;
        Ok(())
    }

    /// Deletes one item if it exists and returns what it was: of racing takers, exactly
    /// one gets it.
    pub(crate) async fn take(&self, k: Key) -> Result<Option<Item>, StoreError> {
        let result = self
            .client()
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key(k)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", schema::PK)
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => Ok(out.attributes),
            Err(err) if super::db::condition_failed(&err) => Ok(None),
            Err(err) => Err(err.into()),
        }
    }

    /// One UpdateItem on its own, under `condition`: false when the condition did not hold.
    pub(crate) async fn update_if(
        &self,
        k: Key,
        update: Expression,
        condition: Expression,
    ) -> Result<bool, StoreError> {
        Ok(self.update_returning(k, update, condition).await?.is_ok())
    }

    /// One UpdateItem on its own, under `condition`: `Ok(the item as written)`, or
    /// `Err(the item as it was, if any)` when the condition did not hold.
    pub(crate) async fn update_returning(
        &self,
        k: Key,
        update: Expression,
        condition: Expression,
    ) -> Result<Result<Item, Option<Item>>, StoreError> {
        use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
        use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
        let mut request = self
            .client()
            .update_item()
            .table_name(self.table())
            .set_key(Some(key(k)))
            .update_expression(update.text)
            .condition_expression(condition.text)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (k, v) in update.names.into_iter().chain(condition.names) {
            request = request.expression_attribute_names(k, v);
        }
        for (k, v) in update.values.into_iter().chain(condition.values) {
            request = request.expression_attribute_values(k, v);
        }
        match request.send().await {
            Ok(out) => Ok(Ok(out.attributes.unwrap_or_default())),
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(c)) => {
                    Ok(Err(c.item.clone()))
                }
                _ => Err(err.into()),
            },
        }
    }

    /// Runs one TransactWriteItems: all of it, or nothing and which conditions failed.
    pub(crate) async fn commit(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Committed, StoreError> {
        match self
            .client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Committed::Yes),
            Err(err) => match cancelled_by_condition(&err) {
                Some(failed) => Ok(Committed::ConditionFailed(failed)),
                None if matches!(
                    err.as_service_error(),
                    Some(TransactWriteItemsError::TransactionCanceledException(_))
                ) =>
                {
                    Err(StoreError::Unavailable(
                        "transaction cancelled by a conflict or throttling".into(),
                    ))
                }
                None => Err(err.into()),
            },
        }
    }

    /// THE paging loop: items of `q` from `start`, until `want` items (if given) or the
    /// end; returns them and where the next page would start.
    pub(crate) async fn query(
        &self,
        q: &Query<'_>,
        mut start: Option<Item>,
        want: Option<usize>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let mut items: Vec<Item> = Vec::new();
        loop {
            let mut request = self
                .query_request(q)
                .scan_index_forward(!q.newest_first)
                .set_exclusive_start_key(start.take());
            if let Some(want) = want {
                request = request.limit(((want - items.len()) as i32).clamp(25, 500));
            }
            let page = request.send().await?;
            items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() || want.is_some_and(|w| items.len() >= w) {
                return Ok((items, start));
            }
        }
    }

    /// A Query request for `q`: table or index, key condition, filter, consistency.
    fn query_request(
        &self,
        q: &Query<'_>,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let keys = q.key_condition();
        let mut request = self
            .client()
            .query()
            .table_name(self.table())
            .set_index_name(q.index.map(|g| g.name.to_string()))
            .key_condition_expression(&keys.text)
            .consistent_read(q.consistent);
        let filter = q.filter.cloned().unwrap_or_default();
        for (k, v) in keys.names.into_iter().chain(filter.names) {
            request = request.expression_attribute_names(k, v);
        }
        for (k, v) in keys.values.into_iter().chain(filter.values) {
            request = request.expression_attribute_values(k, v);
        }
        if !filter.text.is_empty() {
            request = request.filter_expression(filter.text);
        }
        request
    }

    /// Every item of a partition of an index, newest first.
    pub(crate) async fn query_index(
        &self,
        gsi: Gsi,
        partition: &str,
    ) -> Result<Vec<Item>, StoreError> {
        self.query_all(&Query::index(gsi, partition)).await
    }

    /// Every item of `q`.
    pub(crate) async fn query_all(&self, q: &Query<'_>) -> Result<Vec<Item>, StoreError> {
        Ok(self.query(q, None, None).await?.0)
    }

    /// How many items of `q` pass its filter (reads them: O(partition)).
    pub(crate) async fn count(&self, q: &Query<'_>) -> Result<i64, StoreError> {
        let mut total = 0i64;
        let mut start = None;
        loop {
            let page = self
                .query_request(q)
                .select(Select::Count)
                .set_exclusive_start_key(start)
                .send()
                .await?;
            total += i64::from(page.count);
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(total);
            }
        }
    }

    /// Deletes items by key, 25 per BatchWriteItem, retrying unprocessed ones with backoff.
    pub(crate) async fn batch_delete(&self, all: Vec<Key>) -> Result<(), StoreError> {
        for chunk in all.chunks(BATCH_WRITE_MAX) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|k| {
                    DeleteRequest::builder()
                        .set_key(Some(key(k.clone())))
                        .build()
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                })
                .collect::<Result<_, _>>()?;
            for attempt in 0..ATTEMPTS {
                if requests.is_empty() {
                    break;
                }
                if attempt > 0 {
                    backoff(attempt).await;
                }
                let out = self
                    .client()
                    .batch_write_item()
                    .request_items(self.table(), requests)
                    .send()
                    .await?;
                requests = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(self.table()))
                    .unwrap_or_default();
            }
            if !requests.is_empty() {
                return Err(StoreError::Dynamo(
                    "batch delete left items unprocessed".into(),
                ));
            }
        }
        Ok(())
    }
}

/// The primary key of a stored item.
pub(crate) fn key_of(item: &Item) -> Option<Key> {
    let pk = item.get(schema::PK)?.as_s().ok()?.clone();
    let sk = item.get(schema::SK)?.as_s().ok()?.clone();
    Some((pk, sk))
}

/// The table itself: made exactly as `template.yaml` declares it (the local gateway and the
/// tests; production tables come from SAM).
impl Db {
    /// True when the table exists.
    pub async fn table_exists(&self) -> Result<bool, StoreError> {
        match self
            .client
            .describe_table()
            .table_name(self.table())
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Creates the table exactly as `template.yaml` declares it (see `schema`), with TTL
    /// on. Used by the local gateway and the tests; production tables come from SAM.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let key = |name: &str, key_type: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(key_type)
                .build()
        };
        let mut request = self
            .client
            .create_table()
            .table_name(self.table())
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key(schema::PK, KeyType::Hash)?)
            .key_schema(key(schema::SK, KeyType::Range)?);
        for name in schema::key_attributes() {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::S)
                    .build()?,
            );
        }
        for gsi in schema::GSIS {
            request = request.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(gsi.name)
                    .key_schema(key(gsi.partition_key, KeyType::Hash)?)
                    .key_schema(key(gsi.sort_key, KeyType::Range)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()?,
            );
        }
        request.send().await?;
        self.client
            .update_time_to_live()
            .table_name(self.table())
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(schema::TTL_ATTRIBUTE)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await?;
        Ok(())
    }

    /// Creates the table unless it exists.
    pub async fn ensure_table(&self) -> Result<bool, StoreError> {
        if self.table_exists().await? {
            return Ok(false);
        }
        self.create_table().await?;
        Ok(true)
    }
}
