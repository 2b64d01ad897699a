//! The catalog: what the tool knows about each service, as data.
//!
//! One TOML file per service under `src/catalog/entries/`, embedded in the
//! binary. Adding a service means adding a file, not code. An entry says
//! which NixOS module it drives and how (`[nixos]`, a tree of module
//! settings with `@placeholders@` filled in per instance), what state it
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
            let name = file
                .path()
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
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
    use std::path::{Path, PathBuf};

    /// Any set of catalog services can share a host without a port
    /// override: no two entries default to the same port.
    #[test]
    fn default_ports_never_clash() {
        let mut seen: std::collections::BTreeMap<u16, &str> = Default::default();
        for (name, e) in catalog() {
            for port in e.port.iter().chain(&e.extra_ports) {
                if let Some(other) = seen.insert(*port, name) {
                    panic!("{name} and {other} both default to port {port}");
                }
            }
        }
    }

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
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), e.state.len(), "{name} repeats a state name");
            let mut slots: Vec<&str> = e.secrets.iter().map(|s| s.name.as_str()).collect();
            slots.sort_unstable();
            slots.dedup();
            assert_eq!(slots.len(), e.secrets.len(), "{name} repeats a secret slot");
            for st in &e.state {
                assert!(
                    st.path.starts_with('/'),
                    "{name}: state {} is not an absolute path",
                    st.name
                );
                assert!(
                    matches!(
                        st.recordsize.as_str(),
                        "4K" | "8K" | "16K" | "32K" | "64K" | "128K" | "256K" | "512K" | "1M"
                    ),
                    "{name}: state {} has recordsize {}",
                    st.name,
                    st.recordsize
                );
            }
            for st in e.state.iter().filter_map(|st| st.quota.as_deref()) {
                assert!(
                    crate::spec::Size::parse(st).is_some(),
                    "{name}: quota {st} does not parse"
                );
            }
            if e.kind == Kind::Infrastructure {
                assert!(
                    e.nixos.is_empty(),
                    "{name}: the renderer configures infrastructure itself"
                );
                assert!(!e.proxied, "{name}: infrastructure is not proxied");
            }
        }
    }

    /// Placeholder values for one instance of `e`, with every state
    /// directory, secret slot and dependency endpoint the entry may name.
    fn placeholders(e: &Entry) -> Placeholders {
        let mut p = Placeholders {
            port: e.port,
            data: e
                .state
                .iter()
                .map(|s| (s.name.clone(), s.path.clone()))
                .collect(),
            secrets: e
                .secrets
                .iter()
                .map(|s| (s.name.clone(), format!("{}-{}", e.name, s.name)))
                .collect(),
            endpoints: e
                .depends
                .iter()
                .filter_map(|d| Some((d.clone(), format!("http://127.0.0.1:{}", get(d)?.port?))))
                .collect(),
            ..Default::default()
        };
        let fqdn = format!("{}.home.example.org", e.name);
        for (k, v) in [
            ("address", "127.0.0.1".to_string()),
            ("url", format!("https://{fqdn}")),
            ("fqdn", fqdn),
            ("timezone", "Europe/Prague".into()),
            ("admin_email", "admin@example.org".into()),
            ("domain", "example.org".into()),
            ("internal_domain", "home.example.org".into()),
            ("hostname", "server".into()),
            ("instance", e.name.clone()),
        ] {
            p.simple.insert(k, v);
        }
        if let Some(db) = &e.database {
            p.simple.insert(
                "db",
                db.name.clone().unwrap_or_else(|| e.name.replace('-', "_")),
            );
        }
        p
    }

    #[test]
    fn every_placeholder_names_something_the_entry_has() {
        for (name, e) in catalog() {
            if let Err(err) = expand(&e.nixos, &placeholders(e)) {
                panic!("catalog entry {name}: {err}");
            }
        }
    }

    #[test]
    fn settings_sit_below_the_module_they_drive() {
        for (name, e) in catalog() {
            if e.nixos.is_empty() {
                continue;
            }
            assert!(!e.module.is_empty(), "{name} has settings but no `module`");
            let mut t = &e.nixos;
            for part in crate::render::nix::split_path(&e.module) {
                match t.get(&part) {
                    Some(toml::Value::Table(inner)) => t = inner,
                    _ => panic!(
                        "{name}: `[nixos]` does not configure its module `{}`",
                        e.module
                    ),
                }
            }
            assert_eq!(
                t.get("enable"),
                Some(&toml::Value::Boolean(true)),
                "{name}: module not enabled"
            );
        }
    }

    /// Options the entries set that the shared index does not list, each
    /// read in the nixpkgs source named beside it.
    const VERIFIED_ELSEWHERE: &[&str] = &[
        // nixos/modules/system/etc/etc.nix: attrsOf (submodule { text = nullOr lines; … })
        "environment.etc.<name>.text",
        // nixos/modules/services/web-servers/nginx/default.nix: listOf (submodule { addr; port; ssl; proxyProtocol; extraParameters; })
        "services.nginx.defaultListen.*.addr",
        "services.nginx.defaultListen.*.port",
        // nixos/modules/services/monitoring/grafana.nix: grafanaTypes.datasourceConfig has a freeformType
        "services.grafana.provision.datasources.settings.datasources.*.isDefault",
    ];

    struct OptionPath {
        segments: Vec<String>,
        freeform: bool,
    }

    impl OptionPath {
        fn covers(&self, leaf: &[String]) -> bool {
            let n = self.segments.len();
            let fits = if self.freeform {
                n <= leaf.len()
            } else {
                n == leaf.len()
            };
            fits && self.segments.iter().zip(leaf).all(|(o, l)| {
                let o = o.trim_matches('"');
                (o.starts_with('<') && o.ends_with('>') && l != "*") || o == l
            })
        }
    }

    /// `a.b."c.d".<name>` → `["a", "b", "c.d", "<name>"]`.
    fn segments(path: &str) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut quoted = false;
        for c in path.chars() {
            match c {
                '"' => quoted = !quoted,
                '.' if !quoted => out.push(String::new()),
                c => out.last_mut().unwrap().push(c),
            }
        }
        out
    }

    fn index_dirs() -> Vec<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        vec![
            root.join("../shared/nixos-options"),
            root.join("nixos-options"),
        ]
    }

    fn load_index() -> Vec<OptionPath> {
        let mut out: Vec<OptionPath> = VERIFIED_ELSEWHERE
            .iter()
            .map(|p| OptionPath {
                segments: segments(p),
                freeform: false,
            })
            .collect();
        for dir in index_dirs() {
            let Ok(files) = std::fs::read_dir(&dir) else {
                continue;
            };
            for file in files {
                let path = file.unwrap().path();
                if path.extension().is_none_or(|x| x != "json") {
                    continue;
                }
                let json: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                for o in json["options"].as_array().into_iter().flatten() {
                    let Some(p) = o["path"].as_str() else {
                        continue;
                    };
                    out.push(OptionPath {
                        segments: segments(p),
                        freeform: o["freeform"].as_bool().unwrap_or(false),
                    });
                }
            }
        }
        out
    }

    /// Every assigned path of a `[nixos]` tree; list elements are `*`.
    fn leaves(prefix: &mut Vec<String>, v: &toml::Value, out: &mut Vec<Vec<String>>) {
        match v {
            toml::Value::Table(t) if !(t.is_empty() || t.len() == 1 && t.contains_key("nix")) => {
                for (k, v) in t {
                    prefix.push(k.clone());
                    leaves(prefix, v, out);
                    prefix.pop();
                }
            }
            toml::Value::Array(items) if items.iter().any(toml::Value::is_table) => {
                prefix.push("*".into());
                for item in items {
                    leaves(prefix, item, out);
                }
                prefix.pop();
            }
            _ => out.push(prefix.clone()),
        }
    }

    #[test]
    fn every_option_path_is_in_the_index() {
        let shared = &index_dirs()[0];
        assert!(
            shared.is_dir(),
            "the NixOS option index is at {}",
            shared.display()
        );
        let index = load_index();
        let mut unknown = Vec::new();
        for (name, e) in catalog() {
            if let Some(file) = &e.options_file {
                assert!(
                    index_dirs().iter().any(|d| d.join(file).is_file()),
                    "{name}: options_file {file} is not in the index"
                );
            } else {
                assert!(
                    e.nixos.is_empty(),
                    "{name} sets options but names no options_file"
                );
            }
            let mut found = Vec::new();
            leaves(
                &mut Vec::new(),
                &toml::Value::Table(e.nixos.clone()),
                &mut found,
            );
            for leaf in found.iter().filter(|l| !l.is_empty()) {
                if !index.iter().any(|o| o.covers(leaf)) {
                    unknown.push(format!("{name}: {}", leaf.join(".")));
                }
            }
        }
        assert!(
            unknown.is_empty(),
            "option paths missing from the index:\n{}",
            unknown.join("\n")
        );
    }

    /// The table of shipped entries in `docs/catalog.md`, as the catalog
    /// says it is.
    fn entries_table() -> String {
        let mut out = String::from(
            "| entry | kind | port | audience | auth | default exposure | RAM (MiB) | state: class, recordsize |\n\
             |---|---|---|---|---|---|---|---|\n",
        );
        let lower = |s: String| s.to_lowercase().replace("forwardauth", "forward-auth");
        for kind in [Kind::Service, Kind::Infrastructure] {
            for e in catalog().values().filter(|e| e.kind == kind) {
                let mut port = e.port.map_or("—".to_string(), |p| p.to_string());
                if e.port_fixed {
                    port.push_str(" (fixed)");
                }
                if !e.extra_ports.is_empty() {
                    let extra: Vec<String> = e.extra_ports.iter().map(u16::to_string).collect();
                    port = if e.port.is_some() {
                        format!("{port} + {}", extra.join(", "))
                    } else {
                        extra.join(", ")
                    };
                }
                let state = if e.state.is_empty() {
                    "—".to_string()
                } else {
                    e.state
                        .iter()
                        .map(|s| {
                            format!(
                                "`{}` {}: {}, {}",
                                s.name,
                                s.path,
                                lower(format!("{:?}", s.class)),
                                s.recordsize
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("<br>")
                };
                let exposure = if e.proxied {
                    lower(format!("{:?}", e.default_exposure))
                } else {
                    format!(
                        "{} (not proxied)",
                        lower(format!("{:?}", e.default_exposure))
                    )
                };
                out.push_str(&format!(
                    "| `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
                    e.name,
                    lower(format!("{:?}", e.kind)),
                    port,
                    lower(format!("{:?}", e.audience)),
                    lower(format!("{:?}", e.auth)),
                    exposure,
                    e.ram_mb,
                    state,
                ));
            }
        }
        out
    }

    #[test]
    fn the_reference_page_lists_every_entry_as_it_is() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/catalog.md");
        let doc = std::fs::read_to_string(&path).expect("docs/catalog.md exists");
        let table = entries_table();
        assert!(
            doc.contains(&table),
            "the table of entries in docs/catalog.md is out of date; it should read:\n\n{table}"
        );
    }
}
