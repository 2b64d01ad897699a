//! 3-2-1 by default: critical data has snapshots, a replica on a second
//! machine and an encrypted offsite copy; standard data has snapshots and
//! offsite; disposable data is stated as such (by its class). One finding
//! per owner (a service, or a plain dataset), naming its directories.

use crate::diagnostic::{Diagnostic, Span};
use crate::fleet::{DataDir, Fleet};
use crate::spec::DataClass;

/// What owns data: a service instance or a plain dataset of a host.
/// Findings point at its name and are about it (for silencing).
pub(super) struct Owner<'f> {
    pub name: &'f str,
    pub span: Span,
    pub host: &'f str,
    pub data: Vec<&'f DataDir>,
}

/// Every owner of data the spec names, services first.
pub(super) fn owners(fleet: &Fleet) -> Vec<Owner<'_>> {
    let services = fleet.instances.iter().map(|i| Owner {
        name: &i.name.value,
        span: i.name.span.clone(),
        host: &i.host,
        data: i.data.iter().collect(),
    });
    let plain = fleet.hosts.iter().flat_map(|h| {
        h.plain_data.iter().map(move |p| Owner {
            name: &p.name.value,
            span: p.name.span.clone(),
            host: h.name(),
            data: vec![&p.dir],
        })
    });
    services.chain(plain).collect()
}

fn paths(dirs: &[&DataDir]) -> String {
    dirs.iter()
        .map(|d| d.path.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn data_is_protected(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for o in owners(fleet) {
        let kept: Vec<&DataDir> = o
            .data
            .iter()
            .copied()
            .filter(|d| d.class != DataClass::Disposable)
            .collect();
        out.extend(no_snapshots(&o, &kept));
        out.extend(no_offsite(fleet, &o, &kept));
        out.extend(no_replica(fleet, &o, &kept));
    }
}

/// Kept data without snapshots: no pool on its host, or a schedule that
/// keeps none (for critical data, `critical-without-daily` says more).
fn no_snapshots(o: &Owner, kept: &[&DataDir]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let unpooled: Vec<&DataDir> = kept
        .iter()
        .copied()
        .filter(|d| d.dataset.is_none())
        .collect();
    if !unpooled.is_empty() {
        out.push(
            Diagnostic::warning(
                "no-snapshots",
                format!("`{}` keeps data that is never snapshotted", o.name),
            )
            .at(
                o.span.clone(),
                format!("host `{}` has no ZFS pool for {}", o.host, paths(&unpooled)),
            )
            .help(format!(
                "add `[hosts.{}.pools.<name>]`: each directory then gets a dataset and snapshots",
                o.host
            ))
            .about(o.name),
        );
    }
    for d in kept {
        let Some(schedule) = &d.schedule else {
            continue;
        };
        if d.dataset.is_some() && d.snapshots().is_none() && d.class != DataClass::Critical {
            out.push(
                Diagnostic::warning(
                    "no-snapshots",
                    format!("`{}` keeps data that is never snapshotted", o.name),
                )
                .at(
                    schedule.span.clone(),
                    format!("keeps no snapshot of {}", d.path),
                )
                .help(format!(
                    "keep some (`daily = 7`), or remove `snapshots` for the {} class's",
                    d.class.as_str()
                ))
                .about(o.name),
            );
        }
    }
    out
}

fn no_offsite(fleet: &Fleet, o: &Owner, kept: &[&DataDir]) -> Option<Diagnostic> {
    let offsite: Vec<&DataDir> = kept.iter().copied().filter(|d| d.goes_offsite()).collect();
    if fleet.has_offsite() || offsite.is_empty() {
        return None;
    }
    let critical = kept.iter().any(|d| d.class == DataClass::Critical);
    let (severity, class): (fn(&'static str, String) -> Diagnostic, _) = if critical {
        (Diagnostic::error, "critical")
    } else {
        (Diagnostic::warning, "standard")
    };
    let finding = severity(
        "no-offsite",
        format!("`{}` has {class} data with no offsite copy", o.name),
    )
    .about(o.name);
    // A repository that is not another machine is named as the cause.
    Some(match (&fleet.backup, fleet.offsite_shortfall()) {
        (Some(b), Some(why)) => finding
            .at(o.span.clone(), format!("only this site holds {}", paths(&offsite)))
            .also(b.repository.span.clone(), format!("{why}, not another machine"))
            .help("point `[backup] repository` at storage off the premises (`s3:`, `b2:`, or `sftp:`/`rest:` to a machine that is not a host of this fleet); a second copy inside the fleet is `[backup] replica`"),
        _ => finding
            .at(o.span.clone(), format!("only this machine holds {}", paths(&offsite)))
            .help("add `[backup]` with an encrypted restic repository off the premises, or mark re-creatable data `class = \"disposable\"`"),
    })
}

fn no_replica(fleet: &Fleet, o: &Owner, kept: &[&DataDir]) -> Option<Diagnostic> {
    let lonely: Vec<&DataDir> = kept
        .iter()
        .copied()
        .filter(|d| d.class == DataClass::Critical && !fleet.replicated(o.host, d))
        .collect();
    if lonely.is_empty() {
        return None;
    }
    Some(
        Diagnostic::warning(
            "no-replica",
            format!("`{}` has critical data on one machine only", o.name),
        )
        .at(o.span.clone(), format!("no replica of {}", paths(&lonely)))
        .help(replica_help(fleet, o))
        .about(o.name),
    )
}

/// How to get a replica, from where the fleet stands.
fn replica_help(fleet: &Fleet, o: &Owner) -> String {
    let other = fleet
        .hosts
        .iter()
        .find(|h| h.name() != o.host && !h.spec.pools.is_empty());
    match (&fleet.replica, other) {
        (Some(r), _) if r.host == o.host => format!(
            "`{}` is the replica host itself; its own critical data needs another machine to be copied to",
            o.host
        ),
        (_, _) if o.data.iter().all(|d| d.dataset.is_none()) => {
            format!("replicas are ZFS snapshots: give `{}` a pool first", o.host)
        }
        (None, Some(h)) => format!(
            "add `replica = \"{}\"` to `[backup]`, with `replica_key_secret` and `replica_public_key`",
            h.name()
        ),
        _ => "add a second host with a ZFS pool (a NAS) and name it in `[backup] replica`"
            .to_string(),
    }
}
