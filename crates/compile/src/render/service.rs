//! `services/<instance>.nix`: one service and everything it contributes.
//!
//! The NixOS module system merges lists and attribute sets across files, so
//! each service adds its own dataset, snapshot policy, backup paths, proxy
//! route, tunnel ingress, status check, scrape target, database and
//! secrets here, next to its module settings. The dashboard is the one
//! exception: homepage's file lists every service, one entry per group.

use super::datasets;
use super::infrastructure::{TAILNET_RANGE, age_secret};
use crate::fleet::{Fleet, HostPlan, Instance};
use crate::nix::{Attrs, Nix, merge_into, set};
use crate::spec::Exposure;
use std::collections::BTreeMap;

pub fn service(fleet: &Fleet, host: &HostPlan, i: &Instance) -> Attrs {
    let mut m = Attrs::new();
    for (k, v) in &i.nixos {
        merge_into(&mut m, k, v.clone());
    }
    datasets::contribute(&mut m, &i.name.value, i.entry.user.as_deref(), &i.data);
    route(&mut m, fleet, i);
    watch(&mut m, fleet, host, i);
    super::wiring::admit_peers(&mut m, i);
    super::wiring::after_mounts(&mut m, i);
    dashboard(&mut m, fleet, host, i);
    database(&mut m, i);
    super::media::contribute(&mut m, i);
    super::devices::contribute(&mut m, host, i);
    super::sso::provision(&mut m, fleet, i);
    super::alerts::contribute(&mut m, fleet, i);
    // An admin-only secret (the clear form of a hashed password) is never
    // decrypted on the host.
    for secret in i.secrets.values() {
        if fleet
            .secrets
            .get(secret)
            .is_some_and(|s| s.hosts.contains(&i.host))
        {
            age_secret(&mut m, fleet, secret, 3);
        }
    }
    m
}

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
    if fleet.host_of("victoriametrics") == Some(host.name()) {
        scrape(m, i);
    }
}

/// The tunnel ingress for the public name and the names the service's
/// own settings admit; the tunnel runs on the service's host.
fn route(m: &mut Attrs, fleet: &Fleet, i: &Instance) {
    let Some(endpoint) = i.local_endpoint() else {
        return;
    };
    aliases(m, i);
    if let (Some(public), Some(t)) = (&i.public_fqdn, &fleet.access.tunnel) {
        set(
            m,
            &[
                "services",
                "cloudflared",
                "tunnels",
                t.id.value.as_str(),
                "ingress",
                public.value.as_str(),
            ],
            endpoint,
        );
    }
}

