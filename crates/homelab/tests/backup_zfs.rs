//! Restore of a path that is its own ZFS dataset: the mount point cannot
//! be renamed aside, so the restore takes a ZFS snapshot as the copy to
//! go back to, empties the mount point, copies the restored files in,
//! and on any failure rolls back (`zfs rollback -r`); the snapshot is
//! destroyed only once the restore stands.
//!
//! ZFS cannot run here. The `zfs` on PATH is a stand-in that records its
//! arguments and acts on a plain folder: `snapshot` copies the dataset's
//! folder away, `rollback -r` copies it back over an emptied folder,
//! `destroy` removes the copy. restic, PostgreSQL and the `homelab`
//! binary are real, as in backup.rs.

#[path = "support/host.rs"]
mod host;

use host::{Host, tree};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn which(name: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn script(dir: &Path, name: &str, body: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A host whose /var/lib/app is the dataset `tank/app`, backed up, with
/// the live data changed since; the stand-in `zfs` on PATH.
fn host_with_dataset() -> Host {
    let h = Host::new();
    let data = h.root_path("/var/lib/app");
    std::fs::create_dir_all(data.join("sub")).unwrap();
    std::fs::write(data.join("config.toml"), "name = \"app\"\n").unwrap();
    std::fs::write(data.join("sub/photo.jpg"), vec![9u8; 200_000]).unwrap();
    h.sql(
        "app",
        "create table notes (id int); insert into notes values (1), (2)",
    );
    let mut plan = h.plan_json();
    plan["services"][0]["paths"][0]["dataset"] = "tank/app".into();
    h.write_plan(plan);
    let cp = which("cp");
    script(
        &h.bin,
        "zfs",
        &format!(
            r#"echo "$*" >> {log}
store={store}
mount_of() {{ case "$1" in tank/app) echo {data} ;; *) echo "zfs stand-in: no dataset $1" >&2; exit 1 ;; esac; }}
case "$1" in
  snapshot) m=$(mount_of "${{2%@*}}") || exit 1; mkdir -p "$store/$2" && {cp} -a "$m/." "$store/$2/" ;;
  rollback) [ "$2" = -r ] && shift; m=$(mount_of "${{2%@*}}") || exit 1
            [ -d "$store/$2" ] || {{ echo "cannot open '$2': dataset does not exist" >&2; exit 1; }}
            find "$m" -mindepth 1 -delete && {cp} -a "$store/$2/." "$m/" ;;
  destroy)  [ -d "$store/$2" ] || {{ echo "could not find any snapshots to destroy" >&2; exit 1; }}; rm -rf "$store/$2" ;;
  *) echo "zfs stand-in: $1 not supported" >&2; exit 1 ;;
esac"#,
            log = h.dir.path().join("zfs.log").display(),
            store = h.dir.path().join("zfs-store").display(),
            data = data.display(),
        ),
    );
    let (code, out, err) = h.homelab(&["backup", "run"]);
    assert_eq!(code, 0, "{out}{err}");
    h
}

fn zfs_log(h: &Host) -> Vec<String> {
    std::fs::read_to_string(h.dir.path().join("zfs.log"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

fn change_live_data(h: &Host) {
    let data = h.root_path("/var/lib/app");
    std::fs::write(data.join("config.toml"), "name = \"changed\"\n").unwrap();
    std::fs::remove_file(data.join("sub/photo.jpg")).unwrap();
    std::fs::write(data.join("later.txt"), "written after the backup").unwrap();
}

/// A failed restore put the dataset back from its snapshot: the message
/// says so, the files are as before, and the snapshot was taken first,
/// rolled back to on failure and destroyed last.
fn rolled_back(
    h: &Host,
    stderr: &str,
    before: &std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>,
) {
    assert!(
        stderr.contains("the previous data of `app` is back in place"),
        "{stderr}"
    );
    assert_eq!(&tree(&h.root_path("/var/lib/app")), before);
    let log = zfs_log(h);
    let snapshot = pre_restore_snapshot(&log);
    assert_eq!(
        log,
        [
            format!("snapshot {snapshot}"),
            format!("rollback -r {snapshot}"),
            format!("destroy {snapshot}")
        ],
        "snapshot first, rollback on failure, destroy last"
    );
}

/// The snapshot taken before the restore, from the stand-in's log.
fn pre_restore_snapshot(log: &[String]) -> String {
    let first = log.first().expect("a zfs snapshot was taken");
    let name = first.strip_prefix("snapshot ").unwrap();
    assert!(name.starts_with("tank/app@homelab-restore-"), "{name}");
    name.to_string()
}

#[test]
fn a_dataset_is_kept_as_a_snapshot_and_the_snapshot_dropped_after_success() {
    let h = host_with_dataset();
    let data = h.root_path("/var/lib/app");
    let backed_up = tree(&data);
    change_live_data(&h);
    let (code, stdout, stderr) = h.homelab(&["restore", "app"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(tree(&data), backed_up);
    assert!(data.is_dir(), "the mount point itself stays");
    let log = zfs_log(&h);
    let snapshot = pre_restore_snapshot(&log);
    assert_eq!(
        log,
        [
            format!("snapshot {snapshot}"),
            format!("destroy {snapshot}")
        ]
    );
    assert!(
        !stdout.contains("kept at"),
        "no renamed copy of a dataset: {stdout}"
    );
}

#[test]
fn a_failure_after_the_data_was_replaced_rolls_the_dataset_back() {
    let h = host_with_dataset();
    change_live_data(&h);
    let data = h.root_path("/var/lib/app");
    let before = tree(&data);
    let mut plan = h.plan_json();
    plan["services"][0]["paths"][0]["dataset"] = "tank/app".into();
    host::make_unhealthy(&mut plan, 1);
    h.write_plan(plan);
    let (code, _, stderr) = h.homelab(&["restore", "app"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("`app` is not healthy after the restore"),
        "{stderr}"
    );
    rolled_back(&h, &stderr, &before);
}

#[test]
fn a_copy_that_fails_half_way_leaves_the_dataset_as_it_was() {
    let h = host_with_dataset();
    change_live_data(&h);
    let data = h.root_path("/var/lib/app");
    let before = tree(&data);
    // `cp` copies the restored files in, then fails as a full disk would,
    // leaving the mount point half filled.
    script(
        &h.bin,
        "cp",
        &format!(
            "{} \"$@\"\nrm -f {}/config.toml\necho 'cp: error writing: No space left on device' >&2\nexit 1",
            which("cp"),
            data.display()
        ),
    );
    let (code, _, stderr) = h.homelab(&["restore", "app"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("copying the restored /var/lib/app in place failed (exit 1): cp: error writing: No space left on device"),
        "{stderr}"
    );
    rolled_back(&h, &stderr, &before);
    assert_eq!(h.sql("app", "select count(*) from notes"), "2");
    assert!(
        !h.root_path("/var/lib/homelab/restore/app/journal.json")
            .exists(),
        "nothing left to undo"
    );
}
