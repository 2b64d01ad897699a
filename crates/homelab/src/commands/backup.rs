//! `homelab backup run|drill|status`: read the host plan, drive the
//! backup library, print a line per service (or JSON), and exit 0 when
//! all is well, 1 when something failed or falls short, 2 when the
//! command could not run.

use crate::cli::{BackupCommand, HostArgs};
use crate::print::{self, fail};
use compile::plan::Plan;
use compile::spec::DataClass;
use operate::backup::progress::Progress;
use operate::backup::restic::short_id;
use operate::backup::{Context, drill, preseed, report, run, status};
use operate::runner::Local;
use std::process::ExitCode;

pub fn run(command: BackupCommand) -> ExitCode {
    match command {
        BackupCommand::Run {
            services,
            host,
            json,
        } => with_context(&host, |ctx| backup_run(ctx, &services, json)),
        BackupCommand::Drill {
            services,
            all,
            from,
            host,
            json,
        } => with_context(&host, |ctx| {
            backup_drill(ctx, &services, all, from.as_deref(), json)
        }),
        BackupCommand::Preseed {
            services,
            host,
            json,
        } => with_context(&host, |ctx| backup_preseed(ctx, &services, json)),
        BackupCommand::Status {
            services,
            spec,
            hosts,
            host,
            json,
        } => {
            let spec = spec.or_else(|| {
                let here = std::path::PathBuf::from("homelab.toml");
                (host.plan.is_none() && here.is_file()).then_some(here)
            });
            match spec {
                Some(spec) => super::backup_fleet::status(&spec, &hosts, &services, json),
                None if !hosts.is_empty() => fail(
                    "--host asks hosts named in a spec, and there is no homelab.toml here\n\
                     help: run it in the folder of homelab.toml, or give --spec FILE",
                ),
                None => with_context(&host, |ctx| backup_status(ctx, &services, json)),
            }
        }
    }
}

/// Reads the plan and runs `f` with a context on this machine.
pub fn with_context(host: &HostArgs, f: impl FnOnce(&Context) -> ExitCode) -> ExitCode {
    let plan = match load_plan(host) {
        Ok(p) => p,
        Err(message) => return fail(message),
    };
    let ctx = Context {
        plan: &plan,
        root: host.root.clone(),
        runner: &Local,
    };
    if let Err(e) = ctx.prepare() {
        return fail(e);
    }
    f(&ctx)
}

fn load_plan(host: &HostArgs) -> Result<Plan, String> {
    let path = &host.plan_path();
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the host plan {}: {e}\nhelp: `homelab build` writes hosts/<host>/plan.json; \
             on a host it is installed at {}",
            path.display(),
            compile::plan::INSTALLED_PATH
        )
    })?;
    compile::plan::load(&text).map_err(|e| {
        format!(
            "{} cannot be used: {e}\nhelp: the build writes the plan; build the flake \
             again and deploy it, never edit the plan by hand",
            path.display()
        )
    })
}

/// Ends a command that went through services: the progress display
/// closes, `--json` prints what each service gave, the exit code says
/// whether any failed.
fn finish(
    progress: Progress,
    json: bool,
    results: &impl serde::Serialize,
    failed: bool,
) -> ExitCode {
    progress.finish();
    if json {
        print::json(results);
    }
    exit(failed)
}

fn progress(json: bool) -> Progress {
    if json {
        Progress::silent()
    } else {
        Progress::new()
    }
}

fn backup_run(ctx: &Context, names: &[String], json: bool) -> ExitCode {
    let services = match ctx.services(names) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    // Disposable data is re-created, never backed up: the spec states it
    // and `check` says so once, so the timer's run passes it by in silence
    // (naming one is an error, from `run`).
    let services = services
        .into_iter()
        .filter(|s| !names.is_empty() || s.class != DataClass::Disposable);
    let progress = progress(json);
    let mut failed = false;
    let mut results = Vec::new();
    for service in services {
        let started = std::time::Instant::now();
        let result = run::run(ctx, service, &progress);
        report::after_backup(ctx, service, &result, started.elapsed(), &progress);
        match result {
            Ok(o) => {
                print_backup(&o, &progress);
                let problems = o.problems();
                failed |= !problems.is_empty();
                if !json {
                    progress.suspend(|| {
                        for p in &problems {
                            eprintln!("error: {}: {p}", o.service);
                        }
                    });
                }
                results.push(serde_json::json!({
                    "service": o.service,
                    "ok": problems.is_empty(),
                    "outcome": o,
                }));
            }
            Err(e) => {
                failed = true;
                if !json {
                    progress.suspend(|| eprintln!("error: {}: {e}", service.name));
                }
                results.push(serde_json::json!({ "service": service.name, "ok": false, "error": e.to_string() }));
            }
        }
    }
    report::write_metrics(ctx, &progress);
    finish(progress, json, &results, failed)
}

