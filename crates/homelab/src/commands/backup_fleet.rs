//! `homelab backup status` on the admin machine: every NixOS host of the
//! spec is asked over SSH (`ssh <admin_user>@<address> sudo -n homelab
//! backup status --json`, the plan installed there) and the answers become one
//! table with a HOST column, or one JSON list. A host that does not answer
//! is a row that says why; it falls short like a failed backup does.

use super::backup::{exit, print_rows, print_shortfalls, status_rows};
use crate::print::{self, fail};
use operate::backup::status::ServiceStatus;
use operate::runner::{Cmd, Runner, Ssh};
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;

/// One host's answer.
#[derive(Debug, Serialize)]
pub struct HostStatus {
    pub host: String,
    /// `user@address` it was asked at.
    pub destination: String,
    pub reachable: bool,
    /// Why there is no answer.
    pub error: Option<String>,
    pub services: Vec<ServiceStatus>,
}

pub fn status(spec: &Path, only: &[String], services: &[String], json: bool) -> ExitCode {
    let text = match std::fs::read_to_string(spec) {
        Ok(t) => t,
        Err(e) => return fail(format!("cannot read {}: {e}", spec.display())),
    };
    let fleet = match compile::compile(&text) {
        Ok((fleet, _)) => fleet,
        Err(_) => {
            return fail(format!(
                "{} has errors; `homelab check` shows them",
                spec.display()
            ));
        }
    };
    let known: Vec<&str> = fleet.hosts.iter().map(|h| h.name()).collect();
    if let Some(unknown) = only.iter().find(|h| !known.contains(&h.as_str())) {
        return fail(format!(
            "no host `{unknown}` in {}; hosts: {}",
            spec.display(),
            known.join(", ")
        ));
    }
    let user = &fleet.homelab.admin_user.value;
    let answers: Vec<HostStatus> = fleet
        .hosts
        .iter()
        .filter(|h| only.is_empty() || only.iter().any(|o| o == h.name()))
        .map(|h| {
            if !json {
                eprintln!("asking {} ({user}@{})", h.name(), h.spec.address.value);
            }
            ask(
                h.name(),
                &format!("{user}@{}", h.spec.address.value),
                services,
            )
        })
        .collect();
    let short = answers
        .iter()
        .any(|a| !a.reachable || a.services.iter().any(|s| !s.shortfalls.is_empty()));
    if json {
        print::json(&answers);
    } else {
        print_table(&answers);
    }
    exit(short)
}

/// Runs the host's own `homelab backup status --json` over SSH, as root.
fn ask(host: &str, destination: &str, services: &[String]) -> HostStatus {
    let mut ssh = Ssh::new(destination);
    ssh.options.push("ConnectTimeout=10".into());
    // The admin is a login with sudo (never root); the repository
    // passwords under /run/agenix are root's to read.
    let cmd = Cmd::new("sudo")
        .args(["-n", "homelab", "backup", "status", "--json"])
        .args(["--plan", compile::plan::INSTALLED_PATH])
        .args(services.iter().cloned());
    let mut answer = HostStatus {
        host: host.to_string(),
        destination: destination.to_string(),
        reachable: false,
        error: None,
        services: Vec::new(),
    };
    match ssh.run(&cmd) {
        Err(e) => answer.error = Some(format!("cannot run ssh: {e}")),
        // 0: all well, 1: something falls short; both answer in JSON.
        Ok(out) if matches!(out.status.code(), Some(0 | 1)) => {
            match serde_json::from_slice(&out.stdout) {
                Ok(list) => {
                    answer.reachable = true;
                    answer.services = list;
                }
                Err(e) => {
                    answer.error = Some(format!(
                        "`homelab backup status` answered with something else than its JSON: {e}"
                    ));
                }
            }
        }
        Ok(out) => {
            let why = operate::backup::last_words(&out.stderr);
            answer.error = Some(match out.status.code() {
                Some(255) => format!("unreachable over SSH: {why}"),
                _ => format!("`homelab backup status` failed there: {why}"),
            });
        }
    }
    answer
}

fn print_table(answers: &[HostStatus]) {
    let mut rows = Vec::new();
    for a in answers {
        if a.reachable {
            rows.extend(status_rows(&a.services, Some(&a.host)));
        } else {
            let mut row = vec![a.host.clone(), "-".into(), "-".into(), "-".into()];
            row.extend(["-", "-", "unreachable", "-"].map(String::from));
            rows.push(row);
        }
    }
    print_rows(rows);
    let silent: Vec<String> = answers
        .iter()
        .filter(|a| !a.reachable)
        .map(|a| {
            format!(
                "  {}: no answer from {}: {}",
                a.host,
                a.destination,
                a.error.as_deref().unwrap_or("")
            )
        })
        .collect();
    print_shortfalls(
        answers
            .iter()
            .flat_map(|a| a.services.iter().map(move |s| (Some(a.host.as_str()), s))),
        silent,
    );
}
