//! Names the generated hosts and the fleet share about the operating
//! side (backups, drills, preseed, heartbeats): unit names that secrets
//! are ordered before, and the machine-made secrets those units read.
//! Kept in one place so the secret list and the rendered units agree.

/// The unit that runs `homelab backup run` on its timer.
pub(crate) const BACKUP_UNIT: &str = "homelab-backup.service";
/// The unit that runs `homelab backup drill --all` on its timer.
pub(crate) const DRILL_UNIT: &str = "homelab-drill.service";
/// The scheduled upgrade (`[deploy] schedule`).
pub(crate) const UPGRADE_UNIT: &str = "homelab-upgrade.service";
/// The NAS unit that writes rest-server's `.htpasswd` from the logins.
pub(crate) const NAS_HTPASSWD_UNIT: &str = "homelab-nas-htpasswd.service";
/// The NAS unit that prunes the append-only repositories.
pub(crate) const NAS_PRUNE_UNIT: &str = "homelab-nas-prune.service";

/// The raw heartbeat token, read by every host that pushes results.
pub(crate) const HEARTBEAT_TOKEN_SECRET: &str = "homelab-heartbeat-token";
/// The same token as a `VAR=value` line, for Gatus's environment.
pub(crate) const HEARTBEAT_ENV_SECRET: &str = "gatus-heartbeat-token";
/// The variable Gatus's configuration reads the token from (`${…}`).
pub(crate) const HEARTBEAT_TOKEN_VARIABLE: &str = "HOMELAB_HEARTBEAT_TOKEN";

/// The preseed unit of a service instance.
pub(crate) fn preseed_unit(service: &str) -> String {
    format!("homelab-preseed-{service}")
}
