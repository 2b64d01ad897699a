//! Who reaches what, with the real parts: for every example, each host is
//! a network namespace on a LAN, a tailnet and the internet; the real
//! Caddy runs the virtual hosts the flake gives that host's proxy; a stub
//! service listens at every bind `homelab show ports` reports; clients on
//! each network ask for every name. A LAN name must answer from its
//! service on the LAN and be refused (403) from the tailnet and the
//! internet; a tailnet name must also answer from the tailnet; an `admins`
//! name must answer the spec's admin devices on the tailnet
//! (`[access.tailscale] admins`, nuc) and be refused (403) to the family
//! phone there, over IPv4 and IPv6; a gated
//! name must send a visitor who has not signed in to the sign-in page.
//! Each host runs behind its own firewall, and every port is also asked
//! for directly: it answers only where its exposure reaches and only when
//! no proxy fronts it. A port VPN-Confinement maps into its namespace is
//! reached through the host's proxy only.
//!
//! The proxies serve plain HTTP here. What stands in for what cannot run
//! here, and how the VPN namespace is built: `support/lab.rs`.
//! Needs root, iproute2, iptables, curl, python3 and Debian's caddy.

#[path = "support/bin.rs"]
mod bin;
#[path = "support/examples.rs"]
#[allow(dead_code)]
mod examples;
#[path = "support/lab.rs"]
mod lab;
#[path = "support/netns.rs"]
mod netns;
#[path = "support/sshd.rs"]
mod sshd;
#[path = "support/standins.rs"]
mod standins;

use lab::{Front, Lab, Port, Serve, VPN_ADDRESS, VPN_BRIDGE_ADDRESS, auth_endpoint, run};
use std::collections::BTreeMap;

/// Checks `example`; returns how many times an admin device reached a
/// name the family phone was refused.
fn check(example: &str) -> usize {
    let lab = Lab::start(example, Serve::Http);
    let mut admin_only = 0;
    let (fronts, ports) = (&lab.fronts, &lab.ports);
    direct_ports(example, &lab, ports);
    confined_ports(example, &lab, fronts);

    let mut checked = std::collections::BTreeSet::new();
    for p in ports.iter().filter(|p| p.url.is_some()) {
        let name = p.url.as_deref().unwrap().trim_start_matches("https://");
        let url = format!("http://{name}/");
        let what = format!("{example}: {} at {name}", p.service);
        if let Some((front, f)) = fronts.iter().find(|(_, f)| f.vhosts.contains_key(name)) {
            let signed_in = ["X-Test-Signed-In: yes"];
            let lan = lab
                .lan
                .get(&url, Some((name, &lab.lan_address[front])), &signed_in);
            assert_eq!(lan, Some((200, p.service.clone())), "{what} from the LAN");
            let tail = lab
                .tailnet
                .get(&url, Some((name, &lab.tailnet_address[front])), &signed_in);
            let from_tailnet = if p.exposure == "tailnet" { 200 } else { 403 };
            assert_eq!(
                tail.map(|t| t.0),
                Some(from_tailnet),
                "{what} from the tailnet"
            );
            // The family phone's IPv6 tailnet address lies inside Caddy's
            // private ranges: it is refused all the same.
            let tail6 = format!("[{}]", lab.tailnet_address_v6[front]);
            let tail6 = lab.tailnet.get(&url, Some((name, &tail6)), &signed_in);
            assert_eq!(
                tail6.map(|t| t.0),
                Some(from_tailnet),
                "{what} from the tailnet over IPv6"
            );
            // An admin device reaches the `admins` names the family phone
            // does not.
            let from_admin = if ["admins", "tailnet"].contains(&p.exposure.as_str()) {
                200
            } else {
                403
            };
            for (device, client) in &lab.admins {
                let got = client.get(&url, Some((name, &lab.tailnet_address[front])), &signed_in);
                assert_eq!(
                    got.map(|t| t.0),
                    Some(from_admin),
                    "{what} from the admin device {device}"
                );
                admin_only += usize::from(from_admin == 200 && from_tailnet == 403);
            }
            let outside =
                lab.internet
                    .get(&url, Some((name, &lab.internet_address[front])), &signed_in);
            assert_eq!(outside.map(|o| o.0), Some(403), "{what} from the internet");
            if auth_endpoint(&f.vhosts[name]).is_some() {
                let stranger = lab
                    .lan
                    .get(&url, Some((name, &lab.lan_address[front])), &[]);
                assert_eq!(stranger.map(|s| s.0), Some(302), "{what}: not signed in");
            }
        } else if let Some((front, f)) = fronts.iter().find(|(_, f)| f.ingress.contains_key(name)) {
            // The tunnel's connector runs on `front` and asks the target.
            let target = format!("{}/", f.ingress[name]);
            assert!(f.tunnel_passes(name, "/"), "{what}: the tunnel takes /");
            let answer = lab.hosts[front].get(&target, None, &[]);
            assert_eq!(
                answer,
                Some((200, p.service.clone())),
                "{what} through the tunnel"
            );
            tunnel_keeps_the_rest(&what, f, name);
        } else {
            panic!("{what}: no proxy and no tunnel serves it");
        }
        checked.insert(name.to_string());
    }
    assert!(!checked.is_empty(), "{example} has names to check");
    // A name the port map does not list: the internal name of a public
    // service (`files.home…` beside `files.…`). On the LAN it reaches the
    // service, or sends a service that answers to one name only there.
    for (front, f) in fronts {
        for name in f.vhosts.keys().filter(|n| !checked.contains(*n)) {
            let label = name.split('.').next().unwrap();
            let public = checked
                .iter()
                .find(|c| c.split('.').next() == Some(label))
                .unwrap_or_else(|| panic!("{example}: {name} is the name of nothing"));
            let service = &ports
                .iter()
                .find(|p| p.url.as_deref() == Some(&format!("https://{public}")))
                .unwrap()
                .service;
            let url = format!("http://{name}/");
            let at = Some((name.as_str(), lab.lan_address[front].as_str()));
            match lab.lan.get(&url, at, &[]) {
                Some((200, body)) => assert_eq!(&body, service, "{example}: {name}"),
                _ => assert_eq!(
                    lab.lan.redirect(&url, at),
                    Some((301, format!("https://{public}/"))),
                    "{example}: {name} moves to {public}"
                ),
            }
        }
    }
    admin_only
}

