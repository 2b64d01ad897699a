//! `infrastructure.nix`: the shared machinery a host's services plug into —
//! ZFS, the reverse proxy with its wildcard certificate, the tailnet, the
//! tunnel, PostgreSQL with dumps, snapshot templates. Backups, drills and
//! preseed are `operations.nix` (see `operations.rs`).
//! Services add their own parts (routes, paths, datasets) in their files.

use super::secrets::{age_secret, secret_path};
use crate::fleet::{Fleet, HostPlan, policy};
use crate::nix::{Attrs, Nix, set};
use crate::spec::DataClass;

/// How often sanoid runs where `frequently` snapshots are kept: every 15
/// minutes, sanoid's default `frequent_period`.
pub(crate) const SANOID_FREQUENT_INTERVAL: &str = "*:0/15";

pub fn infrastructure(fleet: &Fleet, host: &HostPlan) -> Attrs {
    let mut m = Attrs::new();
    if host.runs("zfs") {
        zfs(&mut m, fleet, host);
    }
    if host.runs("caddy") {
        proxy(&mut m, fleet);
        super::sso_gateway::gateway(&mut m, fleet, host);
    }
    if host.runs("tailscale") {
        tailnet(&mut m, fleet);
    }
    if host.runs("cloudflared") {
        tunnel(&mut m, fleet);
    }
    if host.runs("postgresql") {
        set(&mut m, &["services", "postgresql", "enable"], true);
        // No `services.postgresqlBackup`: `homelab backup run` dumps each
        // database right before its files, at one point in time.
    }
    super::replication::contribute(&mut m, fleet, host);
    super::datasets::private_root(&mut m, fleet, host);
    super::media::infrastructure(&mut m, fleet, host);
    super::devices::infrastructure(&mut m, fleet, host);
    for (entry, dir) in &host.data {
        super::datasets::contribute(
            &mut m,
            &entry.name,
            entry.user.as_deref(),
            std::slice::from_ref(dir),
        );
    }
    super::datasets::plain(&mut m, host);
    m
}

fn zfs(m: &mut Attrs, fleet: &Fleet, host: &HostPlan) {
    let pools: Vec<String> = host
        .spec
        .pools
        .iter()
        .map(|p| p.name.value.clone())
        .collect();
    set(m, &["boot", "supportedFilesystems"], Nix::strs(["zfs"]));
    if !pools.is_empty() {
        set(m, &["boot", "zfs", "extraPools"], Nix::strs(pools.clone()));
    }
    // Never import a pool another system still holds: the module's default
    // from stateVersion 26.11, and for older hosts (default `true`, with a
    // warning) safe too, as their pools were last imported under their own
    // `networking.hostId`.
    set(m, &["boot", "zfs", "forceImportRoot"], false);
    // The root pool is imported at boot as `/`; it is scrubbed all the same.
    let mut scrubbed = pools;
    if host
        .spec
        .boot
        .as_ref()
        .is_some_and(|b| b.fs.value == crate::spec::RootFs::Zfs)
    {
        scrubbed.insert(0, super::disko::ROOT_POOL.to_string());
    }
    set(m, &["services", "zfs", "autoScrub", "enable"], true);
    set(
        m,
        &["services", "zfs", "autoScrub", "pools"],
        Nix::strs(scrubbed),
    );
    set(m, &["services", "zfs", "trim", "enable"], true);

    // Snapshot policies by data class; datasets opt in from service files.
    set(m, &["services", "sanoid", "enable"], true);
    // sanoid takes a snapshot only when it runs: `frequently` snapshots
    // (its 15-minute `frequent_period`) need a run every 15 minutes, not
    // the module's hourly default.
    let frequent = fleet
        .data_on(host)
        .iter()
        .any(|(_, d)| d.snapshots().is_some_and(|p| p.frequently > 0));
    if frequent {
        set(
            m,
            &["services", "sanoid", "interval"],
            SANOID_FREQUENT_INTERVAL,
        );
    }
    for class in [DataClass::Critical, DataClass::Standard] {
        let Some(p) = policy::snapshots(class) else {
            continue;
        };
        let mut t = Attrs::new();
        for (k, v) in [
            ("frequently", p.frequently),
            ("hourly", p.hourly),
            ("daily", p.daily),
            ("weekly", p.weekly),
            ("monthly", p.monthly),
        ] {
            t.insert(k.into(), Nix::Int(i64::from(v)));
        }
        t.insert("autosnap".into(), Nix::Bool(true));
        t.insert("autoprune".into(), Nix::Bool(true));
        set(
            m,
            &["services", "sanoid", "templates", class.as_str()],
            Nix::Attrs(t),
        );
    }
}

