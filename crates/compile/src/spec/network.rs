//! `[network]`: the segments (VLANs) of the home network, and the keys of
//! hosts that join them (`interface`, `[hosts.<h>.segments.<segment>]`).
//!
//! Each value here is checked on its own: a VLAN id, a subnet written as
//! its network, addresses that are IPv4 literals, interface names a kernel
//! takes. How they fit together (an address inside its segment, two
//! segments on one VLAN) is the fleet's to say (`fleet/segments.rs`).

use super::model::{HostSegment, Network, Segment, SegmentClient, Subnet};
use super::reader::{Sink, Sp, Table};
use crate::diagnostic::Diagnostic;
use core::net::Ipv4Addr;
use toml::de::DeValue;

pub fn network(t: &mut Table, sink: &mut Sink) -> Network {
    let mut segments = Vec::new();
    for (name, mut s) in t.named_tables(sink, "segments") {
        super::parse::dns_label(sink, &name, "segment name");
        if let Some(seg) = segment(name, &mut s, sink) {
            segments.push(seg);
        }
        s.finish(sink);
    }
    Network { segments }
}

fn segment(name: Sp<String>, t: &mut Table, sink: &mut Sink) -> Option<Segment> {
    let vlan = t.int(sink, "vlan", 2, 4094);
    if t.get("vlan").is_none() {
        sink.push(
            Diagnostic::error("missing-key", format!("`[{}]` has no `vlan`", t.path))
                .at(t.span.clone(), "`vlan` (an integer) is required here")
                .help(
                    "add `vlan = 40`: the 802.1Q tag the switch and the router give this segment",
                ),
        );
    }
    let subnet_text = t.req_str(sink, "subnet", "\"10.40.0.0/24\"");
    let subnet = subnet_text.and_then(|s| subnet(sink, s));
    let description = t.str(sink, "description");
    let internet = t
        .bool(sink, "internet")
        .unwrap_or_else(|| Sp::new(true, name.span.clone()));
    let lan = t
        .bool(sink, "lan")
        .unwrap_or_else(|| Sp::new(false, name.span.clone()));
    let uses = t.str_list(sink, "uses").unwrap_or_default();
    let clients = clients(t, sink, subnet.as_ref());
    let silence = super::parse::silences(t, sink);
    Some(Segment {
        vlan: vlan.map(|v| Sp::new(v.value as u16, v.span))?,
        subnet: subnet?,
        name,
        description,
        internet,
        lan,
        uses,
        clients,
        silence,
    })
}

/// `subnet = "10.40.0.0/24"`: an IPv4 network of a /8 to a /30, written as
/// its first address (a router and `show network` print it that way).
fn subnet(sink: &mut Sink, s: Sp<String>) -> Option<Sp<Subnet>> {
    let Some(parsed) = Subnet::parse(&s.value).filter(|n| (8..=30).contains(&n.prefix)) else {
        sink.push(
            Diagnostic::error("invalid-value", format!("`{}` is not an IPv4 subnet", s.value))
                .at(s.span, "expected a network and a prefix length from 8 to 30")
                .help("write the segment's network as the router has it, e.g. `subnet = \"10.40.0.0/24\"`"),
        );
        return None;
    };
    if parsed.network() != parsed {
        sink.push(
            Diagnostic::error(
                "invalid-value",
                format!(
                    "`{}` is an address inside a subnet, not the subnet",
                    s.value
                ),
            )
            .at(s.span, "the address has host bits set")
            .help(format!(
                "write the network: `subnet = \"{}\"`",
                parsed.network()
            )),
        );
        return None;
    }
    Some(Sp::new(parsed, s.span))
}

