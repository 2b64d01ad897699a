//! Wiring between hosts the spec makes impossible (see `fleet::wiring`):
//! a service other hosts reach on a host known only by a DNS name (a
//! service binds to an address, not a name), a VPN-confined service the
//! front proxy on another host would serve, and a service that listens on
//! `127.0.0.1` only but is reached from elsewhere.

use crate::diagnostic::Diagnostic;
use crate::fleet::{Fleet, Instance, is_ip, loopback_only};

fn peer_list(i: &Instance) -> String {
    i.peers
        .iter()
        .map(|p| format!("`{}`", p.host))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn address_is_ip(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for host in &fleet.hosts {
        let address = &host.spec.address;
        let Some(i) = fleet
            .instances
            .iter()
            .find(|i| i.host == host.name() && !i.peers.is_empty())
        else {
            continue;
        };
        if is_ip(&address.value) {
            continue;
        }
        out.push(
            Diagnostic::error(
                "address-not-ip",
                format!(
                    "host `{}` serves other hosts, but its address is a name",
                    host.name()
                ),
            )
            .at(
                address.span.clone(),
                format!("`{}` listens here for {}", i.name.value, peer_list(i)),
            )
            .help("give the host's fixed LAN address, e.g. `address = \"192.168.1.20\"`: services bind to it and the firewall admits peers by it"),
        );
    }
    // The sources admit the replica's key from its address only
    // (`from=` in authorized_keys); sshd matches names there only with
    // `UseDns`, which is off.
    let Some(replica) = fleet.replica_host() else {
        return;
    };
    let address = &replica.spec.address;
    let mut sources: Vec<&str> = Vec::new();
    for p in fleet.pulled() {
        if !sources.contains(&p.source_host.name()) {
            sources.push(p.source_host.name());
        }
    }
    let reported = out.iter().any(|d| {
        d.code == "address-not-ip" && d.primary.as_ref().is_some_and(|p| p.span == address.span)
    });
    if sources.is_empty() || is_ip(&address.value) || reported {
        return;
    }
    let sources: Vec<String> = sources.iter().map(|s| format!("`{s}`")).collect();
    out.push(
        Diagnostic::error(
            "address-not-ip",
            format!(
                "host `{}` pulls replicas, but its address is a name",
                replica.name()
            ),
        )
        .at(
            address.span.clone(),
            format!(
                "{} admit{} its key from this address only",
                sources.join(", "),
                if sources.len() == 1 { "s" } else { "" }
            ),
        )
        .help("give the host's fixed LAN address, e.g. `address = \"192.168.1.20\"`: the sources admit the replica's key from it, and sshd does not resolve names there"),
    );
}

pub(crate) fn confined_on_proxy_host(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let Some(proxy) = fleet.front_proxy() else {
        return;
    };
    if fleet.access.proxy.is_none() {
        return;
    }
    for i in &fleet.instances {
        if !i.confined() || i.fqdn.is_none() || i.host == proxy.name() {
            continue;
        }
        out.push(
            Diagnostic::error(
                "remote-confined",
                format!(
                    "{} is confined to the VPN and cannot be proxied from another host",
                    i.entry.title
                ),
            )
            .at(
                i.host_span.clone(),
                format!("the front proxy runs on `{}`", proxy.name()),
            )
            .help(format!(
                "place it on `{}`, or set `exposure = \"host\"`",
                proxy.name()
            ))
            .about(&i.name.value),
        );
    }
}

pub(crate) fn loopback_only_local(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in &fleet.instances {
        if i.peers.is_empty() || !loopback_only(i.entry) {
            continue;
        }
        out.push(
            Diagnostic::error(
                "loopback-only",
                format!(
                    "{} listens on 127.0.0.1 only; other hosts cannot reach it",
                    i.entry.title
                ),
            )
            .at(
                i.host_span.clone(),
                format!("reached from {}", peer_list(i)),
            )
            .help(format!(
                "place it on `{}`, the host that reaches it",
                i.peers[0].host
            ))
            .about(&i.name.value),
        );
    }
}
