//! `homelab backup status`: per service and repository, the newest
//! snapshot and its age, the state of the repository (sound, or which
//! fault: a wrong password, missing, a stale lock, unreachable, damaged),
//! the last read-back of its data, the last drill, a restore cut short,
//! and every way the service falls short of its data class's policy.
//!
//! The structure check (`restic check`) never reads a pack, so it cannot
//! see a damaged one: a sample of each repository's data is read back on
//! the plan's schedule (`drill.data_check`), and the result is kept in
//! `<state>/checks/<repository>.json` until the next one is due. Nothing
//! here takes a lock, so a stale lock never hides the answer: locks are
//! listed and a stale one is a shortfall of its own.

use super::drill::{DrillRecord, last_record};
use super::progress::Progress;
use super::restic::{Fault, Restic};
use super::{Context, Error, Result, io};
use compile::plan::{Repository, ServicePlan};
use compile::spec::DataClass;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub service: String,
    pub class: DataClass,
    pub max_age_hours: u32,
    pub repositories: Vec<RepositoryStatus>,
    pub last_drill: Option<DrillRecord>,
    /// A restore of the service was cut short: its journal.
    #[serde(default)]
    pub restore_pending: Option<String>,
    /// Each way the service falls short of its policy; empty when none.
    pub shortfalls: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepositoryStatus {
    pub name: String,
    pub offsite: bool,
    pub reachable: bool,
    pub healthy: bool,
    /// What is wrong with it, when something is.
    #[serde(default)]
    pub fault: Option<Fault>,
    pub latest_snapshot: Option<String>,
    pub(crate) latest_time: Option<String>,
    pub age_hours: Option<f64>,
    pub snapshots: usize,
    /// The last read-back of a sample of its data.
    #[serde(default)]
    pub data_check: Option<DataCheckRecord>,
    /// Locks held on it now (a running backup, or a stale one).
    #[serde(default)]
    pub locks: Vec<String>,
    /// Why it is unreachable or unhealthy.
    pub error: Option<String>,
}

impl RepositoryStatus {
    /// One word for the table: `healthy`, or the fault.
    pub fn state(&self) -> &'static str {
        match self.fault {
            Some(f) => f.state(),
            None if self.healthy => "healthy",
            None => "unchecked",
        }
    }
}

/// A read-back of a repository's data, kept between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataCheckRecord {
    /// When it ran (RFC 3339).
    pub at: String,
    pub subset: String,
    pub passed: bool,
    pub error: Option<String>,
}

/// The status of one service; its repositories' data is read back when
/// the last read-back is older than the plan allows.
pub fn status(ctx: &Context, service: &ServicePlan) -> ServiceStatus {
    let now = super::now();
    let repositories: Vec<RepositoryStatus> = service
        .repositories
        .iter()
        .map(|repo| repository(ctx, service, repo, now))
        .collect();
    let last_drill = last_record(ctx, &service.name);
    let restore_pending = super::restore::pending(ctx, service).map(|p| p.display().to_string());
    let mut status = ServiceStatus {
        service: service.name.clone(),
        class: service.class,
        max_age_hours: service.max_age_hours,
        repositories,
        last_drill,
        restore_pending,
        shortfalls: Vec::new(),
    };
    status.shortfalls = shortfalls(ctx, service, &status, now);
    status
}

fn repository(
    ctx: &Context,
    service: &ServicePlan,
    repo: &Repository,
    now: jiff::Timestamp,
) -> RepositoryStatus {
    let restic = Restic::new(ctx, repo);
    let mut s = RepositoryStatus {
        name: repo.name.clone(),
        offsite: repo.offsite,
        reachable: false,
        healthy: false,
        fault: None,
        latest_snapshot: None,
        latest_time: None,
        age_hours: None,
        snapshots: 0,
        data_check: None,
        locks: Vec::new(),
        error: None,
    };
    let mut list = match restic.snapshots(&service.name) {
        Ok(list) => list,
        Err(e) => {
            s.reachable = matches!(fault_of(&e), Some(Fault::WrongPassword | Fault::Locked));
            failed(&mut s, &e);
            return s;
        }
    };
    s.reachable = true;
    s.snapshots = list.len();
    list.sort_by_key(|x| x.timestamp());
    if let Some(latest) = list.last() {
        s.latest_snapshot = Some(latest.short().to_string());
        s.latest_time = Some(latest.time.clone());
        s.age_hours = latest
            .timestamp()
            .map(|t| (now.as_second() - t.as_second()) as f64 / 3600.0);
    }
    if let Err(e) = restic.check() {
        failed(&mut s, &e);
        return s;
    }
    s.data_check = Some(data_check(ctx, &restic, now, &Progress::silent()));
    s.healthy = true;
    if let Some(d) = s.data_check.as_ref().filter(|d| !d.passed) {
        s.healthy = false;
        s.fault = Some(Fault::Damaged);
        s.error = d.error.clone();
    }
    s.locks = locks(&restic, now);
    s
}

fn failed(s: &mut RepositoryStatus, e: &Error) {
    s.fault = Some(fault_of(e).unwrap_or(Fault::Failed));
    s.error = Some(e.to_string());
}

fn fault_of(e: &Error) -> Option<Fault> {
    match e {
        Error::Repository { fault, .. } => Some(*fault),
        _ => None,
    }
}

