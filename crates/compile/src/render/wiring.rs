//! Services on other hosts. `hosts/<h>/wiring.nix` holds what host `h`
//! does for instances that run elsewhere — the front proxy's routes, the
//! status page's checks, the metrics store's scrape jobs — so a reader of
//! a service file sees only that service, and a reader of this file sees
//! every connection the host makes across the network, and lets services
//! bind to the LAN address. The service's own file admits its peers
//! through its host's firewall.

use crate::fleet::{BIND_ADDRESS, Fleet, HostPlan, Instance, WILDCARD_ADDRESS};
use crate::nix::{Attrs, Nix, set};

/// What `host` contributes for the instances of other hosts it reaches.
pub fn wiring(fleet: &Fleet, host: &HostPlan) -> Attrs {
    let mut m = Attrs::new();
    for i in fleet.instances.iter().filter(|i| i.host != host.name()) {
        if i.peers.iter().any(|p| p.host == host.name()) {
            super::watch::watch(&mut m, fleet, host, i);
        }
    }
    mounts(&mut m, fleet, host);
    if fleet.host_of("gatus") == Some(host.name()) {
        external_checks(&mut m, fleet);
    }
    let serves_peers = fleet
        .instances
        .iter()
        .any(|i| i.host == host.name() && i.bind != BIND_ADDRESS && i.bind != WILDCARD_ADDRESS);
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
pub(crate) fn admit_peers(m: &mut Attrs, i: &Instance) {
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

/// The NFS exports the host's services work in, each mounted once.
/// `x-systemd.automount` mounts on first access, so a NAS that is down
/// does not hold up boot; `_netdev` orders the mount after the network;
/// the services' own `RequiresMountsFor` (in their files) starts them only
/// once the export is mounted.
fn mounts(m: &mut Attrs, fleet: &Fleet, host: &HostPlan) {
    let mut seen: Vec<&str> = Vec::new();
    let mounts = fleet.instances_on(host.name()).flat_map(|i| &i.nfs);
    for mount in mounts {
        if seen.contains(&mount.at.as_str()) {
            continue;
        }
        seen.push(&mount.at);
        let fs = ["fileSystems", mount.at.as_str()];
        set(m, &[fs[0], fs[1], "device"], mount.device.as_str());
        set(m, &[fs[0], fs[1], "fsType"], "nfs");
        set(m, &[fs[0], fs[1], "options"], Nix::strs(NFS_OPTIONS));
    }
}

/// Mount options of every NFS export.
pub(crate) const NFS_OPTIONS: [&str; 3] = [
    "x-systemd.automount",
    "x-systemd.mount-timeout=30s",
    "_netdev",
];

/// The NFS port, checked on every external host.
pub(crate) const NFS_PORT: u16 = 2049;

/// A check per external host: its NFS server accepts connections.
fn external_checks(m: &mut Attrs, fleet: &Fleet) {
    let checks = fleet
        .external
        .iter()
        .filter(|e| !e.exports.is_empty())
        .map(|e| {
            let mut c = Attrs::new();
            c.insert("name".into(), Nix::str(format!("{} NFS", e.name.value)));
            c.insert("group".into(), Nix::str("Storage"));
            c.insert(
                "url".into(),
                Nix::str(format!("tcp://{}:{NFS_PORT}", e.address.value)),
            );
            c.insert("interval".into(), Nix::str("1m"));
            c.insert("conditions".into(), Nix::strs(["[CONNECTED] == true"]));
            if let Some(alerts) = super::gatus::check_alerts(fleet) {
                c.insert("alerts".into(), alerts);
            }
            if let Some(ui) = super::gatus::check_ui(fleet) {
                c.insert("ui".into(), ui);
            }
            Nix::Attrs(c)
        });
    let checks: Vec<Nix> = checks.collect();
    if !checks.is_empty() {
        set(
            m,
            &["services", "gatus", "settings", "endpoints"],
            Nix::List(checks),
        );
    }
}

/// Starts the service's units only once its NFS exports are mounted.
pub(crate) fn after_mounts(m: &mut Attrs, i: &Instance) {
    if i.nfs.is_empty() {
        return;
    }
    let paths = Nix::strs(i.nfs.iter().map(|n| n.at.clone()));
    for unit in i.units() {
        set(
            m,
            &[
                "systemd",
                "services",
                unit,
                "unitConfig",
                "RequiresMountsFor",
            ],
            paths.clone(),
        );
    }
}
