//! `homelab recover`, on a host that was lost and installed anew: every
//! service of its plan brought back from the nearest repository that
//! answers (the replica on the NAS, else offsite), its database with its
//! files, then drilled, and reported with the age of its data (RPO) and
//! how long it took to have it back (RTO).
//!
//! Order: the host's own state first (the tailnet identity, the proxy's
//! certificates: no units, nothing depends on them being late), then the
//! services in the plan's order. A service whose data is there already
//! (the first boot's preseed restored it) is reported from the record
//! that restore left, not restored twice. A repository that does not
//! answer is named, and the next one tried. The plan-only mode only lists
//! snapshots: it reads, it changes nothing.

use super::drill::{DrillRecord, drill};
use super::preseed;
use super::progress::Progress;
use super::restic::{Fault, Restic};
use super::restore::{Request, last_restored, restore};
use super::{Context, Error};
use compile::plan::{Repository, ServicePlan};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// What happened to one service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceRecovery {
    pub service: String,
    /// `restored`, `restored-at-boot`, `would-restore` (plan only),
    /// `present`, `nothing` (no repository holds a snapshot), `failed`.
    pub outcome: String,
    pub repository: Option<String>,
    pub snapshot: Option<String>,
    pub snapshot_time: Option<String>,
    /// How old the data is: from the snapshot to now, in hours.
    pub rpo_hours: Option<f64>,
    /// From the start of the recovery to this service's data back and
    /// verified, in seconds.
    pub rto_seconds: Option<f64>,
    pub drill: Option<DrillRecord>,
    /// Each repository that was not used, and why.
    pub skipped: Vec<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub host: String,
    pub plan_only: bool,
    pub services: Vec<ServiceRecovery>,
    pub seconds: f64,
}

impl Report {
    pub fn failed(&self) -> bool {
        self.services
            .iter()
            .any(|s| s.outcome == "failed" || s.drill.as_ref().is_some_and(|d| !d.passed))
    }
}

/// Recovers every service of the plan (or only plans it).
pub fn recover(ctx: &Context, from: Option<&str>, plan_only: bool, progress: &Progress) -> Report {
    let started = Instant::now();
    let now = super::now();
    let mut order: Vec<&ServicePlan> = ctx.plan.services.iter().collect();
    // The host's own state first: it has no units and nothing waits on it.
    order.sort_by_key(|s| !s.units.is_empty());
    let services = order
        .into_iter()
        .filter(|s| !s.repositories.is_empty())
        .map(|s| {
            let mut r = one(ctx, s, from, plan_only, started, progress);
            if let Some(t) = r
                .snapshot_time
                .as_deref()
                .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            {
                r.rpo_hours = Some((now.as_second() - t.as_second()) as f64 / 3600.0);
            }
            r
        })
        .collect();
    Report {
        host: ctx.plan.host.clone(),
        plan_only,
        services,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn one(
    ctx: &Context,
    s: &ServicePlan,
    from: Option<&str>,
    plan_only: bool,
    started: Instant,
    progress: &Progress,
) -> ServiceRecovery {
    let mut r = ServiceRecovery {
        service: s.name.clone(),
        outcome: "nothing".into(),
        repository: None,
        snapshot: None,
        snapshot_time: None,
        rpo_hours: None,
        rto_seconds: None,
        drill: None,
        skipped: Vec::new(),
        message: None,
    };
    let repos: Vec<&Repository> = s
        .repositories
        .iter()
        .filter(|repo| from.is_none_or(|f| repo.name == f))
        .collect();
    if !plan_only {
        match preseed::present(ctx, s) {
            Ok(Some(reason)) => {
                match last_restored(ctx, &s.name) {
                    Some(done) => {
                        // The first boot's preseed brought it back; how
                        // long that took is the boot's, not measured here.
                        r.outcome = "restored-at-boot".into();
                        r.repository = Some(done.repository);
                        r.snapshot = Some(done.snapshot);
                        r.snapshot_time = Some(done.snapshot_time);
                    }
                    None => {
                        r.outcome = "present".into();
                        r.message = Some(format!("left alone: {reason}"));
                        return r;
                    }
                }
                drill_it(ctx, s, &mut r, progress);
                return r;
            }
            Ok(None) => {}
            Err(e) => {
                r.outcome = "failed".into();
                r.message = Some(e.to_string());
                return r;
            }
        }
    }
    for repo in repos {
        let restic = Restic::new(ctx, repo);
        let latest = match super::drill::latest(&restic, &s.name) {
            Ok(l) => l,
            Err(e) => {
                r.skipped.push(skip(repo, &e));
                continue;
            }
        };
        r.repository = Some(repo.name.clone());
        r.snapshot = Some(latest.id.clone());
        r.snapshot_time = Some(latest.time.clone());
        if plan_only {
            r.outcome = "would-restore".into();
            return r;
        }
        progress.step(format!("{}: restoring from {}", s.name, repo.name));
        let request = Request {
            from: Some(repo.name.clone()),
            snapshot: Some(latest.id.clone()),
            preseed: true,
            ..Request::default()
        };
        match restore(ctx, s, &request, progress) {
            Ok(_) => {
                r.outcome = "restored".into();
                // Running again: its data is back and checked; the drill
                // after it is the proof, not part of the wait.
                r.rto_seconds = Some(started.elapsed().as_secs_f64());
                drill_it(ctx, s, &mut r, progress);
            }
            Err(e) => {
                r.outcome = "failed".into();
                r.message = Some(e.to_string());
            }
        }
        return r;
    }
    if !r.skipped.is_empty() && r.skipped.len() == s.repositories.len() {
        r.outcome = "failed".into();
        r.message = Some("no repository could be read".into());
    }
    r
}

/// A repository that was not used: unreachable, damaged, or without a
/// snapshot of the service.
fn skip(repo: &Repository, e: &Error) -> String {
    let why = match e {
        Error::Repository {
            fault: Fault::Unreachable,
            ..
        } => "unreachable",
        Error::Repository { fault, .. } => fault.state(),
        _ => "no snapshot",
    };
    format!("{}: {why} ({e})", repo.name)
}

/// Proves what came back: a drill from the repository it came from.
fn drill_it(ctx: &Context, s: &ServicePlan, r: &mut ServiceRecovery, progress: &Progress) {
    let Some(repo) = r
        .repository
        .as_deref()
        .and_then(|n| s.repositories.iter().find(|x| x.name == n))
    else {
        return;
    };
    progress.step(format!("{}: drilling what was restored", s.name));
    match drill(ctx, s, repo, progress) {
        Ok(d) => r.drill = Some(d),
        Err(e) => r.message = Some(format!("the drill could not run: {e}")),
    }
}
