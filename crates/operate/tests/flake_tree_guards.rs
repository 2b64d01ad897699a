//! The writer against a hostile or careless output folder, on the real
//! file system: symlinks it did not create are never followed, folders it
//! does not own or that hold the spec are refused, folder modes survive a
//! rebuild, and a killed build's stage is cleaned up.

use compile::nix::Nix;
use compile::render::{File, Owner};
use operate::flake_tree::{Options, STAGE_PREFIX, WriteError, write_tree};
use std::fs;
use std::os::unix::fs::{FileTypeExt, PermissionsExt, symlink};
use std::path::Path;

fn file(path: &str, owner: Owner, v: i64) -> File {
    File {
        path: path.into(),
        owner,
        value: Nix::Int(v),
        comment: None,
    }
}

fn tree(v: i64) -> Vec<File> {
    vec![
        file("flake.nix", Owner::Tool, v),
        file("hosts/server/default.nix", Owner::Tool, v),
        file("hosts/server/hardware.nix", Owner::User, 0),
    ]
}

fn build(out: &Path, v: i64) -> Result<operate::flake_tree::Summary, WriteError> {
    write_tree(out, &tree(v), "homelab.toml", Options::default())
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn a_symlinked_user_file_is_kept_as_the_link_and_its_target_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flake");
    build(&out, 1).unwrap();
    let real = dir.path().join("real-hardware.nix");
    fs::write(&real, "{ real = true; }\n").unwrap();
    let link = out.join("hosts/server/hardware.nix");
    fs::remove_file(&link).unwrap();
    symlink(&real, &link).unwrap();

    build(&out, 2).unwrap();
    assert_eq!(fs::read_to_string(&real).unwrap(), "{ real = true; }\n");
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_link(&link).unwrap(), real);
}

#[test]
fn a_symlinked_generated_file_stops_the_build_and_its_target_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flake");
    build(&out, 1).unwrap();
    let victim = dir.path().join("victim.txt");
    fs::write(&victim, "precious").unwrap();
    let link = out.join("hosts/server/default.nix");
    fs::remove_file(&link).unwrap();
    symlink(&victim, &link).unwrap();

    let err = build(&out, 2).unwrap_err();
    assert!(
        matches!(err, WriteError::Symlinks(ref p) if p == &vec![link.clone()]),
        "{err:?}"
    );
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn a_symlinked_hosts_folder_stops_the_build_and_nothing_lands_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flake");
    build(&out, 1).unwrap();
    let elsewhere = dir.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    fs::remove_dir_all(out.join("hosts")).unwrap();
    symlink(&elsewhere, out.join("hosts")).unwrap();

    let err = build(&out, 2).unwrap_err();
    assert!(
        matches!(err, WriteError::Symlinks(ref p) if p.len() == 2),
        "{err:?}"
    );
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn an_output_folder_that_is_a_symlink_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    fs::create_dir(&real).unwrap();
    let out = dir.path().join("flake");
    symlink(&real, &out).unwrap();
    assert!(matches!(build(&out, 1), Err(WriteError::Refused { .. })));
    assert_eq!(fs::read_dir(&real).unwrap().count(), 0);
}

#[test]
fn the_root_folder_is_refused_before_anything_is_read() {
    let err = build(Path::new("/"), 1).unwrap_err();
    assert!(
        matches!(err, WriteError::Refused { ref why, .. } if why.contains("root")),
        "{err:?}"
    );
}

#[test]
fn a_folder_holding_the_spec_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec_dir = dir.path().join("home");
    fs::create_dir(&spec_dir).unwrap();
    fs::write(spec_dir.join("homelab.toml"), "spec").unwrap();
    for out in [
        spec_dir.clone(),
        spec_dir.join("."),
        dir.path().to_path_buf(),
    ] {
        let options = Options {
            force: true,
            spec_dir: Some(&spec_dir),
        };
        let err = write_tree(&out, &tree(1), "homelab.toml", options).unwrap_err();
        assert!(
            matches!(err, WriteError::Refused { .. }),
            "{}: {err:?}",
            out.display()
        );
    }
    let names: Vec<_> = fs::read_dir(&spec_dir).unwrap().collect();
    assert_eq!(names.len(), 1, "nothing written next to the spec");
    let beside = Options {
        force: false,
        spec_dir: Some(&spec_dir),
    };
    write_tree(&spec_dir.join("flake"), &tree(1), "homelab.toml", beside).unwrap();
}

#[test]
fn a_foreign_folder_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("photos");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("holiday.jpg"), "jpeg").unwrap();
    assert!(matches!(build(&out, 1), Err(WriteError::NotOurs(_))));
    assert_eq!(fs::read_dir(&out).unwrap().count(), 1);

    let forced = Options {
        force: true,
        spec_dir: None,
    };
    write_tree(&out, &tree(1), "homelab.toml", forced).unwrap();
    assert_eq!(fs::read_to_string(out.join("holiday.jpg")).unwrap(), "jpeg");
    build(&out, 2).unwrap();
}