/// `[network.segments.<s>.clients]`: `name = "address"`, each address a
/// device of the subnet.
fn clients(t: &mut Table, sink: &mut Sink, subnet: Option<&Sp<Subnet>>) -> Vec<SegmentClient> {
    let Some(table) = t.table(sink, "clients") else {
        return Vec::new();
    };
    let mut out: Vec<SegmentClient> = Vec::new();
    for (k, v) in table.entries() {
        let name = Sp::new(k.get_ref().to_string(), k.span());
        super::parse::dns_label(sink, &name, "client name");
        let DeValue::String(text) = v.get_ref() else {
            sink.push(
                Diagnostic::error(
                    "wrong-type",
                    format!("client `{}` must be an address", name.value),
                )
                .at(v.span(), "expected a string")
                .help(format!("write `{} = \"10.50.0.11\"`", name.value)),
            );
            continue;
        };
        let Some(address) = ipv4(sink, Sp::new(text.to_string(), v.span()), "client address")
        else {
            continue;
        };
        if let Some(net) = subnet
            && !net.value.holds_host(address.value)
        {
            sink.push(
                Diagnostic::error(
                    "segment-address",
                    format!(
                        "`{}` is not a device address of {}",
                        address.value, net.value
                    ),
                )
                .at(
                    address.span.clone(),
                    "outside the segment's subnet, or its network or broadcast address",
                )
                .also(net.span.clone(), "the segment's subnet")
                .help("give the address the router reserves for this device in the segment"),
            );
            continue;
        }
        if let Some(first) = out.iter().find(|c| c.address.value == address.value) {
            sink.push(
                Diagnostic::error(
                    "segment-address",
                    format!("two clients have the address {}", address.value),
                )
                .at(address.span.clone(), format!("`{}` has it", name.value))
                .also(
                    first.address.span.clone(),
                    format!("`{}` has it too", first.name.value),
                )
                .help("give each device an address of its own"),
            );
            continue;
        }
        out.push(SegmentClient { name, address });
    }
    out
}

/// `[hosts.<h>.segments.<segment>]`: `address`, and `interface` when the
/// host has a network interface of its own on the segment.
pub fn host_segments(t: &mut Table, sink: &mut Sink) -> Vec<HostSegment> {
    let mut out = Vec::new();
    for (segment, mut s) in t.named_tables(sink, "segments") {
        let address = s
            .req_str(sink, "address", "\"10.40.0.2\"")
            .and_then(|a| ipv4(sink, a, "address in the segment"));
        let interface = s.str(sink, "interface");
        if let Some(i) = &interface {
            interface_name(sink, i);
        }
        s.finish(sink);
        if let Some(address) = address {
            out.push(HostSegment {
                segment,
                address,
                interface,
            });
        }
    }
    out
}

/// An IPv4 literal, or a diagnostic naming what it was meant to be.
fn ipv4(sink: &mut Sink, s: Sp<String>, what: &str) -> Option<Sp<Ipv4Addr>> {
    match s.value.parse::<Ipv4Addr>() {
        Ok(a) => Some(Sp::new(a, s.span)),
        Err(_) => {
            sink.push(
                Diagnostic::error(
                    "invalid-value",
                    format!("`{}` is not an IPv4 address", s.value),
                )
                .at(s.span, format!("expected the {what}, e.g. `10.40.0.2`"))
                .help("segments are IPv4 networks: write a fixed address of the subnet"),
            );
            None
        }
    }
}

/// A network interface name the kernel takes and a shell, an iptables
/// rule and a systemd unit name read as one plain word: 1 to 15 letters,
/// digits, `_`, `-` and `.`, not `.` or `..`.
pub(crate) fn is_interface_name(s: &str) -> bool {
    (1..=15).contains(&s.len())
        && s != "."
        && s != ".."
        && !s.starts_with('-')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

pub(crate) fn interface_name(sink: &mut Sink, s: &Sp<String>) {
    if !is_interface_name(&s.value) {
        sink.push(
            Diagnostic::error(
                "invalid-name",
                format!("`{}` is not a network interface name", s.value),
            )
            .at(
                s.span.clone(),
                "expected 1 to 15 letters, digits, `_`, `-` or `.`",
            )
            .help("write the name `ip link` shows on the host, e.g. `enp3s0`"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_are_one_plain_word() {
        for ok in ["enp3s0", "eth0", "enp0s31f6", "br-lan", "wlp2s0.40"] {
            assert!(is_interface_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "-x",
            "a b",
            "eth0;reboot",
            "averyverylongname0",
            "a/b",
        ] {
            assert!(!is_interface_name(bad), "{bad}");
        }
    }

    #[test]
    fn subnets_know_their_devices() {
        let net = Subnet::parse("10.40.0.0/24").unwrap();
        assert!(net.holds_host("10.40.0.2".parse().unwrap()));
        assert!(!net.holds_host("10.40.0.0".parse().unwrap()));
        assert!(!net.holds_host("10.40.0.255".parse().unwrap()));
        assert!(!net.holds_host("10.41.0.2".parse().unwrap()));
        assert_eq!(Subnet::parse("10.40.0.7/24").unwrap().network(), net);
        assert!(net.overlaps(Subnet::parse("10.40.0.128/25").unwrap()));
        assert!(!net.overlaps(Subnet::parse("10.50.0.0/24").unwrap()));
        assert_eq!(net.to_string(), "10.40.0.0/24");
        assert_eq!(Subnet::parse("10.40.0.0"), None);
        assert_eq!(Subnet::parse("10.40.0.0/33"), None);
    }
}