fn print_backup(o: &run::Outcome, progress: &Progress) {
    let made: Vec<String> = o
        .repositories
        .iter()
        .filter_map(|r| {
            Some(format!(
                "{} ({})",
                r.repository,
                short_id(r.snapshot.as_ref()?)
            ))
        })
        .collect();
    if !made.is_empty() {
        progress.line(format!(
            "{}: backed up {} files ({}), {} database dump(s) to {}",
            o.service,
            o.files,
            bytes(o.bytes),
            o.dumps,
            made.join(", ")
        ));
    }
    for r in &o.repositories {
        if let Some(n) = r.forgotten {
            progress.line(format!(
                "{}: retention in {} removed {n} snapshot(s)",
                o.service, r.repository
            ));
        }
    }
}

fn backup_drill(
    ctx: &Context,
    names: &[String],
    all: bool,
    from: Option<&str>,
    json: bool,
) -> ExitCode {
    let services = match ctx.services(names) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    // Every `--from` is checked before the first drill starts.
    let mut drills = Vec::new();
    for service in services.into_iter().filter(|s| !s.repositories.is_empty()) {
        let repo = match from {
            None => &service.repositories[0],
            Some(n) => match service.repositories.iter().find(|r| r.name == n) {
                Some(r) => r,
                None => return fail(format!("`{}` has no repository `{n}`", service.name)),
            },
        };
        drills.push((service, repo));
    }
    let progress = progress(json);
    let mut failed = false;
    let mut records = Vec::new();
    for (service, repo) in drills {
        match drill::drill(ctx, service, repo, &progress) {
            Ok(r) => {
                report::after_drill(ctx, &r, &progress);
                failed |= !r.passed;
                if !json {
                    progress.suspend(|| print_drill(&r));
                }
                records.push(r);
            }
            Err(e) => {
                failed = true;
                progress.suspend(|| eprintln!("error: {}: {e}", service.name));
            }
        }
    }
    if all {
        // The drill timer runs `--all`: the repositories' data is read
        // back here when due, even if nobody asks for the status.
        for (repo, check) in status::due_data_checks(ctx, &progress) {
            if !check.passed {
                failed = true;
                progress.line(format!(
                    "error: repository `{repo}`: {}",
                    check
                        .error
                        .as_deref()
                        .unwrap_or("its data does not read back")
                ));
            }
        }
    }
    report::write_metrics(ctx, &progress);
    finish(progress, json, &records, failed)
}

fn print_drill(r: &drill::DrillRecord) {
    let snapshot = r.snapshot.as_deref().map_or("-", short_id);
    if r.passed {
        println!(
            "{}: drill passed: snapshot {snapshot} from {} back in {:.1} s ({} files, {}, {} tables checked)",
            r.service,
            r.repository,
            r.recovery_seconds,
            r.files,
            bytes(r.bytes),
            r.tables
        );
    } else {
        println!(
            "{}: drill FAILED: snapshot {snapshot} from {} ({:.1} s):",
            r.service, r.repository, r.recovery_seconds
        );
        for p in &r.problems {
            println!("  {p}");
        }
    }
}

