//! Who must and must not reach what, from where a person stands: the
//! access model `check` and `show exposure` enforce, as the routes
//! `homelab verify exposure` tries, each with what it must see.
//!
//! - A name the front proxy serves answers from the LAN when the service's
//!   exposure is at least `lan`, from an admin device on the tailnet when
//!   it is at least `admins`, from any other device of the tailnet when it
//!   is at least `tailnet`, and never from the internet (the proxy refuses
//!   every address outside the networks the exposure allows: its 403 says
//!   "Not reachable from this network").
//! - A tunnel name answers from the internet.
//! - A port asked for directly answers only when no proxy fronts the
//!   service and its exposure reaches where the asker is; everything else
//!   (a service behind the proxy, a port only other hosts are let in to, a
//!   port VPN-Confinement maps into its namespace) must not answer at all.
//!
//! A route that answers where it must not is an exposure that was not
//! declared (a port opened by hand, a published container port, a DNAT
//! rule); one that does not answer where it must is a service down or a
//! rule too strict.

use crate::fleet::{Fleet, HostPlan, Instance};
use crate::spec::Exposure;
use serde::Serialize;

/// The body of the front proxy's refusal: the routes answer it with 403
/// (`render::watch`, `render::sso_gateway`), and the probes tell a refusal
/// from a service by it.
pub const REFUSAL: &str = "Not reachable from this network";

/// Where the asker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Vantage {
    Lan,
    /// An admin device on the tailnet (`[access.tailscale] admins`).
    Admin,
    /// Any other device of the tailnet.
    Tailnet,
    /// The internet (`--from public`).
    Internet,
}

impl Vantage {
    pub const NAMES: [&'static str; 4] = ["lan", "admin", "tailnet", "public"];

    pub fn parse(s: &str) -> Option<Vantage> {
        match s {
            "lan" => Some(Vantage::Lan),
            "admin" => Some(Vantage::Admin),
            "tailnet" => Some(Vantage::Tailnet),
            "public" | "internet" => Some(Vantage::Internet),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Vantage::Lan => "the LAN",
            Vantage::Admin => "an admin device on the tailnet",
            Vantage::Tailnet => "the tailnet",
            Vantage::Internet => "the internet",
        }
    }

    /// Whether an exposure reaches this vantage.
    fn reached_by(self, e: Exposure) -> bool {
        match self {
            Vantage::Lan => e >= Exposure::Lan,
            Vantage::Admin => e >= Exposure::Admins,
            Vantage::Tailnet => e >= Exposure::Tailnet,
            Vantage::Internet => e == Exposure::Public,
        }
    }
}

/// One way in to a service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Route {
    /// A name the front proxy serves, asked for at `address` (TLS, SNI).
    ProxyName {
        name: String,
        address: Option<String>,
        path: String,
    },
    /// A public name the tunnel serves, asked for where DNS says.
    TunnelName { name: String, path: String },
    /// The service's port, asked for directly at a host's address.
    Port {
        host: String,
        address: String,
        port: u16,
    },
}

impl Route {
    /// The route as a person would type it.
    pub fn text(&self) -> String {
        match self {
            Route::ProxyName { name, .. } | Route::TunnelName { name, .. } => {
                format!("https://{name}")
            }
            Route::Port { address, port, .. } => {
                if address.contains(':') {
                    format!("[{address}]:{port}")
                } else {
                    format!("{address}:{port}")
                }
            }
        }
    }
}

/// A route and whether it must answer from the vantage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub service: String,
    pub host: String,
    pub exposure: Exposure,
    pub route: Route,
    /// True: it must answer; false: it must not.
    pub open: bool,
    /// The rule that decides it, in the spec's words.
    pub rule: String,
}

