//! The shape of `plan.json`: plain data, serialized by the build and read
//! back by the operating commands on the host. Paths are absolute host
//! paths; the commands take them under `--root`.

use crate::spec::DataClass;
use serde::{Deserialize, Serialize};

/// Bumped when a field changes meaning, so an old `homelab` refuses a
/// newer plan instead of misreading it.
pub const PLAN_VERSION: u32 = 1;

/// Everything the operating commands need to know about one host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub version: u32,
    pub host: String,
    /// Where manifests, drill results and restore journals are kept.
    pub state_dir: String,
    pub drill: DrillSettings,
    pub services: Vec<ServicePlan>,
    /// The status page that backups and drills report each result to
    /// (Gatus external endpoints); none when the fleet has no status page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_page: Option<StatusPage>,
    /// node-exporter's textfile-collector folder, where backups and drills
    /// leave `homelab.prom` with their last-success timestamps for alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_dir: Option<String>,
    /// The host upgrades itself on a schedule (`[deploy] schedule`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<UpgradePlan>,
}

/// What `homelab upgrade` does on the host: fetch `source`, build the
/// host's system, switch, gate it with `checks`, roll back on failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpgradePlan {
    /// The flake the host fetches and builds (`[deploy] source`).
    pub source: String,
    /// systemd `OnCalendar` of the upgrade timer.
    pub schedule: String,
    /// `nixosConfigurations.<host>.config.system.build.toplevel`.
    pub attribute: String,
    pub gate: GatePlan,
    /// What must be up on the new system, as the host itself reaches it.
    pub checks: Vec<UpgradeCheck>,
}

/// The health gate's times, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatePlan {
    pub window_ms: u64,
    pub interval_ms: u64,
    pub passes: u32,
}

/// A service's units and health probe, for the upgrade's gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpgradeCheck {
    pub service: String,
    pub units: Vec<String>,
    pub health: Option<HealthProbe>,
}

/// Where results are pushed: `POST {url}/api/v1/endpoints/{key}/external`
/// with `Authorization: Bearer <token>`, the token read from the agenix
/// secret `token_secret`. Keys come from [`heartbeat_key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPage {
    pub url: String,
    pub token_secret: String,
    /// The page is public (through the tunnel): a failed run is pushed
    /// without its error text, which names paths, repositories and hosts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub public: bool,
}

/// The Gatus group of the backup and drill heartbeats.
pub const HEARTBEAT_GROUP: &str = "backups";
/// The Gatus group of the hosts' scheduled upgrades.
pub const UPGRADE_GROUP: &str = "upgrades";

/// A job whose every run reports to the status page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heartbeat {
    Backup,
    Drill,
    /// A host's scheduled upgrade (the name is the host's).
    Upgrade,
}

impl Heartbeat {
    /// The job's Gatus group and the endpoint's name for `name` (a
    /// service, or a host for an upgrade).
    pub fn endpoint(self, name: &str) -> (&'static str, String) {
        match self {
            Heartbeat::Backup => (HEARTBEAT_GROUP, format!("{name}-backup")),
            Heartbeat::Drill => (HEARTBEAT_GROUP, format!("{name}-drill")),
            Heartbeat::Upgrade => (UPGRADE_GROUP, format!("{name}-upgrade")),
        }
    }
}

/// The Gatus key of a heartbeat: Gatus keys an endpoint `<group>_<name>`,
/// lowercased, with ` /_,.#+&` turned into `-`. The renderer
/// (external-endpoints) and the operating commands (the push) both call
/// this, so the two cannot drift.
pub fn heartbeat_key(name: &str, job: Heartbeat) -> String {
    let (group, name) = job.endpoint(name);
    format!("{}_{}", gatus_sanitize(group), gatus_sanitize(&name))
}

fn gatus_sanitize(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| if " /_,.#+&".contains(c) { '-' } else { c })
        .collect()
}