fn backup_preseed(ctx: &Context, names: &[String], json: bool) -> ExitCode {
    let services = match ctx.services(names) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let progress = progress(json);
    let mut failed = false;
    let mut results = Vec::new();
    for service in services {
        let outcome = preseed::preseed(ctx, service, &progress);
        let line = match &outcome {
            Ok(preseed::Outcome::Restored {
                repository,
                snapshot,
            }) => format!(
                "{}: restored snapshot {} from {repository}",
                service.name,
                short_id(snapshot)
            ),
            Ok(preseed::Outcome::Present { reason }) => {
                format!("{}: left alone, {reason}", service.name)
            }
            Ok(preseed::Outcome::Nothing { tried }) => format!(
                "{}: nothing to restore ({})",
                service.name,
                tried.join("; ")
            ),
            Err(e) => {
                failed = true;
                format!("error: {}: {e}", service.name)
            }
        };
        progress.line(&line);
        results.push(match outcome {
            Ok(o) => serde_json::json!({ "service": service.name, "result": o }),
            Err(e) => serde_json::json!({ "service": service.name, "error": e.to_string() }),
        });
    }
    finish(progress, json, &results, failed)
}

fn backup_status(ctx: &Context, names: &[String], json: bool) -> ExitCode {
    let services = match ctx.services(names) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let all: Vec<status::ServiceStatus> = services.iter().map(|s| status::status(ctx, s)).collect();
    let short = all.iter().any(|s| !s.shortfalls.is_empty());
    if json {
        print::json(&all);
    } else {
        print_status(&all);
    }
    exit(short)
}

fn print_status(all: &[status::ServiceStatus]) {
    print_rows(status_rows(all, None));
    print_shortfalls(all.iter().map(|s| (None, s)), Vec::new());
}

/// The header and one row per service and repository; with `host`, a
/// HOST column first.
pub fn status_rows(all: &[status::ServiceStatus], host: Option<&str>) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for s in all {
        let drill = s.last_drill.as_ref().map_or("never".to_string(), |d| {
            format!(
                "{} {} ({:.1} s)",
                if d.passed { "passed" } else { "FAILED" },
                d.at.get(..10).unwrap_or(&d.at),
                d.recovery_seconds
            )
        });
        let class = format!("{:?}", s.class).to_lowercase();
        let mut row = |repo: [String; 4]| {
            let mut r: Vec<String> = host.map(str::to_string).into_iter().collect();
            r.extend([s.service.clone(), class.clone()]);
            r.extend(repo);
            r.push(drill.clone());
            rows.push(r);
        };
        if s.repositories.is_empty() {
            row(["-", "-", "-", "-"].map(String::from));
        }
        for r in &s.repositories {
            row([
                r.name.clone(),
                r.latest_snapshot.clone().unwrap_or_else(|| "none".into()),
                r.age_hours.map_or("-".into(), |h| format!("{h:.1} h")),
                r.state().to_string(),
            ]);
        }
    }
    rows
}

/// Prints rows under the status header, columns aligned.
pub fn print_rows(rows: Vec<Vec<String>>) {
    let with_host = rows.first().is_some_and(|r| r.len() == 8);
    let mut header: Vec<String> = with_host.then(|| "HOST".to_string()).into_iter().collect();
    header.extend(
        [
            "SERVICE",
            "CLASS",
            "REPOSITORY",
            "SNAPSHOT",
            "AGE",
            "REPOSITORY STATE",
            "LAST DRILL",
        ]
        .map(String::from),
    );
    let all: Vec<Vec<String>> = std::iter::once(header).chain(rows).collect();
    let widths: Vec<usize> = (0..all[0].len())
        .map(|c| {
            all.iter()
                .map(|r| r.get(c).map_or(0, |v| v.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &all {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}

/// The shortfalls of every service, `host: service: shortfall` when the
/// host is given.
pub fn print_shortfalls<'a>(
    all: impl Iterator<Item = (Option<&'a str>, &'a status::ServiceStatus)>,
    more: Vec<String>,
) {
    let lines: Vec<String> = all
        .flat_map(|(host, s)| {
            let who = match host {
                Some(h) => format!("{h}: {}", s.service),
                None => s.service.clone(),
            };
            s.shortfalls
                .iter()
                .map(move |f| format!("  {who}: {f}"))
                .collect::<Vec<_>>()
        })
        .chain(more)
        .collect();
    if lines.is_empty() {
        println!("\nevery service meets its policy");
    } else {
        println!("\nshortfalls:");
        for l in lines {
            println!("{l}");
        }
    }
}

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

pub fn exit(problem: bool) -> ExitCode {
    if problem {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
