//! The catalog: what the tool knows about each service, as data.
//!
//! One TOML file per service under `src/catalog/entries/`, embedded in the
//! binary. Adding a service means adding a file, not code. An entry says
//! which NixOS module it drives and how (`[nixos]`, a tree of module
//! settings with `{placeholders}` filled in per instance), what state it
//! keeps and how precious that state is, what it needs (database, secrets,
//! other services) and how to check that it is healthy.

mod entry;
mod template;

pub use entry::*;
pub use template::{Placeholders, expand};

use include_dir::{Dir, include_dir};
use std::collections::BTreeMap;
use std::sync::OnceLock;

static ENTRIES: Dir = include_dir!("$CARGO_MANIFEST_DIR/src/catalog/entries");

/// Every catalog entry, by name. Entries are validated by the test suite,
/// so a malformed embedded file is a build defect, not a user error.
pub fn catalog() -> &'static BTreeMap<String, Entry> {
    static CATALOG: OnceLock<BTreeMap<String, Entry>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let mut map = BTreeMap::new();
        for file in ENTRIES.files() {
            let name = file.path().file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            let text = file.contents_utf8().unwrap_or_default();
            match toml::from_str::<Entry>(text) {
                Ok(entry) => {
                    map.insert(name.to_string(), entry);
                }
                Err(e) => panic!("catalog entry {name} is malformed: {e}"),
            }
        }
        map
    })
}

pub fn get(name: &str) -> Option<&'static Entry> {
    catalog().get(name)
}

/// Names of the entries a user can place as a service (not infrastructure).
pub fn service_names() -> Vec<&'static str> {
    catalog()
        .iter()
        .filter(|(_, e)| e.kind == Kind::Service)
        .map(|(n, _)| n.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_loads_and_is_consistent() {
        let cat = catalog();
        assert!(cat.len() >= 19, "catalog has {} entries", cat.len());
        for (name, e) in cat {
            assert_eq!(&e.name, name, "file name and `name` differ");
            for dep in &e.depends {
                assert!(cat.contains_key(dep), "{name} depends on unknown {dep}");
            }
            if e.kind == Kind::Service && e.proxied {
                assert!(e.port.is_some(), "{name} is proxied but has no port");
            }
            let mut names: Vec<&str> = e.state.iter().map(|s| s.name.as_str()).collect();
            names.dedup();
            assert_eq!(names.len(), e.state.len(), "{name} repeats a state name");
        }
    }
}
