//! The IAM actions a function's test suite needed: with `PORTAL_RECORD_DYNAMODB_ACTIONS` set
//! to a folder, every DynamoDB action a request made (through `http::finish`, so a test's own
//! set-up and looks into the table do not count) is written, once per test binary, to
//! `<folder>/<package>.txt` (the package whose tests run, as cargo names it). `tests/deployed.rs`
//! holds the template's grants to these records.

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::Mutex;

use portal_domain::observe::DynamoCall;

pub const RECORD_VAR: &str = "PORTAL_RECORD_DYNAMODB_ACTIONS";

/// Writes the actions of `calls` not written before by this process.
pub fn record(calls: &[DynamoCall]) {
    static SEEN: Mutex<BTreeSet<&'static str>> = Mutex::new(BTreeSet::new());
    let Some(folder) = std::env::var_os(RECORD_VAR) else {
        return;
    };
    let package = std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "unknown".into());
    let mut seen = SEEN.lock().expect("lock");
    let new: Vec<&'static str> = calls
        .iter()
        .flat_map(|call| call.actions.iter().copied())
        .filter(|action| seen.insert(action))
        .collect();
    if new.is_empty() {
        return;
    }
    let folder = std::path::PathBuf::from(folder);
    std::fs::create_dir_all(&folder).expect("the record folder can be made");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(folder.join(format!("{package}.txt")))
        .expect("the record file opens");
    let lines: String = new.iter().map(|a| format!("{a}\n")).collect();
    file.write_all(lines.as_bytes())
        .expect("the record is written");
}
