//! The starter's example values — the admin key `homelab init` and the
//! README write, the `YOUR-…` disks — are looked at by `check` and refused
//! by the commands that write from the spec, with what to put there.

use std::path::Path;
use std::process::Command;

#[path = "support/bin.rs"]
mod bin;
use bin::{keygen, run_in as run};

/// Every file below `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_starter_checks_with_warnings_and_build_and_secrets_refuse_it() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(run(dir.path(), &["init"]).0, 0);

    let (code, stdout, stderr) = run(dir.path(), &["check"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("ok"), "{stdout}");
    for says in [
        "warning[placeholder]: `admin_keys` holds the example key of `homelab init` and the README",
        "cat ~/.ssh/id_ed25519.pub",
        "warning[placeholder]: the boot disk `/dev/disk/by-id/nvme-YOUR-BOOT-DISK` of `server` is a placeholder",
        "warning[placeholder]: the pool disk `/dev/disk/by-id/ata-YOUR-DISK-A` of `server` is a placeholder",
        "ls -l /dev/disk/by-id/",
    ] {
        assert!(stderr.contains(says), "missing {says:?} in\n{stderr}");
    }
    // `show` works on the starter too.
    assert_eq!(run(dir.path(), &["show", "ports"]).0, 0);

    let before = files(dir.path());
    let (code, _, stderr) = run(dir.path(), &["build"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("error[placeholder]: `admin_keys` holds the example key")
            && stderr.contains("error[placeholder]: the boot disk")
            && stderr.ends_with("nothing was written\n"),
        "{stderr}"
    );
    for args in [
        &["secrets", "generate"][..],
        &["secrets", "add-host", "server", "--generate"],
        &["secrets", "check"],
    ] {
        let (code, _, stderr) = run(dir.path(), args);
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains("error[placeholder]: `admin_keys` holds the example key"),
            "{args:?}: {stderr}"
        );
    }
    assert_eq!(files(dir.path()), before, "nothing was written");
}

#[test]
fn init_writes_the_given_admin_key_and_leaves_only_the_disks() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "me");
    let (code, stdout, stderr) = run(dir.path(), &["init", "lab", "--admin-key", "me.pub"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains("example"), "{stdout}");
    let spec = std::fs::read_to_string(dir.path().join("lab/homelab.toml")).unwrap();
    assert!(
        spec.contains(&format!("admin_keys = [\"{key}\"]")),
        "{spec}"
    );
    let (_, _, stderr) = run(&dir.path().join("lab"), &["check"]);
    assert!(!stderr.contains("admin_keys"), "{stderr}");
    assert!(stderr.contains("the boot disk"), "{stderr}");

    // Not a key, or the example key itself: refused, nothing written.
    std::fs::write(dir.path().join("bad.pub"), "hello\n").unwrap();
    let (code, _, stderr) = run(dir.path(), &["init", "bad", "--admin-key", "bad.pub"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("is not one SSH public key line"),
        "{stderr}"
    );
    assert!(!dir.path().join("bad").exists());
}

#[test]
fn secrets_check_names_the_example_key_as_why_a_file_does_not_decrypt() {
    // A file made while the spec still held the example key (with the
    // real `age` CLI), then the spec given the user's own key.
    let dir = tempfile::tempdir().unwrap();
    keygen(dir.path(), "me");
    assert_eq!(
        run(dir.path(), &["init", ".", "--admin-key", "me.pub"]).0,
        0
    );
    let spec_path = dir.path().join("homelab.toml");
    let spec = std::fs::read_to_string(&spec_path)
        .unwrap()
        .replace(
            "nvme-YOUR-BOOT-DISK",
            "nvme-Samsung_SSD_990_PRO_2TB_S7DNNJ0W100001",
        )
        .replace("ata-YOUR-DISK-A", "ata-WDC_WD80EFZZ_1")
        .replace("ata-YOUR-DISK-B", "ata-WDC_WD80EFZZ_2");
    std::fs::write(&spec_path, spec).unwrap();
    let example = compile::examples::STARTER
        .lines()
        .find_map(|l| l.strip_prefix("admin_keys = [\""))
        .unwrap()
        .trim_end_matches("\"]");
    std::fs::write(dir.path().join("example.pub"), format!("{example}\n")).unwrap();
    std::fs::create_dir_all(dir.path().join("flake/secrets")).unwrap();
    let made = Command::new("age")
        .args([
            "-R",
            "example.pub",
            "-o",
            "flake/secrets/restic-password.age",
        ])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .status()
        .expect("age runs (Debian age)");
    assert!(made.success());

    let out = Command::new(env!("CARGO_BIN_EXE_homelab"))
        .args(["secrets", "check", "--identity", "me"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let line = stderr
        .lines()
        .skip_while(|l| !l.starts_with("error[undecryptable]: secrets/restic-password.age"))
        .nth(1)
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        line.contains("it was encrypted to the example key of `homelab init` and the README")
            && line.contains("homelab secrets generate --regenerate restic-password"),
        "{line}"
    );
}