/// The proxy route on the internal name, limited to the networks the
/// exposure allows.
fn vhost(m: &mut Attrs, fleet: &Fleet, i: &Instance) {
    let Some(endpoint) = i.local_endpoint() else {
        return;
    };
    let upstream = endpoint.trim_start_matches("http://");
    if let Some(fqdn) = &i.fqdn {
        let mut allowed = "private_ranges".to_string();
        if i.exposure.value >= Exposure::Tailnet {
            allowed.push(' ');
            allowed.push_str(TAILNET_RANGE);
        }
        // A service bound to one name sends its other names there, so links,
        // cookies and WebAuthn see the name its settings hold.
        let handler = match (&i.public_fqdn, i.entry.binds_one_name()) {
            (Some(public), true) => format!("redir https://{}{{uri}} permanent", public.value),
            _ => format!("reverse_proxy {upstream}"),
        };
        let outside = format!("@outside not remote_ip {allowed}\n");
        let gated = fleet
            .sso
            .as_ref()
            .and_then(|p| p.gateway.as_ref())
            .and_then(|g| g.route(&i.name.value));
        let config = match gated {
            Some(route) => super::sso_gateway::route_config(route, &outside, upstream),
            None => format!(
                "{outside}respond @outside \"Not reachable from this network\" 403\n{handler}\n"
            ),
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

/// The internal name, for a service with a public (canonical) name whose
/// module takes a list of further names.
fn aliases(m: &mut Attrs, i: &Instance) {
    let (Some(option), Some(_), Some(internal)) = (&i.entry.alias_option, &i.public_fqdn, &i.fqdn)
    else {
        return;
    };
    let path = crate::nix::split_path(option);
    let path: Vec<&str> = path.iter().map(String::as_str).collect();
    set(m, &path, Nix::strs([internal.value.as_str()]));
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
    if let Some(alerts) = super::alerts::endpoint_alerts(fleet) {
        e.insert("alerts".into(), alerts);
    }
    set(
        m,
        &["services", "gatus", "settings", "endpoints"],
        Nix::list([Nix::Attrs(e)]),
    );
}

/// The dashboard's entries, written by the homepage instance for every
/// service of the fleet, on any host: homepage shows each list element as
/// a group, so the renderer merges entries into one element per group
/// (contributions from each service file would repeat the group once per
/// service). Its status dot asks the service directly where homepage can
/// reach it: on its own host, or as a peer the service's firewall admits.
fn dashboard(m: &mut Attrs, fleet: &Fleet, host: &HostPlan, i: &Instance) {
    if i.entry.name != "homepage" {
        return;
    }
    let mut groups: BTreeMap<String, Vec<Nix>> = BTreeMap::new();
    for other in &fleet.instances {
        let Some(url) = other.url() else { continue };
        if other.entry.name == "homepage" {
            continue;
        }
        let reachable =
            other.host == host.name() || other.peers.iter().any(|p| p.host == host.name());
        let mut item = Attrs::new();
        item.insert("href".into(), Nix::str(url));
        item.insert("description".into(), Nix::str(&other.entry.description));
        if let Some(icon) = &other.entry.icon {
            item.insert("icon".into(), Nix::str(icon));
        }
        if let (Some(path), Some(endpoint), true) =
            (&other.entry.health, other.local_endpoint(), reachable)
        {
            item.insert("siteMonitor".into(), Nix::str(format!("{endpoint}{path}")));
        }
        let mut entry = Attrs::new();
        entry.insert(other.entry.title.clone(), Nix::Attrs(item));
        groups
            .entry(
                other
                    .entry
                    .group
                    .clone()
                    .unwrap_or_else(|| "Services".into()),
            )
            .or_default()
            .push(Nix::Attrs(entry));
    }
    if groups.is_empty() {
        return;
    }
    let list = groups.into_iter().map(|(name, entries)| {
        let mut group = Attrs::new();
        group.insert(name, Nix::List(entries));
        Nix::Attrs(group)
    });
    set(
        m,
        &["services", "homepage-dashboard", "services"],
        Nix::list(list),
    );
}

fn scrape(m: &mut Attrs, i: &Instance) {
    let (Some(path), Some(port)) = (&i.entry.metrics, i.port) else {
        return;
    };
    let target = format!("{}:{port}", i.address);
    scrape_job(m, &i.name.value, target, path, Some(&i.host));
}

/// One scrape job of the metrics store, labelled with the host it watches.
pub(crate) fn scrape_job(
    m: &mut Attrs,
    name: &str,
    target: String,
    path: &str,
    host: Option<&str>,
) {
    let mut static_config = Attrs::new();
    static_config.insert("targets".into(), Nix::strs([target]));
    if let Some(host) = host {
        static_config.insert("labels".into(), super::alerts::host_label(host));
    }
    let mut job = Attrs::new();
    job.insert("job_name".into(), Nix::str(name));
    job.insert("metrics_path".into(), Nix::str(path));
    job.insert(
        "static_configs".into(),
        Nix::list([Nix::Attrs(static_config)]),
    );
    set(
        m,
        &[
            "services",
            "victoriametrics",
            "prometheusConfig",
            "scrape_configs",
        ],
        Nix::list([Nix::Attrs(job)]),
    );
}

fn database(m: &mut Attrs, i: &Instance) {
    let (Some(db), Some(spec)) = (&i.database, &i.entry.database) else {
        return;
    };
    if !spec.module_managed {
        set(
            m,
            &["services", "postgresql", "ensureDatabases"],
            Nix::strs([db.as_str()]),
        );
        let mut user = Attrs::new();
        user.insert("name".into(), Nix::str(db));
        user.insert("ensureDBOwnership".into(), Nix::Bool(true));
        set(
            m,
            &["services", "postgresql", "ensureUsers"],
            Nix::list([Nix::Attrs(user)]),
        );
    }
}
