//! Segments (VLANs) of the home network, as the fleet meets them: which
//! hosts join each one and on which interface, which services are on it,
//! and which of those its clients reach.
//!
//! A segment is isolated: its clients reach only the services it `uses`,
//! and only on a host that joins it, at that host's address there. A
//! service on a segment also reaches the segment's clients (Frigate the
//! cameras); that needs no rule on the host, whose firewall filters what
//! comes in. Everything between the segment and the rest of the network
//! (other VLANs, the internet) is the router's to enforce; `show network`
//! prints what it must do. `docs/network.md` says why.

use crate::catalog::{self, Entry};
use crate::diagnostic::{Diagnostic, Span, did_you_mean, name_list};
use crate::spec::{Host, HostSegment, Segment, ServiceSpec, Spec, Subnet};
use core::net::Ipv4Addr;

/// A service reached from a segment listens on every address of its host:
/// its LAN address for the fleet's peers, its address in each segment for
/// the segment's clients. The host's firewall admits exactly those.
pub const WILDCARD_ADDRESS: &str = "0.0.0.0";

/// A segment with the hosts that join it and the services on it.
#[derive(Debug, Clone)]
pub struct SegmentPlan {
    pub spec: Segment,
    pub members: Vec<Member>,
    pub services: Vec<OnSegment>,
}

/// A host's interface in a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub host: String,
    /// `vlan40`, or the host's own interface on the segment.
    pub interface: String,
    /// The interface the VLAN is tagged on; none when the host has an
    /// interface of its own on the segment (an untagged switch port).
    pub parent: Option<String>,
    pub address: Ipv4Addr,
}

/// A service on a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnSegment {
    pub instance: String,
    pub host: String,
    pub port: Option<u16>,
    /// Whether the segment's clients reach it: the segment uses it.
    pub reached: bool,
}

impl SegmentPlan {
    pub fn name(&self) -> &str {
        &self.spec.name.value
    }

    /// The host's interface in this segment, if it joins it.
    pub fn member(&self, host: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.host == host)
    }

    /// Where the segment's clients come from: each named client's
    /// address, else the whole subnet.
    pub fn sources(&self) -> Vec<String> {
        if self.spec.clients.is_empty() {
            vec![self.spec.subnet.value.to_string()]
        } else {
            self.spec
                .clients
                .iter()
                .map(|c| c.address.value.to_string())
                .collect()
        }
    }

    /// The services its clients reach, each with the host's address here.
    pub fn reached(&self) -> impl Iterator<Item = (&OnSegment, &Member)> {
        self.services
            .iter()
            .filter(|s| s.reached)
            .filter_map(|s| Some((s, self.member(&s.host)?)))
    }

    /// A segment of devices rather than people: it uses the fleet's
    /// services, a service is on it, or it names its clients.
    pub fn holds_devices(&self) -> bool {
        !self.spec.uses.is_empty() || !self.services.is_empty() || !self.spec.clients.is_empty()
    }
}

/// The name of the VLAN interface a host gets for a segment: short enough
/// for any tag (the kernel allows 15 characters).
pub fn vlan_interface(vlan: u16) -> String {
    format!("vlan{vlan}")
}

/// Whether an instance is what a segment's `uses` entry names: the
/// instance, its catalog entry, or a role it provides.
pub fn serves(instance: &str, entry: &Entry, wanted: &str) -> bool {
    instance == wanted || entry.name == wanted || entry.provides.iter().any(|r| r == wanted)
}

/// An instance placed on a host, before it is resolved.
pub(crate) type Placed<'s> = (&'s ServiceSpec, &'static Entry, &'s Host);

