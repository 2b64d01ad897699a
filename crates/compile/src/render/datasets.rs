//! ZFS datasets for state directories: the disko dataset (created at
//! install, mounted at the directory), the snapshot policy of its class,
//! ownership for the service user.

use crate::catalog::PRIVATE_STATE_ROOT;
use crate::fleet::{DataDir, Fleet, HostPlan, policy};
use crate::nix::{Attrs, Nix, set};

/// Adds everything the directories of one owner (a service instance, or a
/// host's infrastructure) contribute.
pub(crate) fn contribute(m: &mut Attrs, owner: &str, user: Option<&str>, data: &[DataDir]) {
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
        sanoid(m, &format!("{pool}/{name}"), d);
    }
}

/// The dataset in sanoid: its class's template, and the counts its
/// schedule changes set on the dataset itself, which sanoid takes over
/// the template's. A class without a template (disposable) whose schedule
/// asks for snapshots gets every count and both switches on the dataset:
/// sanoid would fill the counts left out from its own defaults (48
/// hourly, 90 daily). A schedule of zeros stays listed, so sanoid prunes
/// the snapshots taken before.
fn sanoid(m: &mut Attrs, full: &str, d: &DataDir) {
    let dataset = ["services", "sanoid", "datasets", full];
    let mut put = |key: &str, value: Nix| set(m, &[&dataset[..], &[key]].concat(), value);
    match (policy::snapshots(d.class), &d.schedule) {
        (Some(_), schedule) => {
            put("use_template", Nix::strs([d.class.as_str()]));
            for (period, n) in schedule.iter().flat_map(|s| &s.counts) {
                put(period, Nix::Int(i64::from(n.value)));
            }
        }
        (None, Some(schedule)) => {
            for (period, n) in policy::counts(d.class, Some(schedule)).counts() {
                put(period, Nix::Int(i64::from(n)));
            }
            put("autosnap", Nix::Bool(true));
            put("autoprune", Nix::Bool(true));
        }
        (None, None) => {}
    }
}

/// The host's plain datasets (`[hosts.<h>.data.<name>]`): no service
/// owns them, so they belong to root.
pub(crate) fn plain(m: &mut Attrs, host: &HostPlan) {
    for p in &host.plain_data {
        contribute(m, &p.name.value, None, std::slice::from_ref(&p.dir));
    }
}

/// `DynamicUser=` services keep their state below `/var/lib/private`,
/// which systemd requires to be 0700 (systemd.exec(5), `DynamicUser=`) and
/// refuses the service's `StateDirectory=` otherwise. A dataset mounted at
/// `/var/lib/private/<name>` makes the mount create that parent 0755 first;
/// tmpfiles' `d` adjusts the mode of an existing directory, and runs before
/// any service starts.
pub(crate) fn private_root(m: &mut Attrs, fleet: &Fleet, host: &HostPlan) {
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
