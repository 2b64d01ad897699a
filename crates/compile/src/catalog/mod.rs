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
pub(crate) use template::{Placeholders, expand};

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
pub(crate) fn service_names() -> Vec<&'static str> {
    catalog()
        .iter()
        .filter(|(_, e)| e.kind == Kind::Service)
        .map(|(n, _)| n.as_str())
        .collect()
}

/// Every role a catalog service provides (`mqtt-broker`), once each.
pub(crate) fn roles() -> impl Iterator<Item = &'static str> {
    let mut roles: Vec<&'static str> = catalog()
        .values()
        .flat_map(|e| e.provides.iter().map(String::as_str))
        .collect();
    roles.sort_unstable();
    roles.dedup();
    roles.into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

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
            if e.dynamic_user {
                assert!(e.user.is_none(), "{name}: a dynamic user has no name");
            }
            for st in &e.state {
                assert_eq!(
                    st.path.starts_with(PRIVATE_STATE_ROOT),
                    e.dynamic_user,
                    "{name}: state {} belongs below /var/lib/private exactly when the service has a dynamic user",
                    st.name
                );
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
            if let Some(alias) = &e.alias_option {
                assert!(
                    alias.starts_with(&format!("{}.", e.module)),
                    "{name}: alias_option {alias} is not below its module"
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

    /// A derived secret names a slot of its own entry, and a secret kept
    /// only by the admin is never handed to the module.
    #[test]
    fn secret_generators_name_their_sources() {
        for (name, e) in catalog() {
            for slot in &e.secrets {
                if let Some(Generator::Argon2 { from, template }) = &slot.generate {
                    assert!(
                        e.secrets
                            .iter()
                            .any(|s| &s.name == from && s.generate.is_some()),
                        "{name}: {} derives from `{from}`, not a machine-made slot",
                        slot.name
                    );
                    assert!(template.contains("@hash@"), "{name}: {}", slot.name);
                }
                if let Some(Generator::Copy { from, template }) = &slot.generate {
                    assert!(
                        e.secrets
                            .iter()
                            .any(|s| &s.name == from && s.generate.is_some()),
                        "{name}: {} copies `{from}`, not a machine-made slot",
                        slot.name
                    );
                    assert!(template.contains("@value@"), "{name}: {}", slot.name);
                }
                if let Some(Generator::Random { length, .. }) = &slot.generate {
                    assert!(*length >= 16, "{name}: {} is too short", slot.name);
                }
                let used = toml::to_string(&e.nixos)
                    .unwrap()
                    .contains(&format!("@secret:{}@", slot.name));
                if !slot.on_host {
                    assert!(
                        !used,
                        "{name}: admin-only {} is used on the host",
                        slot.name
                    );
                    assert!(slot.units.is_empty(), "{name}: {}", slot.name);
                }
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
            // What it depends on, and whatever fills a role it needs.
            endpoints: catalog()
                .values()
                .filter(|o| {
                    e.depends.contains(&o.name) || o.provides.iter().any(|r| e.needs.contains(r))
                })
                .filter_map(|o| Some((o.name.clone(), format!("http://127.0.0.1:{}", o.port?))))
                .collect(),
            devices: e
                .hardware
                .iter()
                .map(|k| (k.clone(), format!("/dev/serial/by-id/usb-{k}")))
                .collect(),
            ..Default::default()
        };
        let fqdn = format!("{}.home.example.org", e.name);
        for (k, v) in [
            ("address", "127.0.0.1".to_string()),
            ("proxy", "127.0.0.1".to_string()),
            ("url", format!("https://{fqdn}")),
            ("fqdns", fqdn.clone()),
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

    /// Raw Nix is code, never templated: a placeholder in it would reach
    /// the generated file as `@port@`.
    #[test]
    fn raw_nix_holds_no_placeholder() {
        fn walk(name: &str, v: &toml::Value) {
            match v {
                toml::Value::Table(t) => {
                    if let (1, Some(toml::Value::String(code))) = (t.len(), t.get("nix")) {
                        let mut parts = code.split('@');
                        parts.next();
                        let named = parts.step_by(2).any(|p| {
                            !p.is_empty()
                                && p.chars().all(|c| {
                                    c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-')
                                })
                        });
                        assert!(!named, "{name}: a placeholder in raw Nix `{code}`");
                    }
                    t.values().for_each(|v| walk(name, v));
                }
                toml::Value::Array(items) => items.iter().for_each(|v| walk(name, v)),
                _ => {}
            }
        }
        for (name, e) in catalog() {
            walk(name, &toml::Value::Table(e.nixos.clone()));
        }
    }

    #[test]
    fn every_placeholder_names_something_the_entry_has() {
        for (name, e) in catalog() {
            if let Err(err) = expand(&e.nixos, &placeholders(e)) {
                panic!("catalog entry {name}: {err}");
            }
        }
    }

    /// A client's `[oidc]` settings expand with what single sign-on adds,
    /// and its redirect is a path on the service's URL.
    #[test]
    fn every_oidc_block_expands() {
        for (name, e) in catalog() {
            let Some(oidc) = &e.oidc else { continue };
            assert!(oidc.redirect_path.starts_with('/'), "{name}: redirect_path");
            for r in &oidc.extra_redirects {
                assert!(r.starts_with('/') || r.contains(":/"), "{name}: {r}");
            }
            if let Some(t) = &oidc.secret_template {
                let after = t.split_once("@value@").map(|(_, a)| a);
                assert!(
                    matches!(after, Some("" | "\n")),
                    "{name}: secret_template must end in `@value@` (and a newline)"
                );
            }
            // Exactly what `fleet::sso` fills in.
            let mut p = Placeholders::default();
            p.secrets
                .insert("oidc-client-secret".into(), format!("{name}-oidc"));
            p.simple.insert("url", "https://x.home.example.org".into());
            for k in [
                "oidc-issuer",
                "oidc-auth-url",
                "oidc-token-url",
                "oidc-userinfo-url",
                "oidc-client-id",
                "oidc-provider-title",
                "oidc-scopes",
            ] {
                p.simple.insert(k, "x".into());
            }
            if let Err(err) = expand(&oidc.nixos, &p) {
                panic!("catalog entry {name} [oidc]: {err}");
            }
        }
    }

    /// A `[forward_auth]` block holds plain settings: `fleet::sso_gateway`
    /// expands it with no placeholder, and an entry is either an OIDC
    /// client or behind the gateway, never both.
    #[test]
    fn every_forward_auth_block_expands_without_placeholders() {
        for (name, e) in catalog() {
            let Some(gated) = &e.forward_auth else {
                continue;
            };
            assert!(e.oidc.is_none(), "{name}: [oidc] and [forward_auth]");
            assert!(e.proxied, "{name}: the gateway guards proxied names");
            if let Err(err) = expand(&gated.nixos, &Placeholders::default()) {
                panic!("catalog entry {name} [forward_auth]: {err}");
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
            for part in crate::nix::split_path(&e.module) {
                match t.get(&part) {
                    Some(toml::Value::Table(inner)) => t = inner,
                    _ => panic!(
                        "{name}: `[nixos]` does not configure its module `{}`",
                        e.module
                    ),
                }
            }
            // A container is enabled by being declared with its image.
            let enabled = t.get("enable") == Some(&toml::Value::Boolean(true))
                || e.module
                    .starts_with("virtualisation.oci-containers.containers.")
                    && t.contains_key("image");
            assert!(enabled, "{name}: module not enabled");
        }
    }

    /// The status page's tunnel rule passes what the page itself asks for
    /// (Gatus v5.34.0, api/api.go and web/static) and nothing else: not its
    /// metrics, its own health, nor the heartbeats' push. cloudflared
    /// matches the rule with Go's RE2 (`MatchString` on the request path),
    /// whose syntax the `regex` crate shares for what the rule uses.
    #[test]
    fn the_public_status_page_passes_its_page_and_nothing_else() {
        let page = get("gatus").unwrap().public_page.as_ref().unwrap();
        let rule = regex::Regex::new(&page.paths).unwrap();
        for path in [
            "/",
            "/index.html",
            "/endpoints/media_jellyfin",
            "/suites/nightly",
            "/css/app.css",
            "/css/custom.css",
            "/js/app.js",
            "/js/chunk-vendors.js",
            "/img/logo.svg",
            "/favicon.ico",
            "/favicon-32x32.png",
            "/apple-touch-icon.png",
            "/logo-192x192.png",
            "/manifest.json",
            "/api/v1/config",
            "/api/v1/endpoints/statuses",
            "/api/v1/endpoints/media_jellyfin/statuses",
            "/api/v1/suites/statuses",
            "/api/v1/suites/nightly/statuses",
            "/api/v1/endpoints/media_jellyfin/health/badge.svg",
            "/api/v1/endpoints/media_jellyfin/health/badge.shields",
            "/api/v1/endpoints/media_jellyfin/uptimes/7d",
            "/api/v1/endpoints/media_jellyfin/uptimes/7d/badge.svg",
            "/api/v1/endpoints/media_jellyfin/response-times/24h",
            "/api/v1/endpoints/media_jellyfin/response-times/24h/badge.svg",
            "/api/v1/endpoints/media_jellyfin/response-times/24h/chart.svg",
            "/api/v1/endpoints/media_jellyfin/response-times/24h/history",
        ] {
            assert!(rule.is_match(path), "the page needs {path}");
        }
        for path in [
            "/metrics",
            "/health",
            "/api/v1/endpoints/backups_immich-backup/external",
            "/api/v1/endpoints/x/statuses/../external",
            "/metrics/",
            "/x/metrics",
            "/api/v1/endpoints/x/y/statuses",
            "/css/../metrics",
            "//metrics",
        ] {
            assert!(!rule.is_match(path), "the tunnel passes {path}");
        }
    }
}
