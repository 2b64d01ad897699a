//! The NixOS option index (`nixos-options/` at the repository root), and a
//! walker that finds every option path a generated module assigns that the
//! index does not declare.
//!
//! Index paths use `<name>` for a key the user chooses and `*` for a list
//! element. An assignment is accepted when it hits a declared option whose
//! value is data (anything but a submodule), or goes below an option marked
//! `freeform`. Below a submodule option the walk goes on: `age.secrets.x.fiel`
//! is caught although `age.secrets` exists. An option marked
//! `nested_configuration` holds a whole NixOS configuration
//! (`virtualisation.vmVariant`): what is assigned below it is walked as a
//! module of its own, from the root of the index.

use compile::nix::{Attrs, Nix, split_path};
use std::path::Path;

struct Opt {
    parts: Vec<String>,
    /// Its value is a set of further options (a submodule).
    container: bool,
    /// Any sub-path below is accepted.
    freeform: bool,
    /// A leaf value is accepted in place of the submodule (`either str …`).
    takes_leaf: bool,
    /// Its value is a NixOS configuration (`virtualisation.vmVariant`).
    nested: bool,
}

pub struct Index {
    options: Vec<Opt>,
}

const CONTAINER_WORDS: [&str; 7] = [
    "submodule",
    "subType",
    "deviceType",
    "partitionType",
    "secretType",
    "attrsWith",
    "object of",
];

impl Index {
    pub fn load(dirs: &[&Path]) -> Index {
        let mut options = Vec::new();
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.extension().is_none_or(|e| e != "json") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                let json: serde_json::Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let Some(list) = json["options"].as_array() else {
                    continue;
                };
                for o in list {
                    let Some(p) = o["path"].as_str() else {
                        continue;
                    };
                    let ty = o["type"].as_str().unwrap_or("");
                    options.push(Opt {
                        parts: split_path(p),
                        container: CONTAINER_WORDS.iter().any(|w| ty.contains(w)),
                        freeform: o["freeform"].as_bool().unwrap_or(false)
                            || ty.starts_with("freeform"),
                        takes_leaf: ty.contains("either")
                            || ty.contains("coercedTo")
                            || ty.contains("oneOf"),
                        nested: o["nested_configuration"].as_bool().unwrap_or(false),
                    });
                }
            }
        }
        Index { options }
    }

    /// Every assigned option path of a module body the index does not know.
    pub fn unknown_paths(&self, module_body: &Attrs) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in module_body {
            if k != "imports" {
                self.walk(&mut vec![k.clone()], v, &mut out);
            }
        }
        out
    }

    fn walk(&self, path: &mut Vec<String>, value: &Nix, out: &mut Vec<String>) {
        let exact: Vec<&Opt> = self
            .options
            .iter()
            .filter(|o| matches(&o.parts, path))
            .collect();
        let below = self
            .options
            .iter()
            .filter(|o| o.parts.len() < path.len() && matches(&o.parts, &path[..o.parts.len()]))
            .max_by_key(|o| o.parts.len());
        let intermediate = self
            .options
            .iter()
            .any(|o| o.parts.len() > path.len() && matches(&o.parts[..path.len()], path));

        if let (true, Nix::Attrs(body)) = (exact.iter().any(|o| o.nested), value) {
            out.extend(
                self.unknown_paths(body)
                    .into_iter()
                    .map(|p| format!("{}.{p}", path.join("."))),
            );
            return;
        }
        if exact.iter().any(|o| o.freeform || !o.container) {
            return; // a data option: what is below is its value
        }
        if below.is_some_and(|o| o.freeform || !o.container) {
            return; // below a freeform or data option
        }
        let is_leaf = !matches!(value, Nix::Attrs(_) | Nix::List(_));
        if is_leaf {
            let leaf_ok = !exact.is_empty() || below.is_some_and(|o| o.takes_leaf);
            if !leaf_ok {
                out.push(path.join("."));
            }
            return;
        }
        if exact.is_empty() && !intermediate {
            out.push(path.join("."));
            return;
        }
        match value {
            Nix::Attrs(attrs) => {
                for (k, v) in attrs {
                    path.push(k.clone());
                    self.walk(path, v, out);
                    path.pop();
                }
            }
            Nix::List(items) => {
                for item in items {
                    path.push("*".into());
                    self.walk(path, item, out);
                    path.pop();
                }
            }
            _ => {}
        }
    }
}

/// An index path matches an assigned path part by part; `<…>` matches any
/// key, `*` a list element.
fn matches(pattern: &[String], path: &[String]) -> bool {
    pattern.len() == path.len()
        && pattern
            .iter()
            .zip(path)
            .all(|(p, k)| p == k || (p.starts_with('<') && p.ends_with('>') && k != "*"))
}