#[test]
fn folder_modes_survive_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flake");
    build(&out, 1).unwrap();
    fs::create_dir(out.join("secrets")).unwrap();
    fs::write(out.join("secrets/x.age"), "age").unwrap();
    fs::set_permissions(out.join("secrets"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(out.join("hosts"), fs::Permissions::from_mode(0o750)).unwrap();
    fs::set_permissions(&out, fs::Permissions::from_mode(0o710)).unwrap();

    build(&out, 2).unwrap();
    assert_eq!(mode(&out.join("secrets")), 0o700);
    assert_eq!(mode(&out.join("hosts")), 0o750);
    assert_eq!(mode(&out), 0o710);
    assert_eq!(
        fs::read_to_string(out.join("secrets/x.age")).unwrap(),
        "age"
    );
}

#[test]
fn a_new_tree_gets_an_ordinary_folder_mode() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flake");
    build(&out, 1).unwrap();
    assert_eq!(mode(&out), 0o755, "not the 0700 of a temporary folder");
}

#[test]
fn a_stage_left_by_a_killed_build_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flake");
    // No process has this id (above the kernel's pid_max).
    let stale = dir.path().join(format!("{STAGE_PREFIX}4294967-abc"));
    fs::create_dir_all(stale.join("hosts")).unwrap();
    fs::write(stale.join("flake.nix"), "half").unwrap();
    let stale_aside = dir.path().join(format!("{STAGE_PREFIX}4294967-def.old"));
    fs::create_dir(&stale_aside).unwrap();
    let live = dir
        .path()
        .join(format!("{STAGE_PREFIX}{}-live", std::process::id()));
    fs::create_dir(&live).unwrap();

    build(&out, 1).unwrap();
    assert!(!stale.exists() && !stale_aside.exists());
    assert!(live.exists(), "a stage of a running builder is left alone");
}

/// Runs `f` on its own thread and fails the test when it has not finished
/// within a minute: a writer that blocks on a FIFO fails here instead of
/// hanging the test run.
fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .expect("the writer did not return within a minute: it blocks")
}

fn mkfifo(path: &Path) {
    let done = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs (coreutils)");
    assert!(done.success());
}

/// Builds `tree(2)` into `out` on a thread with a deadline.
fn build_within_a_minute(out: &Path) -> Result<operate::flake_tree::Summary, WriteError> {
    let out = out.to_path_buf();
    within_a_minute(move || build(&out, 2))
}

#[test]
fn a_fifo_at_a_generated_path_stops_the_build_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flake");
    build(&out, 1).unwrap();
    let before = fs::read_to_string(out.join("flake.nix")).unwrap();
    let fifo = out.join("hosts/server/default.nix");
    fs::remove_file(&fifo).unwrap();
    mkfifo(&fifo);

    let err = build_within_a_minute(&out).unwrap_err();
    assert!(
        matches!(err, WriteError::Special(ref found) if found == &vec![(fifo.clone(), "a FIFO")]),
        "{err:?}"
    );
    assert!(err.to_string().contains("neither"), "{err}");
    assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
    assert_eq!(fs::read_to_string(out.join("flake.nix")).unwrap(), before);
}

#[test]
fn a_fifo_at_a_user_owned_or_foreign_path_stops_the_build() {
    for rel in ["hosts/server/hardware.nix", "notes/pipe"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("flake");
        build(&out, 1).unwrap();
        let fifo = out.join(rel);
        let _ = fs::remove_file(&fifo);
        fs::create_dir_all(fifo.parent().unwrap()).unwrap();
        mkfifo(&fifo);

        let err = build_within_a_minute(&out).unwrap_err();
        assert!(
            matches!(err, WriteError::Special(ref found) if found == &vec![(fifo.clone(), "a FIFO")]),
            "{rel}: {err:?}"
        );
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "{rel}: no stage left behind");
    }
}

/// A 64 GiB file that takes no disk: reading it whole would need 64 GiB of
/// memory, copying it 64 GiB of disk.
fn sparse(path: &Path, head: &str) {
    fs::write(path, head).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(64 << 30)
        .unwrap();
}

#[test]
fn a_huge_sparse_file_at_a_generated_path_is_never_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flake");
    let files = |v| {
        let mut files = tree(v);
        files.push(file("hosts/server/plan.json", Owner::Tool, v));
        files
    };
    write_tree(&out, &files(1), "homelab.toml", Options::default()).unwrap();

    // With the generated header, it is a generated file edited by hand.
    let nix = out.join("hosts/server/default.nix");
    sparse(
        &nix,
        "# Generated by homelab from homelab.toml; edit the spec, not this file.\n# homelab-hash: 0000000000000000\n",
    );
    let (o, f) = (out.clone(), files(2));
    let err = within_a_minute(move || write_tree(&o, &f, "homelab.toml", Options::default()))
        .unwrap_err();
    assert!(
        matches!(err, WriteError::Edited(ref p) if p == &vec![nix.clone()]),
        "{err:?}"
    );
    assert_eq!(
        fs::metadata(&nix).unwrap().len(),
        64 << 30,
        "left as it was"
    );

    // A file without a header (the host plan has none) is compared with
    // what the build writes, not read whole nor copied.
    let plan = out.join("hosts/server/plan.json");
    sparse(&plan, "");
    let forced = Options {
        force: true,
        spec_dir: None,
    };
    let (o, f) = (out.clone(), files(2));
    let summary = within_a_minute(move || write_tree(&o, &f, "homelab.toml", forced)).unwrap();
    assert!(
        summary
            .updated
            .contains(&"hosts/server/plan.json".to_string())
    );
    assert!(
        summary
            .updated
            .contains(&"hosts/server/default.nix".to_string())
    );
    assert!(fs::metadata(&plan).unwrap().len() < 1000);
    assert!(fs::metadata(&nix).unwrap().len() < 1000);
}
