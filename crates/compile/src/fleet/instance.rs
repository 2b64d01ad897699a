//! One service instance from its spec table, catalog entry and host: its
//! port, exposure and names, data directories, NFS mounts, database,
//! secrets, its wiring to other hosts, and the module settings its catalog
//! entry expands to.

use super::data;
use super::model::*;
use super::passthrough::pass_through;
use super::wiring::Wire;
use crate::catalog::{self, Entry, Placeholders};
use crate::diagnostic::Diagnostic;
use crate::nix::Attrs;
use crate::spec::{Exposure, Homelab, Host, ServiceSpec, Sp, Spec};
use std::collections::BTreeMap;

/// The port the service listens on: the spec's, else the catalog's.
pub(super) fn port_of(s: &ServiceSpec, e: &Entry) -> Option<u16> {
    s.port.as_ref().map(|p| p.value as u16).or(e.port)
}

/// How an instance meets the rest of the fleet, worked out by the passes
/// before it.
pub(super) struct Wiring<'w> {
    /// Where it listens and which hosts reach it.
    pub wire: &'w Wire,
    /// Where the front proxy's requests come from (`@proxy@`).
    pub proxy: String,
    /// `@endpoint:<entry>@` for every entry with a port.
    pub endpoints: &'w BTreeMap<String, String>,
}

/// Builds the instance, or reports everything wrong with it.
pub(super) fn build(
    spec: &Spec,
    s: &ServiceSpec,
    entry: &'static Entry,
    host: &Host,
    wiring: &Wiring,
) -> Result<Instance, Vec<Diagnostic>> {
    let mut diags: Vec<Diagnostic> = port_problem(s, entry).into_iter().collect();
    let vpn_off = vpn_off(s, entry).unwrap_or_else(|d| {
        diags.push(d);
        None
    });
    let names = Names::of(&spec.homelab, s, entry);
    diags.extend(not_proxied(entry, &names.exposure));
    let data = data::dirs(s, entry, host, &mut diags);
    let nfs = super::nfs::mounts(s, &spec.external, &mut diags);
    let mut instance = Instance {
        host_span: s
            .host
            .as_ref()
            .map_or(s.name.span.clone(), |h| h.span.clone()),
        port_span: s
            .port
            .as_ref()
            .map_or(s.name.span.clone(), |p| p.span.clone()),
        name: s.name.clone(),
        entry,
        host: host.name.value.clone(),
        port: port_of(s, entry),
        exposure: names.exposure,
        fqdn: names.fqdn,
        public_fqdn: names.public_fqdn,
        data,
        database: database_name(s, entry),
        secrets: secret_names(s, entry),
        nixos: Attrs::new(),
        passthrough: s.nixos_leaves.clone(),
        exposure_reason: s.exposure_reason.clone(),
        vpn_off,
        silence: s.silence.clone(),
        address: wiring.wire.address.clone(),
        bind: wiring.wire.bind.clone(),
        peers: wiring.wire.peers.clone(),
        nfs,
        groups: s.groups.clone(),
    };
    let placeholders = placeholders(&spec.homelab, host, &instance, wiring);
    let unconfined = instance
        .vpn_off
        .as_ref()
        .and(entry.unconfined.as_ref())
        .map(|u| &u.nixos);
    instance.nixos = module_settings(s, entry, unconfined, &placeholders, &mut diags);
    if diags.is_empty() {
        Ok(instance)
    } else {
        Err(diags)
    }
}

/// A `port` the service cannot take: its module fixes the port, or it
/// listens on none.
fn port_problem(s: &ServiceSpec, entry: &Entry) -> Option<Diagnostic> {
    let p = s.port.as_ref()?;
    if entry.port_fixed && entry.port != Some(p.value as u16) {
        Some(
            Diagnostic::error(
                "fixed-port",
                format!("{} cannot listen on another port", entry.title),
            )
            .at(
                p.span.clone(),
                format!(
                    "the NixOS module fixes the port at {}",
                    entry.port.unwrap_or(0)
                ),
            )
            .help("remove `port`; the proxy reaches the service on its own port"),
        )
    } else if entry.port.is_none() {
        Some(
            Diagnostic::error("no-port", format!("{} has no port to set", entry.title))
                .at(p.span.clone(), "this service does not listen on a port")
                .help("remove `port`"),
        )
    } else {
        None
    }
}

