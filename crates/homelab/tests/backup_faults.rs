//! Backup faults, each with real tools: a damaged pack file, a wrong or
//! missing repository password, a truncated dump, scratch space too small,
//! an SFTP repository whose host is down, a snapshot that does not match
//! its manifest, a restore killed half way and a restore whose service
//! does not come back. Each ends with a precise message, exit status 1,
//! and the live data as it was.

#[path = "support/host.rs"]
mod host;

use host::{backed_up, live, script, seeded, tree, which};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

#[test]
fn a_damaged_pack_file_fails_drill_and_restore_and_leaves_live_data() {
    let h = backed_up();
    // Flip bytes in the middle of every pack file of the `nas` repository.
    let data = h.root_path("/srv/restic/nas/data");
    for pack in tree(&data).keys() {
        let path = data.join(pack);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        for b in &mut bytes[mid..mid + 64] {
            *b ^= 0xff;
        }
        std::fs::write(&path, bytes).unwrap();
    }
    let before = live(&h);
    let (code, stdout, _) = h.homelab(&["backup", "drill", "app", "--from", "nas"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("app: drill FAILED"), "{stdout}");
    assert!(
        stdout.contains("repository `nas` is damaged: a pack file fails its checksum"),
        "{stdout}"
    );
    let (code, _, stderr) = h.homelab(&["restore", "app", "--from", "nas"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("repository `nas` is damaged"), "{stderr}");
    assert_eq!(live(&h), before);
    // The other repository is intact and still restores.
    let (code, stdout, stderr) = h.homelab(&["backup", "drill", "app", "--from", "offsite"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn a_wrong_or_missing_password_is_named() {
    let h = backed_up();
    let before = live(&h);
    let password = h.root_path("/run/agenix/restic-password");
    std::fs::write(&password, "not the password\n").unwrap();
    let (code, stdout, stderr) = h.homelab(&["backup", "run"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("wrong password for repository `nas`: the key in /run/agenix/restic-password does not open it"),
        "{stderr}"
    );
    let (code, stdout, _) = h.homelab(&["backup", "drill", "app"]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("wrong password for repository `nas`"),
        "{stdout}"
    );
    std::fs::remove_file(&password).unwrap();
    let (code, _, stderr) = h.homelab(&["restore", "app"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("repository `nas`: the password file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("run/agenix/restic-password is missing"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not the password"),
        "no secret in messages"
    );
    assert_eq!(live(&h), before);
}

#[test]
fn a_truncated_dump_stops_the_backup() {
    let h = seeded();
    let before = live(&h);
    // pg_dump that is cut short but exits 0, as a killed pipe can.
    script(
        &h.bin,
        "pg_dump",
        &format!("{} \"$@\" | head -c 700", host::pg_tool("pg_dump")),
    );
    let (code, stdout, stderr) = h.homelab(&["backup", "run"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("the dump of `app` is truncated or damaged (700 bytes)"),
        "{stderr}"
    );
    // Nothing reached a repository; the service runs again.
    assert!(!h.root_path("/srv/restic/nas/config").exists());
    assert!(
        h.unit_log().ends_with("start app.service\n"),
        "{}",
        h.unit_log()
    );
    assert_eq!(live(&h), before);
}

#[test]
fn scratch_space_too_small_is_measured_before_restoring() {
    let h = backed_up();
    let scratch = h.root_path("/var/lib/homelab-drill");
    std::fs::create_dir_all(&scratch).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&scratch)
        .status()
        .unwrap();
    assert!(
        mounted.success(),
        "mounting a small tmpfs needs root (CI runs as root)"
    );
    let (code, stdout, _) = h.homelab(&["backup", "drill", "app"]);
    let _ = Command::new("umount").arg(&scratch).status();
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("scratch space too small at"), "{stdout}");
    assert!(
        stdout.contains("are free; free space there or mount a larger file system on it"),
        "{stdout}"
    );
}

/// A real sshd on a loopback port serves the repository over SFTP; once
/// it is stopped, every command says the host is unreachable.
#[test]
fn an_sftp_repository_whose_host_is_down() {
    let h = seeded();
    let dir = h.root_path("/etc/test-ssh");
    let mut sshd = host::sshd(&dir);
    let port = sshd.port;
    // restic calls `ssh`: this one knows the test's key and port.
    std::fs::write(
        dir.join("ssh_config"),
        format!(
            "Host *\n  IdentityFile {d}/client\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  \
             UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  BatchMode yes\n  ConnectTimeout 5\n",
            d = dir.display()
        ),
    )
    .unwrap();
    script(
        &h.bin,
        "ssh",
        &format!(
            "exec {} -F {}/ssh_config \"$@\"",
            which("ssh"),
            dir.display()
        ),
    );
    let mut plan = h.plan_json();
    plan["services"][0]["repositories"][0]["url"] = format!(
        "sftp://root@127.0.0.1:{port}/{}",
        h.root_path("/srv/nas-repo").display()
    )
    .into();
    h.write_plan(plan);
    let (code, out, err) = h.homelab(&["backup", "run"]);
    assert_eq!(code, 0, "backup over SFTP while the host is up: {out}{err}");

    sshd.stop();
    let before = live(&h);
    let (code, stdout, stderr) = h.homelab(&["backup", "run"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("repository `nas` is unreachable"),
        "{stderr}"
    );
    let (code, stdout, _) = h.homelab(&["backup", "status"]);
    assert_eq!(code, 1);
    let nas = stdout.lines().find(|l| l.contains(" nas ")).unwrap();
    assert!(nas.contains("unreachable"), "{nas}");
    assert!(
        stdout.contains(
            "app: repository `nas`: listing snapshots of `app`: repository `nas` is unreachable"
        ),
        "{stdout}"
    );
    let (code, stdout, _) = h.homelab(&["backup", "drill", "app"]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("repository `nas` is unreachable"),
        "{stdout}"
    );
    assert_eq!(live(&h), before);
}

#[test]
fn a_snapshot_that_does_not_match_its_manifest() {
    let h = seeded();
    // A file changes after the manifest was taken and before restic reads
    // it (a writer outside the service's units, or bad memory).
    let config = h.root_path("/var/lib/app/config.toml");
    script(
        &h.bin,
        "restic",
        &format!(
            "if [ \"$1\" = backup ]; then echo tampered >> {}; fi\nexec {} \"$@\"",
            config.display(),
            which("restic")
        ),
    );
    let (code, out, err) = h.homelab(&["backup", "run"]);
    assert_eq!(code, 0, "{out}{err}");
    std::fs::remove_file(h.bin.join("restic")).unwrap();
    let (code, stdout, _) = h.homelab(&["backup", "drill", "app"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("/var/lib/app/config.toml: 22 bytes restored, the manifest says 13"),
        "{stdout}"
    );
    let before = live(&h);
    let (code, _, stderr) = h.homelab(&["restore", "app"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("does not match its manifest; live data left untouched"),
        "{stderr}"
    );
    assert!(
        stderr.contains("config.toml: 22 bytes restored, the manifest says 13"),
        "{stderr}"
    );
    assert_eq!(live(&h), before);
}

#[test]
fn a_restore_whose_service_stays_unhealthy_puts_the_old_data_back() {
    let h = backed_up();
    std::fs::write(h.root_path("/var/lib/app/config.toml"), "changed\n").unwrap();
    h.sql("app", "delete from notes where id > 10");
    let before = live(&h);
    let mut plan = h.plan_json();
    host::make_unhealthy(&mut plan, 1);
    h.write_plan(plan);
    let (code, _, stderr) = h.homelab(&["restore", "app"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("`app` is not healthy after the restore"),
        "{stderr}"
    );
    assert!(
        stderr.contains("the previous data of `app` is back in place"),
        "{stderr}"
    );
    assert_eq!(live(&h), before);
    assert!(h.unit_log().ends_with("start app.service\n"));
}

/// kill -9 while the restored data is in place but the service is not yet
/// confirmed healthy: the journal lets the next run put the original back
/// first, and that second restore succeeds. The health URL answers 503
/// from a port this test holds: a port merely closed can be handed to a
/// parallel test's health server, which answers 200, and the restore would
/// then finish before the kill and leave no journal to find.
#[test]
fn a_restore_killed_half_way_is_undone_by_the_next_one() {
    let h = backed_up();
    std::fs::write(h.root_path("/var/lib/app/config.toml"), "newer\n").unwrap();
    let original = live(&h);
    let mut plan = h.plan_json();
    // Long enough that the kill, not the probe's timeout, ends this
    // restore on a loaded machine; the kill comes as soon as it probes.
    host::make_unhealthy(&mut plan, 600);
    h.write_plan(plan);
    let mut child = h
        .homelab_cmd(&["restore", "app"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let journal = h.root_path("/var/lib/homelab/restore/app/journal.json");
    let parent = h.root_path("/var/lib");
    let aside = || {
        std::fs::read_dir(&parent).unwrap().flatten().any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("app.before-restore-")
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while !(journal.exists() && aside() && h.unit_log().matches("start app.service").count() >= 2) {
        assert!(
            std::time::Instant::now() < deadline,
            "the restore never reached its health probe"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no cleanup runs
    child.wait().unwrap();
    assert!(journal.exists(), "the journal survives the kill");

    h.write_plan(h.plan_json());
    let (code, stdout, stderr) = h.homelab(&["restore", "app"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("an earlier restore was interrupted; putting the data it replaced back"),
        "{stderr}"
    );
    assert!(!journal.exists());
    // The data this restore replaced is the original, not the half-done one.
    let kept = stdout
        .lines()
        .find_map(|l| l.split("kept at ").nth(1))
        .unwrap();
    let kept = kept.split(';').next().unwrap();
    assert_eq!(tree(Path::new(kept)), original.0);
    assert_eq!(
        std::fs::read_to_string(h.root_path("/var/lib/app/config.toml")).unwrap(),
        "name = \"app\"\n"
    );
}
