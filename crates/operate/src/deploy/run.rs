//! One host's deploy, step by step, and many hosts at once.
//!
//! Per host: record the running system; snapshot the critical datasets;
//! copy the new system; switch; gate. A failure before the switch leaves
//! the host as it was. A failed switch or a closed gate switches back to
//! the recorded system and gates again, so the report says both what
//! failed and whether the host is healthy on its old system.
//!
//! Hosts go in parallel (at most `parallel` at a time); one failing does
//! not stop the others, unless `all_or_nothing`, which then switches every
//! host that did deploy back as well.

use super::gate::{self, Clock, Round, Verdict};
use super::host::Host;
use super::switch::{Goal, switch};
use super::{Result, record, rollback, snapshot};
use crate::runner::Runner;
use serde::Serialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a switch may run before the deploy stops waiting for it.
pub const SWITCH_LIMIT: Duration = Duration::from_secs(600);

/// Where a host's deploy is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Recording,
    Snapshotting,
    Copying,
    Switching,
    /// A gate round ended: its number, passes in a row, passes needed.
    Gating(u32, u32, u32),
    RollingBack(String),
    GatingOld(u32, u32, u32),
    Done(Result_),
}

/// How a host's deploy ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Result_ {
    /// On the new system, and the gate passed.
    Deployed,
    /// The new system boots next time (`--boot`); nothing was activated.
    Staged,
    /// The new system failed; the host is back on the recorded one.
    RolledBack,
    /// Deployed, then switched back because another host failed.
    RolledBackWithTheOthers,
    /// Stopped before anything changed, or the way back failed too.
    Failed,
}

impl Result_ {
    pub fn word(self) -> &'static str {
        match self {
            Result_::Deployed => "deployed",
            Result_::Staged => "staged",
            Result_::RolledBack => "rolled-back",
            Result_::RolledBackWithTheOthers => "rolled-back-with-the-others",
            Result_::Failed => "failed",
        }
    }
}

/// What happened to one host.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub host: String,
    pub result: Result_,
    pub before: Option<String>,
    /// The system the host runs at the end.
    pub after: Option<String>,
    pub snapshots: Vec<String>,
    pub gate: Option<Verdict>,
    /// The gate on the old system after a roll-back.
    pub regate: Option<Verdict>,
    /// What failed, in words.
    pub message: Option<String>,
    pub seconds: f64,
}

impl Outcome {
    /// A host that failed before anything reached it.
    pub fn failed(host: &str, message: Option<String>) -> Outcome {
        Outcome {
            host: host.to_string(),
            result: Result_::Failed,
            before: None,
            after: None,
            snapshots: Vec::new(),
            gate: None,
            regate: None,
            message,
            seconds: 0.0,
        }
    }
}

/// Everything one host's deploy needs.
pub struct Job {
    pub host: String,
    pub runner: Box<dyn Runner + Send + Sync>,
    /// True when the runner is root (no `sudo -n`).
    pub root: bool,
    pub system: String,
    pub goal: Goal,
    pub datasets: Vec<String>,
    pub gate: compile::fleet::Gate,
    /// Copies the system to the host (none: it is there already).
    pub copy: Option<Box<dyn Fn() -> Result<()> + Send + Sync>>,
    /// Copies and activates in one, instead of `copy` and the switch
    /// (deploy-rs, with its own magic roll-back); the gate follows.
    pub activate: Option<Box<dyn Fn() -> Result<()> + Send + Sync>>,
    /// One round of the host's probes.
    pub probe: Box<dyn Fn() -> Round + Send + Sync>,
}

impl Job {
    fn host(&self) -> Host<'_> {
        Host {
            name: self.host.clone(),
            runner: self.runner.as_ref(),
            root: self.root,
        }
    }
}

