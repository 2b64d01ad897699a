//! `homelab build` refuses output folders that would swallow the system or
//! the spec, symlinks and special files in the tree; `homelab report`
//! refuses to replace the spec, a folder, a special file or a file it did
//! not write. Both exit 1 and write nothing, and every run has a deadline,
//! so a command that blocks on a FIFO fails instead of hanging.

use std::path::Path;
use std::process::Command;

#[path = "support/bin.rs"]
mod bin;
#[path = "support/own_keys.rs"]
mod own_keys;

fn run(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = bin::finish_within_a_minute(
        Command::new(env!("CARGO_BIN_EXE_homelab"))
            .args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1"),
        b"",
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn spec_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let spec = own_keys::own_keys(compile::examples::get("frame1").unwrap());
    std::fs::write(dir.path().join("homelab.toml"), spec).unwrap();
    dir
}

#[test]
fn out_root_is_refused() {
    let dir = spec_dir();
    let (code, stderr) = run(dir.path(), &["build", "--out", "/"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("refusing to write into /: it is the root folder"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was written"));
}

#[test]
fn out_next_to_the_spec_is_refused_even_with_force() {
    let dir = spec_dir();
    for args in [
        &["build", "--out", "."][..],
        &["build", "--out", ".", "--force"],
    ] {
        let (code, stderr) = run(dir.path(), args);
        assert_eq!(code, 1, "{stderr}");
        assert!(stderr.contains("it holds the spec"), "{stderr}");
    }
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1, "only the spec is there");
}

#[test]
fn a_symlinked_generated_file_stops_the_build() {
    let dir = spec_dir();
    assert_eq!(run(dir.path(), &["build"]).0, 0);
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let flake = dir.path().join("flake/flake.nix");
    std::fs::remove_file(&flake).unwrap();
    std::os::unix::fs::symlink(&victim, &flake).unwrap();
    let (code, stderr) = run(dir.path(), &["build"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("never writes through a symlink"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
}

fn mkfifo(path: &Path) {
    let done = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs (coreutils)");
    assert!(done.success());
}

fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

#[test]
fn a_fifo_in_the_flake_stops_the_build_promptly_and_names_it() {
    for rel in [
        "flake/hosts/frame1/default.nix",
        "flake/hosts/frame1/hardware.nix",
    ] {
        let dir = spec_dir();
        assert_eq!(run(dir.path(), &["build"]).0, 0);
        let fifo = dir.path().join(rel);
        std::fs::remove_file(&fifo).unwrap();
        mkfifo(&fifo);
        let flake_nix = std::fs::read_to_string(dir.path().join("flake/flake.nix")).unwrap();
        let (code, stderr) = run(dir.path(), &["build"]);
        assert_eq!(code, 1, "{rel}: {stderr}");
        assert!(stderr.contains(&format!("{rel}: a FIFO")), "{stderr}");
        assert!(stderr.contains("nothing was written"), "{stderr}");
        assert!(is_fifo(&fifo), "{rel} left as it was");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("flake/flake.nix")).unwrap(),
            flake_nix
        );
    }
}

#[test]
fn a_fifo_as_a_secret_file_stops_build_and_check_promptly() {
    let dir = spec_dir();
    assert_eq!(run(dir.path(), &["build"]).0, 0);
    let fifo = dir.path().join("flake/secrets/grafana-admin-password.age");
    mkfifo(&fifo);
    for command in ["build", "check"] {
        let (code, stderr) = run(dir.path(), &[command]);
        assert_eq!(code, 1, "{command}: {stderr}");
        assert!(
            stderr.contains("secrets/grafana-admin-password.age is a FIFO, not a file"),
            "{command}: {stderr}"
        );
    }
    assert!(is_fifo(&fifo));
}

fn report(dir: &Path, out: &str, force: bool) -> (i32, String) {
    let mut args = vec!["report", "-o", out];
    if force {
        args.push("--force");
    }
    run(dir, &args)
}

#[test]
fn report_onto_the_spec_is_refused_however_it_is_named() {
    let dir = spec_dir();
    let spec = dir.path().join("homelab.toml");
    let text = std::fs::read_to_string(&spec).unwrap();
    std::fs::create_dir(dir.path().join("x")).unwrap();
    std::os::unix::fs::symlink(&spec, dir.path().join("link.html")).unwrap();
    let absolute = spec.display().to_string();
    for out in [
        "homelab.toml",
        "link.html",
        "./x/../homelab.toml",
        &absolute,
    ] {
        for force in [false, true] {
            let (code, stderr) = report(dir.path(), out, force);
            assert_eq!(code, 1, "{out}: {stderr}");
            assert!(stderr.contains("it is the spec"), "{out}: {stderr}");
            assert!(stderr.contains("nothing was written"), "{out}: {stderr}");
            assert_eq!(std::fs::read_to_string(&spec).unwrap(), text, "{out}");
        }
    }
    assert!(
        std::fs::symlink_metadata(dir.path().join("link.html"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn report_onto_a_fifo_or_a_folder_is_refused() {
    let dir = spec_dir();
    mkfifo(&dir.path().join("pipe.html"));
    std::fs::create_dir(dir.path().join("folder.html")).unwrap();
    for (out, what) in [("pipe.html", "a FIFO"), ("folder.html", "a folder")] {
        for force in [false, true] {
            let (code, stderr) = report(dir.path(), out, force);
            assert_eq!(code, 1, "{out}: {stderr}");
            assert!(stderr.contains(&format!("it is {what}")), "{out}: {stderr}");
            assert!(stderr.contains("nothing was written"), "{out}: {stderr}");
        }
    }
    assert!(is_fifo(&dir.path().join("pipe.html")));
    assert_eq!(
        std::fs::read_dir(dir.path().join("folder.html"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn report_replaces_its_own_page_and_another_file_only_with_force() {
    let dir = spec_dir();
    let notes = dir.path().join("notes.html");
    std::fs::write(&notes, "<p>my notes</p>").unwrap();
    let (code, stderr) = report(dir.path(), "notes.html", false);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("notes.html exists and is not a page homelab report wrote"),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "<p>my notes</p>");

    let (code, stderr) = report(dir.path(), "notes.html", true);
    assert_eq!(code, 0, "{stderr}");
    let page = std::fs::read_to_string(&notes).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    // Its own page is recognised and replaced without being asked.
    let (code, stderr) = report(dir.path(), "notes.html", false);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), page);
}
