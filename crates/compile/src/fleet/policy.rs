//! Protection by data class (DESIGN "Data model"): how often each class is
//! snapshotted and how long snapshots are kept. One table, read by the
//! renderer (sanoid templates) and by `homelab show snapshots`.

use crate::spec::DataClass;

/// Snapshots kept per period; 0 means none taken for that period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SnapshotPolicy {
    /// Every 15 minutes.
    pub frequently: u32,
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
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
        }),
        // Configuration: hourly is plenty, half a year back.
        DataClass::Standard => Some(SnapshotPolicy {
            frequently: 0,
            hourly: 24,
            daily: 7,
            weekly: 4,
            monthly: 6,
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

#[cfg(test)]
mod tests {
    use super::host_repository;

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
