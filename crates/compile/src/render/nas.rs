//! The NAS restic repository (3-2-1's second copy on another machine): on
//! the replica host, rest-server serves one repository per source host.
//!
//! - Append-only (`--append-only`): a source host can add snapshots but
//!   not delete or rewrite them, so a compromised or ransomed source
//!   cannot destroy its own history on the NAS.
//! - Private repositories (`--private-repos`): the login `<host>` reaches
//!   `/<host>/` only, so two hosts never share a repository or its locks.
//! - Pruning happens here, on the NAS (`homelab-nas-prune`), with the
//!   repository on local disk, as the `restic` user rest-server runs as.
//! - Logins are machine-made agenix secrets (`restic-nas-<host>`, read by
//!   the source host's restic as `RESTIC_REST_USERNAME`/`_PASSWORD`); the
//!   NAS writes the bcrypt `.htpasswd` from them at boot, below `/run`,
//!   so no password or hash reaches the Nix store.
//! - The port is open to the source hosts' LAN addresses only.

use super::secrets::load_credential;
use super::secrets::{AGENIX_UNIT, declare_file};
use crate::fleet::{
    Fleet, HostPlan, NAS_HTPASSWD_UNIT, NAS_PRUNE_UNIT, REST_SERVER_PORT, nas_login_secret,
};
use crate::nix::{Attrs, Nix, set};

/// Where the repositories live: a dataset of the replica pool.
pub(crate) const REPOSITORY_ROOT: &str = crate::fleet::NAS_REPOSITORY_ROOT;
/// The dataset below the replica pool that holds them.
pub(crate) const REPOSITORY_DATASET: &str = crate::fleet::NAS_REPOSITORY_DATASET;
/// rest-server's logins, written at boot (a tmpfs, never the store).
pub(crate) const HTPASSWD: &str = "/run/homelab-nas/htpasswd";
/// What the NAS keeps: the offsite retention (a test holds them equal).
pub(crate) const NAS_KEEP: &str =
    "--keep-daily 7 --keep-weekly 5 --keep-monthly 12 --keep-yearly 3";
/// When the NAS prunes: after the nightly backups have landed.
pub(crate) const PRUNE_SCHEDULE: &str = "Sun *-*-* 05:00:00";

/// Adds the repository server to the replica host, when other hosts
/// back up to it.
pub(crate) fn contribute(m: &mut Attrs, fleet: &Fleet, host: &HostPlan) {
    let Some(replica) = &fleet.replica else {
        return;
    };
    if !fleet.serves_nas_repository(host.name()) {
        return;
    }
    let sources = fleet.nas_sources();
    server(m, host, &replica.pool);
    firewall(m, host, &sources);
    htpasswd(m, fleet, &sources);
    prune(m, fleet);
}

fn server(m: &mut Attrs, host: &HostPlan, pool: &str) {
    let s = ["services", "restic", "server"];
    set(m, &[s[0], s[1], s[2], "enable"], true);
    // The socket binds the LAN address only; FreeBind lets it before the
    // address is up (the module activates rest-server by socket).
    set(
        m,
        &[s[0], s[1], s[2], "listenAddress"],
        format!("{}:{REST_SERVER_PORT}", host.spec.address.value),
    );
    set(
        m,
        &[
            "systemd",
            "sockets",
            "restic-rest-server",
            "socketConfig",
            "FreeBind",
        ],
        true,
    );
    set(m, &[s[0], s[1], s[2], "dataDir"], REPOSITORY_ROOT);
    set(m, &[s[0], s[1], s[2], "appendOnly"], true);
    set(m, &[s[0], s[1], s[2], "privateRepos"], true);
    set(m, &[s[0], s[1], s[2], "htpasswd-file"], HTPASSWD);

    let datasets = ["disko", "devices", "zpool", pool, "datasets"];
    let mut ds = Attrs::new();
    set(&mut ds, &["type"], "zfs_fs");
    set(&mut ds, &["mountpoint"], REPOSITORY_ROOT);
    // restic writes packs of 16 MiB and never rewrites them in place.
    set(&mut ds, &["options", "recordsize"], "1M");
    set(
        m,
        &[&datasets[..], &[REPOSITORY_DATASET]].concat(),
        Nix::Attrs(ds),
    );
    // The dataset is mounted as root's; rest-server runs as `restic`.
    let mut perms = Attrs::new();
    set(&mut perms, &["user"], "restic");
    set(&mut perms, &["group"], "restic");
    set(&mut perms, &["mode"], "0700");
    set(
        m,
        &[
            "systemd",
            "tmpfiles",
            "settings",
            "10-homelab-nas",
            REPOSITORY_ROOT,
            "d",
        ],
        Nix::Attrs(perms),
    );
}

/// One rule per source host, as the cross-host wiring admits its peers.
fn firewall(m: &mut Attrs, host: &HostPlan, sources: &[&HostPlan]) {
    let mut lines = String::from("# the NAS restic repository: the hosts that back up to it\n");
    for s in sources {
        lines.push_str(&format!(
            "iptables -A nixos-fw -p tcp -s {} -d {} --dport {REST_SERVER_PORT} -j nixos-fw-accept  # {}\n",
            s.spec.address.value,
            host.spec.address.value,
            s.name()
        ));
    }
    set(m, &["networking", "firewall", "extraCommands"], lines);
}

