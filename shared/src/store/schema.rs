//! The single table's key schema: the ONE place that names its attributes and indexes.
//! `template.yaml` must declare the same (a test compares them), and `create_table`
//! builds local and test tables from these constants.
//!
//! Item layout (each entity documents its PK / SK / GSI keys / TTL where it is defined,
//! in the repository module that owns it; every key string is built in `store::keys`):
//!
//! | attribute | role |
//! |---|---|
//! | `PK`, `SK` | primary key of every item (strings) |
//! | `GSI1PK`, `GSI1SK` | first overloaded index: "list the X of Y, newest first" |
//! | `GSI2PK`, `GSI2SK` | second overloaded index: secondary orderings and prefix search |
//! | `ttl` | epoch seconds; DynamoDB deletes the item some time after (late: readers filter) |

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const TTL_ATTRIBUTE: &str = "ttl";

/// A global secondary index, projected ALL, keyed by two string attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gsi {
    pub name: &'static str,
    pub partition_key: &'static str,
    pub sort_key: &'static str,
}

pub const GSI1: Gsi = Gsi {
    name: "GSI1",
    partition_key: "GSI1PK",
    sort_key: "GSI1SK",
};

pub const GSI2: Gsi = Gsi {
    name: "GSI2",
    partition_key: "GSI2PK",
    sort_key: "GSI2SK",
};

pub const GSIS: [Gsi; 2] = [GSI1, GSI2];

/// Every attribute that is part of a key (all strings): the table's AttributeDefinitions.
pub fn key_attributes() -> Vec<&'static str> {
    let mut names = vec![PK, SK];
    for gsi in GSIS {
        names.push(gsi.partition_key);
        names.push(gsi.sort_key);
    }
    names
}