/// Every segment with its members and services; what does not fit is
/// reported.
pub(crate) fn resolve(
    spec: &Spec,
    placed: &[Placed<'_>],
    diags: &mut Vec<Diagnostic>,
) -> Vec<SegmentPlan> {
    let segments = &spec.network.segments;
    clashes(spec, diags);
    for (s, _, _) in placed {
        for name in &s.segments {
            known(segments, name, diags);
        }
    }
    for host in &spec.hosts {
        for joined in &host.segments {
            known(segments, &joined.segment, diags);
        }
    }
    segments
        .iter()
        .map(|seg| SegmentPlan {
            members: members(spec, seg, diags),
            services: on_segment(seg, placed, diags),
            spec: seg.clone(),
        })
        .collect()
}

/// Whether `name` is a segment of the spec; reported when not.
fn known(
    segments: &[Segment],
    name: &crate::spec::Sp<String>,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    if segments.iter().any(|s| s.name.value == name.value) {
        return true;
    }
    let names: Vec<&str> = segments.iter().map(|s| s.name.value.as_str()).collect();
    let d = Diagnostic::error(
        "unknown-segment",
        format!("there is no segment `{}`", name.value),
    )
    .at(name.span.clone(), "not a segment of `[network.segments]`");
    diags.push(match did_you_mean(&name.value, names.iter().copied()) {
        Some(m) => d.help(format!("did you mean `{m}`?")),
        None if names.is_empty() => d.help(format!(
            "declare it: `[network.segments.{}]` with `vlan` and `subnet`",
            name.value
        )),
        None => d.help(format!("segments: {}", name_list(&names))),
    });
    false
}

/// Two segments on one VLAN or in one address range, or a segment over
/// the LAN a host is on: the router could not tell them apart.
fn clashes(spec: &Spec, diags: &mut Vec<Diagnostic>) {
    let segments = &spec.network.segments;
    for (n, seg) in segments.iter().enumerate() {
        for earlier in &segments[..n] {
            if seg.vlan.value == earlier.vlan.value {
                diags.push(clash(
                    seg.vlan.span.clone(),
                    earlier.vlan.span.clone(),
                    format!("VLAN {}", seg.vlan.value),
                    &seg.name.value,
                    &earlier.name.value,
                ));
            }
            if seg.subnet.value.overlaps(earlier.subnet.value) {
                diags.push(clash(
                    seg.subnet.span.clone(),
                    earlier.subnet.span.clone(),
                    "addresses".into(),
                    &seg.name.value,
                    &earlier.name.value,
                ));
            }
        }
        let lan_host = spec.hosts.iter().find(|h| {
            h.address
                .value
                .parse::<Ipv4Addr>()
                .is_ok_and(|a| seg.subnet.value.contains(a))
        });
        if let Some(h) = lan_host {
            diags.push(
                Diagnostic::error(
                    "segment-clash",
                    format!("segment `{}` holds the LAN address of host `{}`", seg.name.value, h.name.value),
                )
                .at(seg.subnet.span.clone(), "a segment is a network of its own, apart from the LAN")
                .also(h.address.span.clone(), "the host's LAN address")
                .help("give the segment a subnet of its own (e.g. `10.40.0.0/24`); a host joins it with `[hosts.<h>.segments.<segment>]`"),
            );
        }
    }
}

fn clash(at: Span, first: Span, what: String, this: &str, other: &str) -> Diagnostic {
    Diagnostic::error(
        "segment-clash",
        format!("segments `{this}` and `{other}` share {what}"),
    )
    .at(at, format!("`{this}` has it here"))
    .also(first, format!("`{other}` has it here"))
    .help("give each segment a VLAN id and a subnet of its own")
}

/// The hosts of the spec that join `seg`, each on its interface there.
fn members(spec: &Spec, seg: &Segment, diags: &mut Vec<Diagnostic>) -> Vec<Member> {
    let mut out: Vec<(Member, Span)> = Vec::new();
    for host in &spec.hosts {
        for joined in host
            .segments
            .iter()
            .filter(|j| j.segment.value == seg.name.value)
        {
            let Some(m) = member(host, seg, joined, diags) else {
                continue;
            };
            let taken = out
                .iter()
                .map(|(m, s)| (m.address, s.clone()))
                .chain(
                    seg.clients
                        .iter()
                        .map(|c| (c.address.value, c.address.span.clone())),
                )
                .find(|(a, _)| *a == m.address);
            if let Some((_, other)) = taken {
                diags.push(
                    Diagnostic::error(
                        "segment-address",
                        format!("{} is taken in segment `{}`", m.address, seg.name.value),
                    )
                    .at(
                        joined.address.span.clone(),
                        format!("host `{}` has it", host.name.value),
                    )
                    .also(other, "also given here")
                    .help("give each host and client of the segment an address of its own"),
                );
                continue;
            }
            out.push((m, joined.address.span.clone()));
        }
    }
    out.into_iter().map(|(m, _)| m).collect()
}

fn member(
    host: &Host,
    seg: &Segment,
    joined: &HostSegment,
    diags: &mut Vec<Diagnostic>,
) -> Option<Member> {
    let subnet: Subnet = seg.subnet.value;
    if !subnet.holds_host(joined.address.value) {
        diags.push(
            Diagnostic::error(
                "segment-address",
                format!("{} is not an address of segment `{}`", joined.address.value, seg.name.value),
            )
            .at(joined.address.span.clone(), format!("outside {subnet}, or its network or broadcast address"))
            .also(seg.subnet.span.clone(), "the segment's subnet")
            .help("give the host a fixed address inside the segment's subnet, outside the router's DHCP range"),
        );
        return None;
    }
    match (&joined.interface, &host.interface) {
        (Some(own), lan) => {
            if lan.as_ref().is_some_and(|l| l.value == own.value) {
                diags.push(
                    Diagnostic::error(
                        "invalid-value",
                        format!("`{}` is the host's LAN interface", own.value),
                    )
                    .at(own.span.clone(), "an interface of its own on the segment cannot also carry the LAN")
                    .help("leave `interface` out here: the segment's VLAN is then tagged on the LAN interface"),
                );
                return None;
            }
            Some(Member {
                host: host.name.value.clone(),
                interface: own.value.clone(),
                parent: None,
                address: joined.address.value,
            })
        }
        (None, Some(lan)) => Some(Member {
            host: host.name.value.clone(),
            interface: vlan_interface(seg.vlan.value),
            parent: Some(lan.value.clone()),
            address: joined.address.value,
        }),
        (None, None) => {
            diags.push(
                Diagnostic::error(
                    "missing-key",
                    format!("host `{}` joins segment `{}` but names no interface", host.name.value, seg.name.value),
                )
                .at(joined.segment.span.clone(), format!("VLAN {} needs an interface to be tagged on", seg.vlan.value))
                .help(format!("add `interface = \"enp3s0\"` to `[hosts.{}]` (the name `ip link` shows for its LAN port), or an `interface` of its own here", host.name.value)),
            );
            None
        }
    }
}

/// The services on `seg`, and whether its clients reach each. A service
/// on a segment its host does not join is reported.
fn on_segment(seg: &Segment, placed: &[Placed<'_>], diags: &mut Vec<Diagnostic>) -> Vec<OnSegment> {
    let mut out = Vec::new();
    for (s, entry, host) in placed {
        let Some(named) = s.segments.iter().find(|n| n.value == seg.name.value) else {
            continue;
        };
        if !host
            .segments
            .iter()
            .any(|j| j.segment.value == seg.name.value)
        {
            diags.push(
                Diagnostic::error(
                    "segment-not-joined",
                    format!(
                        "`{}` is on segment `{}`, but its host `{}` does not join it",
                        s.name.value, seg.name.value, host.name.value
                    ),
                )
                .at(
                    named.span.clone(),
                    "its host has no address in this segment",
                )
                .help(format!(
                    "add `[hosts.{}.segments.{}]` with the host's `address` there",
                    host.name.value, seg.name.value
                )),
            );
            continue;
        }
        let reached = seg
            .uses
            .iter()
            .any(|u| serves(&s.name.value, entry, &u.value));
        out.push(OnSegment {
            instance: s.name.value.clone(),
            host: host.name.value.clone(),
            port: s.port.as_ref().map(|p| p.value as u16).or(entry.port),
            reached,
        });
    }
    uses_known(seg, placed, diags);
    out
}

/// Each `uses` entry names an instance of the spec, a catalog service or
/// a role one provides; anything else is a typo.
fn uses_known(seg: &Segment, placed: &[Placed<'_>], diags: &mut Vec<Diagnostic>) {
    for u in &seg.uses {
        let wanted = u.value.as_str();
        let in_spec = placed
            .iter()
            .any(|(s, e, _)| serves(&s.name.value, e, wanted));
        let in_catalog =
            catalog::service_names().contains(&wanted) || catalog::roles().any(|r| r == wanted);
        if in_spec || in_catalog {
            continue;
        }
        let names: Vec<String> = placed
            .iter()
            .map(|(s, _, _)| s.name.value.clone())
            .chain(catalog::roles().map(String::from))
            .collect();
        let d = Diagnostic::error(
            "unknown-service",
            format!(
                "segment `{}` uses `{wanted}`, which is no service or role",
                seg.name.value
            ),
        )
        .at(
            u.span.clone(),
            "neither a service of the spec, of the catalog, nor a role",
        );
        diags.push(
            match did_you_mean(wanted, names.iter().map(String::as_str)) {
                Some(m) => d.help(format!("did you mean `{m}`?")),
                None => d.help("name a service instance (`mosquitto`) or a role (`mqtt-broker`)"),
            },
        );
    }
}

/// Whether the instance is reached from any segment.
pub(crate) fn reached_from_a_segment(segments: &[SegmentPlan], instance: &str) -> bool {
    segments.iter().any(|s| {
        s.services
            .iter()
            .any(|o| o.reached && o.instance == instance)
    })
}

#[cfg(test)]
mod tests {
    use crate::fleet::testing::{BASE, found};

    /// A host joining a segment the spec does not declare is named once,
    /// whether the spec declares no segment or several.
    #[test]
    fn an_undeclared_segment_is_named_once() {
        let join = "interface = \"enp2s0\"\n\n[hosts.nas.segments.iott]\naddress = \"10.40.0.2\"\n";
        let two = "\n[network.segments.iot]\nvlan = 40\nsubnet = \"10.40.0.0/24\"\n\n\
                   [network.segments.cameras]\nvlan = 50\nsubnet = \"10.50.0.0/24\"\n";
        for declared in ["", two] {
            let text = format!("{BASE}{join}{declared}");
            let diags = crate::compile(&text).expect_err("it does not compile");
            let unknown: Vec<String> = found(&text, &diags)
                .into_iter()
                .filter(|f| f.starts_with("unknown-segment"))
                .collect();
            assert_eq!(unknown, ["unknown-segment@22:21"], "declared: {declared:?}");
        }
    }
}