/// Whether the placed service runs in the VPN namespace: its entry
/// confines it, and the spec did not say `vpn = false`.
pub(super) fn confined(s: &ServiceSpec, e: &Entry) -> bool {
    e.vpn && s.vpn.as_ref().is_none_or(|v| v.value)
}

/// `vpn = false` (with its reason, which the spec reader requires) on an
/// entry that can run outside the VPN; `vpn` on any other is refused.
fn vpn_off(s: &ServiceSpec, entry: &Entry) -> Result<Option<VpnOff>, Diagnostic> {
    let Some(vpn) = &s.vpn else { return Ok(None) };
    let refuse = |message: String, why: String, help: &str| {
        Diagnostic::error("vpn-not-optional", message)
            .at(vpn.span.clone(), why)
            .help(help)
    };
    if !entry.vpn {
        return Err(refuse(
            format!(
                "`{}` never runs in the VPN: `vpn` chooses nothing",
                s.name.value
            ),
            format!("{} is not a torrent client", entry.title),
            "remove `vpn`: only the torrent clients run in the VPN namespace",
        ));
    }
    if entry.unconfined.is_none() && !vpn.value {
        return Err(refuse(
            format!("`{}` runs only inside the VPN", s.name.value),
            format!(
                "outside the namespace {} would listen on every address of the host: its module has no address option",
                entry.title
            ),
            "remove `vpn = false`, or use a client that can run outside the VPN (qBittorrent)",
        ));
    }
    Ok(s.vpn_reason
        .as_ref()
        .filter(|_| !vpn.value)
        .map(|reason| VpnOff {
            at: vpn.span.clone(),
            reason: reason.clone(),
        }))
}

/// Who can reach the service, and under which names. Defaults point at
/// the instance name, where the catalog's value applies.
#[derive(Debug)]
struct Names {
    exposure: Sp<Exposure>,
    /// LAN/tailnet name, when the proxy serves it.
    fqdn: Option<Sp<String>>,
    /// Internet name, when it is public.
    public_fqdn: Option<Sp<String>>,
}

impl Names {
    fn of(homelab: &Homelab, s: &ServiceSpec, entry: &Entry) -> Names {
        let exposure = s
            .exposure
            .clone()
            .unwrap_or_else(|| Sp::new(entry.default_exposure, s.name.span.clone()));
        let subdomain = s.subdomain.clone().unwrap_or_else(|| {
            Sp::new(
                entry
                    .subdomain
                    .clone()
                    .unwrap_or_else(|| s.name.value.clone()),
                s.name.span.clone(),
            )
        });
        let under = |zone: &Sp<String>| {
            let name = if subdomain.value.is_empty() {
                zone.value.clone()
            } else {
                format!("{}.{}", subdomain.value, zone.value)
            };
            Sp::new(name, subdomain.span.clone())
        };
        let served = entry.proxied && exposure.value >= Exposure::Lan;
        let public = entry.proxied && exposure.value == Exposure::Public;
        Names {
            fqdn: served.then(|| under(&homelab.internal_domain)),
            public_fqdn: public.then(|| under(&homelab.domain)),
            exposure,
        }
    }
}

/// An exposure wider than `host` for a service without a web interface.
fn not_proxied(entry: &Entry, exposure: &Sp<Exposure>) -> Option<Diagnostic> {
    (!entry.proxied && exposure.value > Exposure::Host).then(|| {
        Diagnostic::error(
            "not-proxied",
            format!("{} has no web interface to expose", entry.title),
        )
        .at(
            exposure.span.clone(),
            format!("`{}` needs a web interface", exposure.value.as_str()),
        )
        .help("use `exposure = \"host\"`")
    })
}

