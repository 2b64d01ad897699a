//! The access model holds whatever `[services.<name>.nixos]` says.
//!
//! The renderer decides who can reach a service: it binds the service to
//! the loopback address on its port, and the proxy, tunnel and firewall
//! follow from `exposure`. A pass-through setting that moved the port,
//! widened the bind address or opened the firewall would change what the
//! public tunnel serves or open a door the spec never asked for, so those
//! options belong to the renderer and setting one is an error that names
//! the spec key to use instead. Likewise one NixOS module can be
//! configured once per host: a second instance of the same module would
//! only conflict with the first.

use crate::catalog::Entry;
use crate::diagnostic::Diagnostic;
use crate::fleet::{Fleet, Instance};
use crate::spec::NixosLeaf;
use std::collections::HashMap;

/// What a renderer-owned option decides, and so which spec key replaces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owned {
    Port,
    Bind,
    Firewall,
}

/// The words of a key's parts (split at `.`, `_`, `-` and camelCase),
/// lowercased (`privateKey` → `private`, `key`).
pub(super) fn words(part: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in part.chars() {
        if !c.is_ascii_alphanumeric() {
            out.push(std::mem::take(&mut cur));
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    out.push(cur);
    out.retain(|w| !w.is_empty());
    out
}

/// Whether a value is an address that listens beyond the loopback.
fn wildcard_address(v: &toml::Value) -> bool {
    v.as_str().is_some_and(|s| {
        matches!(
            s.trim(),
            "0.0.0.0" | "::" | "[::]" | "*" | "0:0:0:0:0:0:0:0"
        )
    })
}

/// Which renderer-owned option a pass-through key (below the module) is,
/// by its name, by the catalog template it overrides, or by its value.
fn owned(entry: &Entry, leaf: &NixosLeaf) -> Option<Owned> {
    let parts: Vec<&str> = leaf.key.split('.').collect();
    let all: Vec<Vec<String>> = parts.iter().map(|p| words(p)).collect();
    let last = all.last()?;
    let lw = last.last()?.as_str();
    if all.iter().flatten().any(|w| w == "firewall") {
        return Some(Owned::Firewall);
    }
    let templates = template(entry, &leaf.key);
    let all = |p: &str| !templates.is_empty() && templates.iter().all(|t| t.contains(p));
    if all("@port@") {
        return Some(Owned::Port);
    }
    if all("@address@") {
        return Some(Owned::Bind);
    }
    if matches!(lw, "port" | "ports") {
        return Some(Owned::Port);
    }
    let bind_word = |w: &str| matches!(w, "addr" | "address" | "addresses" | "bind" | "listen");
    // `host` at the module's top level is where the service listens
    // (`services.immich.host`); deeper it is usually a client setting.
    if last.iter().any(|w| bind_word(w))
        || (parts.len() == 1 && lw == "host")
        || wildcard_address(&leaf.value)
    {
        return Some(Owned::Bind);
    }
    None
}

/// The catalog's template strings at a pass-through key: the string it
/// sets, or the strings of the list it sets (`server_host =
/// ["@address@"]`); none when it sets neither. A list counts only when
/// every item is a template of the kind (Alloy's `extraFlags` holds its
/// listen flag beside others).
fn template(entry: &Entry, key: &str) -> Vec<String> {
    let mut path: Vec<String> = crate::nix::split_path(&entry.module);
    path.extend(key.split('.').map(str::to_string));
    let Some(mut cur) = path.first().and_then(|p| entry.nixos.get(p)) else {
        return Vec::new();
    };
    for part in &path[1..] {
        match cur.as_table().and_then(|t| t.get(part)) {
            Some(next) => cur = next,
            None => return Vec::new(),
        }
    }
    match cur {
        toml::Value::String(s) => vec![s.clone()],
        toml::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

pub(crate) fn renderer_owns_access(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in &fleet.instances {
        for leaf in &i.passthrough {
            if let Some(what) = owned(i.entry, leaf) {
                out.push(owned_error(i, leaf, what));
            }
        }
    }
}

fn owned_error(i: &Instance, leaf: &NixosLeaf, what: Owned) -> Diagnostic {
    let name = &i.name.value;
    let (decides, help) = match what {
        Owned::Port => (
            "the port",
            format!(
                "set `port = {}` in `[services.{name}]` instead: the proxy, tunnel and checks follow it",
                leaf.value
                    .as_integer()
                    .or(i.port.map(i64::from))
                    .unwrap_or(8080)
            ),
        ),
        Owned::Bind => (
            "the address it listens on",
            format!(
                "remove it: services listen on 127.0.0.1 behind the proxy; to reach `{name}` from more places set `exposure = \"lan\"` (or `tailnet`, `public`) in `[services.{name}]`"
            ),
        ),
        Owned::Firewall => (
            "which ports the firewall opens",
            format!(
                "remove it: the firewall stays closed and `exposure = \"lan\"` (or `tailnet`, `public`) in `[services.{name}]` decides who reaches the service"
            ),
        ),
    };
    Diagnostic::error(
        "owned-option",
        format!(
            "`{}` of `{name}` decides {decides}, which homelab sets",
            leaf.key
        ),
    )
    .at(leaf.span.clone(), "the renderer owns this option")
    .help(help)
}

/// One instance of a NixOS module per host, unless the catalog entry says
/// its module takes several.
pub(crate) fn one_module_instance_per_host(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<(&str, &str), &Instance> = HashMap::new();
    for i in &fleet.instances {
        if i.entry.module.is_empty() || i.entry.several_per_host {
            continue;
        }
        let key = (i.host.as_str(), i.entry.name.as_str());
        if let Some(first) = seen.get(&key).copied().or_else(|| {
            seen.insert(key, i);
            None
        }) {
            out.push(
                Diagnostic::error(
                    "duplicate-module",
                    format!(
                        "`{}` and `{}` both configure `{}` on `{}`",
                        first.name.value, i.name.value, i.entry.module, i.host
                    ),
                )
                .at(i.name.span.clone(), "a second instance of the same module")
                .also(first.name.span.clone(), "first configured here")
                .help(format!(
                    "NixOS has one `{}` per machine: keep one instance, or place `{}` on another host with `host = \"…\"`",
                    i.entry.module, i.name.value
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(key: &str, value: toml::Value) -> NixosLeaf {
        NixosLeaf {
            key: key.into(),
            value,
            span: 0..0,
        }
    }

    #[test]
    fn access_options_are_recognised_by_name_template_and_value() {
        let grafana = crate::catalog::get("grafana").unwrap();
        let s = |v: &str| toml::Value::String(v.into());
        let i = toml::Value::Integer;
        let b = toml::Value::Boolean(true);
        for (key, value, what) in [
            ("settings.server.http_port", i(2283), Owned::Port),
            ("settings.server.http_addr", s("0.0.0.0"), Owned::Bind),
            ("openFirewall", b.clone(), Owned::Firewall),
            ("settings.server.root_url_port", i(1), Owned::Port),
            ("listenAddress", s("10.0.0.1"), Owned::Bind),
            ("host", s("0.0.0.0"), Owned::Bind),
            ("environment.ROCKET_ADDRESS", s("::"), Owned::Bind),
            ("environment.ROCKET_PORT", i(9000), Owned::Port),
            ("settings.whatever", s("0.0.0.0"), Owned::Bind),
        ] {
            assert_eq!(owned(grafana, &leaf(key, value)), Some(what), "{key}");
        }
        for key in [
            "settings.smtp.host",
            "settings.server.domain",
            "settings.users.allow_sign_up",
        ] {
            assert_eq!(owned(grafana, &leaf(key, s("x"))), None, "{key}");
        }
    }

    #[test]
    fn a_list_the_catalog_fills_with_the_bind_address_is_owned() {
        let s = |v: &str| toml::Value::String(v.into());
        let hass = crate::catalog::get("home-assistant").unwrap();
        assert_eq!(
            owned(hass, &leaf("config.http.server_host", s("192.168.1.5"))),
            Some(Owned::Bind)
        );
        // A list that holds a template among other items is not owned as
        // a whole (Alloy's `extraFlags`).
        let alloy = crate::catalog::get("alloy").unwrap();
        assert_eq!(
            owned(
                alloy,
                &leaf("extraFlags", s("--stability.level=experimental"))
            ),
            None
        );
    }
}
