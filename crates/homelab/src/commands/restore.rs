//! `homelab restore SERVICE`: one service's snapshot back in place,
//! through the library's safe sequence (see `operate::backup::restore`).

use super::backup::{exit, with_context};
use crate::cli::HostArgs;
use crate::print::{self, fail};
use operate::backup::progress::Progress;
use operate::backup::restic::short_id;
use operate::backup::restore::{Request, restore};
use std::process::ExitCode;

pub fn run(
    service: &str,
    snapshot: Option<String>,
    at: Option<String>,
    from: Option<String>,
    host: &HostArgs,
    json: bool,
) -> ExitCode {
    let at = match at.as_deref().map(str::parse::<jiff::Timestamp>) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(e)) => {
            return fail(format!(
                "--at: not a time: {e}\nhelp: give an RFC 3339 time such as 2026-05-01T12:00:00Z"
            ));
        }
    };
    let request = Request {
        snapshot,
        at,
        from,
        preseed: false,
    };
    with_context(host, |ctx| {
        let services = match ctx.services(&[service.to_string()]) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        let progress = if json {
            Progress::silent()
        } else {
            Progress::new()
        };
        let result = restore(ctx, services[0], &request, &progress);
        progress.finish();
        match result {
            Ok(report) => {
                if json {
                    print::json(&report);
                } else {
                    println!(
                        "{}: restored snapshot {} from {} ({} files), verified and healthy",
                        report.service,
                        short_id(&report.snapshot),
                        report.repository,
                        report.files
                    );
                    for k in &report.kept {
                        println!("  the data it replaced is kept at {k}; remove it when satisfied");
                    }
                }
                exit(false)
            }
            Err(e) => {
                eprintln!("error: {service}: {e}");
                exit(true)
            }
        }
    })
}
