//! The switch itself, done as every NixOS deployer does underneath: the
//! system profile set to the new system, then its
//! `bin/switch-to-configuration`. It runs as a transient unit started by
//! `systemd-run`, as nixos-rebuild-ng does, so the SSH connection that
//! started it may drop (the switch restarts sshd or the network) without
//! killing it; the unit stays after its process ends
//! (`RemainAfterExit`), and its exit code is read back over a fresh
//! connection.
//!
//! `switch-to-configuration` exits 0 when all went well, 1 when the
//! pre-switch check or the boot loader failed, 2 when the activation
//! script failed, 4 when a unit failed to start or a job timed out
//! (ENGINES.md); each is a failure of its own.

use super::host::Host;
use super::{Result, fail};
use std::time::{Duration, Instant};

/// What the switch does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Activate now, and boot it next time.
    Switch,
    /// Boot it next time; the running system is left alone.
    Boot,
}

impl Goal {
    fn word(self) -> &'static str {
        match self {
            Goal::Switch => "switch",
            Goal::Boot => "boot",
        }
    }
}

/// The transient unit of a switch.
pub fn unit(id: &str) -> String {
    format!("homelab-switch-{id}")
}

/// Sets the system profile (`profile`, `record::PROFILE` on a host) to
/// `system` and switches to it; waits (over fresh connections when the
/// first one drops) until the switch ends, at most `within`.
pub fn switch(
    host: &Host,
    system: &str,
    goal: Goal,
    id: &str,
    within: Duration,
    profile: &str,
) -> Result<()> {
    host.ok(
        "setting the system profile",
        &host
            .root_cmd("nix-env")
            .args(["-p", profile, "--set", system]),
    )?;
    let unit = unit(id);
    host.ok(
        "starting the switch",
        &host.root_cmd("systemd-run").args([
            format!("--unit={unit}"),
            format!("--description=homelab: switch to {system}"),
            "--property=RemainAfterExit=yes".into(),
            "--service-type=exec".into(),
            "--quiet".into(),
            "--".into(),
            format!("{system}/bin/switch-to-configuration"),
            goal.word().into(),
        ]),
    )?;
    let code = wait(host, &unit, within);
    // The unit has told what it had to; it goes away either way.
    let _ = host.run(
        &host
            .root_cmd("systemctl")
            .args(["stop", &format!("{unit}.service")]),
    );
    let _ = host.run(
        &host
            .root_cmd("systemctl")
            .args(["reset-failed", &format!("{unit}.service")]),
    );
    match code? {
        0 => Ok(()),
        code => fail(meaning(&host.name, code)),
    }
}

/// What an exit code of `switch-to-configuration` means.
pub fn meaning(host: &str, code: i32) -> String {
    match code {
        1 => format!(
            "{host}: switch-to-configuration exited 1: the pre-switch check or the boot loader \
             failed"
        ),
        2 => format!("{host}: switch-to-configuration exited 2: the activation script failed"),
        4 => format!(
            "{host}: switch-to-configuration exited 4: a unit failed to start or a job timed out"
        ),
        c => format!("{host}: switch-to-configuration exited {c}"),
    }
}

/// The exit code of the switch unit's process, once it has ended. A
/// connection that fails while waiting is opened again.
fn wait(host: &Host, unit: &str, within: Duration) -> Result<i32> {
    let deadline = Instant::now() + within;
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
        let cmd = host.root_cmd("systemctl").args([
            "show",
            "--property=ActiveState",
            "--property=SubState",
            "--property=ExecMainStatus",
            "--property=ExecMainCode",
            "--",
            &format!("{unit}.service"),
        ]);
        match host.run(&cmd) {
            Ok(out) if out.status.success() => {
                let text = String::from_utf8_lossy(&out.stdout);
                if let Some(code) = ended(&text) {
                    return Ok(code);
                }
                last = text.lines().collect::<Vec<_>>().join(", ");
            }
            Ok(out) => last = crate::backup::last_words(&out.stderr),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    fail(format!(
        "{}: the switch did not end within {} s (last seen: {last})",
        host.name,
        within.as_secs()
    ))
}

/// The exit status of an ended switch unit, from `systemctl show`: its
/// process has exited (`active (exited)`, kept by `RemainAfterExit`) or
/// the unit failed.
fn ended(show: &str) -> Option<i32> {
    let get = |k: &str| {
        show.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
            .unwrap_or("")
    };
    let done = get("SubState") == "exited" || get("ActiveState") == "failed";
    if !done {
        return None;
    }
    // A process killed by a signal has no exit status; call it a failed
    // activation.
    match get("ExecMainCode") {
        "1" | "" => get("ExecMainStatus").parse().ok().or(Some(2)),
        _ => Some(2),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_switch_has_ended_when_its_process_exited_or_the_unit_failed() {
        let show = |a: &str, s: &str, status: &str| {
            format!("ActiveState={a}\nSubState={s}\nExecMainStatus={status}\nExecMainCode=1\n")
        };
        assert_eq!(ended(&show("active", "running", "0")), None);
        assert_eq!(ended(&show("activating", "start", "0")), None);
        assert_eq!(ended(&show("active", "exited", "0")), Some(0));
        assert_eq!(ended(&show("failed", "failed", "4")), Some(4));
        assert_eq!(
            ended("ActiveState=failed\nSubState=failed\nExecMainStatus=0\nExecMainCode=2\n"),
            Some(2),
            "killed by a signal"
        );
    }

    #[test]
    fn each_exit_code_is_named() {
        assert!(meaning("server", 4).contains("a unit failed to start"));
        assert!(meaning("server", 2).contains("the activation script failed"));
        assert!(meaning("server", 1).contains("the boot loader"));
    }
}
