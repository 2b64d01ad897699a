//! Turns a catalog entry's `[nixos]` tree into Nix values for one instance.
//!
//! Strings may contain placeholders written `@name@` or `@name:arg@` (the
//! substitution style nixpkgs uses, chosen because service configuration
//! languages such as Alloy's and Caddy's use braces themselves):
//!
//! | placeholder          | becomes                                           |
//! |----------------------|---------------------------------------------------|
//! | `@port@`             | the instance port (an integer when alone)         |
//! | `@address@`          | the bind address: `127.0.0.1`, or the host's LAN address when other hosts reach the instance |
//! | `@proxy@`            | where the front proxy's requests come from (`127.0.0.1` on its own host) |
//! | `@fqdn@`, `@url@`    | the instance's canonical name (the public one when it has one) and its `https://` URL |
//! | `@fqdns@`            | all of its names, canonical first, comma-separated |
//! | `@data:<state>@`     | the path of one of the entry's state directories  |
//! | `@secret:<slot>@`    | the agenix secret's path, `config.age.secrets.…path` (interpolated inside text) |
//! | `@db@`               | the database (and role) name                      |
//! | `@endpoint:<entry>@` | `http://host:port` of the fleet's instance of an entry |
//! | `@hostport:<entry>@` | `host:port` of that instance (`mqtt://@hostport:mosquitto@`) |
//! | `@port:text@`        | the instance port, always as a string             |
//! | `@device:<kind>@`    | the host's path of a serial device (`zigbee`, `zwave`) |
//! | `@timezone@`, `@admin_email@`, `@domain@`, `@internal_domain@`, `@hostname@`, `@instance@` | homelab facts |
//!
//! A table `{ nix = "…" }` is a raw Nix expression, for the few settings that
//! must be code (`pkgs.…`). Only the embedded catalog can write one.

use crate::nix::{Attrs, Nix};
use std::collections::BTreeMap;

/// The values placeholders stand for, for one instance.
#[derive(Debug, Default, Clone)]
pub(crate) struct Placeholders {
    pub(crate) simple: BTreeMap<&'static str, String>,
    pub port: Option<u16>,
    pub data: BTreeMap<String, String>,
    /// Slot name to agenix secret name.
    pub secrets: BTreeMap<String, String>,
    /// Entry name to `http://address:port`.
    pub endpoints: BTreeMap<String, String>,
    /// Device kind (`zigbee`, `zwave`) to the host's path for it.
    pub devices: BTreeMap<String, String>,
}

/// Expands a catalog `[nixos]` table. Errors name the bad placeholder; they
/// mean the catalog (or a missing dependency) is wrong.
pub(crate) fn expand(table: &toml::Table, p: &Placeholders) -> Result<Attrs, String> {
    let mut out = Attrs::new();
    for (k, v) in table {
        out.insert(k.clone(), value(v, p)?);
    }
    Ok(out)
}

fn value(v: &toml::Value, p: &Placeholders) -> Result<Nix, String> {
    Ok(match v {
        toml::Value::String(s) => string(s, p)?,
        toml::Value::Integer(i) => Nix::Int(*i),
        toml::Value::Float(f) => Nix::Float(*f),
        toml::Value::Boolean(b) => Nix::Bool(*b),
        toml::Value::Datetime(d) => Nix::Str(d.to_string()),
        toml::Value::Array(items) => Nix::List(
            items
                .iter()
                .map(|i| value(i, p))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(t) => match (t.len(), t.get("nix")) {
            (1, Some(toml::Value::String(code))) => Nix::Raw(code.clone()),
            _ => Nix::Attrs(expand(t, p)?),
        },
    })
}

/// Expands one string; a string that is exactly one placeholder may become
/// a non-string value (`@port@` an integer, `@secret:x@` an expression).
fn string(s: &str, p: &Placeholders) -> Result<Nix, String> {
    let whole =
        s.len() > 2 && s.starts_with('@') && s.ends_with('@') && !s[1..s.len() - 1].contains('@');
    if whole {
        let name = &s[1..s.len() - 1];
        if name == "port" {
            return p
                .port
                .map(Nix::from)
                .ok_or_else(|| "`@port@` in an entry without a port".to_string());
        }
        if let Some(slot) = name.strip_prefix("secret:") {
            return Ok(secret_path(secret_name(p, slot)?));
        }
    }
    let mut parts = Vec::new();
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find('@') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('@') else { break };
        let name = &after[..end];
        if !is_placeholder_name(name) {
            out.push_str(&rest[..=start]);
            rest = after;
            continue;
        }
        out.push_str(&rest[..start]);
        match name.strip_prefix("secret:") {
            // The decrypted file's path goes in as the agenix option, so
            // a changed `age.secretsDir` still holds.
            Some(slot) => {
                parts.push(Nix::Str(std::mem::take(&mut out)));
                parts.push(secret_path(secret_name(p, slot)?));
            }
            None => out.push_str(&lookup(name, p)?),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if parts.is_empty() {
        return Ok(Nix::Str(out));
    }
    parts.push(Nix::Str(out));
    parts.retain(|p| !matches!(p, Nix::Str(s) if s.is_empty()));
    Ok(Nix::Interp(parts))
}

fn secret_path(secret: &str) -> Nix {
    Nix::age_secret_path(secret)
}

fn is_placeholder_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-'))
}

fn secret_name<'a>(p: &'a Placeholders, slot: &str) -> Result<&'a str, String> {
    p.secrets
        .get(slot)
        .map(String::as_str)
        .ok_or_else(|| format!("`@secret:{slot}@` names no secret slot of the entry"))
}

