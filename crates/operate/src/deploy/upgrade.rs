//! `homelab upgrade`, run by the host itself on a timer (or by hand): the
//! steps of a deploy, on this machine, from its installed plan.
//!
//! 1. The flake's newest revision (`nix flake metadata --refresh`); a
//!    revision that failed here before is not tried again (the host is
//!    "stuck" until the flake moves on), so a broken commit cannot make
//!    the host switch and roll back every night.
//! 2. This host's system built from that revision; when it is the running
//!    one, there is nothing to do.
//! 3. Recorded, switched (through `systemd-run`), gated with the plan's
//!    checks as the host reaches them (units active, health URLs 200), and
//!    switched back when the gate fails.
//! 4. The result kept in `<state>/upgrade.json` and pushed to the status
//!    page (its Gatus endpoint mails when an upgrade fails or is stuck).

use super::gate::{self, Clock, Round, Verdict};
use super::host::{Host, is_system_path};
use super::switch::{Goal, switch};
use super::{Result, fail, record, rollback, run::SWITCH_LIMIT};
use crate::backup::Context;
use crate::backup::progress::Progress;
use crate::runner::Cmd;
use compile::fleet::Gate;
use compile::plan::{Heartbeat, UpgradePlan, heartbeat_key};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// How an upgrade ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Result_ {
    /// On the new system, and the gate passed.
    Upgraded,
    /// The flake builds the system the host runs already.
    UpToDate,
    /// The new system failed; the host is back on the previous one.
    RolledBack,
    /// The flake's revision failed here before: not tried again.
    Stuck,
    /// Could not fetch or build, or the way back failed.
    Failed,
}

/// What an upgrade did, kept in `<state>/upgrade.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub result: Result_,
    pub at: String,
    pub revision: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub gate: Option<Verdict>,
    pub message: Option<String>,
    /// The revision that failed, remembered until the flake moves on.
    pub failed_revision: Option<String>,
}

/// Upgrades this host from `ctx.plan.upgrade`.
pub fn upgrade(ctx: &Context, clock: &dyn Clock, progress: &Progress) -> Result<Report> {
    let Some(u) = &ctx.plan.upgrade else {
        return fail(
            "this host has no scheduled upgrade: add `[deploy] schedule` and `source` to the spec",
        );
    };
    let started = Instant::now();
    let last = last_report(ctx);
    let mut report = Report {
        result: Result_::Failed,
        at: crate::backup::now().to_string(),
        revision: None,
        before: None,
        after: None,
        gate: None,
        message: None,
        failed_revision: last.and_then(|r| r.failed_revision),
    };
    let outcome = attempt(ctx, u, clock, progress, &mut report);
    if let Err(e) = outcome {
        report.result = Result_::Failed;
        report.message = Some(e.0);
    }
    save(ctx, &report)?;
    let error = match report.result {
        Result_::Upgraded | Result_::UpToDate => None,
        _ => Some(report.message.clone().unwrap_or_else(|| "failed".into())),
    };
    crate::backup::report::push::report(
        ctx,
        &heartbeat_key(&ctx.plan.host, Heartbeat::Upgrade),
        error.as_deref(),
        started.elapsed(),
        progress,
    );
    Ok(report)
}

fn attempt(
    ctx: &Context,
    u: &UpgradePlan,
    clock: &dyn Clock,
    progress: &Progress,
    report: &mut Report,
) -> Result<()> {
    let host = Host {
        name: ctx.plan.host.clone(),
        runner: ctx.runner,
        root: true,
    };
    progress.step(format!("fetching {}", u.source));
    let revision = revision(&host, &u.source)?;
    report.revision = Some(revision.clone());
    if report.failed_revision.as_deref() == Some(revision.as_str()) {
        report.result = Result_::Stuck;
        report.message = Some(format!(
            "revision {revision} failed on this host before and is not tried again; \
             fix the flake (`homelab plan`, `homelab deploy`) and push a new revision"
        ));
        return Ok(());
    }
    progress.step(format!("building {} at {revision}", u.attribute));
    let system = build(&host, &pinned(&u.source, &revision), &u.attribute)?;
    let profile = ctx.host_path(record::PROFILE);
    let before = record::current_at(&host, &profile.display().to_string())?;
    report.before = Some(before.clone());
    report.after = Some(before.clone());
    if before == system {
        report.result = Result_::UpToDate;
        return Ok(());
    }
    let id = crate::backup::now().strftime("%Y%m%d-%H%M%S").to_string();
    progress.step(format!("switching to {system}"));
    let gate_settings = Gate {
        window_ms: u.gate.window_ms,
        interval_ms: u.gate.interval_ms,
        passes: u.gate.passes,
    };
    let probe = || checks(ctx, u);
    let profile = profile.display().to_string();
    let failure = match switch(&host, &system, Goal::Switch, &id, SWITCH_LIMIT, &profile) {
        Err(e) => Some(e.0),
        Ok(()) => {
            report.after = Some(system.clone());
            let v = gate::gate(gate_settings, probe, clock, |n, row| {
                progress.step(format!(
                    "health gate: round {n}, {row} of {} passes",
                    u.gate.passes
                ));
            });
            let why = v
                .failed
                .clone()
                .map(|(probe, saw)| format!("the health gate failed: {probe}: {saw}"));
            report.gate = Some(v);
            why
        }
    };
    let Some(why) = failure else {
        report.result = Result_::Upgraded;
        report.failed_revision = None;
        return Ok(());
    };
    // The revision is remembered before the roll-back: even if this run
    // dies now, the next one does not try it again.
    report.failed_revision = Some(revision);
    save(ctx, report)?;
    progress.step(format!("rolling back: {why}"));
    rollback::rollback_at(&host, &before, &id, SWITCH_LIMIT, &profile)?;
    report.after = Some(before);
    let regate = gate::gate(gate_settings, probe, clock, |_, _| {});
    report.result = if regate.passed {
        Result_::RolledBack
    } else {
        Result_::Failed
    };
    report.message = Some(if regate.passed {
        format!("{why}; back on the previous system, which is healthy")
    } else {
        format!("{why}; back on the previous system, but it is not healthy either")
    });
    Ok(())
}

