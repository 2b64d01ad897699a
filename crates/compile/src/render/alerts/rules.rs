//! The alert rules, as the Prometheus rule file that Prometheus or vmalert
//! reads (and `promtool check rules` / `promtool test rules` check).
//! Fixed text but for the node exporters' job names, which tell a host
//! that is down from a service that is, and the header naming the
//! evaluator; thresholds are the constants below.

use crate::fleet::Fleet;

/// A file system above this share of its size (a dataset: of its quota).
pub(crate) const DISK_PERCENT: u32 = 85;
/// A certificate closer than this to its end.
pub(crate) const CERT_DAYS: u32 = 14;

/// File systems that hold no data of their own.
const PSEUDO_FS: &str = "tmpfs|devtmpfs|ramfs|overlay|squashfs|nsfs|efivarfs|autofs|fuse.*";

/// The whole rule file.
pub fn rules(fleet: &Fleet) -> String {
    let mut exporters: Vec<&str> = fleet
        .instances
        .iter()
        .filter(|i| i.entry.name == "node-exporter")
        .map(|i| i.name.value.as_str())
        .collect();
    exporters.sort_unstable();
    let evaluator = fleet
        .metrics_store()
        .map_or("the metrics store", |(store, _)| store.evaluator());
    // A fleet without node exporters has no host to be down.
    let hosts = if exporters.is_empty() {
        "^$".to_string()
    } else {
        exporters.join("|")
    };
    format!(
        r#"# Alerts of the fleet, evaluated by {evaluator} and
# sent by Alertmanager. docs/alerts.md says what each one means.
groups:
  - name: hosts
    rules:
      - alert: HostDown
        expr: up{{job=~"{hosts}"}} == 0
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: "{{{{ $labels.host }}}} is down"
          description: "The node exporter of {{{{ $labels.host }}}} ({{{{ $labels.instance }}}}) has not answered for 5 minutes: the machine is off, hung or off the network."
      - alert: DiskAlmostFull
        expr: 100 * (1 - node_filesystem_avail_bytes{{fstype!~"{PSEUDO_FS}"}} / node_filesystem_size_bytes{{fstype!~"{PSEUDO_FS}"}}) > {DISK_PERCENT}
        for: 15m
        labels:
          severity: warning
        annotations:
          summary: "{{{{ $labels.mountpoint }}}} on {{{{ $labels.host }}}} is {{{{ $value | printf \"%.0f\" }}}} % full"
          description: "{{{{ $labels.device }}}} ({{{{ $labels.fstype }}}}) at {{{{ $labels.mountpoint }}}} is above {DISK_PERCENT} % of its size; for a ZFS dataset that is its quota."
      - alert: ZfsPoolNotOnline
        expr: node_zfs_zpool_state{{state!="online"}} > 0
        for: 1m
        labels:
          severity: critical
        annotations:
          summary: "ZFS pool {{{{ $labels.zpool }}}} on {{{{ $labels.host }}}} is {{{{ $labels.state }}}}"
          description: "Run `zpool status {{{{ $labels.zpool }}}}` on {{{{ $labels.host }}}}: a disk has failed or gone missing, and the pool has less redundancy than it should."
  - name: services
    rules:
      - alert: ServiceDown
        expr: up{{job!~"{hosts}"}} == 0
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: "{{{{ $labels.job }}}} on {{{{ $labels.host }}}} is down"
          description: "The metrics store has not reached {{{{ $labels.job }}}} at {{{{ $labels.instance }}}} for 5 minutes."
      - alert: CertificateExpiring
        expr: homelab_tls_certificate_expiry_timestamp_seconds - time() < {CERT_DAYS} * 86400
        for: 10m
        labels:
          severity: warning
        annotations:
          summary: "The certificate for {{{{ $labels.certificate }}}} expires in {{{{ $value | humanizeDuration }}}}"
          description: "ACME renews it 30 days ahead; see `systemctl status acme-{{{{ $labels.certificate }}}}.service` on {{{{ $labels.host }}}}."
  - name: backups
    rules:
      - alert: BackupStale
        expr: (time() - homelab_backup_last_success_timestamp_seconds) > ignoring(repository) group_left homelab_backup_max_age_seconds
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: "No recent backup of {{{{ $labels.service }}}} in {{{{ $labels.repository }}}}"
          description: "The last successful backup of {{{{ $labels.service }}}} on {{{{ $labels.host }}}} is older than the plan allows; see `homelab backup status`."
      - alert: DrillStale
        expr: (time() - homelab_drill_last_success_timestamp_seconds) > homelab_drill_max_age_seconds
        for: 5m
        labels:
          severity: warning
        annotations:
          summary: "No recent restore drill of {{{{ $labels.service }}}}"
          description: "No restore drill of {{{{ $labels.service }}}} on {{{{ $labels.host }}}} has passed within the plan's limit; run `homelab backup drill {{{{ $labels.service }}}}`."
      - alert: DrillFailed
        expr: homelab_drill_last_run_success == 0
        for: 5m
        labels:
          severity: critical
        annotations:
          summary: "The restore drill of {{{{ $labels.service }}}} failed"
          description: "The last restore drill of {{{{ $labels.service }}}} on {{{{ $labels.host }}}} could not restore its data; see `homelab backup status`."
"#
    )
}
