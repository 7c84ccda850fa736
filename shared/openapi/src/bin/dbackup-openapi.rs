//! Writes the OpenAPI document to the file named by the first argument (stdout without one).
//! Run through `cargo xtask openapi`.

#![forbid(unsafe_code)]

use std::io::Write;

fn main() {
    let text = dbackup_openapi::document_json();
    let result = match std::env::args().nth(1) {
        Some(path) => std::fs::write(&path, &text),
        None => std::io::stdout().write_all(text.as_bytes()),
    };
    if let Err(e) = result {
        eprintln!("dbackup-openapi: {e}");
        std::process::exit(1);
    }
}
