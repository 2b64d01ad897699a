//! ZFS datasets for state directories: the disko dataset (created at
//! install, mounted at the directory), the snapshot policy of its class,
//! ownership for the service user, and the offsite backup paths.

use super::infrastructure::OFFSITE_JOB;
use crate::catalog::PRIVATE_STATE_ROOT;
use crate::fleet::{DataDir, Fleet, HostPlan, policy};
use crate::nix::{Attrs, Nix, set};

/// Adds everything the directories of one owner (a service instance, or a
/// host's infrastructure) contribute.
pub fn contribute(m: &mut Attrs, fleet: &Fleet, owner: &str, user: Option<&str>, data: &[DataDir]) {
    for d in data {
        let Some((pool, name)) = &d.dataset else {
            continue;
        };
        let datasets = ["disko", "devices", "zpool", pool.as_str(), "datasets"];
        if let Some((parent, _)) = name.rsplit_once('/') {
            // The parent only groups its children; it mounts nowhere.
            let mut p = Attrs::new();
            set(&mut p, &["type"], "zfs_fs");
            set(&mut p, &["options", "mountpoint"], "none");
            set(m, &[&datasets[..], &[parent]].concat(), Nix::Attrs(p));
        }
        let mut ds = Attrs::new();
        set(&mut ds, &["type"], "zfs_fs");
        set(&mut ds, &["mountpoint"], d.path.as_str());
        set(&mut ds, &["options", "recordsize"], d.recordsize.as_str());
        if let Some(q) = d.quota {
            set(&mut ds, &["options", "quota"], q.zfs());
        }
        set(
            m,
            &[&datasets[..], &[name.as_str()]].concat(),
            Nix::Attrs(ds),
        );

        // A freshly mounted dataset belongs to root; hand it to the service,
        // unless the module's own rule already does.
        if let (Some(user), false) = (user, d.module_creates) {
            let rule = format!("10-homelab-{owner}");
            let mut perms = Attrs::new();
            set(&mut perms, &["user"], user);
            set(&mut perms, &["group"], user);
            set(&mut perms, &["mode"], "0750");
            set(
                m,
                &["systemd", "tmpfiles", "settings", &rule, &d.path, "d"],
                Nix::Attrs(perms),
            );
        }
        if policy::snapshots(d.class).is_some() {
            let full = format!("{pool}/{name}");
            set(
                m,
                &["services", "sanoid", "datasets", &full, "use_template"],
                Nix::strs([d.class.as_str()]),
            );
        }
    }
    // Critical and standard data goes offsite; disposable data is left
    // out on purpose (it can be re-created).
    if fleet.backup.is_some() {
        let offsite: Vec<&DataDir> = data.iter().filter(|d| d.goes_offsite()).collect();
        let outer = outermost(offsite.iter().map(|d| d.path.as_str()));
        let paths: Vec<String> = offsite
            .iter()
            .filter(|d| outer.contains(&d.path.as_str()))
            .map(|d| backup_path(d))
            .collect();
        if !paths.is_empty() {
            set(
                m,
                &["services", "restic", "backups", OFFSITE_JOB, "paths"],
                Nix::strs(paths),
            );
        }
    }
}

/// Where the offsite backup reads datasets: each one's snapshot, bound
/// below this directory at its own path. The same path every time lets
/// restic find the parent snapshot and skip unchanged files (restic#2246);
/// a snapshot is a consistent copy of SQLite files a live directory is not.
/// Restore with `restic restore <id>:/run/homelab-restic --target /`.
pub const SNAPSHOT_ROOT: &str = "/run/homelab-restic";
/// The ZFS snapshot the backup reads, taken just before it and destroyed
/// after it.
const BACKUP_SNAPSHOT: &str = "homelab-restic";

/// The path restic reads for a directory: its snapshot when it has a dataset.
fn backup_path(d: &DataDir) -> String {
    match d.dataset {
        Some(_) => format!("{SNAPSHOT_ROOT}{}", d.path),
        None => d.path.clone(),
    }
}