/// How and how often the data is proven to come back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrillSettings {
    /// systemd `OnCalendar` of the drill timer.
    pub schedule: String,
    /// A service without a passing drill this recent falls short.
    pub max_age_days: u32,
    /// Scratch space for drill restores (a throwaway tree, emptied after).
    pub scratch_dir: String,
    /// The system user PostgreSQL tools run as (initdb refuses root).
    pub postgres_user: String,
    /// How much of each repository's stored data is read back, and how
    /// often (`restic check --read-data-subset`): the structure check alone
    /// never reads a pack, so it cannot see a damaged one.
    #[serde(default)]
    pub data_check: DataCheck,
}

/// A sample of a repository's packs read and verified on a schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataCheck {
    /// restic's `--read-data-subset`: `n/t`, `x%` or a size (`1G`).
    pub subset: String,
    /// A repository whose data was not read this recently is read again
    /// (by `backup status` and the drill timer).
    pub every_days: u32,
}

impl Default for DataCheck {
    fn default() -> DataCheck {
        DataCheck {
            subset: "1G".into(),
            every_days: 7,
        }
    }
}

/// One service instance and what protects its data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePlan {
    pub name: String,
    /// Catalog entry it is an instance of.
    pub entry: String,
    /// systemd units stopped while its data is captured or restored.
    pub units: Vec<String>,
    /// The most demanding class among its state directories.
    pub class: DataClass,
    pub paths: Vec<StatePath>,
    pub database: Option<DatabasePlan>,
    /// Dumps and the manifest are written here and backed up with the files.
    pub dump_dir: String,
    pub repositories: Vec<Repository>,
    pub health: Option<HealthProbe>,
    /// systemd `OnCalendar` of the backup.
    pub schedule: String,
    /// The newest snapshot may be at most this old.
    pub max_age_hours: u32,
}

/// A state directory: its path on the host and the dataset holding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatePath {
    pub name: String,
    pub path: String,
    pub class: DataClass,
    /// `pool/dataset` when the directory is its own ZFS dataset.
    pub dataset: Option<String>,
    /// False when the files are not the backup (a running database).
    pub backed_up: bool,
}

/// A PostgreSQL database, dumped with `pg_dump -Fc` before the files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabasePlan {
    pub name: String,
    /// Role that owns it (restored as its owner).
    pub user: String,
    /// Folder holding the server's unix socket.
    pub socket_dir: String,
}

/// A restic repository. Its secrets are named, never given: they are
/// agenix secrets, decrypted on the host at `/run/agenix/<name>` (agenix's
/// default `age.secretsDir`, which the generated flake keeps), where the
/// operating commands read them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Repository {
    pub name: String,
    /// restic repository: a local path, `sftp:…`, `s3:…`, `rest:…`.
    pub url: String,
    /// The agenix secret holding the repository password.
    pub password_secret: String,
    /// `KEY=value` lines for the backend (S3 credentials).
    pub environment_secret: Option<String>,
    /// True when the repository is off the premises (3-2-1's "1").
    pub offsite: bool,
    /// Retention applied by `restic forget --prune` after each backup;
    /// none leaves every snapshot (an append-only repository prunes itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<Retention>,
}

/// restic `--keep-*` counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
    pub yearly: u32,
}

impl Retention {
    /// The `restic forget` flags, one `--keep-<unit> <n>` word pair each.
    pub fn restic_flags(&self) -> Vec<String> {
        [
            ("daily", self.daily),
            ("weekly", self.weekly),
            ("monthly", self.monthly),
            ("yearly", self.yearly),
        ]
        .iter()
        .map(|(unit, n)| format!("--keep-{unit} {n}"))
        .collect()
    }
}

/// How to tell that the service works after a restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthProbe {
    pub url: String,
    pub status: u16,
    /// How long a restarted service may take to answer.
    pub timeout_seconds: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upgrade_reports_in_its_own_group() {
        assert_eq!(
            heartbeat_key("server", Heartbeat::Upgrade),
            "upgrades_server-upgrade"
        );
    }

    #[test]
    fn heartbeat_keys_follow_gatus_key_rules() {
        assert_eq!(
            heartbeat_key("vaultwarden", Heartbeat::Backup),
            "backups_vaultwarden-backup"
        );
        assert_eq!(
            heartbeat_key("Home.Assistant", Heartbeat::Drill),
            "backups_home-assistant-drill"
        );
    }
}