/// rest-server's `.htpasswd`, made from every login handed to the unit
/// (a systemd credential named after its host). Fixed text: host names
/// reach it only as credential names, never as shell words.
const HTPASSWD_SCRIPT: &str = r#"new=/run/homelab-nas/htpasswd.new
rm -f "$new"
touch "$new"
for login in "$CREDENTIALS_DIRECTORY"/*; do
  sed -n 's/^RESTIC_REST_PASSWORD=//p' "$login" | htpasswd -i -B "$new" "$(basename "$login")"
done
chown restic:restic "$new"
mv "$new" /run/homelab-nas/htpasswd
"#;

/// A oneshot before rest-server that writes `.htpasswd` (bcrypt) from
/// each source host's login secret.
fn htpasswd(m: &mut Attrs, fleet: &Fleet, sources: &[&HostPlan]) {
    let name = NAS_HTPASSWD_UNIT.trim_end_matches(".service");
    let mut credentials = Vec::new();
    for s in sources {
        let secret = nas_login_secret(s.name());
        declare_file(m, fleet, &secret, 2);
        credentials.push(load_credential(s.name(), &secret));
    }
    let u = ["systemd", "services", name];
    set(
        m,
        &[u[0], u[1], u[2], "description"],
        "Logins of the hosts that back up to this NAS (rest-server .htpasswd)",
    );
    set(
        m,
        &[u[0], u[1], u[2], "before"],
        Nix::strs(["restic-rest-server.service"]),
    );
    set(
        m,
        &[u[0], u[1], u[2], "requiredBy"],
        Nix::strs(["restic-rest-server.service"]),
    );
    set(m, &[u[0], u[1], u[2], "after"], Nix::strs([AGENIX_UNIT]));
    set(
        m,
        &[u[0], u[1], u[2], "path"],
        Nix::list([Nix::raw("pkgs.apacheHttpd")]),
    );
    let c = [u[0], u[1], u[2], "serviceConfig"];
    set(m, &[c[0], c[1], c[2], c[3], "Type"], "oneshot");
    set(m, &[c[0], c[1], c[2], c[3], "RemainAfterExit"], true);
    set(m, &[c[0], c[1], c[2], c[3], "UMask"], "0077");
    set(
        m,
        &[c[0], c[1], c[2], c[3], "LoadCredential"],
        Nix::List(credentials),
    );
    set(
        m,
        &[c[0], c[1], c[2], c[3], "RuntimeDirectory"],
        "homelab-nas",
    );
    set(
        m,
        &[c[0], c[1], c[2], c[3], "RuntimeDirectoryPreserve"],
        true,
    );
    set(m, &[u[0], u[1], u[2], "script"], HTPASSWD_SCRIPT);
}

/// The NAS applies the retention itself: `restic forget --prune` on each
/// source host's repository, per service (snapshots are tagged by
/// service), as `restic`, with the repository password handed over as a
/// systemd credential (readable by root only on disk).
fn prune(m: &mut Attrs, fleet: &Fleet) {
    let Some(b) = &fleet.backup else { return };
    let password = &b.password_secret.value;
    declare_file(m, fleet, password, 2);
    let name = NAS_PRUNE_UNIT.trim_end_matches(".service");
    let script = format!(
        "for repository in {REPOSITORY_ROOT}/*/; do\n  restic --retry-lock 2h -r \"$repository\" --password-file \"$CREDENTIALS_DIRECTORY/password\" forget --prune --group-by host,tags {NAS_KEEP}\ndone\n"
    );
    let u = ["systemd", "services", name];
    set(
        m,
        &[u[0], u[1], u[2], "description"],
        "Prune the append-only restic repositories of this NAS",
    );
    set(m, &[u[0], u[1], u[2], "after"], Nix::strs([AGENIX_UNIT]));
    set(
        m,
        &[u[0], u[1], u[2], "path"],
        Nix::list([Nix::raw("pkgs.restic")]),
    );
    set(m, &[u[0], u[1], u[2], "restartIfChanged"], false);
    set(m, &[u[0], u[1], u[2], "serviceConfig", "Type"], "oneshot");
    set(m, &[u[0], u[1], u[2], "serviceConfig", "User"], "restic");
    set(m, &[u[0], u[1], u[2], "serviceConfig", "Group"], "restic");
    set(
        m,
        &[u[0], u[1], u[2], "serviceConfig", "LoadCredential"],
        load_credential("password", password),
    );
    set(
        m,
        &[u[0], u[1], u[2], "serviceConfig", "CacheDirectory"],
        "homelab-nas-prune",
    );
    set(
        m,
        &[u[0], u[1], u[2], "environment", "RESTIC_CACHE_DIR"],
        "/var/cache/homelab-nas-prune",
    );
    set(m, &[u[0], u[1], u[2], "script"], script);
    let mut t = Attrs::new();
    t.insert(
        "description".into(),
        Nix::str("Prune the append-only restic repositories of this NAS"),
    );
    t.insert("wantedBy".into(), Nix::strs(["timers.target"]));
    let mut config = Attrs::new();
    config.insert("OnCalendar".into(), Nix::str(PRUNE_SCHEDULE));
    config.insert("Persistent".into(), Nix::Bool(true));
    t.insert("timerConfig".into(), Nix::Attrs(config));
    set(m, &["systemd", "timers", name], Nix::Attrs(t));
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_nas_keeps_what_offsite_keeps() {
        assert_eq!(
            super::NAS_KEEP,
            crate::plan::OFFSITE_RETENTION.restic_flags().join(" ")
        );
    }
}