/// The flake's newest revision, as `nix flake metadata` reports it.
fn revision(host: &Host, source: &str) -> Result<String> {
    let out = host.ok(
        "fetching the flake",
        &Cmd::new("nix").args([
            "--extra-experimental-features",
            "nix-command flakes",
            "flake",
            "metadata",
            "--json",
            "--refresh",
            source,
        ]),
    )?;
    let meta: serde_json::Value =
        serde_json::from_str(&out).map_err(|e| super::Error(format!("nix flake metadata: {e}")))?;
    let rev = meta["revision"]
        .as_str()
        .or_else(|| meta["locked"]["rev"].as_str())
        .unwrap_or_default();
    if rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(rev.to_string())
    } else {
        fail(format!(
            "{source} reports no git revision: scheduled upgrades need a git flake"
        ))
    }
}

/// `source` pinned to `revision`.
fn pinned(source: &str, revision: &str) -> String {
    let sep = if source.contains('?') { '&' } else { '?' };
    format!("{source}{sep}rev={revision}")
}

fn build(host: &Host, flake: &str, attribute: &str) -> Result<String> {
    let out = host.ok(
        "building the system",
        &Cmd::new("nix").args([
            "--extra-experimental-features",
            "nix-command flakes",
            "build",
            "--no-link",
            "--print-out-paths",
            &format!("{flake}#{attribute}"),
        ]),
    )?;
    match out.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(p) if is_system_path(p) => Ok(p.to_string()),
        _ => fail("building the system printed no system path"),
    }
}

/// One round of the gate, as the host reaches its services: every unit
/// active, every health URL answering as the plan says.
fn checks(ctx: &Context, u: &UpgradePlan) -> Round {
    let units: Vec<String> = u.checks.iter().flat_map(|c| c.units.clone()).collect();
    let mut failing = Vec::new();
    // The records are read where this run keeps them (under `--root`).
    let state_dir = ctx.state_dir().to_string_lossy().into_owned();
    match crate::probe::host::ask(ctx.runner, "root", &state_dir, &units) {
        Err(e) => failing.push(("units".to_string(), e)),
        Ok(facts) => {
            for c in &u.checks {
                for unit in &c.units {
                    match facts.units.get(unit) {
                        Some(s) if s.is_active() => {}
                        Some(s) => {
                            failing.push((format!("{} unit {unit}", c.service), s.describe()))
                        }
                        None => failing.push((
                            format!("{} unit {unit}", c.service),
                            "systemd did not report it".into(),
                        )),
                    }
                }
            }
        }
    }
    for c in &u.checks {
        let Some(h) = &c.health else { continue };
        match crate::probe::http_status(&h.url) {
            Ok(code) if code == h.status => {}
            Ok(code) => failing.push((
                format!("{} {}", c.service, h.url),
                format!("answered {code}, expected {}", h.status),
            )),
            Err(e) => failing.push((format!("{} {}", c.service, h.url), e)),
        }
    }
    Round { failing }
}

fn report_path(ctx: &Context) -> std::path::PathBuf {
    ctx.state_dir().join("upgrade.json")
}

/// The last upgrade's report, if any (what the host wrote itself).
pub fn last_report(ctx: &Context) -> Option<Report> {
    let text = std::fs::read_to_string(report_path(ctx)).ok()?;
    serde_json::from_str(&text).ok()
}

fn save(ctx: &Context, report: &Report) -> Result<()> {
    let text = serde_json::to_string_pretty(report).expect("plain data");
    crate::fs_guard::write_file(&report_path(ctx), text.as_bytes())
        .map_err(|e| super::Error(format!("keeping the upgrade's result: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_pinned_to_its_revision() {
        let rev = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            pinned("git+https://git.example.org/me/flake.git", rev),
            format!("git+https://git.example.org/me/flake.git?rev={rev}")
        );
        assert_eq!(
            pinned("git+https://x/f.git?ref=main", rev),
            format!("git+https://x/f.git?ref=main&rev={rev}")
        );
    }
}
