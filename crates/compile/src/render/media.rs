//! The media stack's two shared pieces: the VPN namespace torrent clients
//! are confined to (VPN-Confinement: no tunnel, no traffic), and the media
//! tree where downloads and the library share one dataset, so that the
//! *arr apps import with hardlinks instead of copies.

use super::infrastructure::{age_secret, secret_path};
use crate::fleet::{Fleet, HostPlan, Instance, MEDIA_ROOT, VPN_NAMESPACE};
use crate::nix::{Attrs, Nix, set};

/// The group that may write the media tree.
const MEDIA_GROUP: &str = "media";
/// Below the media root: where clients download, where the library lives.
const MEDIA_DIRS: [&str; 2] = ["downloads", "library"];

/// Whether any service on the host must run inside the VPN namespace.
pub fn confines(fleet: &Fleet, host: &HostPlan) -> bool {
    on(fleet, host).any(|i| i.entry.vpn)
}

fn on<'f>(fleet: &'f Fleet, host: &'f HostPlan) -> impl Iterator<Item = &'f Instance> + 'f {
    fleet
        .instances
        .iter()
        .filter(move |i| i.host == host.name())
}

/// The host's part: the namespace, and the media tree's group and folders
/// (its dataset comes with the `media` infrastructure state).
pub fn infrastructure(m: &mut Attrs, fleet: &Fleet, host: &HostPlan) {
    if let (Some(vpn), true) = (&fleet.access.vpn, confines(fleet, host)) {
        let ns = ["vpnNamespaces", VPN_NAMESPACE];
        set(m, &[ns[0], ns[1], "enable"], true);
        set(
            m,
            &[ns[0], ns[1], "wireguardConfigFile"],
            secret_path(&vpn.wireguard_secret.value),
        );
        age_secret(m, fleet, &vpn.wireguard_secret.value, 2);
    }
    if !host.runs("media") {
        return;
    }
    set(
        m,
        &["users", "groups", MEDIA_GROUP],
        Nix::Attrs(Attrs::new()),
    );
    // setgid directories: whatever a member writes stays in the group.
    let rule = ["systemd", "tmpfiles", "settings", "10-homelab-media"];
    for dir in std::iter::once(MEDIA_ROOT.to_string())
        .chain(MEDIA_DIRS.iter().map(|d| format!("{MEDIA_ROOT}/{d}")))
    {
        let mut perms = Attrs::new();
        set(&mut perms, &["user"], "root");
        set(&mut perms, &["group"], MEDIA_GROUP);
        set(&mut perms, &["mode"], "2775");
        set(
            m,
            &[rule[0], rule[1], rule[2], rule[3], &dir, "d"],
            Nix::Attrs(perms),
        );
    }
}

/// A service's part: its place in the namespace and in the media group.
pub fn contribute(m: &mut Attrs, i: &Instance) {
    let unit = i.entry.module.rsplit('.').next().unwrap_or(&i.entry.module);
    let units: Vec<&str> = if i.entry.units.is_empty() {
        vec![unit]
    } else {
        i.entry.units.iter().map(String::as_str).collect()
    };
    if i.entry.vpn {
        for unit in units {
            let c = ["systemd", "services", unit, "vpnConfinement"];
            set(m, &[c[0], c[1], c[2], c[3], "enable"], true);
            set(m, &[c[0], c[1], c[2], c[3], "vpnNamespace"], VPN_NAMESPACE);
        }
        if let Some(port) = i.port {
            // Opens the web UI to the host, where the proxy reaches it.
            let mut map = Attrs::new();
            map.insert("from".into(), Nix::Int(i64::from(port)));
            map.insert("to".into(), Nix::Int(i64::from(port)));
            set(
                m,
                &["vpnNamespaces", VPN_NAMESPACE, "portMappings"],
                Nix::list([Nix::Attrs(map)]),
            );
        }
    }
    if let (true, Some(user)) = (i.entry.media, &i.entry.user) {
        set(
            m,
            &["users", "users", user, "extraGroups"],
            Nix::strs([MEDIA_GROUP]),
        );
    }
}
