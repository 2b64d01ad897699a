//! `homelab recover`: on the host, every service brought back and
//! drilled (`operate::backup::recover`); from your computer, the new
//! machine installed first (`homelab install`) and the host asked over
//! SSH.

use super::backup::{exit, with_context};
use crate::cli::{HostArgs, SecretsPlace};
use crate::print::{self, Paint, fail};
use compile::fleet::Fleet;
use operate::backup::progress::Progress;
use operate::backup::recover::{Report, recover};
use operate::probe::status::Options as ProbeOptions;
use operate::runner::{Cmd, Runner};
use std::path::PathBuf;
use std::process::ExitCode;

pub struct Options {
    pub host_name: Option<String>,
    pub target: Option<String>,
    pub target_port: u16,
    pub from: Option<String>,
    pub plan_only: bool,
    pub json: bool,
    pub host: HostArgs,
    pub place: SecretsPlace,
    pub ssh_config: Option<PathBuf>,
}

pub fn run(o: &Options) -> ExitCode {
    match &o.host_name {
        Some(name) => from_admin(o, name),
        None => with_context(&o.host, |ctx| {
            let progress = if o.json {
                Progress::silent()
            } else {
                Progress::new()
            };
            let report = recover(ctx, o.from.as_deref(), o.plan_only, &progress);
            progress.finish();
            show(&report, o.json);
            exit(report.failed())
        }),
    }
}

/// `homelab install` onto `target`, then waiting for the host: the spec
/// as installed (its host key recorded), and how the host is reached, with
/// that key. Its services are not probed: they come up as their data
/// comes back. A failed install leaves nothing to recover onto.
fn install_first(
    o: &Options,
    name: &str,
    target: &str,
) -> Result<(Fleet, Option<super::install::Reach>), ExitCode> {
    let install = super::install::Options {
        host: name.to_string(),
        target: target.to_string(),
        port: o.target_port,
        place: o.place.clone(),
        dry_run: false,
        force: false,
        ssh_config: o.ssh_config.clone(),
        wait: std::time::Duration::from_secs(900),
    };
    let fleet =
        super::install::install(&install)?.ok_or_else(|| fail("the install ran as a dry run"))?;
    let reach = super::install::wait_for_host(&fleet, &install)?;
    Ok((fleet, Some(reach)))
}

/// From the admin machine: install first when asked, then the host's own
/// recovery over SSH.
fn from_admin(o: &Options, name: &str) -> ExitCode {
    let (fleet, reached) = match &o.target {
        Some(target) => match install_first(o, name, target) {
            Ok(installed) => installed,
            Err(code) => {
                eprintln!("error: {name} was not installed, so nothing was recovered");
                return code;
            }
        },
        None => {
            let src = match crate::source::load(&crate::cli::Input {
                spec: o.place.spec.clone(),
                example: None,
            }) {
                Ok(src) => src,
                Err(code) => return code,
            };
            match print::fleet(&src) {
                Ok(f) => (f, None),
                Err(code) => return code,
            }
        }
    };
    let probes = compile::probes::probes(&fleet);
    let Some(h) = probes.hosts.iter().find(|h| h.host == name) else {
        let names: Vec<&str> = probes.hosts.iter().map(|h| h.host.as_str()).collect();
        return fail(format!(
            "the spec has no host `{name}`; hosts: {}",
            names.join(", ")
        ));
    };
    let options = reached.as_ref().map_or_else(
        || ProbeOptions {
            ssh_config: o.ssh_config.clone(),
            ..ProbeOptions::default()
        },
        |r| r.options.clone(),
    );
    let ssh = options.ssh(h, std::time::Duration::from_secs(10));
    let mut cmd = Cmd::as_root(h.ssh_user == "root", "homelab").args([
        "recover",
        "--json",
        "--plan",
        compile::plan::INSTALLED_PATH,
    ]);
    if let Some(from) = &o.from {
        cmd = cmd.args(["--from", from]);
    }
    if o.plan_only {
        cmd = cmd.arg("--plan-only");
    }
    let out = match ssh.run(&cmd) {
        Ok(out) => out,
        Err(e) => return fail(format!("cannot run ssh: {e}")),
    };
    // The host's answer is its own word: parsed as the report's shape.
    let report: Report = match serde_json::from_slice(&out.stdout) {
        Ok(r) => r,
        Err(e) => {
            return fail(format!(
                "{name} did not answer with its recovery report ({e}): {}",
                operate::backup::last_words(&out.stderr)
            ));
        }
    };
    show(&report, o.json);
    exit(report.failed())
}

fn show(report: &Report, json: bool) {
    if json {
        print::json(report);
        return;
    }
    let paint = Paint::stdout();
    let mut rows = vec![
        [
            "SERVICE", "OUTCOME", "FROM", "SNAPSHOT", "DATA AGE", "BACK IN", "DRILL",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for s in &report.services {
        rows.push(vec![
            s.service.clone(),
            s.outcome.clone(),
            s.repository.clone().unwrap_or_else(|| "-".into()),
            s.snapshot
                .as_deref()
                .map_or("-".into(), |x| x[..x.len().min(8)].to_string()),
            s.rpo_hours.map_or("-".into(), |h| format!("{h:.1} h")),
            s.rto_seconds.map_or("-".into(), |t| format!("{t:.0} s")),
            s.drill.as_ref().map_or("-".into(), |d| {
                if d.passed { "passed" } else { "FAILED" }.to_string()
            }),
        ]);
    }
    println!(
        "{}: {} service(s){} in {:.0} s",
        report.host,
        report.services.len(),
        if report.plan_only {
            ", nothing changed (--plan-only)"
        } else {
            ""
        },
        report.seconds
    );
    for l in print::columns(&rows, |r, c, cell| match (r, c) {
        (0, _) => cell.to_string(),
        (_, 1) if cell.trim() == "failed" => paint.bad(cell),
        (_, 6) if cell.trim() == "FAILED" => paint.bad(cell),
        _ => cell.to_string(),
    }) {
        println!("{l}");
    }
    for s in &report.services {
        for k in &s.skipped {
            println!("  {}: not from {k}", s.service);
        }
        if let Some(m) = &s.message {
            println!("  {}: {m}", s.service);
        }
        if let Some(d) = s.drill.as_ref().filter(|d| !d.passed) {
            for p in &d.problems {
                println!("  {}: drill: {p}", s.service);
            }
        }
    }
}
