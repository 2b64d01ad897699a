//! Deploys to 3 and to 12 stand-in hosts whose activation takes 1 to 3 s:
//! the whole deploy's time against its slowest host's, measured in the
//! same run.
//!
//! A NixOS activation cannot run here, so each stand-in host is this
//! machine with stand-in tools on `PATH`: `readlink` reports a system,
//! `nix-env` sets nothing, `systemd-run` starts the "switch" in the
//! background (it sleeps for the host's activation time, then exits 0) and
//! `systemctl show` reports its state, as systemd would. Everything else
//! is the deploy's own code: record, switch, wait for the unit, gate (3
//! passes 200 ms apart, every probe passing).
//!
//! Run: `cargo bench -p homelab-operate --bench deploy`.

use compile::fleet::Gate;
use operate::deploy::gate::{RealClock, Round};
use operate::deploy::run::{Job, deploy_all};
use operate::deploy::switch::Goal;
use operate::runner::{Cmd, Local, Runner};
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::time::Instant;

/// A stand-in host: local commands, with the host's activation time and
/// state folder in their environment.
struct StandIn {
    name: String,
    delay_ms: u64,
    state: PathBuf,
}

impl StandIn {
    fn with_env(&self, cmd: &Cmd) -> Cmd {
        cmd.clone()
            .env("STANDIN_DELAY_MS", self.delay_ms.to_string())
            .env("STANDIN_STATE", self.state.display().to_string())
    }
}

impl Runner for StandIn {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn run(&self, cmd: &Cmd) -> io::Result<Output> {
        Local.run(&self.with_env(cmd))
    }
    fn spawn(&self, cmd: &Cmd) -> io::Result<Child> {
        Local.spawn(&self.with_env(cmd))
    }
}

fn script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The stand-in tools, first on `PATH`.
fn tools(bin: &Path) {
    std::fs::create_dir_all(bin).unwrap();
    script(
        bin,
        "readlink",
        "echo /nix/store/0123456789abcdfghijklmnpqrsvwxyz-nixos-system-old",
    );
    script(bin, "nix-env", "exit 0");
    // `systemd-run --unit=NAME … -- PROGRAM GOAL`: the switch, in the
    // background, as systemd would run it.
    script(
        bin,
        "systemd-run",
        r#"for a in "$@"; do case "$a" in --unit=*) unit="${a#--unit=}";; esac; done
echo running > "$STANDIN_STATE/$unit"
( sleep "$(echo "$STANDIN_DELAY_MS" | awk '{print $1/1000}')"; echo exited > "$STANDIN_STATE/$unit" ) >/dev/null 2>&1 &
exit 0"#,
    );
    script(
        bin,
        "systemctl",
        r#"[ "$1" = show ] || exit 0
for a in "$@"; do unit="${a%.service}"; done
case "$(cat "$STANDIN_STATE/$unit" 2>/dev/null)" in
  exited) printf 'ActiveState=active\nSubState=exited\nExecMainStatus=0\nExecMainCode=1\n' ;;
  *) printf 'ActiveState=active\nSubState=running\nExecMainStatus=0\nExecMainCode=0\n' ;;
esac"#,
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    tools(&bin);
    // SAFETY: set once, before any thread starts.
    unsafe {
        std::env::set_var(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        );
    }
    let gate = Gate {
        window_ms: 30_000,
        interval_ms: 200,
        passes: 3,
    };
    for hosts in [3usize, 12] {
        let mut rows = Vec::new();
        for round in 1..=3 {
            let jobs: Vec<Job> = (0..hosts)
                .map(|n| {
                    // 1 s to 3 s, spread evenly over the hosts.
                    let delay_ms = 1_000 + 2_000 * n as u64 / (hosts as u64 - 1);
                    let state = dir.path().join(format!("state-{hosts}-{round}-{n}"));
                    std::fs::create_dir_all(&state).unwrap();
                    Job {
                        host: format!("host{n}"),
                        runner: Box::new(StandIn {
                            name: format!("host{n}"),
                            delay_ms,
                            state,
                        }),
                        root: true,
                        system: "/nix/store/9876543210abcdfghijklmnpqrsvwxyz-nixos-system-new"
                            .into(),
                        goal: Goal::Switch,
                        datasets: Vec::new(),
                        gate,
                        copy: None,
                        activate: None,
                        probe: Box::new(Round::default),
                    }
                })
                .collect();
            // Each host alone first: the slowest is the baseline.
            let mut slowest = 0f64;
            for job in &jobs {
                let started = Instant::now();
                let out = deploy_all(
                    std::slice::from_ref(job),
                    &format!("alone-{round}"),
                    1,
                    false,
                    &RealClock,
                    &|_, _| {},
                );
                assert_eq!(out[0].result.word(), "deployed", "{:?}", out[0].message);
                slowest = slowest.max(started.elapsed().as_secs_f64());
            }
            let started = Instant::now();
            let out = deploy_all(
                &jobs,
                &format!("all-{round}"),
                hosts,
                false,
                &RealClock,
                &|_, _| {},
            );
            let total = started.elapsed().as_secs_f64();
            assert!(out.iter().all(|o| o.result.word() == "deployed"));
            println!(
                "{hosts} hosts, round {round}: all at once {total:.2} s, slowest host alone {slowest:.2} s ({:.3}x)",
                total / slowest
            );
            rows.push((total, slowest));
        }
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (total, slowest) = rows[1];
        println!(
            "{hosts} hosts, median: {total:.2} s = {:.3}x the slowest host ({slowest:.2} s)",
            total / slowest
        );
    }
}
