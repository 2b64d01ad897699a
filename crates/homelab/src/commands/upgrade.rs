//! `homelab upgrade`: the host upgrades itself from its plan
//! (`operate::deploy::upgrade`), one line of result, or JSON.

use super::backup::{exit, with_context};
use crate::cli::HostArgs;
use crate::print::{self, fail};
use operate::backup::progress::Progress;
use operate::deploy::gate::RealClock;
use operate::deploy::upgrade::{Result_, upgrade};
use std::process::ExitCode;

pub fn run(host: &HostArgs, json: bool) -> ExitCode {
    with_context(host, |ctx| {
        let progress = if json {
            Progress::silent()
        } else {
            Progress::new()
        };
        let report = upgrade(ctx, &RealClock, &progress);
        progress.finish();
        let report = match report {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        if json {
            print::json(&report);
        } else {
            let rev = report
                .revision
                .as_deref()
                .map_or("-", |r| &r[..r.len().min(12)]);
            let line = match report.result {
                Result_::Upgraded => format!("upgraded to revision {rev}; the health gate passed"),
                Result_::UpToDate => format!("up to date at revision {rev}"),
                Result_::RolledBack => format!("revision {rev} was rolled back"),
                Result_::Stuck => format!("stuck: revision {rev} failed here before"),
                Result_::Failed => "the upgrade failed".to_string(),
            };
            println!("{}: {line}", ctx.plan.host);
            if let Some(m) = &report.message {
                println!("  {m}");
            }
        }
        exit(!matches!(
            report.result,
            Result_::Upgraded | Result_::UpToDate
        ))
    })
}