/// The locks on the repository, one line each; a stale one says so.
fn locks(restic: &Restic, now: jiff::Timestamp) -> Vec<String> {
    let this_host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let Ok(locks) = restic.locks() else {
        return Vec::new();
    };
    locks
        .iter()
        .map(|l| {
            let kind = if l.exclusive { "exclusive" } else { "shared" };
            let who = format!(
                "{kind} lock of pid {} on {} since {}",
                l.pid, l.hostname, l.time
            );
            if l.is_stale(now, this_host.trim()) {
                format!("stale {who}: `restic unlock` removes it")
            } else {
                format!("{who} (in use)")
            }
        })
        .collect()
}

/// The last read-back of the repository's data, made now when it is due.
pub fn data_check(
    ctx: &Context,
    restic: &Restic,
    now: jiff::Timestamp,
    progress: &Progress,
) -> DataCheckRecord {
    let path = ctx.record_file("checks", &restic.repo.name);
    let every = i64::from(ctx.plan.drill.data_check.every_days) * 86_400;
    let last: Option<DataCheckRecord> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let fresh = last.as_ref().is_some_and(|r| {
        r.at.parse::<jiff::Timestamp>()
            .is_ok_and(|t| now.as_second() - t.as_second() < every)
    });
    if let Some(r) = last.filter(|_| fresh) {
        return r;
    }
    let subset = ctx.plan.drill.data_check.subset.clone();
    progress.step(format!(
        "{}: reading back {subset} of its data",
        restic.repo.name
    ));
    let result = restic.check_data(&subset);
    let record = DataCheckRecord {
        at: now.to_string(),
        subset,
        passed: result.is_ok(),
        error: result.err().map(|e| e.to_string()),
    };
    if let Err(e) = save(&path, &record) {
        progress.line(format!("warning: the data check was not recorded: {e}"));
    }
    record
}

fn save(path: &std::path::Path, record: &DataCheckRecord) -> Result<()> {
    if let Some(dir) = path.parent() {
        io(
            "creating the check record folder",
            std::fs::create_dir_all(dir),
        )?;
    }
    let text = serde_json::to_string_pretty(record).expect("plain data");
    io(
        format!("writing {}", path.display()),
        crate::fs_guard::write_file(path, text.as_bytes()),
    )
}

/// Reads back every repository of the plan whose data check is due: the
/// drill timer calls this, so the sample is read even when nobody asks
/// for the status. One line per repository read.
pub fn due_data_checks(ctx: &Context, progress: &Progress) -> BTreeMap<String, DataCheckRecord> {
    let now = super::now();
    let mut done = BTreeMap::new();
    for repo in ctx.plan.services.iter().flat_map(|s| &s.repositories) {
        if done.contains_key(&repo.name) {
            continue;
        }
        let record = data_check(ctx, &Restic::new(ctx, repo), now, progress);
        done.insert(repo.name.clone(), record);
    }
    done
}

fn shortfalls(
    ctx: &Context,
    service: &ServicePlan,
    status: &ServiceStatus,
    now: jiff::Timestamp,
) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(journal) = &status.restore_pending {
        out.push(format!(
            "a restore was cut short and the live data is mixed ({journal}): \
             run `homelab restore {}`",
            service.name
        ));
    }
    if service.class == DataClass::Disposable {
        return out;
    }
    let repos = &status.repositories;
    if repos.is_empty() {
        out.push("no repository: nothing of it is backed up".to_string());
    }
    if !repos.is_empty() && !repos.iter().any(|r| r.offsite) {
        out.push("no offsite copy: every repository is on the premises".into());
    }
    for r in repos {
        if let Some(e) = &r.error {
            out.push(format!("repository `{}`: {e}", r.name));
        }
        for lock in r.locks.iter().filter(|l| l.starts_with("stale ")) {
            out.push(format!("repository `{}`: {lock}", r.name));
        }
        match r.age_hours {
            None if r.reachable && r.fault.is_none() => {
                out.push(format!("repository `{}` holds no snapshot", r.name));
            }
            Some(age) if age > f64::from(service.max_age_hours) => out.push(format!(
                "repository `{}`: newest snapshot is {age:.1} h old, {} class allows {} h",
                r.name,
                service.class.as_str(),
                service.max_age_hours
            )),
            _ => {}
        }
    }
    drill_shortfall(ctx, status.last_drill.as_ref(), now, &mut out);
    out
}

fn drill_shortfall(
    ctx: &Context,
    drill: Option<&DrillRecord>,
    now: jiff::Timestamp,
    out: &mut Vec<String>,
) {
    let max_days = i64::from(ctx.plan.drill.max_age_days);
    match drill {
        None => out.push("never drilled: run `homelab backup drill`".into()),
        Some(d) if !d.passed => out.push(format!(
            "last drill failed: {}",
            d.problems.first().map_or("", String::as_str)
        )),
        Some(d) => {
            let age_days =
                d.at.parse::<jiff::Timestamp>()
                    .map(|t| (now.as_second() - t.as_second()) / 86_400)
                    .unwrap_or(i64::MAX);
            if age_days > max_days {
                out.push(format!(
                    "no drill within {max_days} days (last one {age_days} days ago)"
                ));
            }
        }
    }
}
