//! Every backup and drill reports its result where alerts can see it:
//! a push to the status page (Gatus external endpoints, one heartbeat per
//! service and job) and node-exporter's textfile collector
//! (`<metrics_dir>/homelab.prom`), which alert rules read.
//!
//! Reporting never fails the work it reports on: a status page that does
//! not answer is a warning, and the metrics file is rewritten whole from
//! the state folder each time, so a missed write heals on the next run.

use super::drill::{DrillRecord, last_passed, last_record};
use super::progress::Progress;
use super::run::Outcome;
use super::{Context, Result, io};
use compile::plan::{Heartbeat, ServicePlan, heartbeat_key};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub mod metrics;
pub mod push;

/// The backup history of one service, kept at
/// `<state>/backups/<service>.json`: per repository, the last success
/// and the last attempt's error, so a failed run never erases when the
/// data was last safe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BackupRecord {
    pub service: String,
    pub repositories: BTreeMap<String, RepositoryRecord>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RepositoryRecord {
    /// When the last snapshot was made (RFC 3339).
    pub(crate) last_success: Option<String>,
    pub last_snapshot: Option<String>,
    /// The last attempt's error; none when it succeeded.
    pub last_error: Option<String>,
}

pub(crate) fn backup_record_path(ctx: &Context, service: &str) -> PathBuf {
    ctx.record_file("backups", service)
}

pub(crate) fn backup_record(ctx: &Context, service: &str) -> BackupRecord {
    std::fs::read_to_string(backup_record_path(ctx, service))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| BackupRecord {
            service: service.to_string(),
            ..BackupRecord::default()
        })
}

/// Records a backup run's result and pushes it to the status page.
pub fn after_backup(
    ctx: &Context,
    service: &ServicePlan,
    result: &Result<Outcome>,
    took: Duration,
    progress: &Progress,
) {
    if let Err(e) = record_backup(ctx, service, result) {
        progress.line(format!(
            "warning: {}: the backup result was not recorded: {e}",
            service.name
        ));
    }
    let error = match result {
        Ok(o) if o.backed_up() => None,
        Ok(o) => Some(
            o.repositories
                .iter()
                .filter_map(|r| r.error.clone())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Err(e) => Some(e.to_string()),
    };
    let key = heartbeat_key(&service.name, Heartbeat::Backup);
    push::report(ctx, &key, error.as_deref(), took, progress);
}

/// Pushes a drill's result to the status page (the drill recorded
/// itself).
pub fn after_drill(ctx: &Context, record: &DrillRecord, progress: &Progress) {
    let error = (!record.passed).then(|| record.problems.join("; "));
    let key = heartbeat_key(&record.service, Heartbeat::Drill);
    let took = Duration::from_secs_f64(record.recovery_seconds.max(0.0));
    push::report(ctx, &key, error.as_deref(), took, progress);
}

fn record_backup(ctx: &Context, service: &ServicePlan, result: &Result<Outcome>) -> Result<()> {
    let mut record = backup_record(ctx, &service.name);
    let now = super::now().to_string();
    for repo in &service.repositories {
        let entry = record.repositories.entry(repo.name.clone()).or_default();
        let made = result.as_ref().map_err(ToString::to_string).and_then(|o| {
            let r = o.repositories.iter().find(|r| r.repository == repo.name);
            match r {
                Some(r) => r
                    .snapshot
                    .clone()
                    .ok_or_else(|| r.error.clone().unwrap_or_default()),
                None => Err("not attempted".into()),
            }
        });
        match made {
            Ok(id) => {
                entry.last_success = Some(now.clone());
                entry.last_snapshot = Some(id);
                entry.last_error = None;
            }
            Err(e) => entry.last_error = Some(e),
        }
    }
    let path = backup_record_path(ctx, &service.name);
    if let Some(dir) = path.parent() {
        io(
            "creating the backup record folder",
            std::fs::create_dir_all(dir),
        )?;
    }
    let text = serde_json::to_string_pretty(&record).expect("plain data");
    io(
        format!("writing {}", path.display()),
        crate::fs_guard::write_file(&path, text.as_bytes()),
    )
}

/// Rewrites `<metrics_dir>/homelab.prom` from the records of every service
/// of the plan; a warning when it cannot.
pub fn write_metrics(ctx: &Context, progress: &Progress) {
    let Some(dir) = &ctx.plan.metrics_dir else {
        return;
    };
    let services: Vec<metrics::ServiceFacts> = ctx
        .plan
        .services
        .iter()
        .map(|s| metrics::ServiceFacts {
            plan: s,
            backups: backup_record(ctx, &s.name),
            last_drill: last_record(ctx, &s.name),
            last_passed: last_passed(ctx, &s.name),
        })
        .collect();
    let text = metrics::render(&services, ctx.plan.drill.max_age_days);
    let dir = ctx.host_path(dir);
    let path = dir.join(metrics::FILE_NAME);
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| crate::fs_guard::write_file(&path, text.as_bytes()));
    if let Err(e) = written {
        progress.line(format!(
            "warning: the metrics file {} was not written: {e}",
            path.display()
        ));
    }
}
