//! Segments (VLANs): what a segment's clients need must be reachable from
//! it, and a segment of devices is kept in — not routed to the LAN, not
//! let out to the internet — unless the spec says why.

use super::segment_subject;
use crate::diagnostic::Diagnostic;
use crate::fleet::{Fleet, Instance, SegmentPlan, loopback_only, serves};

/// `segment-unreachable`: each service or role a segment `uses` is on it,
/// on a host that joins it, and can be reached there.
pub(crate) fn uses_are_reached(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for seg in &fleet.segments {
        for wanted in &seg.spec.uses {
            let serving: Vec<&Instance> = fleet
                .instances
                .iter()
                .filter(|i| serves(&i.name.value, i.entry, &wanted.value))
                .collect();
            let on: Vec<&Instance> = serving
                .iter()
                .copied()
                .filter(|i| seg.services.iter().any(|o| o.instance == i.name.value))
                .collect();
            if on.iter().any(|i| why_unreachable(i).is_none()) {
                continue;
            }
            let (why, help) = match (serving.first(), on.first()) {
                (None, _) => (
                    "the spec has no such service".to_string(),
                    format!(
                        "add the service on a host that joins `{seg}`, with `segments = [\"{seg}\"]`",
                        seg = seg.name()
                    ),
                ),
                (Some(i), None) => (
                    format!("`{}` is not on this segment", i.name.value),
                    format!(
                        "add `segments = [\"{seg}\"]` to `[services.{name}]`; its host `{host}` joins the segment with `[hosts.{host}.segments.{seg}]`",
                        seg = seg.name(),
                        name = i.name.value,
                        host = i.host
                    ),
                ),
                (_, Some(i)) => (
                    format!(
                        "`{}` {}",
                        i.name.value,
                        why_unreachable(i).unwrap_or_default()
                    ),
                    "use another service for it, or leave it out of `uses`".to_string(),
                ),
            };
            out.push(
                Diagnostic::error(
                    "segment-unreachable",
                    format!(
                        "segment `{}` uses `{}`, which its clients cannot reach",
                        seg.name(),
                        wanted.value
                    ),
                )
                .at(wanted.span.clone(), why)
                .help(help)
                .about(&segment_subject(seg.name())),
            );
        }
    }
}

/// Why clients on a segment cannot reach an instance on it, if they can't.
fn why_unreachable(i: &Instance) -> Option<&'static str> {
    if i.port.is_none() {
        Some("listens on no port")
    } else if i.entry.vpn {
        Some("is confined to the VPN namespace")
    } else if loopback_only(i.entry) {
        Some("can only listen on 127.0.0.1")
    } else {
        None
    }
}

/// `segment-open`: a segment of devices (it uses the fleet's services, a
/// service is on it, or it names its clients) routed to the LAN, or let
/// out to the internet.
pub(crate) fn devices_kept_in(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for seg in fleet.segments.iter().filter(|s| s.holds_devices()) {
        let spec = &seg.spec;
        if spec.lan.value {
            out.push(open(
                seg,
                spec.lan.span.clone(),
                "is routed to the LAN",
                "its devices reach everything the LAN reaches",
                "remove `lan = true`: the segment reaches what it `uses`, on the hosts that join it",
            ));
        }
        if spec.internet.value {
            out.push(open(
                seg,
                spec.internet.span.clone(),
                "may reach the internet",
                if spec.internet.span == spec.name.span {
                    "the router lets it out unless `internet = false`"
                } else {
                    "the router lets it out"
                },
                "add `internet = false`, or say why the devices need the internet: `[network.segments.<name>.silence] segment-open = \"…\"`",
            ));
        }
    }
}

fn open(
    seg: &SegmentPlan,
    at: crate::diagnostic::Span,
    what: &str,
    note: &str,
    help: &str,
) -> Diagnostic {
    Diagnostic::warning(
        "segment-open",
        format!("segment `{}` holds devices but {what}", seg.name()),
    )
    .at(at, note)
    .help(help)
    .about(&segment_subject(seg.name()))
}