fn lookup(name: &str, p: &Placeholders) -> Result<String, String> {
    if name == "port" {
        return p
            .port
            .map(|v| v.to_string())
            .ok_or_else(|| "`@port@` in an entry without a port".into());
    }
    if name == "port:text" {
        // The port as a string, for settings typed as text (environment).
        return lookup("port", p);
    }
    if let Some(kind) = name.strip_prefix("device:") {
        return p
            .devices
            .get(kind)
            .cloned()
            .ok_or_else(|| format!("`@{name}@`: the host gives no `{kind}` device path"));
    }
    if let Some(state) = name.strip_prefix("data:") {
        return p
            .data
            .get(state)
            .cloned()
            .ok_or_else(|| format!("`@{name}@` names no state directory"));
    }
    if let Some(entry) = name.strip_prefix("hostport:") {
        // `address:port` of the endpoint, for URLs of other schemes.
        return lookup(&format!("endpoint:{entry}"), p)
            .map(|e| e.trim_start_matches("http://").to_string());
    }
    if let Some(entry) = name.strip_prefix("endpoint:") {
        return p.endpoints.get(entry).cloned().ok_or_else(|| {
            format!("`@{name}@`: the fleet has no `{entry}` (add it as a dependency)")
        });
    }
    p.simple
        .get(name)
        .cloned()
        .ok_or_else(|| format!("unknown placeholder `@{name}@`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ph() -> Placeholders {
        let mut p = Placeholders {
            port: Some(3001),
            ..Default::default()
        };
        p.simple.insert("address", "127.0.0.1".into());
        p.secrets.insert("admin".into(), "grafana-admin".into());
        p.endpoints
            .insert("loki".into(), "http://127.0.0.1:3100".into());
        p
    }

    #[test]
    fn whole_placeholders_keep_their_type() {
        let t: toml::Table =
            toml::from_str("a = '@port@'\nb = '@secret:admin@'\nc = 'x @address@:@port@'").unwrap();
        let out = expand(&t, &ph()).unwrap();
        assert_eq!(out["a"], Nix::Int(3001));
        // A selection node, not text: the name inside is escaped data.
        assert_eq!(out["b"], Nix::age_secret_path("grafana-admin"));
        assert_eq!(
            crate::nix::print(&out["b"]),
            "config.age.secrets.grafana-admin.path\n"
        );
        assert_eq!(out["c"], Nix::str("x 127.0.0.1:3001"));
    }

    #[test]
    fn secrets_inside_text_are_interpolated_not_spelled_out() {
        let t: toml::Table = toml::from_str("a = '$__file{@secret:admin@}'").unwrap();
        let out = expand(&t, &ph()).unwrap();
        assert_eq!(
            out["a"],
            Nix::Interp(vec![
                Nix::str("$__file{"),
                Nix::age_secret_path("grafana-admin"),
                Nix::str("}"),
            ])
        );
        assert_eq!(
            crate::nix::print(&out["a"]),
            "\"$__file{${config.age.secrets.grafana-admin.path}}\"\n"
        );
    }

    #[test]
    fn text_with_at_signs_is_left_alone() {
        let t: toml::Table =
            toml::from_str("a = 'mail me@x.org @ home'\nb = '@endpoint:loki@/push'").unwrap();
        let out = expand(&t, &ph()).unwrap();
        assert_eq!(out["a"], Nix::str("mail me@x.org @ home"));
        assert_eq!(out["b"], Nix::str("http://127.0.0.1:3100/push"));
        let t: toml::Table = toml::from_str("c = 'mqtt://@hostport:loki@'").unwrap();
        assert_eq!(
            expand(&t, &ph()).unwrap()["c"],
            Nix::str("mqtt://127.0.0.1:3100")
        );
    }

    #[test]
    fn text_ports_and_device_paths_expand() {
        let mut p = ph();
        p.devices
            .insert("zigbee".into(), "/dev/serial/by-id/usb-x".into());
        let t: toml::Table = toml::from_str("a = '@port:text@'\nb = '@device:zigbee@'").unwrap();
        let out = expand(&t, &p).unwrap();
        assert_eq!(out["a"], Nix::str("3001"));
        assert_eq!(out["b"], Nix::str("/dev/serial/by-id/usb-x"));
        let t: toml::Table = toml::from_str("c = '@device:zwave@'").unwrap();
        assert!(expand(&t, &p).unwrap_err().contains("zwave"));
    }

    #[test]
    fn unknown_placeholders_are_errors() {
        let t: toml::Table = toml::from_str("a = '@nope@'").unwrap();
        assert!(expand(&t, &ph()).unwrap_err().contains("@nope@"));
    }
}
