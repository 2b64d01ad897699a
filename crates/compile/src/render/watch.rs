//! What a host does for a service as its front proxy, status page and
//! metrics store: the route, the check and the scrape job. A service's own
//! file calls it for its host; `wiring.nix` for the services of other
//! hosts that count this one a peer.

use crate::fleet::{Fleet, HostPlan, Instance, MetricsStore};
use crate::nix::{Attrs, Nix, set};
use crate::probes::exposure::REFUSAL;

/// What `host` does for instance `i` as its front proxy, status page and
/// metrics store: the route, the check and the scrape job, each only
/// where `host` runs that part. `i` runs here or counts `host` a peer.
pub fn watch(m: &mut Attrs, fleet: &Fleet, host: &HostPlan, i: &Instance) {
    if fleet.front_proxy().is_some_and(|p| p.name() == host.name()) {
        vhost(m, fleet, i);
    }
    if fleet.host_of("gatus") == Some(host.name()) {
        status_check(m, fleet, i);
    }
    if let Some((store, at)) = fleet.metrics_store()
        && at.host == host.name()
    {
        scrape(m, store, i);
    }
}

/// The proxy route on the internal name, limited to the networks the
/// exposure allows (`reach`).
fn vhost(m: &mut Attrs, fleet: &Fleet, i: &Instance) {
    let Some(endpoint) = i.local_endpoint() else {
        return;
    };
    let upstream = endpoint.trim_start_matches("http://");
    if let Some(fqdn) = &i.fqdn {
        // A service bound to one name sends its other names there, so links,
        // cookies and WebAuthn see the name its settings hold.
        let handler = match (&i.public_fqdn, i.entry.binds_one_name()) {
            (Some(public), true) => format!("redir https://{}{{uri}} permanent", public.value),
            _ => format!("reverse_proxy {upstream}"),
        };
        let outside = super::reach::outside(fleet, i);
        let gated = fleet
            .sso
            .as_ref()
            .and_then(|p| p.gateway.as_ref())
            .and_then(|g| g.route(&i.name.value));
        let config = match gated {
            Some(route) => super::sso_gateway::route_config(route, &outside, upstream),
            None => format!("{outside}respond @outside \"{REFUSAL}\" 403\n{handler}\n"),
        };
        let vhost = ["services", "caddy", "virtualHosts", fqdn.value.as_str()];
        set(
            m,
            &[vhost[0], vhost[1], vhost[2], vhost[3], "useACMEHost"],
            fleet.homelab.internal_domain.value.as_str(),
        );
        set(
            m,
            &[vhost[0], vhost[1], vhost[2], vhost[3], "extraConfig"],
            config,
        );
    }
}

fn status_check(m: &mut Attrs, fleet: &Fleet, i: &Instance) {
    let (Some(path), Some(endpoint)) = (&i.entry.health, i.local_endpoint()) else {
        return;
    };
    let mut e = Attrs::new();
    e.insert("name".into(), Nix::str(&i.name.value));
    e.insert(
        "group".into(),
        Nix::str(i.entry.group.as_deref().unwrap_or("Services")),
    );
    e.insert("url".into(), Nix::str(format!("{endpoint}{path}")));
    e.insert("interval".into(), Nix::str("1m"));
    e.insert(
        "conditions".into(),
        Nix::strs(["[STATUS] == 200", "[RESPONSE_TIME] < 2000"]),
    );
    if let Some(alerts) = super::gatus::check_alerts(fleet) {
        e.insert("alerts".into(), alerts);
    }
    if let Some(ui) = super::gatus::check_ui(fleet) {
        e.insert("ui".into(), ui);
    }
    set(
        m,
        &["services", "gatus", "settings", "endpoints"],
        Nix::list([Nix::Attrs(e)]),
    );
}

fn scrape(m: &mut Attrs, store: MetricsStore, i: &Instance) {
    let (Some(path), Some(port)) = (&i.entry.metrics, i.port) else {
        return;
    };
    let target = format!("{}:{port}", i.address);
    super::scrape::scrape_job(m, store, &i.name.value, target, path, Some(&i.host));
}
