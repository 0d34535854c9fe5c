//! `template.yaml` and `store::schema` describe the same table: if one changes without
//! the other, this fails (a production table that differs from the tested one is a bug
//! that only shows after deploy).

use std::collections::BTreeSet;

use portal_domain::store::schema;
use serde_yaml_ng::Value;

fn template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml");
    let text = std::fs::read_to_string(path).expect("template.yaml is readable");
    serde_yaml_ng::from_str(&text).expect("template.yaml is YAML")
}

fn table() -> Value {
    template()["Resources"]["Table"].clone()
}

fn str_of(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v:?}"))
}

/// (index name, key schema, projection type)
type IndexShape = (String, Vec<(String, String)>, String);

fn key_schema(keys: &Value) -> Vec<(String, String)> {
    keys.as_sequence()
        .expect("a KeySchema list")
        .iter()
        .map(|k| {
            (
                str_of(&k["AttributeName"]).to_string(),
                str_of(&k["KeyType"]).to_string(),
            )
        })
        .collect()
}

#[test]
fn the_table_is_dynamodb_on_demand_and_protected() {
    let table = table();
    assert_eq!(str_of(&table["Type"]), "AWS::DynamoDB::Table");
    let p = &table["Properties"];
    assert_eq!(str_of(&p["BillingMode"]), "PAY_PER_REQUEST");
    assert_eq!(p["DeletionProtectionEnabled"], Value::Bool(true));
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        Value::Bool(true)
    );
    assert_eq!(str_of(&table["DeletionPolicy"]), "Retain");
}

#[test]
fn attribute_definitions_match_the_schema() {
    let p = &table()["Properties"];
    let declared: BTreeSet<(String, String)> = p["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| {
            (
                str_of(&a["AttributeName"]).to_string(),
                str_of(&a["AttributeType"]).to_string(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, String)> = schema::key_attributes()
        .into_iter()
        .map(|name| (name.to_string(), "S".to_string()))
        .collect();
    assert_eq!(declared, expected);
}

#[test]
fn primary_key_matches_the_schema() {
    let p = &table()["Properties"];
    assert_eq!(
        key_schema(&p["KeySchema"]),
        vec![
            (schema::PK.to_string(), "HASH".to_string()),
            (schema::SK.to_string(), "RANGE".to_string())
        ]
    );
}

#[test]
fn global_secondary_indexes_match_the_schema() {
    let p = &table()["Properties"];
    let declared: Vec<IndexShape> = p["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|g| {
            (
                str_of(&g["IndexName"]).to_string(),
                key_schema(&g["KeySchema"]),
                str_of(&g["Projection"]["ProjectionType"]).to_string(),
            )
        })
        .collect();
    let expected: Vec<IndexShape> = schema::GSIS
        .iter()
        .map(|g| {
            (
                g.name.to_string(),
                vec![
                    (g.partition_key.to_string(), "HASH".to_string()),
                    (g.sort_key.to_string(), "RANGE".to_string()),
                ],
                "ALL".to_string(),
            )
        })
        .collect();
    assert_eq!(declared, expected);
}

#[test]
fn ttl_attribute_matches_the_schema() {
    let ttl = &table()["Properties"]["TimeToLiveSpecification"];
    assert_eq!(str_of(&ttl["AttributeName"]), schema::TTL_ATTRIBUTE);
    assert_eq!(ttl["Enabled"], Value::Bool(true));
}

#[test]
fn every_function_is_a_cargo_lambda_build_on_arm64() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(str_of(&globals["Runtime"]), "provided.al2023");
    assert_eq!(globals["Architectures"][0].as_str(), Some("arm64"));
    let functions: Vec<_> = template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Serverless::Function"))
        .collect();
    assert!(!functions.is_empty());
    for (name, function) in functions {
        assert_eq!(
            function["Metadata"]["BuildMethod"].as_str(),
            Some("rust-cargolambda"),
            "{name:?}"
        );
        let binary = str_of(&function["Metadata"]["BuildProperties"]["Binary"]);
        assert!(binary.starts_with("portal-"), "{name:?} builds {binary}");
    }
}

/// The variables a function is deployed with: the globals and its own.
fn variables_of(function: &str) -> BTreeSet<String> {
    let t = template();
    let names = |v: &Value| -> Vec<String> {
        v.as_mapping()
            .map(|m| m.keys().map(|k| str_of(k).to_string()).collect())
            .unwrap_or_default()
    };
    let mut all: BTreeSet<String> = names(&t["Globals"]["Function"]["Environment"]["Variables"])
        .into_iter()
        .collect();
    all.extend(names(
        &t["Resources"][function]["Properties"]["Environment"]["Variables"],
    ));
    all
}

#[test]
fn each_function_is_given_only_the_variables_of_its_sections() {
    let secret = "BETTER_AUTH_SECRET".to_string();
    let monitoring = variables_of("MonitoringFunction");
    assert!(
        !monitoring.contains(&secret),
        "the public tunnel holds no auth secret"
    );
    assert!(monitoring.contains("SENTRY_DSN"));
    for function in [
        "AuthFunction",
        "UserFunction",
        "AdminFunction",
        "IntegrationsFunction",
    ] {
        let vars = variables_of(function);
        assert!(vars.contains(&secret), "{function}");
        assert!(vars.contains("PORTAL_BASE_URL"), "{function}");
        // Every function reports its own errors to the project.
        assert!(vars.contains("SENTRY_DSN"), "{function}");
    }
    // Only the auth function sends mail; the functions that make names on the services
    // know the sender's address too (its local part is a reserved name there).
    assert!(variables_of("AuthFunction").contains("PORTAL_MAIL"));
    for function in ["UserFunction", "AdminFunction", "IntegrationsFunction"] {
        assert!(
            !variables_of(function).contains("PORTAL_MAIL"),
            "{function}"
        );
    }
    for function in ["AuthFunction", "AdminFunction", "IntegrationsFunction"] {
        assert!(
            variables_of(function).contains("PORTAL_MAIL_FROM"),
            "{function}"
        );
    }
    // The functions that remove or ban users act on their service accounts: the admin
    // API, the admin plugin and `/delete-user` (auth), and the integrations.
    for function in ["AuthFunction", "AdminFunction", "IntegrationsFunction"] {
        assert!(
            variables_of(function).contains("PROSODY_REST_TOKEN"),
            "{function}"
        );
    }
    for function in ["UserFunction", "MonitoringFunction"] {
        assert!(
            !variables_of(function).contains("PROSODY_REST_TOKEN"),
            "{function}"
        );
    }
}