fn proxy(m: &mut Attrs, fleet: &Fleet) {
    let Some(p) = &fleet.access.proxy else { return };
    let zone = fleet.homelab.internal_domain.value.as_str();
    set(m, &["services", "caddy", "enable"], true);
    set(
        m,
        &["networking", "firewall", "allowedTCPPorts"],
        Nix::list(super::reach::PROXY_PORTS.map(|p| Nix::Int(p.into()))),
    );

    // One wildcard certificate through DNS-01, so no name leaks into
    // certificate transparency logs and nothing needs port 80 from outside.
    set(m, &["security", "acme", "acceptTerms"], true);
    set(
        m,
        &["security", "acme", "defaults", "email"],
        fleet.homelab.admin_email.value.as_str(),
    );
    let cert = ["security", "acme", "certs", zone];
    set(
        m,
        &[cert[0], cert[1], cert[2], cert[3], "domain"],
        format!("*.{zone}"),
    );
    set(
        m,
        &[cert[0], cert[1], cert[2], cert[3], "extraDomainNames"],
        Nix::strs([zone]),
    );
    set(
        m,
        &[cert[0], cert[1], cert[2], cert[3], "dnsProvider"],
        p.dns_provider.value.as_str(),
    );
    set(m, &[cert[0], cert[1], cert[2], cert[3], "group"], "caddy");
    set(
        m,
        &[cert[0], cert[1], cert[2], cert[3], "environmentFile"],
        secret_path(&p.credentials_secret.value),
    );
    age_secret(m, fleet, &p.credentials_secret.value, 2);
}

fn tailnet(m: &mut Attrs, fleet: &Fleet) {
    let Some(t) = &fleet.access.tailscale else {
        return;
    };
    set(m, &["services", "tailscale", "enable"], true);
    set(m, &["services", "tailscale", "openFirewall"], true);
    set(
        m,
        &["services", "tailscale", "useRoutingFeatures"],
        "server",
    );
    // tailscaled (since 1.52) jumps from INPUT to a chain of its own ahead
    // of the firewall's, ending in "accept everything on tailscale0": every
    // port of the host would be open to the whole tailnet. `nodivert`
    // keeps its chains but leaves INPUT to the firewall. `tailscale set`
    // applies it on every boot; `tailscale up` (run with the auth key)
    // refuses to drop a setting that is not the default, so it says it too.
    let mut up = vec![NETFILTER_MODE];
    if t.ssh.value {
        up.push("--ssh");
    }
    set(m, &["services", "tailscale", "extraUpFlags"], Nix::strs(up));
    set(
        m,
        &["services", "tailscale", "extraSetFlags"],
        Nix::strs([NETFILTER_MODE]),
    );
    if let Some(k) = &t.auth_key_secret {
        set(
            m,
            &["services", "tailscale", "authKeyFile"],
            secret_path(&k.value),
        );
        age_secret(m, fleet, &k.value, 2);
    }
    // The tailnet interface is not trusted: the proxy's 80/443 are open on
    // every interface already, and trusting it would open every port of a
    // service that cannot bind to one address (0.0.0.0) to the tailnet.
}

/// tailscaled's netfilter mode: its chains made, no jump to them, so the
/// host's firewall decides what the tailnet reaches.
const NETFILTER_MODE: &str = "--netfilter-mode=nodivert";

fn tunnel(m: &mut Attrs, fleet: &Fleet) {
    let Some(t) = &fleet.access.tunnel else {
        return;
    };
    let base = ["services", "cloudflared", "tunnels", t.id.value.as_str()];
    set(m, &["services", "cloudflared", "enable"], true);
    set(
        m,
        &[base[0], base[1], base[2], base[3], "credentialsFile"],
        secret_path(&t.credentials_secret.value),
    );
    set(
        m,
        &[base[0], base[1], base[2], base[3], "default"],
        "http_status:404",
    );
    age_secret(m, fleet, &t.credentials_secret.value, 2);
}
