//! Backup, drill and upgrade heartbeats on the status page: Gatus
//! `external-endpoints`, one per service and job (and one per host that
//! upgrades itself on a schedule), which the jobs push
//! their results to (`homelab backup run` and `drill` read the URL and
//! the token's secret from `Plan.status_page`). A push with
//! `success=false` turns the endpoint red at once; no push within
//! `heartbeat.interval` does too, so a job that silently stops running
//! is caught as well as one that fails.
//!
//! The token reaches Gatus as `${HOMELAB_HEARTBEAT_TOKEN}` from an
//! environment file (a machine-made agenix secret), appended to the
//! unit's `EnvironmentFile` list rather than set as
//! `services.gatus.environmentFile`, so other settings (alerting
//! credentials) keep that option for themselves.

use super::gatus::environment_file as gatus_environment_file;
use super::secrets::age_secret;
use super::timers::{BACKUP_DELAY, DRILL_DELAY, UPGRADE_DELAY, hours};
use crate::fleet::{Fleet, HEARTBEAT_ENV_SECRET, HEARTBEAT_TOKEN_VARIABLE, HostPlan};
use crate::nix::{Attrs, Nix, set};
use crate::plan::{Heartbeat, Plan, heartbeat_key};

/// One heartbeat: its Gatus name and how long it may stay silent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub service: String,
    pub job: Heartbeat,
    pub name: String,
    /// The Gatus key the jobs push to (`heartbeat_key`).
    pub key: String,
    pub(crate) interval_hours: u32,
}

/// Every heartbeat of the fleet: the backed-up services of each host
/// whose plan reports to the status page.
pub fn endpoints(fleet: &Fleet) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for host in &fleet.hosts {
        let plan = crate::plan::plan(fleet, host);
        if plan.status_page.is_none() {
            continue;
        }
        for s in plan.services.iter().filter(|s| !s.repositories.is_empty()) {
            for job in [Heartbeat::Backup, Heartbeat::Drill] {
                let interval_hours = match job {
                    Heartbeat::Drill => drill_interval(&plan),
                    _ => backup_interval(&s.schedule, s.max_age_hours),
                };
                out.push(Endpoint {
                    service: s.name.clone(),
                    job,
                    name: job.endpoint(&s.name).1,
                    key: heartbeat_key(&s.name, job),
                    interval_hours,
                });
            }
        }
        if let Some(u) = &plan.upgrade {
            let job = Heartbeat::Upgrade;
            out.push(Endpoint {
                service: plan.host.clone(),
                job,
                name: job.endpoint(&plan.host).1,
                key: heartbeat_key(&plan.host, job),
                interval_hours: upgrade_interval(&u.schedule),
            });
        }
    }
    out
}

/// The external endpoints, on the host that runs Gatus.
pub(crate) fn contribute(m: &mut Attrs, fleet: &Fleet, host: &HostPlan) {
    if fleet.host_of("gatus") != Some(host.name()) {
        return;
    }
    let endpoints = endpoints(fleet);
    if endpoints.is_empty() {
        return;
    }
    let alerts = super::gatus::check_alerts(fleet);
    let list = endpoints.iter().map(|e| {
        let mut a = Attrs::new();
        // A missed or failed run mails like any other failing check.
        if let Some(alerts) = &alerts {
            a.insert("alerts".into(), alerts.clone());
        }
        a.insert("name".into(), Nix::str(&e.name));
        a.insert("group".into(), Nix::str(e.job.endpoint("").0));
        // Gatus replaces `${VAR}` from its environment when it loads.
        a.insert(
            "token".into(),
            Nix::str(format!("${{{HEARTBEAT_TOKEN_VARIABLE}}}")),
        );
        set(
            &mut a,
            &["heartbeat", "interval"],
            format!("{}h", e.interval_hours),
        );
        Nix::Attrs(a)
    });
    set(
        m,
        &["services", "gatus", "settings", "external-endpoints"],
        Nix::list(list),
    );
    gatus_environment_file(m, HEARTBEAT_ENV_SECRET);
    age_secret(m, fleet, HEARTBEAT_ENV_SECRET, 2);
}

/// A backup may be silent for one period of its schedule, its timer's
/// randomized delay and an hour to run; a calendar this reads no period
/// from falls back to the plan's `max_age_hours`.
pub(crate) fn backup_interval(schedule: &str, max_age_hours: u32) -> u32 {
    match period_hours(schedule) {
        Some(p) => p + hours(BACKUP_DELAY) + 1,
        None => max_age_hours,
    }
}

/// An upgrade may be silent for one period of its schedule, its timer's
/// delay, and the gate and a roll-back; a calendar this reads no period
/// from falls back to a week.
pub(crate) fn upgrade_interval(schedule: &str) -> u32 {
    match period_hours(schedule) {
        Some(p) => p + hours(UPGRADE_DELAY) + 1,
        None => 7 * 24,
    }
}

/// A drill may be silent for one period, its delay and as long again to
/// restore; else the plan's `drill.max_age_days`.
pub(crate) fn drill_interval(plan: &Plan) -> u32 {
    match period_hours(&plan.drill.schedule) {
        Some(p) => p + 2 * hours(DRILL_DELAY),
        None => plan.drill.max_age_days * 24,
    }
}

/// The period of the `OnCalendar` forms the spec's examples use:
/// `hourly`, `daily`, `weekly`, `monthly`, `*-*-* HH:MM[:SS]` (daily) and
/// `Mon *-*-* HH:MM` (weekly). None for anything else.
pub(crate) fn period_hours(schedule: &str) -> Option<u32> {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let words: Vec<&str> = schedule.split_whitespace().collect();
    let time = |w: &str| {
        w.split(':')
            .all(|p| !p.is_empty() && p.parse::<u8>().is_ok())
    };
    match words.as_slice() {
        ["hourly"] => Some(1),
        ["daily"] => Some(24),
        ["weekly"] => Some(7 * 24),
        ["monthly"] => Some(31 * 24),
        ["*-*-*", t] if time(t) => Some(24),
        [day, "*-*-*", t] if DAYS.contains(day) && time(t) => Some(7 * 24),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_of_the_common_calendars() {
        assert_eq!(period_hours("daily"), Some(24));
        assert_eq!(period_hours("*-*-* 02:00"), Some(24));
        assert_eq!(period_hours("*-*-* 02:00:00"), Some(24));
        assert_eq!(period_hours("Sun *-*-* 04:00"), Some(168));
        assert_eq!(period_hours("weekly"), Some(168));
        assert_eq!(period_hours("Mon..Fri 02:00"), None);
        assert_eq!(period_hours("*-*-* 0/6:00"), None);
    }

    #[test]
    fn a_missed_run_is_late_but_a_delayed_one_is_not() {
        // Daily at 02:00 with up to an hour's delay: the next push is
        // due within 25 hours; 26 leaves an hour to run.
        assert_eq!(backup_interval("*-*-* 02:00", 50), 26);
        assert_eq!(backup_interval("Mon..Fri 02:00", 50), 50);
    }
}
