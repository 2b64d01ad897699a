//! `services/<instance>.nix`: one service and everything it contributes.
//!
//! The NixOS module system merges lists and attribute sets across files, so
//! each service adds its own dataset, snapshot policy, backup paths, proxy
//! route, tunnel ingress, status check, scrape target, database and
//! secrets here, next to its module settings. The dashboard is the one
//! exception: homepage's file lists every service, one entry per group.

use super::datasets;
use super::secrets::age_secret;
use crate::fleet::{Fleet, HostPlan, Instance};
use crate::nix::{Attrs, Nix, merge_into, set};
use std::collections::BTreeMap;

pub fn service(fleet: &Fleet, host: &HostPlan, i: &Instance) -> Attrs {
    let mut m = Attrs::new();
    for (k, v) in &i.nixos {
        merge_into(&mut m, k, v.clone());
    }
    datasets::contribute(&mut m, &i.name.value, i.entry.user.as_deref(), &i.data);
    route(&mut m, fleet, i);
    super::watch::watch(&mut m, fleet, host, i);
    super::wiring::admit_peers(&mut m, i);
    super::wiring::after_mounts(&mut m, i);
    dashboard(&mut m, fleet, host, i);
    database(&mut m, i);
    super::media::contribute(&mut m, i);
    super::devices::contribute(&mut m, host, i);
    super::sso::provision(&mut m, fleet, i);
    super::alerts::contribute(&mut m, fleet, i);
    super::grafana::contribute(&mut m, fleet, i);
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
            ingress(i, endpoint),
        );
    }
}

/// The tunnel's rule for a public name: the whole service, or for a page
/// meant for anyone (`[public_page]`) the page's own paths only; other
/// paths get the tunnel's `default`, a 404.
fn ingress(i: &Instance, endpoint: String) -> Nix {
    let Some(page) = &i.entry.public_page else {
        return Nix::str(endpoint);
    };
    let mut rule = Attrs::new();
    rule.insert("service".into(), Nix::str(endpoint));
    rule.insert("path".into(), Nix::str(&page.paths));
    Nix::Attrs(rule)
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
