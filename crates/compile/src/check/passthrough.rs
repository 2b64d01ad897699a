//! The access model holds whatever `[services.<name>.nixos]` says.
//!
//! The renderer decides who can reach a service: it binds the service to
//! the loopback address on its port, and the proxy, tunnel and firewall
//! follow from `exposure`. A pass-through setting that moved the port,
//! widened the bind address or opened the firewall would change what the
//! public tunnel serves or open a door the spec never asked for, so those
//! options belong to the renderer and setting one is an error that names
//! the spec key to use instead. Values that reach the program's command
//! line (flag lists such as `extraFlags`, strings a module splices into
//! `ExecStart`) could move the listen address past those options, so a
//! value that sets one of the program's listen flags, as the catalog entry
//! records them (`[command_line]`), is the same error. Likewise one NixOS
//! module can be configured once per host: a second instance of the same
//! module would only conflict with the first.

use crate::catalog::{CommandLine, Entry};
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
    let listen_option = |cl: &CommandLine| cl.listen_options.iter().any(|o| is_under(&leaf.key, o));
    if entry.command_line.as_ref().is_some_and(listen_option) {
        return Some(Owned::Bind);
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
/// listen flag beside others; the flag check below owns that one).
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

/// The listen flag a pass-through value sets, when the key is one the
/// module puts on the command line: the flag as the catalog spells it.
/// The value is read as the words a shell or systemd would make of it,
/// quotes dropped, so a flag inside one string counts as much as a list
/// item. The flag's own item is reported; its value may be the next.
fn listen_flag<'e>(entry: &'e Entry, leaf: &NixosLeaf) -> Option<&'e str> {
    let cl = entry.command_line.as_ref()?;
    if !cl.options.iter().any(|o| is_under(&leaf.key, o)) {
        return None;
    }
    let text = match &leaf.value {
        toml::Value::String(s) => s.as_str(),
        _ => return None,
    };
    command_words(text)
        .find_map(|w| cl.listen_flags.iter().find(|f| sets(cl, f, &w)))
        .map(String::as_str)
}

