//! The writer against a hostile or careless output folder, on the real
//! file system: symlinks it did not create are never followed, folders it
//! does not own or that hold the spec are refused, folder modes survive a
//! rebuild, and a killed build's stage is cleaned up.

use compile::nix::Nix;
use compile::render::{File, Owner};
use operate::flake_tree::{Options, STAGE_PREFIX, WriteError, write_tree};
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
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
