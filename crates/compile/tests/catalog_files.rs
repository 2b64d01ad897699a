//! The catalog against files outside it: every option path an entry sets
//! is in the NixOS option index, and docs/catalog.md lists every entry as
//! the catalog has it. (Integration tests: the library itself reads no file.)

// Tests and benches may touch the world; the library may not (clippy.toml).
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use compile::catalog::{Kind, catalog};
use std::path::{Path, PathBuf};

/// Options the entries set that the index does not list, each
/// read in the nixpkgs source named beside it.
const VERIFIED_ELSEWHERE: &[&str] = &[
    // nixos/modules/system/etc/etc.nix: attrsOf (submodule { text = nullOr lines; … })
    "environment.etc.<name>.text",
    // nixos/modules/services/web-servers/nginx/default.nix: listOf (submodule { addr; port; ssl; proxyProtocol; extraParameters; })
    "services.nginx.defaultListen.*.addr",
    "services.nginx.defaultListen.*.port",
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    vec![root.join("nixos-options")]
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
        // A list of raw Nix values (`[{ nix = "pkgs.x" }]`) is one value.
        toml::Value::Array(items)
            if items.iter().any(|i| {
                i.as_table()
                    .is_some_and(|t| !(t.len() == 1 && t.contains_key("nix")))
            }) =>
        {
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
    let index_dir = &index_dirs()[0];
    assert!(
        index_dir.is_dir(),
        "the NixOS option index is at {}",
        index_dir.display()
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
        if let Some(oidc) = &e.oidc {
            leaves(
                &mut Vec::new(),
                &toml::Value::Table(oidc.nixos.clone()),
                &mut found,
            );
        }
        if let Some(gated) = &e.forward_auth {
            leaves(
                &mut Vec::new(),
                &toml::Value::Table(gated.nixos.clone()),
                &mut found,
            );
        }
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

/// The options a `[command_line]` names are real options of the entry's
/// module (a typo would leave a flag list unchecked), and each names the
/// flags to look for.
#[test]
fn every_command_line_option_is_in_the_index() {
    let index = load_index();
    let mut problems = Vec::new();
    for (name, e) in catalog() {
        let Some(cl) = &e.command_line else {
            continue;
        };
        if e.module.is_empty() {
            problems.push(format!("{name}: [command_line] without a module"));
        }
        if cl.listen_flags.is_empty() && cl.listen_options.is_empty() {
            problems.push(format!("{name}: [command_line] names no listen flag"));
        }
        for flag in &cl.listen_flags {
            if flag.trim_start_matches('-').is_empty() || flag.contains(char::is_whitespace) {
                problems.push(format!("{name}: `{flag}` is not a flag"));
            }
        }
        for option in cl.options.iter().chain(&cl.listen_options) {
            let path = segments(&format!("{}.{option}", e.module));
            if !index.iter().any(|o| o.covers(&path)) {
                problems.push(format!("{name}: {}.{option} is not in the index", e.module));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The index records `"module": null` for a module the pinned nixpkgs does
/// not have; an entry built on one would fail evaluation on the user's machine.
#[test]
fn every_entry_uses_a_module_the_pinned_release_has() {
    let mut missing = Vec::new();
    for (name, e) in catalog() {
        let Some(file) = &e.options_file else {
            continue;
        };
        let path = index_dirs()[0].join(file);
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        // `boot.zfs / services.zfs`: one file may hold several option trees.
        let declared = json["module"].as_str().unwrap_or("");
        let covered = declared
            .split(" / ")
            .any(|m| !m.is_empty() && (e.module == m || e.module.starts_with(&format!("{m}."))));
        if !covered {
            missing.push(format!("{name}: {} (index: {})", e.module, json["module"]));
        }
    }
    assert!(
        missing.is_empty(),
        "entries whose module the pinned nixpkgs lacks:\n{}",
        missing.join("\n")
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
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/catalog.md");
    let doc = std::fs::read_to_string(&path).expect("docs/catalog.md exists");
    let table = entries_table();
    assert!(
        doc.contains(&table),
        "the table of entries in docs/catalog.md is out of date; it should read:\n\n{table}"
    );
}