/// A public page's tunnel rule (the status page's) leaves the rest of the
/// service on the LAN: its metrics, its health and the heartbeats' push
/// never reach it from the internet.
fn tunnel_keeps_the_rest(what: &str, f: &Front, name: &str) {
    if !f.ingress_paths.contains_key(name) {
        return;
    }
    for path in [
        "/metrics",
        "/health",
        "/api/v1/endpoints/backups_immich-backup/external",
    ] {
        assert!(
            !f.tunnel_passes(name, path),
            "{what}: the tunnel passes {path}"
        );
    }
    assert!(
        f.tunnel_passes(name, "/api/v1/endpoints/statuses"),
        "{what}: the tunnel keeps the page's statuses out"
    );
}

/// Each port asked for directly, from the LAN, the tailnet and the
/// internet: a service behind the proxy is reached through it only, a
/// service the proxy does not front is reached where its exposure says,
/// and nothing is reached from where its exposure does not reach.
fn direct_ports(example: &str, lab: &Lab, ports: &[Port]) {
    let reaches = |exposure: &str, from: &str| match from {
        "lan" => ["lan", "admins", "tailnet", "public"].contains(&exposure),
        "tailnet" => ["tailnet", "public"].contains(&exposure),
        _ => exposure == "public",
    };
    for p in ports {
        if p.exposure == "infrastructure" || p.bind.contains(' ') {
            continue;
        }
        if p.bind == VPN_ADDRESS && lab.vpn.contains_key(&p.host) {
            // Dropped rather than refused: `confined_ports` asks for it.
            continue;
        }
        for (from, client, addresses) in [
            ("lan", &lab.lan, &lab.lan_address),
            ("tailnet", &lab.tailnet, &lab.tailnet_address),
            ("internet", &lab.internet, &lab.internet_address),
        ] {
            let url = format!("http://{}:{}/", addresses[&p.host], p.port);
            let answer = client.get(&url, None, &[]);
            let expected = p.url.is_none() && reaches(&p.exposure, from);
            assert_eq!(
                answer.is_some(),
                expected,
                "{example}: {} ({} exposure, bound to {}) on {}:{} from the {from}",
                p.service,
                p.exposure,
                p.bind,
                p.host,
                p.port
            );
        }
    }
}

/// Each port VPN-Confinement maps into its namespace, asked for directly
/// at the host from the LAN, the tailnet and the internet: nothing
/// answers, and nothing even reaches the namespace (its accept rule counts
/// no packet), so the confined web UI is reached through the host's proxy
/// only. The same holds with a way back from the namespace to each client
/// network (what VPN-Confinement's `accessibleFrom` adds), where the
/// module's DNAT alone would let the UI answer the LAN directly.
fn confined_ports(example: &str, lab: &Lab, fronts: &BTreeMap<String, Front>) {
    for (host, front) in fronts.iter().filter(|(_, f)| !f.port_mappings.is_empty()) {
        let lan = format!("{}.0/24", lab.lan_address[host].rsplit_once('.').unwrap().0);
        let clients = [
            ("LAN", &lab.lan, &lab.lan_address, lan.as_str()),
            (
                "tailnet",
                &lab.tailnet,
                &lab.tailnet_address,
                "100.64.0.0/10",
            ),
            (
                "internet",
                &lab.internet,
                &lab.internet_address,
                "203.0.113.0/24",
            ),
        ];
        for way_back in [false, true] {
            if way_back {
                for (_, _, _, network) in &clients {
                    let mut c = lab.vpn[host].command("ip");
                    c.args(["route", "replace", network, "via", VPN_BRIDGE_ADDRESS]);
                    run(c, "a route back from the namespace");
                }
            }
            for (from, to) in &front.port_mappings {
                let before = lab.accepted(host, *to);
                for (network, client, addresses, _) in &clients {
                    let url = format!("http://{}:{from}/", addresses[host]);
                    assert!(
                        !client.answers_within(&url, 1),
                        "{example}: the confined port {from} of {host} answers the {network} directly{}",
                        if way_back { " (with a route back)" } else { "" }
                    );
                }
                assert_eq!(
                    lab.accepted(host, *to),
                    before,
                    "{example}: the {network_list} reach the confined port {to} in {host}'s namespace{}",
                    if way_back { " (with a route back)" } else { "" },
                    network_list = "LAN, tailnet or internet"
                );
                // The host, where the proxy runs, still reaches it.
                let url = format!("http://{VPN_ADDRESS}:{to}/");
                assert!(
                    lab.hosts[host].answers_within(&url, 5),
                    "{example}: {host} reaches its confined port {to}"
                );
            }
        }
    }
}

#[test]
fn every_name_answers_where_its_exposure_says_and_nowhere_else() {
    let mut admin_only = 0;
    for example in compile::examples::names() {
        admin_only += check(example);
    }
    // nuc's *arr apps, torrent client and pastebin are `admins`.
    assert!(
        admin_only > 0,
        "no example has a name for the admin devices only"
    );
}
