//! Before a switch, one atomic `zfs snapshot` of the host's critical
//! datasets, named after the deploy: a migration the new system runs on
//! its data can be undone by hand (`zfs rollback`).

use super::Result;
use super::host::Host;

/// The snapshot's name: `homelab-deploy-<id>`.
pub fn name(id: &str) -> String {
    format!("homelab-deploy-{id}")
}

/// Snapshots `datasets`; returns the snapshots made (none without a
/// dataset).
pub fn snapshot(host: &Host, datasets: &[String], id: &str) -> Result<Vec<String>> {
    if datasets.is_empty() {
        return Ok(Vec::new());
    }
    let snapshots: Vec<String> = datasets
        .iter()
        .map(|d| format!("{d}@{}", name(id)))
        .collect();
    host.ok(
        "snapshotting the critical datasets",
        &host.root_cmd("zfs").arg("snapshot").args(snapshots.clone()),
    )?;
    Ok(snapshots)
}
