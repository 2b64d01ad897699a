//! Services on other hosts. `hosts/<h>/wiring.nix` holds what host `h`
//! does for instances that run elsewhere — the front proxy's routes, the
//! status page's checks, the metrics store's scrape jobs — so a reader of
//! a service file sees only that service, and a reader of this file sees
//! every connection the host makes across the network, and lets services
//! bind to the LAN address. The service's own file admits its peers
//! through its host's firewall.

use crate::fleet::{BIND_ADDRESS, Fleet, HostPlan, Instance};
use crate::nix::{Attrs, set};

/// What `host` contributes for the instances of other hosts it reaches.
pub fn wiring(fleet: &Fleet, host: &HostPlan) -> Attrs {
    let mut m = Attrs::new();
    for i in fleet.instances.iter().filter(|i| i.host != host.name()) {
        if i.peers.iter().any(|p| p.host == host.name()) {
            super::service::watch(&mut m, fleet, host, i);
        }
    }
    let serves_peers = fleet
        .instances
        .iter()
        .any(|i| i.host == host.name() && i.address != BIND_ADDRESS);
    if serves_peers {
        // A service binds to the LAN address before DHCP or a slow link
        // has put it on the interface; the kernel then accepts the bind
        // instead of failing it, and traffic flows once the address is up.
        set(
            &mut m,
            &["boot", "kernel", "sysctl", "net.ipv4.ip_nonlocal_bind"],
            1i64,
        );
    }
    m
}

/// One iptables rule per peer and port: the peer's address may open a
/// connection to the service's port, nothing else may. The rules go into
/// the `nixos-fw` chain before its final refusal (the module flushes the
/// chain on every start, so no stop command is needed).
pub fn admit_peers(m: &mut Attrs, i: &Instance) {
    let Some(port) = i.port else { return };
    if i.peers.is_empty() {
        return;
    }
    let mut lines = format!(
        "# {}: reached from other hosts of the fleet\n",
        i.name.value
    );
    for p in &i.peers {
        lines.push_str(&format!(
            "iptables -A nixos-fw -p tcp -s {} -d {} --dport {port} -j nixos-fw-accept  # {}\n",
            p.address, i.address, p.host
        ));
    }
    set(m, &["networking", "firewall", "extraCommands"], lines);
}
