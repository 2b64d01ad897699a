//! The media stack's two shared pieces: the VPN namespace torrent clients
//! are confined to (VPN-Confinement: no tunnel, no traffic), and the media
//! tree where downloads and the library share one dataset, so that the
//! *arr apps import with hardlinks instead of copies.

use super::secrets::{age_secret, secret_path};
use crate::fleet::{Fleet, HostPlan, Instance, MEDIA_ROOT, VPN_NAMESPACE};
use crate::nix::{Attrs, Nix, set};

/// The group that may write the media tree.
const MEDIA_GROUP: &str = "media";
/// Below the media root: where clients download, where the library lives.
const MEDIA_DIRS: [&str; 2] = ["downloads", "library"];

/// Whether any service on the host must run inside the VPN namespace.
pub(crate) fn confines(fleet: &Fleet, host: &HostPlan) -> bool {
    on(fleet, host).any(Instance::confined)
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
        set(
            m,
            &["networking", "firewall", "extraCommands"],
            forward_nothing_into_the_namespace(),
        );
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
    quotas(m, fleet, host);
}

/// The capped folders of `[media.quotas]` (created like the tree's own),
/// and a oneshot unit that puts each in its ZFS project and sets the
/// project's quota. It runs at boot and again when the quotas change; a
/// folder already in its project is not walked again.
fn quotas(m: &mut Attrs, fleet: &Fleet, host: &HostPlan) {
    let projects: Vec<_> = fleet
        .media_quotas
        .iter()
        .filter(|q| q.host.as_deref() == Some(host.name()) && q.dataset.is_some())
        .collect();
    if projects.is_empty() {
        return;
    }
    let rule = ["systemd", "tmpfiles", "settings", "10-homelab-media"];
    for q in &projects {
        let mut perms = Attrs::new();
        set(&mut perms, &["user"], "root");
        set(&mut perms, &["group"], MEDIA_GROUP);
        set(&mut perms, &["mode"], "2775");
        for dir in parents(&q.path) {
            set(
                m,
                &[rule[0], rule[1], rule[2], rule[3], &dir, "d"],
                Nix::Attrs(perms.clone()),
            );
        }
    }
    let list = projects
        .iter()
        .map(|q| {
            let (pool, name) = q.dataset.as_ref().expect("filtered above");
            let mut a = Attrs::new();
            a.insert("path".into(), Nix::str(&q.path));
            a.insert("id".into(), Nix::str(q.id.to_string()));
            a.insert("size".into(), Nix::str(q.size.value.zfs()));
            a.insert("dataset".into(), Nix::str(format!("{pool}/{name}")));
            Nix::Attrs(a)
        })
        .collect();
    let unit = ["systemd", "services", "media-quotas"];
    set(
        m,
        &[unit[0], unit[1], unit[2], "description"],
        "ZFS project quotas on the media tree's folders",
    );
    set(
        m,
        &[unit[0], unit[1], unit[2], "wantedBy"],
        Nix::strs(["multi-user.target"]),
    );
    set(
        m,
        &[unit[0], unit[1], unit[2], "after"],
        Nix::strs(["zfs-mount.service", "systemd-tmpfiles-setup.service"]),
    );
    set(
        m,
        &[unit[0], unit[1], unit[2], "unitConfig", "RequiresMountsFor"],
        Nix::strs([MEDIA_ROOT]),
    );
    set(
        m,
        &[unit[0], unit[1], unit[2], "path"],
        Nix::list([Nix::raw("config.boot.zfs.package")]),
    );
    set(
        m,
        &[unit[0], unit[1], unit[2], "serviceConfig", "Type"],
        "oneshot",
    );
    set(
        m,
        &[
            unit[0],
            unit[1],
            unit[2],
            "serviceConfig",
            "RemainAfterExit",
        ],
        true,
    );
    set(
        m,
        &[unit[0], unit[1], unit[2], "script"],
        Nix::Call {
            func: QUOTA_SCRIPT.to_string(),
            args: vec![Nix::List(list)],
        },
    );
}

/// One folder's commands; every value reaches the shell through
/// `lib.escapeShellArg`. `zfs project -d` prints the folder's project ID
/// first; `-rs` tags what it already holds and makes new files inherit.
const QUOTA_SCRIPT: &str = r#"lib.concatMapStrings (q: ''
  set -- $(zfs project -d ${lib.escapeShellArg q.path})
  if [ "$1" != ${lib.escapeShellArg q.id} ]; then
    zfs project -p ${lib.escapeShellArg q.id} -rs ${lib.escapeShellArg q.path}
  fi
  zfs set ${lib.escapeShellArg "projectquota@${q.id}=${q.size}"} ${lib.escapeShellArg q.dataset}
'')"#;

/// VPN-Confinement maps each confined port from the host into its
/// namespace with a DNAT in nat PREROUTING (`<namespace>-prerouting`,
/// generatePreroutingRules) that matches the port on every address of the
/// host, from every source; what it maps is forwarded through the bridge
/// `<namespace>-br`, past the INPUT chain and the proxy's access rules.
/// The proxy on this host connects to the namespace's address directly,
/// never forwarded, so nothing needs forwarding into the namespace: the
/// rule drops it all, IPv4 and IPv6 (`ip46tables`, the firewall script's
/// helper). The firewall never flushes FORWARD, so an earlier start's copy
/// is taken out first, and the rule outlives a stopped firewall as the
/// namespace does.
fn forward_nothing_into_the_namespace() -> String {
    let bridge = format!("{VPN_NAMESPACE}-br");
    format!(
        "# the VPN namespace `{VPN_NAMESPACE}`: only this host reaches its mapped ports, through the proxy\n\
         while ip46tables -D FORWARD -o {bridge} -j DROP 2>/dev/null; do :; done\n\
         ip46tables -I FORWARD -o {bridge} -j DROP\n"
    )
}

/// `/srv/media/library/movies` → the folders below the media root down to
/// it: `/srv/media/library`, `/srv/media/library/movies`.
fn parents(path: &str) -> Vec<String> {
    let rest = path.strip_prefix(MEDIA_ROOT).unwrap_or(path);
    let mut out = Vec::new();
    let mut current = MEDIA_ROOT.to_string();
    for part in rest.split('/').filter(|p| !p.is_empty()) {
        current.push('/');
        current.push_str(part);
        out.push(current.clone());
    }
    out
}

/// A service's part: its place in the namespace and in the media group.
pub(crate) fn contribute(m: &mut Attrs, i: &Instance) {
    let unit = i.entry.module.rsplit('.').next().unwrap_or(&i.entry.module);
    let units: Vec<&str> = if i.entry.units.is_empty() {
        vec![unit]
    } else {
        i.entry.units.iter().map(String::as_str).collect()
    };
    if i.confined() {
        for unit in units {
            let c = ["systemd", "services", unit, "vpnConfinement"];
            set(m, &[c[0], c[1], c[2], c[3], "enable"], true);
            set(m, &[c[0], c[1], c[2], c[3], "vpnNamespace"], VPN_NAMESPACE);
        }
        if let Some(port) = i.port {
            // Opens the web UI's port in the namespace, where the proxy on
            // this host reaches it; the host port the module also maps is
            // never forwarded (`forward_nothing_into_the_namespace`).
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
