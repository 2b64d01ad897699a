//! `homelab backup status`: per service and repository, the newest
//! snapshot and its age, whether the repository answers and is sound, the
//! last drill, and every way the service falls short of its data class's
//! policy.

use super::Context;
use super::drill::{DrillRecord, last_record};
use super::restic::Restic;
use compile::plan::ServicePlan;
use compile::spec::DataClass;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub service: String,
    pub class: DataClass,
    pub max_age_hours: u32,
    pub repositories: Vec<RepositoryStatus>,
    pub last_drill: Option<DrillRecord>,
    /// Each way the service falls short of its policy; empty when none.
    pub shortfalls: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepositoryStatus {
    pub name: String,
    pub offsite: bool,
    pub reachable: bool,
    pub healthy: bool,
    pub latest_snapshot: Option<String>,
    pub(crate) latest_time: Option<String>,
    pub age_hours: Option<f64>,
    pub snapshots: usize,
    /// Why it is unreachable or unhealthy.
    pub error: Option<String>,
}

pub fn status(ctx: &Context, service: &ServicePlan) -> ServiceStatus {
    let now = super::now();
    let repositories: Vec<RepositoryStatus> = service
        .repositories
        .iter()
        .map(|repo| repository(ctx, service, repo, now))
        .collect();
    let last_drill = last_record(ctx, &service.name);
    let shortfalls = shortfalls(ctx, service, &repositories, last_drill.as_ref(), now);
    ServiceStatus {
        service: service.name.clone(),
        class: service.class,
        max_age_hours: service.max_age_hours,
        repositories,
        last_drill,
        shortfalls,
    }
}

fn repository(
    ctx: &Context,
    service: &ServicePlan,
    repo: &compile::plan::Repository,
    now: jiff::Timestamp,
) -> RepositoryStatus {
    let restic = Restic::new(ctx, repo);
    let mut s = RepositoryStatus {
        name: repo.name.clone(),
        offsite: repo.offsite,
        reachable: false,
        healthy: false,
        latest_snapshot: None,
        latest_time: None,
        age_hours: None,
        snapshots: 0,
        error: None,
    };
    match restic.snapshots(&service.name) {
        Ok(mut list) => {
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
            match restic.check() {
                Ok(()) => s.healthy = true,
                Err(e) => s.error = Some(e.to_string()),
            }
        }
        Err(e) => s.error = Some(e.to_string()),
    }
    s
}

fn shortfalls(
    ctx: &Context,
    service: &ServicePlan,
    repos: &[RepositoryStatus],
    drill: Option<&DrillRecord>,
    now: jiff::Timestamp,
) -> Vec<String> {
    let mut out = Vec::new();
    if service.class == DataClass::Disposable {
        return out;
    }
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
        match r.age_hours {
            None if r.reachable => out.push(format!("repository `{}` holds no snapshot", r.name)),
            Some(age) if age > f64::from(service.max_age_hours) => out.push(format!(
                "repository `{}`: newest snapshot is {age:.1} h old, {} class allows {} h",
                r.name,
                class_name(service.class),
                service.max_age_hours
            )),
            _ => {}
        }
    }
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
    out
}

fn class_name(c: DataClass) -> &'static str {
    match c {
        DataClass::Critical => "critical",
        DataClass::Standard => "standard",
        DataClass::Disposable => "disposable",
    }
}
