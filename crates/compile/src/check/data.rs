//! Schedules and plain datasets: a schedule must not take from critical
//! data its daily snapshots, nor stand where there is no dataset; a plain
//! dataset's mount point and name must be its own.

use super::backup::owners;
use crate::diagnostic::Diagnostic;
use crate::fleet::{Fleet, HostPlan, NAS_REPOSITORY_DATASET, NAS_REPOSITORY_ROOT, REPLICAS};
use crate::plan::is_at_or_below;
use crate::spec::DataClass;

/// Critical data keeps a daily snapshot: the offsite copy is daily too,
/// and a day is the most a vault or a photo library may lose on the host.
pub(crate) fn critical_keeps_dailies(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for o in owners(fleet) {
        for d in &o.data {
            let Some(schedule) = &d.schedule else {
                continue;
            };
            let dailies = d.snapshots().map_or(0, |p| p.daily);
            if d.class != DataClass::Critical || d.dataset.is_none() || dailies > 0 {
                continue;
            }
            let at = schedule
                .count("daily")
                .map_or(schedule.span.clone(), |n| n.span.clone());
            out.push(
                Diagnostic::error(
                    "critical-without-daily",
                    format!("`{}` keeps critical data without daily snapshots", o.name),
                )
                .at(at, format!("no daily snapshot of {}", d.path))
                .help("keep dailies (the critical class keeps 7), or say why not: `critical-without-daily = \"<reason>\"` in its `silence`")
                .about(o.name),
            );
        }
    }
}

/// `snapshots` on a directory without a dataset (its host has no pool)
/// changes nothing.
pub(crate) fn schedule_has_dataset(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for o in owners(fleet) {
        for d in o.data.iter().filter(|d| d.dataset.is_none()) {
            let Some(schedule) = &d.schedule else {
                continue;
            };
            out.push(
                Diagnostic::warning(
                    "unused-schedule",
                    format!("the snapshots of `{}` change nothing", o.name),
                )
                .at(
                    schedule.span.clone(),
                    format!("{} has no dataset to snapshot", d.path),
                )
                .help(format!(
                    "add `[hosts.{}.pools.<name>]`, or remove `snapshots`",
                    o.host
                )),
            );
        }
    }
}

/// A plain dataset is mounted where nothing else of its host is: not at,
/// above or below another directory's path (a service's, the
/// infrastructure's, the NAS repositories', another plain dataset's).
pub(crate) fn paths_apart(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    for host in &fleet.hosts {
        for (n, p) in host.plain_data.iter().enumerate() {
            let path = p.dir.path.as_str();
            let earlier = host.plain_data[..n]
                .iter()
                .map(|q| (q.name.value.as_str(), &q.dir));
            let others = fleet
                .data_on(host)
                .into_iter()
                .filter(|(owner, _)| !host.plain_data.iter().any(|q| q.name.value == *owner))
                .chain(earlier);
            let mut clashes: Vec<(String, String)> = others
                .filter(|(_, d)| is_at_or_below(path, &d.path) || is_at_or_below(&d.path, path))
                .map(|(owner, d)| (owner.to_string(), d.path.clone()))
                .collect();
            if fleet.serves_nas_repository(host.name())
                && (is_at_or_below(path, NAS_REPOSITORY_ROOT)
                    || is_at_or_below(NAS_REPOSITORY_ROOT, path))
            {
                clashes.push(("the NAS repositories".into(), NAS_REPOSITORY_ROOT.into()));
            }
            for (owner, other) in clashes {
                let d = Diagnostic::error(
                    "path-clash",
                    format!("`{}` is mounted where `{owner}` keeps data", p.name.value),
                )
                .at(
                    p.path_span.clone(),
                    format!("{path} meets {other} of `{owner}`"),
                )
                .help("give the dataset a folder of its own (`/srv/<name>`): one directory, one owner");
                out.push(
                    match host.plain_data.iter().find(|q| q.name.value == owner) {
                        Some(q) => d.also(q.path_span.clone(), "mounted here"),
                        None => d,
                    },
                );
            }
        }
    }
}

/// A plain dataset's name is its ZFS dataset below the pool and its name
/// in the host plan, so it is no service's, no infrastructure's and no
/// other host's dataset's.
pub(crate) fn names_apart(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let mut seen: Vec<(&str, &HostPlan)> = Vec::new();
    for host in &fleet.hosts {
        for p in &host.plain_data {
            let name = p.name.value.as_str();
            let taken = if let Some(i) = fleet.instances.iter().find(|i| i.name.value == name) {
                Some(format!("the service `{name}` on `{}`", i.host))
            } else if let Some((_, other)) = seen.iter().find(|(n, _)| *n == name) {
                Some(format!("a dataset of `{}`", other.name()))
            } else if [REPLICAS, NAS_REPOSITORY_DATASET].contains(&name)
                || host.infrastructure.contains(&name)
            {
                Some("a dataset homelab makes itself".to_string())
            } else {
                fleet
                    .hosts
                    .iter()
                    .flat_map(|h| h.infrastructure.iter().map(move |e| (*e, h.name())))
                    .find(|(e, h)| format!("{e}-{h}") == name)
                    .map(|(e, h)| format!("`{e}`'s state on `{h}` in the host plan"))
            };
            seen.push((name, host));
            if let Some(taken) = taken {
                out.push(
                    Diagnostic::error(
                        "duplicate-dataset",
                        format!("the dataset name `{name}` is taken"),
                    )
                    .at(p.name.span.clone(), format!("also the name of {taken}"))
                    .help("name it after what it holds, uniquely in the fleet: it names the dataset and its backups"),
                );
            }
        }
    }
}
