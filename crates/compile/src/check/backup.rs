//! 3-2-1 by default: critical data has snapshots, a replica on a second
//! machine and an encrypted offsite copy; standard data has snapshots and
//! offsite; disposable data is stated as such (by its class). One finding
//! per service, naming its directories.

use crate::diagnostic::{Diagnostic, Span};
use crate::fleet::{DataDir, Fleet, Instance};
use crate::spec::DataClass;

/// Findings name the directories in their note and point at the service.
fn span(i: &Instance) -> Span {
    i.name.span.clone()
}

fn paths(dirs: &[&DataDir]) -> String {
    dirs.iter()
        .map(|d| d.path.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn data_is_protected(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for i in &fleet.instances {
        let kept: Vec<&DataDir> = i
            .data
            .iter()
            .filter(|d| d.class != DataClass::Disposable)
            .collect();
        let critical: Vec<&DataDir> = kept
            .iter()
            .copied()
            .filter(|d| d.class == DataClass::Critical)
            .collect();

        let unsnapshotted: Vec<&DataDir> = kept
            .iter()
            .copied()
            .filter(|d| d.dataset.is_none())
            .collect();
        if !unsnapshotted.is_empty() {
            out.push(
                Diagnostic::warning("no-snapshots", format!("`{}` keeps data that is never snapshotted", i.name.value))
                    .at(span(i), format!("host `{}` has no ZFS pool for {}", i.host, paths(&unsnapshotted)))
                    .help(format!("add `[hosts.{}.pools.<name>]`: each directory then gets a dataset and snapshots", i.host))
                    .about(&i.name.value),
            );
        }

        let offsite: Vec<&DataDir> = kept.iter().copied().filter(|d| d.goes_offsite()).collect();
        if !fleet.has_offsite() && !offsite.is_empty() {
            let (severity, class): (fn(&'static str, String) -> Diagnostic, _) =
                if critical.is_empty() {
                    (Diagnostic::warning, "standard")
                } else {
                    (Diagnostic::error, "critical")
                };
            let finding = severity(
                "no-offsite",
                format!("`{}` has {class} data with no offsite copy", i.name.value),
            )
            .about(&i.name.value);
            // A repository that is not another machine is named as the cause.
            let finding = match (&fleet.backup, fleet.offsite_shortfall()) {
                (Some(b), Some(why)) => finding
                    .at(span(i), format!("only this site holds {}", paths(&offsite)))
                    .also(b.repository.span.clone(), format!("{why}, not another machine"))
                    .help("point `[backup] repository` at storage off the premises (`s3:`, `b2:`, or `sftp:`/`rest:` to a machine that is not a host of this fleet); a second copy inside the fleet is `[backup] replica`"),
                _ => finding
                    .at(span(i), format!("only this machine holds {}", paths(&offsite)))
                    .help("add `[backup]` with an encrypted restic repository off the premises, or mark re-creatable data `class = \"disposable\"`"),
            };
            out.push(finding);
        }

        let lonely: Vec<&DataDir> = critical
            .iter()
            .copied()
            .filter(|d| !fleet.replicated(&i.host, d))
            .collect();
        if !lonely.is_empty() {
            out.push(
                Diagnostic::warning(
                    "no-replica",
                    format!("`{}` has critical data on one machine only", i.name.value),
                )
                .at(span(i), format!("no replica of {}", paths(&lonely)))
                .help(replica_help(fleet, i))
                .about(&i.name.value),
            );
        }
    }
}

/// How to get a replica, from where the fleet stands.
fn replica_help(fleet: &Fleet, i: &Instance) -> String {
    let other = fleet
        .hosts
        .iter()
        .find(|h| h.name() != i.host && !h.spec.pools.is_empty());
    match (&fleet.replica, other) {
        (Some(r), _) if r.host == i.host => format!(
            "`{}` is the replica host itself; its own critical data needs another machine to be copied to",
            i.host
        ),
        (_, _) if i.data.iter().all(|d| d.dataset.is_none()) => {
            format!("replicas are ZFS snapshots: give `{}` a pool first", i.host)
        }
        (None, Some(h)) => format!(
            "add `replica = \"{}\"` to `[backup]`, with `replica_key_secret` and `replica_public_key`",
            h.name()
        ),
        _ => "add a second host with a ZFS pool (a NAS) and name it in `[backup] replica`"
            .to_string(),
    }
}
