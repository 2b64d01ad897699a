//! `homelab backup status` from the admin machine: the spec's hosts are
//! asked over SSH and answer with their own `homelab backup status
//! --json`. A real sshd on a loopback port plays the host `server` (the
//! remote `homelab` is the binary under test, on a scratch host with real
//! restic and PostgreSQL); the spec's other hosts point at loopback
//! addresses where nothing listens, so they are unreachable.
//!
//! Stand-ins, because the test cannot own a real host: an `ssh` wrapper
//! on the admin side adds the test's key and port, logs in as root
//! instead of the spec's `admin` (no such account here, and so no
//! `sudo -n` in front of the remote command), and points the remote
//! command at the scratch host's plan and root instead of the installed
//! /etc/homelab/plan.json.

#[path = "support/host.rs"]
mod host;

use host::{Host, sshd};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn which(name: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The admin side's `ssh` (see the module doc).
fn ssh_wrapper(bin: &Path, keys: &Path, port: u16, h: &Host) {
    std::fs::create_dir_all(bin).unwrap();
    std::fs::write(
        keys.join("ssh_config"),
        format!(
            "Host *\n  Port {port}\n  IdentityFile {d}/client\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  \
             UserKnownHostsFile /dev/null\n  LogLevel ERROR\n",
            d = keys.display()
        ),
    )
    .unwrap();
    let script = format!(
        r#"#!/bin/bash
args=("$@")
last=$((${{#args[@]}} - 1))
remote="${{args[$last]}}"
remote="${{remote/#sudo -n homelab /{homelab} }}"
remote="${{remote/\/etc\/homelab\/plan.json/{plan} --root {root}}}"
args[$last]="$remote"
for i in "${{!args[@]}}"; do args[$i]="${{args[$i]/#admin@/root@}}"; done
exec {ssh} -F {keys}/ssh_config "${{args[@]}}"
"#,
        homelab = env!("CARGO_BIN_EXE_homelab"),
        plan = h.plan.display(),
        root = h.root.display(),
        ssh = which("ssh"),
        keys = keys.display(),
    );
    let path = bin.join("ssh");
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The family example with `server` on loopback and the others nowhere.
fn spec(dir: &Path) {
    let text = compile::examples::get("family").unwrap();
    let text = text
        .replace("\"192.168.1.10\"", "\"127.0.0.1\"")
        .replace("\"192.168.1.20\"", "\"127.0.0.2\"")
        .replace("\"192.168.1.30\"", "\"127.0.0.3\"");
    std::fs::write(dir.join("homelab.toml"), text).unwrap();
}

fn status(admin: &Path, bin: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_homelab"))
        .args(["backup", "status"])
        .args(args)
        .current_dir(admin)
        .env(
            "PATH",
            format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        )
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn status_from_the_admin_machine_asks_every_host_over_ssh() {
    let h = Host::new();
    std::fs::write(h.root_path("/var/lib/app/config.toml"), "x\n").unwrap();
    h.sql("app", "create table t (n int)");
    let (code, out, err) = h.homelab(&["backup", "run"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = h.homelab(&["backup", "drill", "--all"]);
    assert_eq!(code, 0, "{out}{err}");

    let admin = h.dir.path().join("admin");
    let bin = admin.join("bin");
    std::fs::create_dir_all(&admin).unwrap();
    let keys = h.dir.path().join("ssh");
    let server = sshd(&keys);
    ssh_wrapper(&bin, &keys, server.port, &h);
    spec(&admin);

    // One host that meets its policy: exit 0, a HOST column.
    let (code, stdout, stderr) = status(&admin, &bin, &["--host", "server"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let header = stdout.lines().next().unwrap();
    assert!(header.starts_with("HOST    SERVICE"), "{header}");
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("server "))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    assert!(
        rows.iter()
            .all(|r| r.contains(" app ") && r.contains("healthy")),
        "{stdout}"
    );
    assert!(
        stdout.contains("every service meets its policy"),
        "{stdout}"
    );

    // Every host: the two that do not answer are rows, and exit 1.
    let (code, stdout, _) = status(&admin, &bin, &[]);
    assert_eq!(code, 1, "{stdout}");
    for host in ["nas", "hub"] {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{host} ")))
            .unwrap();
        assert!(row.contains("unreachable"), "{row}");
    }
    assert!(
        stdout.contains("  nas: no answer from admin@127.0.0.2: unreachable over SSH: "),
        "{stdout}"
    );

    let (code, stdout, _) = status(&admin, &bin, &["--json"]);
    assert_eq!(code, 1);
    let answers: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let names: Vec<&str> = answers
        .iter()
        .map(|a| a["host"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["server", "nas", "hub"]);
    assert_eq!(answers[0]["reachable"], true);
    assert_eq!(answers[0]["services"][0]["service"], "app");
    assert_eq!(answers[0]["services"][0]["last_drill"]["passed"], true);
    assert_eq!(answers[1]["reachable"], false);
    assert!(
        answers[1]["error"]
            .as_str()
            .unwrap()
            .contains("unreachable over SSH")
    );

    let (code, _, stderr) = status(&admin, &bin, &["--host", "nope"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no host `nope` in homelab.toml; hosts: server, nas, hub"),
        "{stderr}"
    );
    let (code, _, stderr) = status(&admin, &bin, &["--spec", "missing.toml"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read missing.toml: No such file or directory"),
        "{stderr}"
    );
    let (code, _, stderr) = status(
        &admin,
        &bin,
        &["--spec", "homelab.toml", "--plan", "p.json"],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("'--spec <FILE>' cannot be used with '--plan <FILE>'"),
        "{stderr}"
    );
}
