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
