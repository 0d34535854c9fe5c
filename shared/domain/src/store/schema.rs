//! The single table's key schema: the ONE place that names its attributes and indexes.
//! `template.yaml` must declare the same (a test compares them), and `create_table`
//! builds local and test tables from these constants.
//!
//! The item layout (which item carries which keys, and every key string) is in
//! `store::keys`; the attributes themselves:
//!
//! | attribute | role |
//! |---|---|
//! | `PK`, `SK` | primary key of every item (strings) |
//! | `GSI1PK`, `GSI1SK` | first overloaded index: "list the X of Y, newest first" |
//! | `GSI2PK`, `GSI2SK` | second overloaded index: secondary orderings and prefix search |
//! | `GSI3PK`, `GSI3SK` | third: users by role; sessions by the hour they expire; integration accounts by integration |
//! | `GSI4PK`, `GSI4SK` | fourth, sparse: banned users; integration accounts by integration and status |
//! | `ttl` | epoch seconds; DynamoDB deletes the item some time after (late: readers filter) |

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const TTL_ATTRIBUTE: &str = "ttl";
/// The optimistic-concurrency counter of items changed by read-modify-write (users).
pub const VERSION: &str = "version";

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

pub const GSI3: Gsi = Gsi {
    name: "GSI3",
    partition_key: "GSI3PK",
    sort_key: "GSI3SK",
};

pub const GSI4: Gsi = Gsi {
    name: "GSI4",
    partition_key: "GSI4PK",
    sort_key: "GSI4SK",
};

pub const GSIS: [Gsi; 4] = [GSI1, GSI2, GSI3, GSI4];

/// Every attribute that is part of a key (all strings): the table's AttributeDefinitions.
pub fn key_attributes() -> Vec<&'static str> {
    let mut names = vec![PK, SK];
    for gsi in GSIS {
        names.push(gsi.partition_key);
        names.push(gsi.sort_key);
    }
    names
}
