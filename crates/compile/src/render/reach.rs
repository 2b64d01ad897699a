//! Who reaches a name the front proxy serves, by the service's exposure:
//! the Caddy matcher `@outside` of everyone else (the route answers them
//! 403), and, when no name is served to the whole tailnet, the firewall
//! rules that let only the admin devices of the tailnet at the proxy.
//!
//! | exposure | let in |
//! |---|---|
//! | `lan` | private ranges (Caddy's `private_ranges`), not the tailnet's IPv6 range |
//! | `admins` | the same, and each admin device's tailnet address |
//! | `tailnet`, `public` | private ranges and the whole tailnet, 100.64.0.0/10 (without a tailnet, as `lan`) |
//!
//! Tailscale gives every device an IPv6 address in fd7a:115c:a1e0::/48
//! too, which lies inside `private_ranges` (fd00::/8): without taking it
//! out, every device of the tailnet would pass for the LAN over IPv6.

use crate::fleet::{Fleet, HostPlan, Instance, TAILNET_RANGE, TAILNET_RANGE_V6};
use crate::nix::{Attrs, set};
use crate::spec::Exposure;

/// The ports the proxy listens on, open on every interface
/// (`infrastructure::proxy`).
pub(crate) const PROXY_PORTS: [u16; 2] = [80, 443];

/// The Caddy directives naming everyone the route of `i` refuses.
pub(crate) fn outside(fleet: &Fleet, i: &Instance) -> String {
    // A public name without a tailnet is reached through the tunnel only.
    if i.exposure.value >= Exposure::Tailnet && fleet.access.tailscale.is_some() {
        return format!("@outside not remote_ip private_ranges {TAILNET_RANGE}\n");
    }
    let mut allowed = "private_ranges".to_string();
    if i.exposure.value == Exposure::Admins {
        for d in fleet.admin_devices() {
            allowed.push(' ');
            allowed.push_str(&d.address.value);
        }
    }
    // Inside the allowed ranges and outside the tailnet's IPv6 range, or
    // refused: the inner `not` takes that range out of `private_ranges`.
    // Unindented (Caddy does not mind), so the Nix string stays `''…''`.
    format!(
        "@outside {{
not {{
remote_ip {allowed}
not remote_ip {TAILNET_RANGE_V6}
}}
}}
"
    )
}

/// On the front proxy's host, when the widest exposure of the names it
/// serves is `admins`: no device of the tailnet but the admin devices has
/// any business with the proxy, so the firewall refuses the others before
/// Caddy sees them. The rules are inserted at the top of `nixos-fw` (the
/// module flushes the chain on every start): the refusal first, then each
/// admin device's acceptance above it. The loopback is left alone (the
/// host asking its own tailnet address).
pub(crate) fn proxy_from_tailnet(m: &mut Attrs, fleet: &Fleet, host: &HostPlan) {
    let front = fleet.front_proxy().is_some_and(|p| p.name() == host.name());
    let served = fleet.instances.iter().filter(|i| i.fqdn.is_some());
    let widest = served.map(|i| i.exposure.value).max();
    let devices = fleet.admin_devices();
    if !front || !host.runs("caddy") || widest != Some(Exposure::Admins) || devices.is_empty() {
        return;
    }
    let ports = PROXY_PORTS.map(|p| p.to_string()).join(",");
    let rule = |tool: &str, source: &str, target: &str| {
        format!(
            "{tool} -I nixos-fw -p tcp ! -i lo -s {source} -m multiport --dports {ports} -j {target}"
        )
    };
    let mut lines = String::from(
        "# The proxy from the tailnet: its admin devices only (no name is served to the whole tailnet)\n",
    );
    lines.push_str(&rule("iptables", TAILNET_RANGE, "nixos-fw-log-refuse"));
    lines.push('\n');
    lines.push_str(&rule("ip6tables", TAILNET_RANGE_V6, "nixos-fw-log-refuse"));
    lines.push('\n');
    for d in devices {
        lines.push_str(&rule("iptables", &d.address.value, "nixos-fw-accept"));
        lines.push_str(&format!("  # {}\n", d.name.value));
    }
    set(m, &["networking", "firewall", "extraCommands"], lines);
}
