//! What each host runs besides its services: the infrastructure their
//! needs imply (proxy, tunnel, database, media tree…), its state, and the
//! host id ZFS needs.

use super::model::{DataDir, HostPlan, Instance};
use crate::catalog::{self, Entry, State};
use crate::spec::{DataClass, Host, Size, Spec};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub(super) fn plan_hosts(spec: &Spec, instances: &[Instance]) -> Vec<HostPlan> {
    let mut by_host: HashMap<&str, Vec<&Instance>> = HashMap::new();
    for i in instances {
        by_host.entry(i.host.as_str()).or_default().push(i);
    }
    let any_served = instances.iter().any(|i| i.fqdn.is_some());
    spec.hosts
        .iter()
        .map(|h| {
            let mine = by_host
                .get(h.name.value.as_str())
                .map_or(&[][..], Vec::as_slice);
            let infrastructure = infrastructure(spec, h, mine, any_served);
            HostPlan {
                host_id: host_id(&spec.homelab.name.value, &h.name.value),
                data: infrastructure_data(h, &infrastructure),
                plain_data: super::plain::datasets(h),
                infrastructure,
                spec: h.clone(),
            }
        })
        .collect()
}

/// The infrastructure a host runs, derived from what its services need.
/// `any_served`: some instance of the fleet is served on a name, so the
/// front proxy runs.
fn infrastructure(
    spec: &Spec,
    host: &Host,
    mine: &[&Instance],
    any_served: bool,
) -> Vec<&'static str> {
    let mut out = vec!["openssh", "firewall", "fail2ban"];
    let zfs_root = host
        .boot
        .as_ref()
        .is_some_and(|b| b.fs.value == crate::spec::RootFs::Zfs);
    if !host.pools.is_empty() || zfs_root {
        out.push("zfs");
    }
    if spec.access.proxy.is_some()
        && super::wiring::is_front_proxy(spec, &host.name.value)
        && any_served
    {
        out.push("caddy");
    }
    if spec.access.tailscale.is_some() {
        out.push("tailscale");
    }
    if spec.access.tunnel.is_some() && mine.iter().any(|i| i.public_fqdn.is_some()) {
        out.push("cloudflared");
    }
    if mine.iter().any(|i| i.database.is_some()) {
        out.push("postgresql");
    }
    if mine.iter().any(|i| i.entry.media) {
        out.push("media");
    }
    out
}

/// Infrastructure state. Critical state (databases) and the media tree get
/// a dataset on the host's first pool, for record size and snapshots; the
/// rest is small and stays on the root file system, backed up like
/// everything else.
fn infrastructure_data(
    host: &Host,
    infrastructure: &[&'static str],
) -> Vec<(&'static Entry, DataDir)> {
    let pool = host.pools.first().map(|p| p.name.value.as_str());
    infrastructure
        .iter()
        .filter_map(|name| catalog::get(name))
        .flat_map(|entry| {
            entry
                .state
                .iter()
                .map(move |st| (entry, infrastructure_dir(entry, st, host, pool)))
        })
        .collect()
}

fn infrastructure_dir(entry: &Entry, st: &State, host: &Host, pool: Option<&str>) -> DataDir {
    let own_dataset = st.class == DataClass::Critical || st.dataset;
    DataDir {
        state: st.name.clone(),
        path: super::data::path_on(st, host),
        class: st.class,
        recordsize: st.recordsize.clone(),
        quota: st.quota.as_deref().and_then(Size::parse),
        dataset: pool
            .filter(|_| own_dataset)
            .map(|p| (p.to_string(), format!("{}/{}", entry.name, st.name))),
        span: None,
        offsite: st.offsite,
        module_creates: st.module_creates,
        schedule: None,
    }
}

/// A stable 8-hex-digit `networking.hostId` (ZFS needs one per machine).
fn host_id(homelab: &str, host: &str) -> String {
    let digest = Sha256::digest(format!("{homelab}/{host}").as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::resolve;
    use crate::fleet::testing::spec;

    #[test]
    fn host_ids_are_stable_and_differ_per_host() {
        assert_eq!(host_id("home", "server"), host_id("home", "server"));
        assert_ne!(host_id("home", "server"), host_id("home", "nas"));
        assert_eq!(host_id("home", "server").len(), 8);
        assert!(
            host_id("home", "nas")
                .chars()
                .all(|c| c.is_ascii_hexdigit())
        );
    }

    #[test]
    fn infrastructure_follows_the_services_of_each_host() {
        let (_, spec) = spec(
            "[services.nextcloud]\nhost = \"server\"\n[services.homepage]\nhost = \"nas\"\nexposure = \"host\"\n\n[access.proxy]\ndns_provider = \"cloudflare\"\ncredentials_secret = \"acme-dns\"\n",
        );
        let fleet = resolve(&spec).unwrap();
        assert_eq!(
            fleet.hosts[0].infrastructure,
            [
                "openssh",
                "firewall",
                "fail2ban",
                "zfs",
                "caddy",
                "postgresql"
            ]
        );
        // No pool, nothing served through the proxy.
        assert_eq!(
            fleet.hosts[1].infrastructure,
            ["openssh", "firewall", "fail2ban"]
        );
    }

    #[test]
    fn the_front_proxy_runs_caddy_for_names_served_from_other_hosts() {
        // Only `nas` runs a served service; `server`, the first host, is
        // the front proxy and serves its name.
        let (_, spec) = spec(
            "[services.homepage]\nhost = \"nas\"\n\n[access.proxy]\ndns_provider = \"cloudflare\"\ncredentials_secret = \"acme-dns\"\n",
        );
        let fleet = resolve(&spec).unwrap();
        assert!(fleet.hosts[0].infrastructure.contains(&"caddy"));
        assert!(!fleet.hosts[1].infrastructure.contains(&"caddy"));
    }

    #[test]
    fn critical_infrastructure_state_gets_a_dataset_on_the_first_pool() {
        let postgres = catalog::get("postgresql").unwrap();
        let st = postgres
            .state
            .iter()
            .find(|s| s.class == DataClass::Critical)
            .unwrap();
        let (_, spec) = spec("");
        let host = &spec.hosts[0];
        let on_pool = infrastructure_dir(postgres, st, host, Some("tank"));
        assert_eq!(
            on_pool.dataset,
            Some(("tank".to_string(), format!("postgresql/{}", st.name)))
        );
        assert_eq!(infrastructure_dir(postgres, st, host, None).dataset, None);
    }
}