/// The PostgreSQL database (and role): the catalog's name, else the
/// instance name with `_` for `-`.
fn database_name(s: &ServiceSpec, entry: &Entry) -> Option<String> {
    entry.database.as_ref().map(|db| {
        db.name
            .clone()
            .unwrap_or_else(|| s.name.value.replace('-', "_"))
    })
}

/// Each secret slot of the entry, named `<instance>-<slot>`.
fn secret_names(s: &ServiceSpec, entry: &Entry) -> BTreeMap<String, String> {
    entry
        .secrets
        .iter()
        .map(|slot| (slot.name.clone(), format!("{}-{}", s.name.value, slot.name)))
        .collect()
}

/// The values the catalog's `@…@` placeholders stand for. A service
/// without a name is reached at the address it binds to.
fn placeholders(homelab: &Homelab, host: &Host, i: &Instance, wiring: &Wiring) -> Placeholders {
    let url = i
        .url()
        .unwrap_or_else(|| format!("http://{}:{}", i.address, i.port.unwrap_or(80)));
    // One canonical name, the same one `@url@` holds: the public name when
    // there is one.
    let fqdn = i
        .public_fqdn
        .as_ref()
        .or(i.fqdn.as_ref())
        .map_or(i.address.clone(), |f| f.value.clone());
    let fqdns = if i.public_fqdn.is_none() && i.fqdn.is_none() {
        i.address.clone()
    } else {
        i.public_fqdn
            .iter()
            .chain(i.fqdn.iter())
            .map(|f| f.value.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let simple = [
        ("address", i.bind.clone()),
        // Where the front proxy's requests come from, for the services
        // that trust its forwarded headers.
        ("proxy", wiring.proxy.clone()),
        ("fqdn", fqdn),
        ("fqdns", fqdns),
        ("url", url),
        ("db", i.database.clone().unwrap_or_default()),
        ("timezone", homelab.timezone.value.clone()),
        ("admin_email", homelab.admin_email.value.clone()),
        ("domain", homelab.domain.value.clone()),
        ("internal_domain", homelab.internal_domain.value.clone()),
        ("hostname", i.host.clone()),
        ("instance", i.name.value.clone()),
    ];
    Placeholders {
        simple: simple.into_iter().collect(),
        port: i.port,
        data: i
            .data
            .iter()
            .map(|d| (d.state.clone(), d.path.clone()))
            .collect(),
        secrets: i.secrets.clone(),
        endpoints: wiring.endpoints.clone(),
        devices: device_paths(i.entry, host),
    }
}

/// The serial paths an entry's settings name (`@device:zigbee@`). A device
/// the host lacks gets a path that names the gap; `missing-hardware`
/// (an error that cannot be silenced) stops such a spec before it builds.
fn device_paths(entry: &Entry, host: &Host) -> BTreeMap<String, String> {
    entry
        .hardware
        .iter()
        .map(|kind| {
            let path = host
                .device_path(kind)
                .map_or_else(|| format!("/dev/missing-{kind}"), str::to_string);
            (kind.clone(), path)
        })
        .collect()
}

/// The entry's `[nixos]` expanded, with the spec's pass-through merged
/// below the module. A template that cannot be filled is a catalog defect
/// (or follows from a missing dependency).
fn module_settings(
    s: &ServiceSpec,
    entry: &Entry,
    unconfined: Option<&toml::Table>,
    placeholders: &Placeholders,
    diags: &mut Vec<Diagnostic>,
) -> Attrs {
    let mut table = entry.nixos.clone();
    if let Some(extra) = unconfined {
        merge_tables(&mut table, extra);
    }
    let mut nixos = catalog::expand(&table, placeholders).unwrap_or_else(|e| {
        diags.push(
            Diagnostic::error(
                "catalog",
                format!("cannot configure `{}`: {e}", s.name.value),
            )
            .at(s.name.span.clone(), "while configuring this service"),
        );
        Attrs::new()
    });
    if let Some(extra) = &s.nixos {
        pass_through(&mut nixos, entry, extra, diags);
    }
    nixos
}

/// `extra` merged into `base`, table by table (the later value wins).
fn merge_tables(base: &mut toml::Table, extra: &toml::Table) {
    for (k, v) in extra {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(e)) => merge_tables(b, e),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::testing::{self, found, pos};
    use crate::nix::Nix;

    fn loopback() -> Wire {
        Wire {
            address: BIND_ADDRESS.to_string(),
            bind: BIND_ADDRESS.to_string(),
            peers: Vec::new(),
        }
    }

    fn wiring<'w>(wire: &'w Wire, endpoints: &'w BTreeMap<String, String>) -> Wiring<'w> {
        Wiring {
            wire,
            proxy: BIND_ADDRESS.to_string(),
            endpoints,
        }
    }

    fn build_wired(spec: &Spec, wire: &Wire) -> Result<Instance, Vec<Diagnostic>> {
        let s = &spec.services[0];
        let entry = catalog::get(&s.service.value).unwrap();
        let host = spec
            .hosts
            .iter()
            .find(|h| Some(&h.name.value) == s.host.as_ref().map(|h| &h.value))
            .unwrap();
        let endpoints = BTreeMap::from([(
            "victoriametrics".to_string(),
            "http://127.0.0.1:8428".to_string(),
        )]);
        build(spec, s, entry, host, &wiring(wire, &endpoints))
    }

    fn build_first(spec: &Spec) -> Result<Instance, Vec<Diagnostic>> {
        build_wired(spec, &loopback())
    }

    #[test]
    fn a_port_on_a_fixed_port_service_points_at_the_port() {
        let (text, spec) = testing::spec("[services.homepage]\nhost = \"server\"\nport = 9999\n");
        let s = &spec.services[0];
        let fixed = Entry {
            port_fixed: true,
            ..catalog::get("homepage").unwrap().clone()
        };
        let d = port_problem(s, &fixed).unwrap();
        assert_eq!(found(&text, &[d]), ["fixed-port@22:8"]);
        let portless = Entry {
            port: None,
            port_fixed: false,
            ..fixed.clone()
        };
        assert_eq!(port_problem(s, &portless).unwrap().code, "no-port");
        let movable = catalog::get("homepage").unwrap();
        assert!(port_problem(s, movable).is_none());
    }

    #[test]
    fn names_follow_the_exposure() {
        let (text, spec) = testing::spec(
            "[services.homepage]\nhost = \"server\"\nexposure = \"public\"\nexposure_reason = \"the family page\"\nsubdomain = \"start\"\n",
        );
        let s = &spec.services[0];
        let names = Names::of(&spec.homelab, s, catalog::get("homepage").unwrap());
        assert_eq!(names.exposure.value, Exposure::Public);
        assert_eq!(names.fqdn.as_ref().unwrap().value, "start.home.example.org");
        assert_eq!(
            names.public_fqdn.as_ref().unwrap().value,
            "start.example.org"
        );
        assert_eq!(pos(&text, &names.fqdn.unwrap().span), "24:13");

        let (text, spec) = testing::spec("[services.grafana]\nhost = \"server\"\n");
        let names = Names::of(
            &spec.homelab,
            &spec.services[0],
            catalog::get("grafana").unwrap(),
        );
        assert_eq!(
            names.fqdn.as_ref().unwrap().value,
            "grafana.home.example.org"
        );
        assert!(names.public_fqdn.is_none());
        // The default exposure points at the instance name.
        assert_eq!(pos(&text, &names.exposure.span), "20:11");
    }

    #[test]
    fn a_service_without_web_interface_cannot_be_served() {
        let (text, spec) = testing::spec(
            "[services.victoriametrics]\nhost = \"server\"\nexposure = \"tailnet\"\n",
        );
        let entry = Entry {
            proxied: false,
            ..catalog::get("victoriametrics").unwrap().clone()
        };
        let names = Names::of(&spec.homelab, &spec.services[0], &entry);
        assert!(names.fqdn.is_none());
        let d = not_proxied(&entry, &names.exposure).unwrap();
        assert_eq!(found(&text, &[d]), ["not-proxied@22:12"]);
    }

    #[test]
    fn an_instance_gets_its_database_secrets_and_module_settings() {
        let (_, spec) = testing::spec("[services.grafana]\nhost = \"server\"\n");
        let i = build_first(&spec).unwrap();
        assert_eq!(i.port, Some(3000));
        assert_eq!(i.host, "server");
        assert_eq!(
            i.secrets.keys().map(String::as_str).collect::<Vec<_>>(),
            ["admin-password", "secret-key"]
        );
        assert_eq!(i.secrets["admin-password"], "grafana-admin-password");
        let Some(Nix::Attrs(services)) = i.nixos.get("services") else {
            panic!("grafana configures services.*: {:?}", i.nixos)
        };
        assert!(services.contains_key("grafana"));
    }

    #[test]
    fn the_placeholders_of_an_instance() {
        let (_, spec) = testing::spec("[services.grafana]\nhost = \"server\"\n");
        let i = build_first(&spec).unwrap();
        let (wire, none) = (loopback(), BTreeMap::new());
        let p = placeholders(&spec.homelab, &spec.hosts[0], &i, &wiring(&wire, &none));
        assert_eq!(p.simple["url"], "https://grafana.home.example.org");
        assert_eq!(p.simple["fqdn"], "grafana.home.example.org");
        assert_eq!(p.simple["hostname"], "server");
        assert_eq!(p.port, Some(3000));
        assert_eq!(p.data["data"], "/var/lib/grafana");
    }

    #[test]
    fn a_host_only_service_is_reached_on_loopback() {
        let (_, spec) =
            testing::spec("[services.victoriametrics]\nhost = \"server\"\nexposure = \"host\"\n");
        let i = build_first(&spec).unwrap();
        let (wire, none) = (loopback(), BTreeMap::new());
        let p = placeholders(&spec.homelab, &spec.hosts[0], &i, &wiring(&wire, &none));
        assert_eq!(p.simple["url"], "http://127.0.0.1:8428");
        assert_eq!(p.simple["fqdn"], "127.0.0.1");
        assert_eq!(p.simple["address"], "127.0.0.1");
        assert_eq!(p.simple["proxy"], "127.0.0.1");
    }

    #[test]
    fn a_service_another_host_reaches_binds_to_its_lan_address() {
        let (_, spec) =
            testing::spec("[services.victoriametrics]\nhost = \"nas\"\nexposure = \"host\"\n");
        let wire = Wire {
            address: "192.168.1.20".to_string(),
            bind: "192.168.1.20".to_string(),
            peers: vec![crate::fleet::Peer {
                host: "server".to_string(),
                address: "192.168.1.10".to_string(),
            }],
        };
        let i = build_wired(&spec, &wire).unwrap();
        assert_eq!(i.address, "192.168.1.20");
        assert_eq!(i.peers, wire.peers);
        assert_eq!(
            i.local_endpoint().as_deref(),
            Some("http://192.168.1.20:8428")
        );
        let none = BTreeMap::new();
        let from_server = Wiring {
            wire: &wire,
            proxy: "192.168.1.10".to_string(),
            endpoints: &none,
        };
        let p = placeholders(&spec.homelab, &spec.hosts[1], &i, &from_server);
        assert_eq!(p.simple["address"], "192.168.1.20");
        assert_eq!(p.simple["url"], "http://192.168.1.20:8428");
        assert_eq!(p.simple["fqdns"], "192.168.1.20");
        assert_eq!(p.simple["proxy"], "192.168.1.10");
    }

    #[test]
    fn database_names_default_to_the_instance() {
        let (_, spec) = testing::spec("[services.homepage]\nhost = \"server\"\n");
        let s = &spec.services[0];
        let mut entry = catalog::get("nextcloud").unwrap().clone();
        entry.database.as_mut().unwrap().name = None;
        let s = ServiceSpec {
            name: Sp::new("my-cloud".into(), s.name.span.clone()),
            ..s.clone()
        };
        assert_eq!(database_name(&s, &entry).as_deref(), Some("my_cloud"));
        assert_eq!(database_name(&s, catalog::get("homepage").unwrap()), None);
    }
}