/// Whether a pass-through key is `option` or below it.
fn is_under(key: &str, option: &str) -> bool {
    key.strip_prefix(option)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// The words of a command-line text: split at spaces and at what ends a
/// shell word (`;`, `&`, `|`, parentheses, redirections, backquotes), with
/// quotes and backslashes dropped (`'--port'=80` is `--port=80`).
fn command_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| c.is_whitespace() || ";&|()<>`".contains(c))
        .map(|w| {
            w.chars()
                .filter(|c| !"'\"\\".contains(*c))
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
}

/// Whether `word` sets the listen flag `flag` (see `CommandLine`).
fn sets(cl: &CommandLine, flag: &str, word: &str) -> bool {
    let name = flag.trim_start_matches('-');
    if name.is_empty() {
        return false;
    }
    if name.len() == flag.len() {
        // Not a dashed flag: `cfg:server.http_port` alone or `…=value`.
        return word == name || word.strip_prefix(name).is_some_and(|r| r.starts_with('='));
    }
    let Some(body) = word.strip_prefix('-') else {
        return false;
    };
    if name.chars().count() == 1 && flag.len() == 2 {
        // A short flag: `-p`, `-p80`, `-p=80`, or among short flags `-dp`.
        return !body.starts_with('-')
            && body
                .chars()
                .take_while(char::is_ascii_alphabetic)
                .any(|c| name.starts_with(c));
    }
    let key = body.trim_start_matches('-');
    let key = key.split('=').next().unwrap_or(key);
    key == name
        || (cl.abbreviations && body.starts_with('-') && !key.is_empty() && name.starts_with(key))
}

/// Whether `renderer_owns_access` reports this key (an access option or
/// a listen flag).
pub(super) fn owned_by_renderer(entry: &Entry, leaf: &NixosLeaf) -> bool {
    owned(entry, leaf).is_some() || listen_flag(entry, leaf).is_some()
}

pub(crate) fn renderer_owns_access(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in &fleet.instances {
        for leaf in &i.passthrough {
            if let Some(what) = owned(i.entry, leaf) {
                out.push(owned_error(i, leaf, what));
            } else if let Some(flag) = listen_flag(i.entry, leaf) {
                out.push(flag_error(i, leaf, flag));
            }
        }
    }
}

fn flag_error(i: &Instance, leaf: &NixosLeaf, flag: &str) -> Diagnostic {
    let name = &i.name.value;
    let port = i.port.map_or_else(|| "…".to_string(), |p| p.to_string());
    Diagnostic::error(
        "owned-option",
        format!(
            "`{}` of `{name}` passes `{flag}`, which moves where it listens; homelab decides that",
            leaf.key
        ),
    )
    .at(
        leaf.span.clone(),
        "a listen flag: it sets the address or port, or the file that holds them",
    )
    .help(format!(
        "remove `{flag}`: set `port = {port}` in `[services.{name}]` to move its port, and `exposure = \"lan\"` (or `tailnet`, `public`) for who reaches it"
    ))
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
            parts: key.split('.').map(|p| (p.to_string(), 0..0)).collect(),
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

    fn value(key: &str, value: &str) -> NixosLeaf {
        leaf(key, toml::Value::String(value.into()))
    }

    fn flag_of(entry: &str, key: &str, v: &str) -> Option<String> {
        let e = crate::catalog::get(entry).unwrap();
        listen_flag(e, &value(key, v)).map(str::to_string)
    }

    #[test]
    fn listen_flags_are_found_in_every_form_a_program_reads() {
        let vm = |v: &str| flag_of("victoriametrics", "extraOptions", v);
        for v in [
            "-httpListenAddr=0.0.0.0:8428",
            "--httpListenAddr=0.0.0.0:8428",
            "-httpListenAddr",
            "'-httpListenAddr'=:8428",
            "-loggerLevel=WARN -graphiteListenAddr=:2003",
        ] {
            assert!(vm(v).is_some(), "{v}");
        }
        for v in [
            "-loggerLevel=WARN",
            "-httpListenAddr.useProxyProtocol",
            "0.0.0.0:8428",
            "httpListenAddr",
        ] {
            assert_eq!(vm(v), None, "{v}");
        }
        // Strings the module splices into its command line, inside a word.
        assert_eq!(
            flag_of(
                "prometheus",
                "retentionTime",
                "15d --web.listen-address=:9090"
            )
            .as_deref(),
            Some("--web.listen-address")
        );
        assert_eq!(
            flag_of(
                "prometheus",
                "webExternalUrl",
                "https://x/;--web.listen-address :9090"
            )
            .as_deref(),
            Some("--web.listen-address")
        );
        assert_eq!(
            flag_of("prometheus", "extraFlags", "--web.external-url=x"),
            None
        );
        // Only the options the module puts on the command line.
        assert_eq!(
            flag_of("prometheus", "ruleFiles", "--web.listen-address"),
            None
        );
        assert_eq!(
            flag_of(
                "mealie",
                "settings.GUNICORN_CMD_ARGS",
                "--workers 2 --bind 0.0.0.0:9000"
            )
            .as_deref(),
            Some("--bind")
        );
        assert_eq!(
            flag_of("mealie", "settings.OTHER", "--bind 0.0.0.0:9000"),
            None
        );
    }

    #[test]
    fn short_flags_abbreviations_and_bare_settings() {
        // Short flags: alone, with the value attached, among other short flags.
        for v in ["-p", "-p3000", "-p=3000"] {
            assert_eq!(
                flag_of("adguardhome", "extraArgs", v).as_deref(),
                Some("-p"),
                "{v}"
            );
        }
        assert_eq!(
            flag_of("home-assistant", "extraArgs", "-vc").as_deref(),
            Some("-c")
        );
        assert_eq!(flag_of("home-assistant", "extraArgs", "-v"), None);
        assert_eq!(
            flag_of("enclosed", "extraOptions", "-dp").as_deref(),
            Some("-p")
        );
        assert_eq!(
            flag_of("enclosed", "extraOptions", "--network-alias=notes"),
            None
        );
        assert_eq!(
            flag_of("enclosed", "extraOptions", "--net=host").as_deref(),
            Some("--net")
        );
        // argparse takes a unique prefix; Radicale turns that off.
        assert_eq!(
            flag_of("home-assistant", "extraArgs", "--conf=/x").as_deref(),
            Some("--config")
        );
        assert_eq!(flag_of("radicale", "extraArgs", "--conf=/x"), None);
        assert_eq!(
            flag_of("radicale", "extraArgs", "--config=/x").as_deref(),
            Some("--config")
        );
        assert_eq!(flag_of("home-assistant", "extraArgs", "--"), None);
        // Grafana's settings overrides carry no dashes.
        assert_eq!(
            flag_of(
                "grafana",
                "dataDir",
                "/var/lib/grafana cfg:server.http_addr=0.0.0.0"
            )
            .as_deref(),
            Some("cfg:server.http_addr")
        );
        assert_eq!(
            flag_of("grafana", "dataDir", "/var/lib/grafana cfg:server.domain=x"),
            None
        );
    }

    #[test]
    fn options_turned_into_listen_flags_are_owned_and_flags_found_in_mixed_lists() {
        let enclosed = crate::catalog::get("enclosed").unwrap();
        assert_eq!(
            owned(enclosed, &value("networks", "host")),
            Some(Owned::Bind)
        );
        // Alloy's `extraFlags` holds its listen flag among others: the
        // list is not owned, the flag is found.
        let alloy = crate::catalog::get("alloy").unwrap();
        let extra = value("extraFlags", "--stability.level=experimental");
        assert_eq!(listen_flag(alloy, &extra), None);
        assert_eq!(
            listen_flag(
                alloy,
                &value("extraFlags", "--server.http.listen-addr=0.0.0.0:12345")
            ),
            Some("--server.http.listen-addr")
        );
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
