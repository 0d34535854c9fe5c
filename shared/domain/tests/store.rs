//! The store against a real DynamoDB-compatible engine (dynoxide, in-process) through the
//! real AWS SDK: tables are created as production declares them, one per test.

use aws_sdk_dynamodb::types::{AttributeValue, ProjectionType};
use portal_domain::store::schema;
use portal_testkit::{fresh_db, shared_engine};

#[tokio::test]
async fn a_fresh_table_has_the_production_key_schema() {
    let db = fresh_db().await;
    let described = db
        .client()
        .describe_table()
        .table_name(db.table())
        .send()
        .await
        .unwrap();
    let table = described.table().unwrap();
    let keys: Vec<_> = table
        .key_schema()
        .iter()
        .map(|k| k.attribute_name().to_string())
        .collect();
    assert_eq!(keys, vec![schema::PK, schema::SK]);
    let mut gsis: Vec<_> = table
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            (
                g.index_name().unwrap_or_default().to_string(),
                g.projection().and_then(|p| p.projection_type().cloned()),
            )
        })
        .collect();
    gsis.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        gsis,
        vec![
            ("GSI1".to_string(), Some(ProjectionType::All)),
            ("GSI2".to_string(), Some(ProjectionType::All)),
            ("GSI3".to_string(), Some(ProjectionType::All)),
            ("GSI4".to_string(), Some(ProjectionType::All))
        ]
    );
    let ttl = db
        .client()
        .describe_time_to_live()
        .table_name(db.table())
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.attribute_name()),
        Some(schema::TTL_ATTRIBUTE)
    );
}

#[tokio::test]
async fn items_written_are_read_back_consistently_and_indexed() {
    let db = fresh_db().await;
    let s = |v: &str| AttributeValue::S(v.to_string());
    db.client()
        .put_item()
        .table_name(db.table())
        .item(schema::PK, s("USER#1"))
        .item(schema::SK, s("PROFILE"))
        .item("GSI1PK", s("USERS"))
        .item("GSI1SK", s("2026-11-25T00:00:00.000Z#1"))
        .item("name", s("Ada"))
        .send()
        .await
        .unwrap();
    let got = db
        .client()
        .get_item()
        .table_name(db.table())
        .key(schema::PK, s("USER#1"))
        .key(schema::SK, s("PROFILE"))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    assert_eq!(got.item().unwrap()["name"], s("Ada"));
    let listed = db
        .client()
        .query()
        .table_name(db.table())
        .index_name(schema::GSI1.name)
        .key_condition_expression("GSI1PK = :pk")
        .expression_attribute_values(":pk", s("USERS"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.count(), 1);
}

#[tokio::test]
async fn tables_of_different_tests_do_not_see_each_other() {
    let (a, b) = tokio::join!(fresh_db(), fresh_db());
    assert_ne!(a.table(), b.table());
    let s = |v: &str| AttributeValue::S(v.to_string());
    a.client()
        .put_item()
        .table_name(a.table())
        .item(schema::PK, s("X"))
        .item(schema::SK, s("Y"))
        .send()
        .await
        .unwrap();
    let in_b = b
        .client()
        .get_item()
        .table_name(b.table())
        .key(schema::PK, s("X"))
        .key(schema::SK, s("Y"))
        .send()
        .await
        .unwrap();
    assert!(in_b.item().is_none());
}

#[tokio::test]
async fn ping_and_ensure_table() {
    let db = fresh_db().await;
    db.ping().await.unwrap();
    assert!(
        !db.ensure_table().await.unwrap(),
        "already there: not created again"
    );
    let other = shared_engine().db(&format!("{}-new", db.table()));
    assert!(
        other.ping().await.is_err(),
        "a missing table does not answer"
    );
    assert!(
        other.ensure_table().await.unwrap(),
        "created on first start"
    );
    other.ping().await.unwrap();
}