/// Deploys one host; `step` hears where it is.
pub fn deploy(job: &Job, id: &str, clock: &dyn Clock, step: &dyn Fn(&str, Step)) -> Outcome {
    let started = Instant::now();
    let host = job.host();
    let say = |s: Step| step(&job.host, s);
    let mut out = Outcome::failed(&job.host, None);
    let finish = |mut out: Outcome| {
        out.seconds = started.elapsed().as_secs_f64();
        say(Step::Done(out.result));
        out
    };
    // Before the switch, a failure changes nothing.
    let prepared = (|| -> Result<()> {
        say(Step::Recording);
        out.before = Some(record::current(&host)?);
        out.after.clone_from(&out.before);
        say(Step::Snapshotting);
        out.snapshots = snapshot::snapshot(&host, &job.datasets, id)?;
        if let Some(copy) = &job.copy {
            say(Step::Copying);
            copy()?;
        }
        Ok(())
    })();
    if let Err(e) = prepared {
        out.message = Some(e.0);
        return finish(out);
    }
    say(Step::Switching);
    let switched = match &job.activate {
        Some(activate) => activate(),
        None => switch(
            &host,
            &job.system,
            job.goal,
            id,
            SWITCH_LIMIT,
            record::PROFILE,
        ),
    };
    if let Err(e) = switched {
        return finish(back(job, &host, id, clock, out, e.0, &say));
    }
    if job.goal == Goal::Boot {
        out.result = Result_::Staged;
        out.after = out.before.clone();
        return finish(out);
    }
    out.after = Some(job.system.clone());
    let verdict = gate::gate(
        job.gate,
        || (job.probe)(),
        clock,
        |n, row| {
            say(Step::Gating(n, row, job.gate.passes));
        },
    );
    let passed = verdict.passed;
    let failed = verdict.failed.clone();
    out.gate = Some(verdict);
    if passed {
        out.result = Result_::Deployed;
        return finish(out);
    }
    let (probe, saw) = failed.unwrap_or_default();
    let why = format!("{}: the health gate failed: {probe}: {saw}", job.host);
    finish(back(job, &host, id, clock, out, why, &say))
}

/// Switches back to the recorded system and gates it again.
fn back(
    job: &Job,
    host: &Host,
    id: &str,
    clock: &dyn Clock,
    mut out: Outcome,
    why: String,
    say: &dyn Fn(Step),
) -> Outcome {
    let Some(before) = out.before.clone() else {
        out.message = Some(why);
        return out;
    };
    say(Step::RollingBack(why.clone()));
    if let Err(e) = rollback::rollback(host, &before, id, SWITCH_LIMIT) {
        out.message = Some(format!("{why}; switching back failed too: {}", e.0));
        out.after = None;
        return out;
    }
    out.after = Some(before);
    let regate = gate::gate(
        job.gate,
        || (job.probe)(),
        clock,
        |n, row| {
            say(Step::GatingOld(n, row, job.gate.passes));
        },
    );
    out.result = if regate.passed {
        Result_::RolledBack
    } else {
        Result_::Failed
    };
    out.message = Some(if regate.passed {
        format!("{why}; back on the previous system, which is healthy")
    } else {
        let (probe, saw) = regate.failed.clone().unwrap_or_default();
        format!("{why}; back on the previous system, but it is not healthy either: {probe}: {saw}")
    });
    out.regate = Some(regate);
    out
}

/// Deploys every job, at most `parallel` at a time; with
/// `all_or_nothing`, a failure switches every deployed host back.
pub fn deploy_all(
    jobs: &[Job],
    id: &str,
    parallel: usize,
    all_or_nothing: bool,
    clock: &(dyn Clock + Sync),
    step: &(dyn Fn(&str, Step) + Sync),
) -> Vec<Outcome> {
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new(jobs.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, jobs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let n = {
                        let mut next = next.lock().expect("no worker panics");
                        let n = *next;
                        *next += 1;
                        n
                    };
                    let Some(job) = jobs.get(n) else { break };
                    let outcome = deploy(job, id, clock, step);
                    results.lock().expect("no worker panics")[n] = Some(outcome);
                }
            });
        }
    });
    let mut outcomes: Vec<Outcome> = results
        .into_inner()
        .expect("no worker panics")
        .into_iter()
        .map(|o| o.expect("every job ran"))
        .collect();
    let any_failed = outcomes
        .iter()
        .any(|o| !matches!(o.result, Result_::Deployed | Result_::Staged));
    if all_or_nothing && any_failed {
        std::thread::scope(|scope| {
            for (job, out) in jobs.iter().zip(outcomes.iter_mut()) {
                if out.result != Result_::Deployed {
                    continue;
                }
                scope.spawn(move || {
                    let host = job.host();
                    let mut o = back(
                        job,
                        &host,
                        id,
                        clock,
                        out.clone(),
                        format!("{}: another host failed (--all-or-nothing)", job.host),
                        &|s| step(&job.host, s),
                    );
                    if o.result == Result_::RolledBack {
                        o.result = Result_::RolledBackWithTheOthers;
                    }
                    step(&job.host, Step::Done(o.result));
                    *out = o;
                });
            }
        });
    }
    outcomes
}
