//! Rebuild when an embedded catalog entry or example changes: the
//! `include_dir!` macro alone does not tell cargo about new files.
//!
//! Also writes `$OUT_DIR/options.tsv`: the option names of every NixOS
//! module a catalog entry drives, read from the option index
//! (`nixos-options/*.json`), for `check` to know a pass-through option
//! (`[services.<x>.nixos]`) the module does not declare. One line per
//! option: its flags (`c` its value is a set of options, `f` free-form:
//! any key below it is accepted, `l` a plain value may stand in for the
//! set), a tab, its path; one per renamed or removed option: `r`, the old
//! path, the new one (or nothing).

// The build script is not the library: it runs at build time, before the
// library exists, and reads the repository's files into what the library
// embeds (the library itself reads nothing: clippy.toml, tests/purity.rs).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

/// Words of an option type whose value is a set of further options (the
/// test support's option walker reads the index the same way).
const CONTAINER_WORDS: [&str; 7] = [
    "submodule",
    "subType",
    "deviceType",
    "partitionType",
    "secretType",
    "attrsWith",
    "object of",
];

fn main() {
    println!("cargo:rerun-if-changed=src/catalog/entries");
    println!("cargo:rerun-if-changed=../../examples");
    println!("cargo:rerun-if-changed=src/spec/starter.toml");
    println!("cargo:rerun-if-changed=../../nixos-options");

    let mut roots = BTreeSet::new();
    let entries = Path::new("src/catalog/entries");
    for entry in fs::read_dir(entries).expect("catalog entries") {
        let text = fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("module = \"") {
                roots.insert(rest.trim_end().trim_end_matches('"').to_string());
            }
        }
    }
    let under_a_root = |path: &str| {
        roots.iter().any(|r| {
            path == r
                || path
                    .strip_prefix(r.as_str())
                    .is_some_and(|rest| rest.starts_with('.'))
        })
    };

    let mut files: Vec<_> = fs::read_dir("../../nixos-options")
        .expect("the option index")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = String::new();
    for file in files {
        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
        for o in json["options"].as_array().into_iter().flatten() {
            let Some(path) = o["path"].as_str().filter(|p| under_a_root(p)) else {
                continue;
            };
            let ty = o["type"].as_str().unwrap_or("");
            let mut flags = String::new();
            if CONTAINER_WORDS.iter().any(|w| ty.contains(w)) {
                flags.push('c');
            }
            if o["freeform"].as_bool().unwrap_or(false) || ty.starts_with("freeform") {
                flags.push('f');
            }
            if ty.contains("either") || ty.contains("coercedTo") || ty.contains("oneOf") {
                flags.push('l');
            }
            out.push_str(&format!("{flags}\t{path}\n"));
        }
        for r in json["renamed_or_removed"].as_array().into_iter().flatten() {
            let Some(old) = r["old"].as_str().filter(|p| under_a_root(p)) else {
                continue;
            };
            let new = r["new"].as_str().unwrap_or("");
            out.push_str(&format!("r\t{old}\t{new}\n"));
        }
    }
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("options.tsv");
    fs::write(dest, out).unwrap();
}
