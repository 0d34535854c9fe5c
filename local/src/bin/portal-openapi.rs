//! Writes the OpenAPI document to `docs/openapi.json` (or the path given), or with
//! `--check` fails when the file there is not the document the code makes.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut check = false;
    let mut path = String::from("docs/openapi.json");
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("usage: portal-openapi [--check] [PATH (default docs/openapi.json)]");
                return ExitCode::SUCCESS;
            }
            other => path = other.to_string(),
        }
    }
    let document = portal_local::openapi_json();
    if check {
        match std::fs::read_to_string(&path) {
            Ok(current) if current == document => {
                println!("{path} is current");
                ExitCode::SUCCESS
            }
            Ok(_) => {
                eprintln!("{path} is not what the code documents: run ./scripts/openapi");
                ExitCode::FAILURE
            }
            Err(err) => {
                eprintln!("cannot read {path}: {err}");
                ExitCode::FAILURE
            }
        }
    } else if let Err(err) = std::fs::write(&path, &document) {
        eprintln!("cannot write {path}: {err}");
        ExitCode::FAILURE
    } else {
        println!("wrote {path}");
        ExitCode::SUCCESS
    }
}
