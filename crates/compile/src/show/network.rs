//! `homelab show network`: the segments (VLANs), who in them reaches what
//! and who enforces it, and what the router must do. The hosts enforce
//! what reaches the hosts; everything that crosses the router (to the LAN,
//! other VLANs, the internet) is the router's, and the checklist under the
//! table says what to set there.

use super::{Cell, Table};
use crate::fleet::{Fleet, Member, SegmentPlan};

pub fn network(fleet: &Fleet) -> Table {
    let mut t = Table::new(
        "Network segments (VLANs): who reaches what, and who enforces it",
        &[
            "segment",
            "vlan",
            "from",
            "to",
            "port",
            "allowed",
            "enforced by",
        ],
    );
    for seg in &fleet.segments {
        rows(&mut t, seg);
    }
    if fleet.segments.is_empty() {
        t.notes.push(
            "No segments: the spec has no `[network.segments]` (docs/network.md).".to_string(),
        );
    } else {
        t.notes.push(router_checklist(fleet));
    }
    t
}

fn clients(seg: &SegmentPlan) -> String {
    if seg.spec.clients.is_empty() {
        format!("{} clients ({})", seg.name(), seg.spec.subnet.value)
    } else {
        let names: Vec<&str> = seg
            .spec
            .clients
            .iter()
            .map(|c| c.name.value.as_str())
            .collect();
        format!("{} clients: {}", seg.name(), names.join(", "))
    }
}

fn at(name: &str, m: &Member) -> String {
    format!("{name} on {} ({})", m.host, m.address)
}

fn rows(t: &mut Table, seg: &SegmentPlan) {
    let vlan = u64::from(seg.spec.vlan.value);
    let row =
        |t: &mut Table, from: String, to: String, port: Option<u64>, allowed: bool, by: String| {
            t.row(vec![
                seg.name().into(),
                vlan.into(),
                from.into(),
                to.into(),
                Cell::from(port),
                allowed.into(),
                by.into(),
            ]);
        };
    for (s, m) in seg.reached() {
        let by = format!("host {}", m.host);
        row(
            t,
            clients(seg),
            at(&s.instance, m),
            s.port.map(u64::from),
            true,
            by,
        );
    }
    for m in &seg.members {
        let by = format!("host {}", m.host);
        row(t, clients(seg), at("anything else", m), None, false, by);
    }
    for s in seg.services.iter().filter(|s| !s.reached) {
        if let Some(m) = seg.member(&s.host) {
            let by = format!("host {} (its own connections)", m.host);
            row(t, at(&s.instance, m), clients(seg), None, true, by);
        }
    }
    row(
        t,
        clients(seg),
        "the LAN and the other VLANs".into(),
        None,
        seg.spec.lan.value,
        "router".into(),
    );
    row(
        t,
        clients(seg),
        "the internet".into(),
        None,
        seg.spec.internet.value,
        "router".into(),
    );
}

/// What the router (and the switches, the access points) must do for the
/// segments, one paragraph per VLAN.
fn router_checklist(fleet: &Fleet) -> String {
    let mut out =
        String::from("What the router must do (the hosts enforce only what reaches them):\n");
    for seg in &fleet.segments {
        let s = &seg.spec;
        out.push_str(&format!(
            "\nVLAN {} `{}` ({}):",
            s.vlan.value,
            seg.name(),
            s.subnet.value
        ));
        if let Some(d) = &s.description {
            out.push_str(&format!(" {}", d.value));
        }
        out.push('\n');
        for m in &seg.members {
            out.push_str(&match &m.parent {
                Some(parent) => format!(
                    "  - switch port of {} ({parent}): VLAN {} tagged, the LAN untagged (a trunk)\n",
                    m.host, s.vlan.value
                ),
                None => format!(
                    "  - switch port of {} ({}): VLAN {} untagged only (an access port)\n",
                    m.host, m.interface, s.vlan.value
                ),
            });
        }
        out.push_str(&format!(
            "  - ports and Wi-Fi networks of its devices: VLAN {} only\n",
            s.vlan.value
        ));
        let fixed: Vec<String> = seg
            .members
            .iter()
            .map(|m| format!("{} ({})", m.address, m.host))
            .collect();
        out.push_str(&format!(
            "  - DHCP on VLAN {} in {}, the router as gateway{}\n",
            s.vlan.value,
            s.subnet.value,
            if fixed.is_empty() {
                String::new()
            } else {
                format!("; keep {} out of the pool", fixed.join(", "))
            }
        ));
        for c in &s.clients {
            out.push_str(&format!(
                "  - DHCP reservation: {} → {}\n",
                c.name.value, c.address.value
            ));
        }
        out.push_str(&if s.lan.value {
            format!("  - route VLAN {} to and from the LAN\n", s.vlan.value)
        } else {
            format!(
                "  - route nothing between VLAN {} and the LAN or other VLANs: the hosts it reaches join it\n",
                s.vlan.value
            )
        });
        out.push_str(&if s.internet.value {
            format!("  - let VLAN {} out to the internet (NAT)\n", s.vlan.value)
        } else {
            format!(
                "  - block VLAN {} from the internet (forwarding to the WAN dropped)\n",
                s.vlan.value
            )
        });
    }
    out
}
