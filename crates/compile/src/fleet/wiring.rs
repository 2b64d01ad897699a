//! Services on other hosts: who must reach each instance across the LAN,
//! and so which address it binds to.
//!
//! One front proxy (on the first `main` host) serves every name; one status
//! page, one metrics store and one log store watch every host; a service
//! that needs or wants another (Alloy → Loki, Zigbee2MQTT and Home
//! Assistant → the MQTT broker) reaches it wherever it runs. An instance nobody on another host needs binds to
//! `127.0.0.1` as before; one that is needed binds to its host's LAN
//! address, and the firewall admits exactly those peers on its port.
//! `docs/architecture.md` ("Services on other hosts") says why.

use super::model::BIND_ADDRESS;
use crate::catalog::Entry;
use crate::spec::{Exposure, Host, Role, ServiceSpec, Spec};
use std::collections::{BTreeMap, HashMap};

/// A host that reaches an instance from elsewhere, and its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub host: String,
    pub address: String,
}

/// Where an instance listens and who reaches it from other hosts.
#[derive(Debug, Clone)]
pub(crate) struct Wire {
    /// Where the fleet reaches it: loopback, or its host's LAN address.
    pub address: String,
    /// Where it listens: `address`, or every address when a segment
    /// reaches it too (`fleet/segments.rs`).
    pub bind: String,
    /// Hosts other than its own that connect to it, sorted by name.
    pub peers: Vec<Peer>,
}

/// An instance placed on a host, before it is resolved.
pub(crate) type Placed<'s> = (&'s ServiceSpec, &'static Entry, &'s Host);

/// The host whose proxy serves every name: the first `main` host, else
/// the first host.
pub fn front_proxy(hosts: &[Host]) -> Option<&Host> {
    hosts
        .iter()
        .find(|h| h.role.value == Role::Main)
        .or_else(|| hosts.first())
}

/// Whether `host` runs the proxy that serves every name of the fleet.
pub(crate) fn is_front_proxy(spec: &Spec, host: &str) -> bool {
    front_proxy(&spec.hosts).is_some_and(|p| p.name.value == host)
}

/// Who reaches what, gathered in one pass so wiring stays linear in the
/// size of the fleet.
struct Index<'s> {
    proxy: Option<&'s Host>,
    status: Option<&'s Host>,
    metrics: Option<&'s Host>,
    /// Entry name → hosts of the instances that depend on it.
    dependents: HashMap<&'s str, BTreeMap<&'s str, &'s Host>>,
    /// Role → hosts of the instances that need or want it.
    users: HashMap<&'s str, BTreeMap<&'s str, &'s Host>>,
}

impl<'s> Index<'s> {
    fn new(spec: &'s Spec, placed: &[Placed<'s>]) -> Index<'s> {
        // The first instance of an entry, as `Fleet::host_of` finds it.
        let host_of = |entry: &str| {
            placed
                .iter()
                .find(|(_, e, _)| e.name == entry)
                .map(|(_, _, h)| *h)
        };
        let mut index = Index {
            proxy: spec
                .access
                .proxy
                .as_ref()
                .and_then(|_| front_proxy(&spec.hosts)),
            status: host_of("gatus"),
            // The first store, as `Fleet::metrics_store` finds it.
            metrics: placed
                .iter()
                .find(|(_, e, _)| super::MetricsStore::of(&e.name).is_some())
                .map(|(_, _, h)| *h),
            dependents: HashMap::new(),
            users: HashMap::new(),
        };
        for (_, e, h) in placed {
            for dep in &e.depends {
                index
                    .dependents
                    .entry(dep.as_str())
                    .or_default()
                    .insert(h.name.value.as_str(), *h);
            }
            for role in e.needs.iter().chain(&e.wants) {
                index
                    .users
                    .entry(role.as_str())
                    .or_default()
                    .insert(h.name.value.as_str(), *h);
            }
        }
        index
    }

    /// Every consumer host of one placed instance, its own host included.
    fn consumers(&self, one: &Placed<'s>) -> Vec<&'s Host> {
        let (s, entry, _) = one;
        let mut out = Vec::new();
        let served = entry.proxied
            && s.exposure
                .as_ref()
                .map_or(entry.default_exposure, |e| e.value)
                >= Exposure::Lan;
        if served {
            out.extend(self.proxy);
        }
        if entry.health.is_some() {
            out.extend(self.status);
        }
        if entry.metrics.is_some() {
            out.extend(self.metrics);
        }
        if let Some(hosts) = self.dependents.get(entry.name.as_str()) {
            out.extend(hosts.values());
        }
        for role in &entry.provides {
            if let Some(hosts) = self.users.get(role.as_str()) {
                out.extend(hosts.values());
            }
        }
        out
    }
}

/// The wiring of every placed instance, by instance name.
pub fn wire(spec: &Spec, placed: &[Placed<'_>]) -> BTreeMap<String, Wire> {
    let index = Index::new(spec, placed);
    let mut out = BTreeMap::new();
    for one in placed {
        let (s, entry, host) = one;
        let mut peers: Vec<Peer> = index
            .consumers(one)
            .into_iter()
            .filter(|h| h.name.value != host.name.value)
            .map(|h| Peer {
                host: h.name.value.clone(),
                address: h.address.value.clone(),
            })
            .collect();
        peers.sort_by(|a, b| a.host.cmp(&b.host));
        peers.dedup();
        // A service confined to the VPN namespace is reached only from
        // its own host; `remote-confined` refuses a spec that serves it
        // from another.
        if super::instance::confined(s, entry) || entry.port.is_none() {
            peers.clear();
        }
        let address = if peers.is_empty() {
            BIND_ADDRESS.to_string()
        } else {
            host.address.value.clone()
        };
        out.insert(
            s.name.value.clone(),
            Wire {
                bind: address.clone(),
                address,
                peers,
            },
        );
    }
    out
}

/// Whether an address is one a service can bind to (an IPv4 or IPv6
/// literal), not a DNS name.
pub(crate) fn is_ip(address: &str) -> bool {
    let v4 = address.split('.').count() == 4 && address.split('.').all(|o| o.parse::<u8>().is_ok());
    let v6 = address.contains(':')
        && address
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
    v4 || v6
}

/// A service with no address to set that does not listen on every
/// interface either: only its own host can reach it.
pub fn loopback_only(entry: &Entry) -> bool {
    fn mentions(v: &toml::Value) -> bool {
        match v {
            toml::Value::String(s) => s.contains("@address@"),
            toml::Value::Array(a) => a.iter().any(mentions),
            toml::Value::Table(t) => t.values().any(mentions),
            _ => false,
        }
    }
    entry.bind.is_none()
        && !entry.vpn
        && entry
            .port
            .is_some_and(|p| !entry.wildcard_ports.contains(&p))
        && !entry.nixos.values().any(mentions)
}
