//! Protection by data class (DESIGN "Data model"): how often each class is
//! snapshotted and how long snapshots are kept. One table, read by the
//! renderer (sanoid templates) and by `homelab show snapshots`; a data
//! entry's `snapshots = { … }` changes counts of it for one dataset.

use crate::spec::{DataClass, Schedule};

/// Snapshots kept per period; 0 means none taken for that period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SnapshotPolicy {
    /// Every 15 minutes.
    pub frequently: u32,
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
    /// None for every class (sanoid's default too); a schedule may ask.
    pub yearly: u32,
}

impl SnapshotPolicy {
    const NONE: SnapshotPolicy = SnapshotPolicy {
        frequently: 0,
        hourly: 0,
        daily: 0,
        weekly: 0,
        monthly: 0,
        yearly: 0,
    };

    /// The count of each period, in [`Schedule::PERIODS`] order.
    pub fn counts(&self) -> [(&'static str, u32); 6] {
        let p = Schedule::PERIODS;
        [
            (p[0], self.frequently),
            (p[1], self.hourly),
            (p[2], self.daily),
            (p[3], self.weekly),
            (p[4], self.monthly),
            (p[5], self.yearly),
        ]
    }

    /// What is kept, in words: `4 quarter-hourly, 24 hourly, 7 daily`.
    pub fn kept(&self) -> String {
        self.counts()
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(period, n)| match *period {
                "frequently" => format!("{n} quarter-hourly"),
                _ => format!("{n} {period}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn count_mut(&mut self, period: &str) -> Option<&mut u32> {
        match period {
            "frequently" => Some(&mut self.frequently),
            "hourly" => Some(&mut self.hourly),
            "daily" => Some(&mut self.daily),
            "weekly" => Some(&mut self.weekly),
            "monthly" => Some(&mut self.monthly),
            "yearly" => Some(&mut self.yearly),
            _ => None,
        }
    }
}

/// What a dataset of `class` keeps with `schedule`'s counts over the
/// class's (over none, for a class without snapshots); none when that
/// keeps no snapshot at all.
pub fn schedule(class: DataClass, schedule: Option<&Schedule>) -> Option<SnapshotPolicy> {
    let p = counts(class, schedule);
    p.counts().iter().any(|(_, n)| *n > 0).then_some(p)
}

/// Every count of `class` with `schedule`'s over it, zeros included.
pub(crate) fn counts(class: DataClass, schedule: Option<&Schedule>) -> SnapshotPolicy {
    let mut p = snapshots(class).unwrap_or(SnapshotPolicy::NONE);
    for (period, n) in schedule.iter().flat_map(|s| &s.counts) {
        if let Some(count) = p.count_mut(period) {
            *count = n.value;
        }
    }
    p
}

/// The snapshot policy of a class; disposable data has none.
pub fn snapshots(class: DataClass) -> Option<SnapshotPolicy> {
    match class {
        // Vaults, databases, photos: lose at most 15 minutes, keep a year.
        DataClass::Critical => Some(SnapshotPolicy {
            frequently: 4,
            hourly: 24,
            daily: 7,
            weekly: 4,
            monthly: 12,
            yearly: 0,
        }),
        // Configuration: hourly is plenty, half a year back.
        DataClass::Standard => Some(SnapshotPolicy {
            frequently: 0,
            hourly: 24,
            daily: 7,
            weekly: 4,
            monthly: 6,
            yearly: 0,
        }),
        DataClass::Disposable => None,
    }
}

/// Whether data of this class is copied offsite when a backup target exists.
pub fn offsite(class: DataClass) -> bool {
    class != DataClass::Disposable
}

/// The restic repository one host backs up to: a path of its own below the
/// spec's `repository`. Hosts sharing one repository would contend for its
/// exclusive lock when they prune, and race to `init` it on first run.
///
/// Backends that name a bucket or container before a `:path` part get the
/// host as that path when the spec gives none (`b2:bucket` becomes
/// `b2:bucket:server`); every other form gets `/<host>` appended.
pub(crate) fn host_repository(repository: &str, host: &str) -> String {
    let repository = repository.trim_end_matches('/');
    let bucket_then_path = ["b2:", "azure:", "gs:", "swift:"]
        .iter()
        .find_map(|scheme| repository.strip_prefix(scheme));
    match bucket_then_path {
        Some(rest) if !rest.contains(':') => format!("{repository}:{host}"),
        Some(rest) if rest.ends_with(':') => format!("{repository}{host}"),
        _ => format!("{repository}/{host}"),
    }
}

/// Why a restic repository is not a copy on another machine, if it is
/// not: a folder on the backed-up host itself, or a server that is a host
/// of the fleet (`sftp:`/`rest:` to its address, its name or loopback).
/// Everything else (`s3:`, `b2:`, `azure:`, `gs:`, `swift:`, `rclone:`,
/// and `sftp:`/`rest:` to another machine) counts as offsite.
pub(crate) fn not_offsite(repository: &str, fleet_hosts: &[(&str, &str)]) -> Option<String> {
    let repository = repository.trim();
    if repository.starts_with('/') || repository.starts_with("local:") {
        return Some("a folder on each host itself".into());
    }
    let server = if let Some(rest) = repository.strip_prefix("sftp://") {
        authority(rest)
    } else if let Some(rest) = repository.strip_prefix("sftp:") {
        // `sftp:user@host:/path`
        rest.split(':')
            .next()
            .map(|h| h.rsplit('@').next().unwrap_or(h))
    } else if let Some(rest) = repository.strip_prefix("rest:") {
        rest.split_once("://").and_then(|(_, r)| authority(r))
    } else {
        None
    }?;
    let server = server.trim_start_matches('[').trim_end_matches(']');
    if matches!(server, "localhost" | "::1") || server.starts_with("127.") {
        return Some(format!("`{server}`, each host itself"));
    }
    fleet_hosts
        .iter()
        .find(|(name, address)| {
            server.eq_ignore_ascii_case(name)
                || server.eq_ignore_ascii_case(address)
                || server
                    .split('.')
                    .next()
                    .is_some_and(|first| first.eq_ignore_ascii_case(name))
        })
        .map(|(name, _)| format!("`{server}`, host `{name}` of this fleet"))
}

/// The host of `user:pass@host:port/path`.
fn authority(rest: &str) -> Option<&str> {
    let authority = rest.split('/').next()?;
    let host = authority.rsplit('@').next()?;
    if let Some(v6) = host.strip_prefix('[') {
        return v6.split(']').next();
    }
    host.split(':').next().filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::{counts, host_repository, not_offsite, schedule};
    use crate::spec::{DataClass, Schedule, Sp};

    fn written(counts: &[(&'static str, u32)]) -> Schedule {
        Schedule {
            span: 0..0,
            counts: counts
                .iter()
                .map(|(p, n)| (*p, Sp::new(*n, 0..0)))
                .collect(),
        }
    }

    #[test]
    fn a_schedule_changes_the_counts_it_names_and_keeps_the_class_s_others() {
        let photos = written(&[("frequently", 0), ("hourly", 0)]);
        let kept = schedule(DataClass::Critical, Some(&photos)).unwrap();
        assert_eq!(
            kept.counts().map(|(_, n)| n),
            [0, 0, 7, 4, 12, 0],
            "seed 004's photos: daily 7, weekly 4, monthly 12"
        );
        assert_eq!(
            schedule(DataClass::Standard, None),
            super::snapshots(DataClass::Standard)
        );
    }

    #[test]
    fn disposable_data_keeps_only_what_its_schedule_asks_for() {
        assert_eq!(schedule(DataClass::Disposable, None), None);
        let media = written(&[("daily", 3), ("weekly", 4)]);
        let kept = schedule(DataClass::Disposable, Some(&media)).unwrap();
        assert_eq!(kept.counts().map(|(_, n)| n), [0, 0, 3, 4, 0, 0]);
    }

    #[test]
    fn a_schedule_of_zeros_keeps_nothing_but_still_has_its_counts() {
        let none = written(&[("hourly", 0), ("daily", 0), ("weekly", 0), ("monthly", 0)]);
        assert_eq!(schedule(DataClass::Standard, Some(&none)), None);
        assert_eq!(
            counts(DataClass::Standard, Some(&none))
                .counts()
                .map(|(_, n)| n),
            [0; 6]
        );
    }

    #[test]
    fn a_copy_on_the_host_or_a_host_of_the_fleet_is_not_offsite() {
        let hosts = [("server", "192.168.1.10"), ("nas", "192.168.1.20")];
        for (repo, offsite) in [
            ("s3:https://s3.example.org/b", true),
            ("b2:bucket:family", true),
            ("rclone:remote:family", true),
            ("sftp:u@backup.example.net:/restic", true),
            ("rest:https://u:p@rest.example.net:8000/", true),
            ("/backups/restic", false),
            ("local:/backups/restic", false),
            ("sftp:u@192.168.1.20:/restic", false),
            ("sftp:nas:/restic", false),
            ("sftp://u@nas.home.example.org:22/restic", false),
            ("rest:http://192.168.1.10:8000/", false),
            ("rest:http://localhost:8000/", false),
            ("rest:http://[::1]:8000/", false),
        ] {
            assert_eq!(not_offsite(repo, &hosts).is_none(), offsite, "{repo}");
        }
    }

    #[test]
    fn every_host_gets_a_path_of_its_own() {
        for (spec, want) in [
            (
                "s3:https://s3.example.org/b",
                "s3:https://s3.example.org/b/nas",
            ),
            (
                "s3:https://s3.example.org/b/",
                "s3:https://s3.example.org/b/nas",
            ),
            ("/srv/restic", "/srv/restic/nas"),
            ("sftp:u@h:/backups", "sftp:u@h:/backups/nas"),
            ("rest:https://h:8000/", "rest:https://h:8000/nas"),
            ("b2:bucket", "b2:bucket:nas"),
            ("b2:bucket:", "b2:bucket:nas"),
            ("b2:bucket:family", "b2:bucket:family/nas"),
            ("gs:bucket:/family", "gs:bucket:/family/nas"),
            ("rclone:remote:family", "rclone:remote:family/nas"),
        ] {
            assert_eq!(host_repository(spec, "nas"), want, "{spec}");
        }
    }
}