/// Shell lines for the offsite job on `host`: before the backup, snapshot
/// every dataset it reads (in one atomic `zfs snapshot`) and bind each
/// snapshot below [`SNAPSHOT_ROOT`]; after it (even when it failed), undo
/// both. `None` when no dataset goes offsite from the host.
pub fn backup_snapshots(fleet: &Fleet, host: &HostPlan) -> Option<(Vec<Nix>, Vec<Nix>)> {
    let mut dirs: Vec<&DataDir> = fleet
        .data_on(host)
        .into_iter()
        .map(|(_, d)| d)
        .filter(|d| d.goes_offsite() && d.dataset.is_some())
        .collect();
    if dirs.is_empty() {
        return None;
    }
    // Parents before the datasets mounted inside them.
    dirs.sort_by(|a, b| a.path.cmp(&b.path));
    let snapshot = |d: &DataDir| {
        let (pool, name) = d.dataset.as_ref().expect("filtered on datasets");
        format!("{pool}/{name}@{BACKUP_SNAPSHOT}")
    };
    let zfs = || Nix::raw("config.boot.zfs.package");
    let util = || Nix::raw("pkgs.util-linux");
    let arg = |s: String| Nix::call("lib.escapeShellArg", vec![Nix::Str(s)]);
    let text = |s: &str| Nix::str(s);

    let destroy = |d: &DataDir| {
        vec![
            zfs(),
            text("/bin/zfs destroy "),
            arg(snapshot(d)),
            text(" 2>/dev/null || true\n"),
        ]
    };
    let mut cleanup = Vec::new();
    for d in dirs.iter().rev() {
        cleanup.extend([util(), text("/bin/umount "), arg(backup_path(d))]);
        cleanup.push(text(" 2>/dev/null || true\n"));
    }
    cleanup.extend(dirs.iter().flat_map(|d| destroy(d)));

    // The cleanup runs whenever the unit stops; only a crash of the
    // machine leaves a snapshot behind (the mounts end with it).
    let mut prepare: Vec<Nix> = dirs.iter().flat_map(|d| destroy(d)).collect();
    prepare.extend([zfs(), text("/bin/zfs snapshot")]);
    for d in &dirs {
        prepare.extend([text(" "), arg(snapshot(d))]);
    }
    prepare.push(text("\n"));
    for d in &dirs {
        let source = format!("{}/.zfs/snapshot/{BACKUP_SNAPSHOT}", d.path);
        prepare.extend([text("mkdir -p "), arg(backup_path(d)), text("\n")]);
        prepare.extend([util(), text("/bin/mount --bind "), arg(source)]);
        prepare.extend([text(" "), arg(backup_path(d)), text("\n")]);
    }
    Some((prepare, cleanup))
}

/// `DynamicUser=` services keep their state below `/var/lib/private`,
/// which systemd requires to be 0700 (systemd.exec(5), `DynamicUser=`) and
/// refuses the service's `StateDirectory=` otherwise. A dataset mounted at
/// `/var/lib/private/<name>` makes the mount create that parent 0755 first;
/// tmpfiles' `d` adjusts the mode of an existing directory, and runs before
/// any service starts.
pub fn private_root(m: &mut Attrs, fleet: &Fleet, host: &HostPlan) {
    // The catalog test ties `dynamic_user` to state below the root.
    let mounted_below = fleet
        .instances_on(host.name())
        .filter(|i| i.entry.dynamic_user)
        .flat_map(|i| &i.data)
        .any(|d| d.dataset.is_some());
    if !mounted_below {
        return;
    }
    let root = PRIVATE_STATE_ROOT.trim_end_matches('/');
    let mut perms = Attrs::new();
    set(&mut perms, &["user"], "root");
    set(&mut perms, &["group"], "root");
    set(&mut perms, &["mode"], "0700");
    set(
        m,
        &[
            "systemd",
            "tmpfiles",
            "settings",
            "10-homelab-private",
            root,
            "d",
        ],
        Nix::Attrs(perms),
    );
}

/// The paths not below another path of the list: restic reads a nested
/// directory with its parent already, and listing it twice only makes the
/// snapshot's tree harder to read.
fn outermost<'a>(paths: impl Iterator<Item = &'a str> + Clone) -> Vec<&'a str> {
    paths
        .clone()
        .filter(|p| {
            !paths.clone().any(|parent| {
                p.strip_prefix(parent.trim_end_matches('/'))
                    .is_some_and(|rest| rest.starts_with('/'))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::outermost;

    #[test]
    fn nested_backup_paths_collapse_into_their_parent() {
        let paths = [
            "/var/lib/jellyfin",
            "/var/lib/jellyfin/metadata",
            "/var/lib/jellyfin2",
        ];
        assert_eq!(
            outermost(paths.iter().copied()),
            ["/var/lib/jellyfin", "/var/lib/jellyfin2"]
        );
    }
}
