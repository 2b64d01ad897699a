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
use std::collections::BTreeMap;

/// A host that reaches an instance from elsewhere, and its address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub host: String,
    pub address: String,
}

/// Where an instance listens and who reaches it from other hosts.
#[derive(Debug, Clone)]
pub struct Wire {
    pub address: String,
    /// Hosts other than its own that connect to it, sorted by name.
    pub peers: Vec<Peer>,
}

/// An instance placed on a host, before it is resolved.
pub type Placed<'s> = (&'s ServiceSpec, &'static Entry, &'s Host);

/// The host whose proxy serves every name: the first `main` host, else
/// the first host.
pub fn front_proxy(hosts: &[Host]) -> Option<&Host> {
    hosts
        .iter()
        .find(|h| h.role.value == Role::Main)
        .or_else(|| hosts.first())
}

/// The host of the fleet's instance of an entry (the first, when several).
fn host_of<'s>(placed: &[Placed<'s>], entry: &str) -> Option<&'s Host> {
    placed
        .iter()
        .find(|(_, e, _)| e.name == entry)
        .map(|(_, _, h)| *h)
}

/// Every consumer host of one placed instance, its own host included.
fn consumers<'s>(spec: &'s Spec, placed: &[Placed<'s>], one: &Placed<'s>) -> Vec<&'s Host> {
    let (s, entry, _) = one;
    let mut out = Vec::new();
    let served = entry.proxied
        && s.exposure
            .as_ref()
            .map_or(entry.default_exposure, |e| e.value)
            >= Exposure::Lan;
    if served && spec.access.proxy.is_some() {
        out.extend(front_proxy(&spec.hosts));
    }
    if entry.health.is_some() {
        out.extend(host_of(placed, "gatus"));
    }
    if entry.metrics.is_some() {
        out.extend(host_of(placed, "victoriametrics"));
    }
    for (_, other, h) in placed {
        let depends = other.depends.contains(&entry.name);
        let needs = other
            .needs
            .iter()
            .chain(&other.wants)
            .any(|n| entry.provides.contains(n));
        if depends || needs {
            out.push(h);
        }
    }
    out
}

/// The wiring of every placed instance, by instance name.
pub fn wire(spec: &Spec, placed: &[Placed<'_>]) -> BTreeMap<String, Wire> {
    let mut out = BTreeMap::new();
    for one in placed {
        let (s, entry, host) = one;
        let mut peers: Vec<Peer> = consumers(spec, placed, one)
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
        if entry.vpn || entry.port.is_none() {
            peers.clear();
        }
        let address = if peers.is_empty() {
            BIND_ADDRESS.to_string()
        } else {
            host.address.value.clone()
        };
        out.insert(s.name.value.clone(), Wire { address, peers });
    }
    out
}

/// Whether an address is one a service can bind to (an IPv4 or IPv6
/// literal), not a DNS name.
pub fn is_ip(address: &str) -> bool {
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
