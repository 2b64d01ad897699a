//! `hosts/<h>/segments.nix`: the host's interfaces in the segments (VLANs)
//! it joins, and its firewall toward them.
//!
//! The interfaces are `networking.vlans` and
//! `networking.interfaces.<if>.ipv4.addresses`, not systemd-networkd's
//! `netdevs`/`networks`: hosts keep NixOS's scripted networking, where
//! dhcpcd configures the LAN interface, and the scripted backend creates
//! each VLAN (`<vlan>-netdev.service`, `ip link add link <parent> … type
//! vlan id <id>`) and its address beside it. networkd would need
//! `systemd.network.enable`, which with scripted networking and
//! `networking.useDHCP` leaves two managers on one interface (the module
//! warns of it), or the host's whole network moved to networkd. dhcpcd
//! leaves an interface with a static address alone.
//!
//! The firewall: each segment interface gets a chain of its own, jumped to
//! first in `nixos-fw`, that admits replies to the host's own connections
//! (Frigate's to the cameras), then exactly the segment's clients to the
//! services the segment uses at the host's address there, and refuses the
//! rest — SSH and the proxy's ports too, which `nixos-fw` opens to every
//! interface. Every host refuses a new connection from an isolated
//! segment's subnet that the router routed in on another interface.
//! Nothing is forwarded from or into a segment: a host that
//! forwards packets (VPN-Confinement turns forwarding on) would otherwise
//! be a router out of the segment for any device that names it its
//! gateway. What the router must do is printed by `homelab show network`.

use crate::fleet::{Fleet, HostPlan, Member, SegmentPlan};
use crate::nix::{Attrs, Nix, set};

/// What `host` has in the segments it joins, and its refusal of the
/// others' devices; empty when the fleet has no isolated segment.
pub fn segments(fleet: &Fleet, host: &HostPlan) -> Attrs {
    let mut m = Attrs::new();
    let mut rules = refuse_routed_devices(fleet);
    for seg in &fleet.segments {
        let Some(member) = seg.member(host.name()) else {
            continue;
        };
        interface(&mut m, seg, member);
        rules.push_str(&firewall(seg, member));
    }
    if !rules.is_empty() {
        set(&mut m, &["networking", "firewall", "extraCommands"], rules);
    }
    m
}

/// Devices of an isolated segment reach a host only on its interface in
/// that segment: a new connection from the segment's subnet that comes in
/// on any other interface — routed by a router that routes more than the
/// checklist of `show network` says — is refused on every host, the
/// proxy's names included. The rules are inserted first in `nixos-fw`; the
/// jumps of the segment interfaces (below) are inserted after, above them.
fn refuse_routed_devices(fleet: &Fleet) -> String {
    let isolated: Vec<&SegmentPlan> = fleet
        .segments
        .iter()
        .filter(|s| !s.spec.lan.value)
        .collect();
    if isolated.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "# devices of isolated segments: only on the segment's own interface, never routed in\n",
    );
    for seg in isolated {
        out.push_str(&format!(
            "iptables -I nixos-fw -s {} -m conntrack --ctstate NEW -j nixos-fw-log-refuse  # {}\n",
            seg.spec.subnet.value,
            seg.name()
        ));
    }
    out
}

/// The VLAN tagged on the LAN interface (or the host's own interface on
/// the segment) and the host's fixed address there. No gateway: the
/// host's way out stays the LAN.
fn interface(m: &mut Attrs, seg: &SegmentPlan, member: &Member) {
    if let Some(parent) = &member.parent {
        let vlan = ["networking", "vlans", member.interface.as_str()];
        set(
            m,
            &[vlan[0], vlan[1], vlan[2], "id"],
            i64::from(seg.spec.vlan.value),
        );
        set(
            m,
            &[vlan[0], vlan[1], vlan[2], "interface"],
            parent.as_str(),
        );
    }
    let mut address = Attrs::new();
    set(&mut address, &["address"], member.address.to_string());
    set(
        &mut address,
        &["prefixLength"],
        i64::from(seg.spec.subnet.value.prefix),
    );
    set(
        m,
        &[
            "networking",
            "interfaces",
            member.interface.as_str(),
            "ipv4",
            "addresses",
        ],
        Nix::List(vec![Nix::Attrs(address)]),
    );
}

/// The chain that filters what comes in from the segment, and the drops
/// that keep the host from routing for it. The firewall flushes
/// `nixos-fw` (and so the jump) on every start, then runs these commands:
/// the chain is made anew each time; `FORWARD` is never flushed, so an
/// earlier start's drops are taken out first.
fn firewall(seg: &SegmentPlan, member: &Member) -> String {
    let iface = &member.interface;
    let chain = chain(member);
    let reached: Vec<_> = seg
        .reached()
        .filter(|(s, m)| m.host == member.host && s.port.is_some())
        .map(|(s, _)| s)
        .collect();
    let names: Vec<&str> = reached.iter().map(|s| s.instance.as_str()).collect();
    let reach = if names.is_empty() {
        "nothing here".to_string()
    } else {
        format!("{} here, nothing else", names.join(" and "))
    };
    let mut out = format!(
        "# segment {} (VLAN {}, {iface}): its clients reach {reach}; the host routes nothing for it\n",
        seg.name(),
        seg.spec.vlan.value,
    );
    out.push_str(&format!(
        "ip46tables -F {chain} 2>/dev/null || true\n\
         ip46tables -X {chain} 2>/dev/null || true\n\
         ip46tables -N {chain}\n\
         ip46tables -A {chain} -m conntrack --ctstate ESTABLISHED,RELATED -j nixos-fw-accept\n"
    ));
    for s in reached {
        let port = s.port.unwrap_or_default();
        for source in seg.sources() {
            out.push_str(&format!(
                "iptables -A {chain} -p tcp -s {source} -d {} --dport {port} -j nixos-fw-accept  # {}\n",
                member.address, s.instance
            ));
        }
    }
    out.push_str(&format!(
        "ip46tables -A {chain} -j nixos-fw-log-refuse\n\
         ip46tables -I nixos-fw -i {iface} -j {chain}\n\
         while ip46tables -D FORWARD -i {iface} -j DROP 2>/dev/null; do :; done\n\
         while ip46tables -D FORWARD -o {iface} -j DROP 2>/dev/null; do :; done\n\
         ip46tables -I FORWARD -i {iface} -j DROP\n\
         ip46tables -I FORWARD -o {iface} -j DROP\n"
    ));
    out
}

/// The chain of one segment interface (`homelab-vlan40`): at most 23
/// characters, under iptables' 28.
pub(crate) fn chain(member: &Member) -> String {
    format!("homelab-{}", member.interface)
}
