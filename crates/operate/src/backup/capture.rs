//! One consistent capture of a service's files. The service's units are
//! stopped before its database is dumped and stay stopped until the files
//! are frozen, so no write can fall between the dump and the files: both
//! show the same moment.
//!
//! Two ways to freeze, behind [`Capture`]:
//! - [`ZfsSnapshot`], on a host where every backed-up path is its own
//!   dataset: `zfs snapshot` of each (an instant), mounted read-only at a
//!   stable path below [`ZFS_CAPTURE_ROOT`] (a `.zfs/snapshot/<name>` path
//!   changes each time and breaks restic's parent detection, restic#2246);
//!   the service runs again while restic reads the snapshot.
//! - [`StoppedTree`], everywhere else (paths without a dataset, a `--root`
//!   scratch tree, tests): restic reads the live folders while the units
//!   stay stopped, so the tree cannot move under it. Longer downtime, the
//!   same guarantee; it is what the test suite exercises, since ZFS cannot
//!   run there.

use super::{Context, Result};
use crate::runner::Cmd;
use compile::plan::ServicePlan;
use std::path::PathBuf;

/// Where ZFS captures are mounted: `<this>/<service>/<host path>`.
pub(crate) const ZFS_CAPTURE_ROOT: &str = "/run/homelab/capture";

pub trait Capture {
    /// Freezes the files (the units are already stopped). Returns the
    /// prefix under which each host path is read: host path `/var/lib/x`
    /// is read at `<prefix>/var/lib/x`.
    fn freeze(&mut self, ctx: &Context, service: &ServicePlan) -> Result<PathBuf>;
    /// True when the frozen copy no longer needs the service stopped.
    fn frees_the_service(&self) -> bool;
    /// Unmounts and forgets the frozen copy.
    fn release(&mut self, ctx: &Context) -> Result<()>;
}

/// The capture for a service: ZFS when the host root is `/` and every
/// backed-up path is a dataset, the stopped live tree otherwise.
pub(crate) fn for_service(ctx: &Context, service: &ServicePlan) -> Box<dyn Capture> {
    let all_datasets = service
        .paths
        .iter()
        .filter(|p| p.backed_up)
        .all(|p| p.dataset.is_some());
    if ctx.root == std::path::Path::new("/") && all_datasets {
        Box::new(ZfsSnapshot::default())
    } else {
        Box::new(StoppedTree)
    }
}

/// Reads the live folders while the units stay stopped.
pub(crate) struct StoppedTree;

impl Capture for StoppedTree {
    fn freeze(&mut self, ctx: &Context, _: &ServicePlan) -> Result<PathBuf> {
        Ok(ctx.root.clone())
    }
    fn frees_the_service(&self) -> bool {
        false
    }
    fn release(&mut self, _: &Context) -> Result<()> {
        Ok(())
    }
}

/// ZFS snapshots mounted at a stable path.
#[derive(Default)]
pub(crate) struct ZfsSnapshot {
    snapshots: Vec<String>,
    mounts: Vec<PathBuf>,
}

impl Capture for ZfsSnapshot {
    fn freeze(&mut self, ctx: &Context, service: &ServicePlan) -> Result<PathBuf> {
        let prefix = PathBuf::from(ZFS_CAPTURE_ROOT).join(&service.name);
        let name = format!("homelab-backup-{}", super::now().as_second());
        let datasets: Vec<(&str, &str)> = service
            .paths
            .iter()
            .filter(|p| p.backed_up)
            .filter_map(|p| Some((p.dataset.as_deref()?, p.path.as_str())))
            .collect();
        // One atomic `zfs snapshot` of every dataset.
        let snaps: Vec<String> = datasets
            .iter()
            .map(|(d, _)| format!("{d}@{name}"))
            .collect();
        ctx.exec_ok(
            "zfs snapshot",
            &Cmd::new("zfs").arg("snapshot").args(snaps.clone()),
        )?;
        self.snapshots = snaps;
        for (snapshot, (_, path)) in self.snapshots.clone().iter().zip(&datasets) {
            let at = super::under(&prefix, path);
            super::io(
                "creating the capture mount point",
                std::fs::create_dir_all(&at),
            )?;
            let at_text = at.display().to_string();
            ctx.exec_ok(
                "mounting the snapshot",
                &Cmd::new("mount").args(["-t", "zfs", "-o", "ro", snapshot, &at_text]),
            )?;
            self.mounts.push(at);
        }
        let dumps = super::under(&prefix, &service.dump_dir);
        super::io(
            "creating the capture mount point",
            std::fs::create_dir_all(&dumps),
        )?;
        let live_dumps = ctx.host_path(&service.dump_dir).display().to_string();
        ctx.exec_ok(
            "mounting the dump folder",
            &Cmd::new("mount").args(["--bind", &live_dumps, &dumps.display().to_string()]),
        )?;
        self.mounts.push(dumps);
        Ok(prefix)
    }
    fn frees_the_service(&self) -> bool {
        true
    }
    fn release(&mut self, ctx: &Context) -> Result<()> {
        for m in self.mounts.drain(..).rev() {
            ctx.exec_ok(
                "unmounting the capture",
                &Cmd::new("umount").arg(m.display().to_string()),
            )?;
        }
        for s in self.snapshots.drain(..) {
            ctx.exec_ok(
                "zfs destroy of the capture",
                &Cmd::new("zfs").args(["destroy", &s]),
            )?;
        }
        Ok(())
    }
}
