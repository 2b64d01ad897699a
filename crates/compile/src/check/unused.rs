//! Configuration that changes nothing: a spec key the fleet has no use for
//! is a warning that says why, so that nothing is dropped without a word.

use crate::diagnostic::Diagnostic;
use crate::fleet::{Fleet, MetricsStore};

/// `[access.tunnel]` with no `public` service: nothing routes through it.
pub(crate) fn unused_tunnel(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let Some(t) = &fleet.access.tunnel else {
        return;
    };
    if fleet.instances.iter().any(|i| i.public_fqdn.is_some()) {
        return;
    }
    out.push(
        Diagnostic::warning("unused-tunnel", "no service is public, so the tunnel carries nothing")
            .at(t.id.span.clone(), "no `cloudflared` is configured for this tunnel")
            .help("set `exposure = \"public\"` (with `exposure_reason`) on the services that should be reachable from the internet, or remove `[access.tunnel]`"),
    );
}

/// A replica host with nothing critical to pull: no syncoid, no key.
pub(crate) fn idle_replica(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let (Some(plan), Some(r)) = (
        &fleet.replica,
        fleet.backup.as_ref().and_then(|b| b.replica.as_ref()),
    ) else {
        return;
    };
    if !fleet.pulled().is_empty() {
        return;
    }
    out.push(
        Diagnostic::warning(
            "idle-replica",
            format!("`{}` has no critical dataset to pull", plan.host),
        )
        .at(
            r.host.span.clone(),
            "replicas are made of the critical datasets of the other hosts",
        )
        .help(format!(
            "place services with critical data on another host than `{}` (with a ZFS pool), or remove `replica` and its keys; `{}` is not needed meanwhile",
            plan.host, plan.key_secret
        )),
    );
}

/// A metrics exporter nothing scrapes: the fleet has no metrics store, or
/// the store cannot reach it (a VPN-confined service).
pub(crate) fn unscraped_exporter(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let stores: Vec<&str> = fleet
        .instances
        .iter()
        .filter(|i| MetricsStore::of(&i.entry.name).is_some())
        .map(|i| i.host.as_str())
        .collect();
    for i in &fleet.instances {
        // An exporter is a service whose only use is to be scraped.
        let exporter = i.entry.metrics.is_some() && !i.entry.proxied;
        // The store on another host scrapes it over the LAN (its host is
        // a peer of the exporter, see `fleet::wiring`).
        let scraped = stores
            .iter()
            .any(|s| *s == i.host || i.peers.iter().any(|p| p.host == *s));
        if !exporter || scraped {
            continue;
        }
        let help = match stores.first() {
            Some(store) => format!(
                "metrics are scraped on the host that stores them; move `{}` to `{store}`, or remove it",
                i.name.value
            ),
            None => "add a metrics store on this host (`[services.prometheus]` or `[services.victoriametrics]`), or remove it".to_string(),
        };
        out.push(
            Diagnostic::warning(
                "unscraped-exporter",
                format!("nothing scrapes `{}` on `{}`", i.name.value, i.host),
            )
            .at(i.name.span.clone(), "its metrics are collected by no one")
            .help(help)
            .about(&i.name.value),
        );
    }
}