/// Where the vantage reaches each host: the LAN by the spec's addresses,
/// the tailnet (from an admin device or another) by each host's
/// `tailnet_address`, the internet by the
/// home's `public_address` (a host without one for the vantage is left
/// out). `via` replaces the front proxy's address.
pub fn checks(fleet: &Fleet, vantage: Vantage, via: Option<&str>) -> Vec<Check> {
    let address = |h: &HostPlan| -> Option<String> {
        match vantage {
            Vantage::Lan => Some(h.spec.address.value.clone()),
            Vantage::Admin | Vantage::Tailnet => {
                h.spec.tailnet_address.as_ref().map(|a| a.value.clone())
            }
            Vantage::Internet => fleet
                .status
                .public_address
                .as_ref()
                .map(|a| a.value.clone()),
        }
    };
    let front = fleet.front_proxy();
    let front_address = via.map(str::to_string).or_else(|| front.and_then(address));
    let mut out = Vec::new();
    for i in &fleet.instances {
        out.extend(names(i, vantage, front_address.as_deref()));
        let Some(host) = fleet.hosts.iter().find(|h| h.name() == i.host) else {
            continue;
        };
        if let Some(at) = via.map(str::to_string).or_else(|| address(host)) {
            out.extend(ports(i, vantage, &at));
        }
    }
    out
}

fn names(i: &Instance, vantage: Vantage, front: Option<&str>) -> Vec<Check> {
    let e = i.exposure.value;
    let path = i.entry.health.clone().unwrap_or_else(|| "/".into());
    let check = |route, open, rule: String| Check {
        service: i.name.value.clone(),
        host: i.host.clone(),
        exposure: e,
        route,
        open,
        rule,
    };
    let mut out = Vec::new();
    if let Some(fqdn) = &i.fqdn {
        let open = vantage != Vantage::Internet && vantage.reached_by(e);
        let rule = if open {
            format!("exposure `{}` reaches {}", e.as_str(), vantage.as_str())
        } else if vantage == Vantage::Internet {
            "the proxy serves internal names to private networks only".to_string()
        } else if vantage == Vantage::Tailnet && e == Exposure::Admins {
            "exposure `admins` reaches the admin devices of the tailnet only".to_string()
        } else {
            format!(
                "exposure `{}` does not reach {}",
                e.as_str(),
                vantage.as_str()
            )
        };
        let route = Route::ProxyName {
            name: fqdn.value.clone(),
            address: front.map(str::to_string),
            path: path.clone(),
        };
        out.push(check(route, open, rule));
    }
    if let (Some(public), Vantage::Internet) = (&i.public_fqdn, vantage) {
        // The tunnel passes a public page's own paths only (`/health` is
        // not one of them): its page is what answers.
        let path = match i.entry.public_page {
            Some(_) => "/".to_string(),
            None => path,
        };
        let route = Route::TunnelName {
            name: public.value.clone(),
            path,
        };
        out.push(check(
            route,
            true,
            "exposure `public`: the tunnel serves it".into(),
        ));
    }
    out
}

/// The service's ports asked for directly at `address`. Extra ports
/// (workers, gRPC) are never proxied and reach no farther than the host.
fn ports(i: &Instance, vantage: Vantage, address: &str) -> Vec<Check> {
    let proxied = i.fqdn.is_some() || i.public_fqdn.is_some();
    i.port
        .iter()
        .chain(&i.entry.extra_ports)
        .enumerate()
        .filter(|(_, p)| !i.entry.udp_ports.contains(p))
        .map(|(n, &port)| {
            let e = if n == 0 {
                i.exposure.value
            } else {
                Exposure::Host
            };
            let open = n == 0 && !proxied && !i.confined() && vantage.reached_by(e);
            let rule = if i.confined() {
                "a port confined to the VPN is reached through the proxy only".to_string()
            } else if n == 0 && proxied {
                "a service behind the proxy is reached through it only".to_string()
            } else if open {
                format!("exposure `{}` reaches {}", e.as_str(), vantage.as_str())
            } else {
                format!(
                    "exposure `{}` does not reach {}",
                    e.as_str(),
                    vantage.as_str()
                )
            };
            Check {
                service: i.name.value.clone(),
                host: i.host.clone(),
                exposure: e,
                route: Route::Port {
                    host: i.host.clone(),
                    address: address.to_string(),
                    port,
                },
                open,
                rule,
            }
        })
        .collect()
}
