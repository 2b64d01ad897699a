//! The compile crate never touches the world: no file system, no process,
//! no network, no environment. Everything that does lives in
//! `crates/operate`. Two guards: clippy's disallowed types and methods
//! (`crates/compile/clippy.toml`), and this test, which also catches a
//! `use std::process` that clippy would only see once it is called, and a
//! dependency that brings I/O in.

// Tests and benches may touch the world; the library may not (clippy.toml).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::path::Path;

#[path = "support/sources.rs"]
mod sources;

/// Paths whose mere mention in library code is a door to the world.
const FORBIDDEN: &[&str] = &[
    "std::fs",
    "std::process",
    "std::net",
    "std::env",
    "std::os::",
    "std::io::stdin",
    "std::io::stdout",
    "std::io::stderr",
    "include_bytes!(\"/",
];

/// The only dependencies the library may have: parsing, formatting and
/// hashing of values it is given. `include_dir` embeds files at build time;
/// `similar` computes the line diff of two texts it is given (`plan --diff`).
const ALLOWED_DEPENDENCIES: &[&str] = &[
    "base64",
    "codespan-reporting",
    "include_dir",
    "serde",
    "serde_json",
    "sha2",
    "similar",
    "strsim",
    "thiserror",
    "toml",
];

/// Every forbidden path mentioned in `text`, with its line number.
fn doors(text: &str) -> Vec<(usize, &'static str)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for f in FORBIDDEN {
            if code.contains(f) {
                found.push((n + 1, *f));
            }
        }
        // A grouped import: `use std::{fs, io};`.
        if let Some((_, group)) = code.split_once("std::{") {
            let group = group.split('}').next().unwrap_or("");
            for item in group.split(',') {
                let head = item.trim().split("::").next().unwrap_or("");
                if let Some(f) = FORBIDDEN
                    .iter()
                    .find(|f| f.trim_end_matches(':') == format!("std::{head}"))
                {
                    found.push((n + 1, *f));
                }
            }
        }
    }
    found
}

#[test]
fn library_sources_name_no_door_to_the_world() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = sources::rust_files(&src);
    assert!(
        files.len() > 20,
        "found the sources under {}",
        src.display()
    );
    let mut bad = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (line, door) in doors(&text) {
            bad.push(format!("{}:{line}: `{door}`", file.display()));
        }
    }
    assert!(
        bad.is_empty(),
        "the compile crate must stay pure; move this to crates/operate:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_guard_sees_a_process_being_started() {
    // The scan above would pass vacuously if it could not see a door.
    let planted = "fn f() {\n    let _ = std::process::Command::new(\"sh\");\n}\n";
    assert_eq!(doors(planted), vec![(2, "std::process")]);
    assert_eq!(
        doors("use std::{fs, io};\nuse std::fs::read;"),
        vec![(1, "std::fs"), (2, "std::fs")]
    );
    assert!(doors("// std::process in a comment is fine").is_empty());
}

#[test]
fn dependencies_bring_no_io() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let manifest: toml::Table = manifest.parse().unwrap();
    let deps = manifest["dependencies"].as_table().unwrap();
    for name in deps.keys() {
        assert!(
            ALLOWED_DEPENDENCIES.contains(&name.as_str()),
            "compile may not depend on `{name}`: the library stays pure (see tests/purity.rs)"
        );
    }
}
