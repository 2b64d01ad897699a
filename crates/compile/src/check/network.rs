//! Network rules: ports and names must not clash, and each exposure needs
//! the access path that provides it.

use crate::diagnostic::{Diagnostic, Span};
use crate::fleet::{Fleet, Instance};
use crate::spec::Exposure;
use std::collections::BTreeMap;

/// Two services on one host cannot listen on the same port, and no service
/// may take a port the host's infrastructure uses: every port of
/// `Fleet::infrastructure_ports` (SSH, the proxy, the sign-in gateway,
/// vmalert, the NAS repository…).
pub(crate) fn port_clash(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let mut by_host: BTreeMap<&str, Vec<&crate::fleet::Instance>> = BTreeMap::new();
    for i in &fleet.instances {
        by_host.entry(i.host.as_str()).or_default().push(i);
    }
    for host in &fleet.hosts {
        let mut taken: BTreeMap<u16, (String, Option<Span>)> = BTreeMap::new();
        for p in fleet.infrastructure_ports(host) {
            taken.insert(p.port, (p.label(), None));
        }
        let mine = by_host.get(host.name()).into_iter().flatten();
        for i in mine {
            let ports = i.port.iter().chain(&i.entry.extra_ports);
            for &port in ports {
                match taken.get(&port) {
                    Some((other, span)) => {
                        out.push(clash(i, port, other, span.clone(), host.name()))
                    }
                    None => {
                        taken.insert(port, (i.name.value.clone(), Some(i.port_span.clone())));
                    }
                }
            }
        }
    }
}

fn clash(i: &Instance, port: u16, other: &str, other_span: Option<Span>, host: &str) -> Diagnostic {
    // The main port can move; extra ports are fixed by the catalog entry.
    let movable = i.port == Some(port);
    let note = if !movable {
        format!(
            "`{}` also needs port {port}, which cannot change",
            i.name.value
        )
    } else if i.port_span != i.name.span {
        format!("`{}` set to port {port} here", i.name.value)
    } else {
        format!("`{}` uses port {port} (catalog default)", i.name.value)
    };
    let d = Diagnostic::error(
        "port-clash",
        format!("port {port} is used twice on host `{host}`"),
    )
    .at(i.port_span.clone(), note);
    let help = match (movable, other_span.is_some()) {
        (true, true) => format!("give `{}` another port with `port = …`", i.name.value),
        (true, false) => format!(
            "port {port} belongs to {other} on this host; give `{}` another port with `port = …`",
            i.name.value
        ),
        (false, true) => format!("give `{other}` another port with `port = …`"),
        (false, false) => format!(
            "port {port} belongs to {other} on this host; run `{}` on another host",
            i.name.value
        ),
    };
    let d = d.help(help);
    match other_span {
        Some(span) => d.also(span, format!("`{other}` uses port {port} here")),
        None => d,
    }
}

/// Two services cannot be served under the same name.
pub(crate) fn duplicate_name(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<&str, &Instance> = BTreeMap::new();
    for i in &fleet.instances {
        for name in [&i.fqdn, &i.public_fqdn].into_iter().flatten() {
            if let Some(first) = seen.get(name.value.as_str()) {
                if first.name.value == i.name.value {
                    continue;
                }
                out.push(
                    Diagnostic::error(
                        "duplicate-name",
                        format!("`{}` is served twice", name.value),
                    )
                    .at(
                        name.span.clone(),
                        format!("`{}` is served at `{}`", i.name.value, name.value),
                    )
                    .also(
                        first
                            .fqdn
                            .as_ref()
                            .map_or(first.name.span.clone(), |f| f.span.clone()),
                        format!("`{}` is already served there", first.name.value),
                    )
                    .help(format!("give `{}` another `subdomain`", i.name.value)),
                );
            } else {
                seen.insert(&name.value, i);
            }
        }
    }
}

/// `lan`/`admins`/`tailnet` need the reverse proxy, `admins` and
/// `tailnet` need Tailscale, `public` needs the tunnel.
pub(crate) fn exposure_needs_access(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in &fleet.instances {
        let e = i.exposure.value;
        let span = i.exposure.span.clone();
        let missing = |what: &str, table: &str, example: &str| {
            Diagnostic::error(
                "missing-access",
                format!(
                    "`{}` is `{}` but the spec does not set up {what}",
                    i.name.value,
                    e.as_str()
                ),
            )
            .at(
                span.clone(),
                format!("`{}` exposure needs {what}", e.as_str()),
            )
            .help(format!(
                "add `[access.{table}]` with {example}, or narrow the exposure"
            ))
        };
        if i.fqdn.is_some() && fleet.access.proxy.is_none() {
            out.push(missing(
                "the reverse proxy",
                "proxy",
                "`dns_provider` and `credentials_secret`",
            ));
        }
        if e == Exposure::Admins && fleet.access.tailscale.is_none() {
            out.push(missing(
                "the tailnet",
                "tailscale",
                "`admins = { laptop = \"100.x.y.z\" }`",
            ));
        }
        // A public service is reached through the tunnel; the tailnet
        // route to it is there only when the spec has a tailnet.
        if e == Exposure::Tailnet && fleet.access.tailscale.is_none() {
            out.push(missing("the tailnet", "tailscale", "`auth_key_secret`"));
        }
        if e == Exposure::Public && fleet.access.tunnel.is_none() {
            out.push(missing(
                "the tunnel",
                "tunnel",
                "`id` and `credentials_secret`",
            ));
        }
    }
}
