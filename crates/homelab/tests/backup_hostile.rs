//! The operating half trusts nothing it reads. Each test plants one
//! hostile input a repository or a host could hand back (a forged
//! manifest, an archive that climbs out, snapshot paths with `..`, a plan
//! or journal that names someone else's files, a pending restore, a stale
//! lock, a damaged or missing pack) against real restic and a real
//! PostgreSQL, and checks that the command stops with a precise message
//! and that nothing outside the service moved.
//!
//! Where restic itself would have to serve the hostile content (a
//! snapshot list with `..` in its paths, which restic never writes), a
//! stand-in `restic` on `PATH` answers that one subcommand and hands every
//! other call to the real restic; the test that uses it says so.

#[path = "support/host.rs"]
mod host;

use host::{Host, backed_up, live, script, tree, which};
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

/// The live dump folder, where `backup run` leaves the manifest.
fn dumps(h: &Host) -> PathBuf {
    h.root_path("/var/lib/homelab/dumps/app")
}

/// Makes a new latest snapshot of `app` in `repo` whose manifest is the
/// live one changed by `edit`, as a tampered repository would hold it:
/// the same tag, host and paths `backup run` uses.
fn forge(h: &Host, repo: &str, edit: impl FnOnce(&mut Value)) {
    let path = dumps(h).join("manifest.json");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut manifest);
    std::fs::write(&path, serde_json::to_string(&manifest).unwrap()).unwrap();
    let data = h.root_path("/var/lib/app").display().to_string();
    let dumps = dumps(h).display().to_string();
    let out = h.restic(
        repo,
        &[
            "backup", "--host", "testhost", "--tag", "app", &data, &dumps,
        ],
    );
    assert!(out.status.success(), "{out:?}");
}

/// Backed up with a file of random bytes besides: its pack is the
/// largest, and holds only file data (the trees are in small packs).
fn backed_up_with_a_data_pack() -> (Host, PathBuf) {
    let h = host::seeded();
    let noise: Vec<u8> = (0..2_000_000u64)
        .map(|i| (i.wrapping_mul(6_364_136_223_846_793_005) >> 33) as u8)
        .collect();
    std::fs::write(h.root_path("/var/lib/app/noise.bin"), noise).unwrap();
    let (code, out, err) = h.homelab(&["backup", "run"]);
    assert_eq!(code, 0, "{out}{err}");
    let data = h.root_path("/srv/restic/nas/data");
    let largest = tree(&data)
        .into_iter()
        .max_by_key(|(_, bytes)| bytes.len())
        .unwrap()
        .0;
    (h, data.join(largest))
}

fn count_notes(h: &Host) -> String {
    h.sql("app", "select count(*) from notes")
}

/// A libpq connection string as the database name would send
/// `pg_restore --clean` to the live server. The manifest may only name
/// the plan's database, and the drill reaches its throwaway server through
/// one quoted connection string.
#[test]
fn a_manifest_cannot_point_the_drill_at_the_live_database() {
    let h = backed_up();
    h.sql("app", "insert into notes select generate_series(51, 75)");
    let socket = h.socket_dir().display().to_string();
    forge(&h, "nas", |m| {
        m["dumps"][0]["database"] = json!(format!("host={socket} port=5432 dbname=app"));
    });
    let (code, stdout, stderr) = h.homelab(&["backup", "drill", "app", "--from", "nas"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("app: drill FAILED"), "{stdout}");
    assert!(
        stdout.contains("a database the plan does not give `app`"),
        "{stdout}"
    );
    assert_eq!(count_notes(&h), "75", "the live table is untouched");
}

/// A hash shorter than SHA-256 made the drill panic (exit 101) when it
/// named the difference.
#[test]
fn a_manifest_with_a_short_hash_is_a_damaged_manifest() {
    let h = backed_up();
    forge(&h, "nas", |m| m["dumps"][0]["sha256"] = json!("abc"));
    let (code, stdout, stderr) = h.homelab(&["backup", "drill", "app", "--from", "nas"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("is damaged: the dump of `app` has no SHA-256 hash"),
        "{stdout}"
    );
    forge(&h, "nas", |m| {
        m["dumps"][0]["sha256"] = json!("0".repeat(64));
        m["files"][0]["sha256"] = json!("");
    });
    let (code, stdout, _) = h.homelab(&["backup", "drill", "app", "--from", "nas"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("has no SHA-256 hash"), "{stdout}");
}

/// A manifest that lists files outside the service's paths, or claims to
/// be another service's, is refused before anything is compared.
#[test]
fn a_manifest_describes_only_the_service_it_came_with() {
    let h = backed_up();
    forge(&h, "nas", |m| m["files"][0]["path"] = json!("/etc/shadow"));
    let (code, stdout, _) = h.homelab(&["backup", "drill", "app", "--from", "nas"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("outside the service's paths"), "{stdout}");
    forge(&h, "offsite", |m| m["service"] = json!("vault"));
    let (code, _, stderr) = h.homelab(&["restore", "app", "--from", "offsite"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("it describes `vault`, not `app`"),
        "{stderr}"
    );
}

/// A snapshot whose dump folder is a link to a folder outside, holding a
/// planted manifest and dump: restic restores the link as it is, and
/// neither the drill nor the restore reads anything through it. Real
/// restic makes this snapshot (it stores a link as a link).
#[test]
fn nothing_is_read_through_a_link_the_snapshot_holds() {
    let h = backed_up();
    let outside = h.dir.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    for (rel, bytes) in tree(&dumps(&h)) {
        std::fs::write(outside.join(rel), bytes).unwrap();
    }
    std::fs::remove_dir_all(dumps(&h)).unwrap();
    std::os::unix::fs::symlink(&outside, dumps(&h)).unwrap();
    let data = h.root_path("/var/lib/app").display().to_string();
    let link = dumps(&h).display().to_string();
    let out = h.restic(
        "nas",
        &["backup", "--host", "testhost", "--tag", "app", &data, &link],
    );
    assert!(out.status.success(), "{out:?}");
    let before = tree(&outside);
    let (code, stdout, stderr) = h.homelab(&["backup", "drill", "app", "--from", "nas"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains("a path through a link; it is not used"),
        "{stdout}"
    );
    let (code, _, stderr) = h.homelab(&["restore", "app", "--from", "nas"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("a path through a link; it is not used"),
        "{stderr}"
    );
    assert_eq!(tree(&outside), before);
}

/// Snapshot paths that climb with `..` made `restore` take a folder from
/// outside the service as the restored copy and move it into the live
/// path. Stand-in: restic records the paths it was given made plain, so
/// `snapshots` is answered by the real list with its paths rewritten.
#[test]
fn snapshot_paths_that_climb_are_refused_by_restore() {
    let h = backed_up();
    // A whole copy of the backed-up tree elsewhere, manifest included:
    // what a climbing prefix would point the restore at.
    let victim = h.dir.path().join("victim");
    for p in ["/var/lib/app", "/var/lib/homelab/dumps/app"] {
        let to = victim.join(p.trim_start_matches('/'));
        std::fs::create_dir_all(&to).unwrap();
        for (rel, bytes) in tree(&h.root_path(p)) {
            std::fs::write(to.join(rel), bytes).unwrap();
        }
    }
    let climb = format!("{}{}", "/..".repeat(40), victim.display());
    let real = which("restic");
    script(
        &h.bin,
        "restic",
        &format!(
            "case \" $* \" in\n  *' snapshots '*) {real} \"$@\" | sed 's#\"{root}#\"{climb}#g' ;;\n  *) exec {real} \"$@\" ;;\nesac",
            root = h.root.display()
        ),
    );
    let before = live(&h);
    let victim_before = tree(&victim);
    let (code, stdout, stderr) = h.homelab(&["restore", "app", "--from", "nas"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stderr.contains("is not a plain absolute path"), "{stderr}");
    assert_eq!(live(&h), before);
    assert_eq!(
        tree(&victim),
        victim_before,
        "nothing was taken from outside"
    );
}

/// Every field of the plan is checked before anything is read or written;
/// a bad one is exit 2 naming the field.
#[test]
fn a_plan_that_names_paths_outside_is_refused_with_the_field() {
    let h = Host::new();
    let cases: [(&str, Value, &str); 5] = [
        ("/services/0/name", json!(".."), "`services[0].name`"),
        (
            "/services/0/paths/0/path",
            json!("/var/lib/app/../../../etc"),
            "`services[0].paths[0].path`",
        ),
        (
            "/metrics_dir",
            json!("/var/lib/../../tmp/x"),
            "`metrics_dir`",
        ),
        (
            "/services/0/repositories/0/password_secret",
            json!("../../etc/shadow"),
            "`services[0].repositories[0].password_secret`",
        ),
        (
            "/services/0/database/name",
            json!("host=/tmp dbname=app"),
            "`services[0].database.name`",
        ),
    ];
    for (pointer, value, field) in cases {
        let mut plan = h.plan_json();
        match plan.pointer_mut(pointer) {
            Some(v) => *v = value,
            None => plan[pointer.trim_start_matches('/')] = value,
        }
        h.write_plan(plan);
        for command in [
            &["backup", "status"][..],
            &["backup", "drill", "app"],
            &["restore", "app"],
        ] {
            let (code, _, stderr) = h.homelab(command);
            assert_eq!(code, 2, "{pointer} {command:?}: {stderr}");
            assert!(stderr.contains(field), "{pointer}: {stderr}");
            assert!(stderr.contains("cannot be used"), "{stderr}");
        }
    }
    assert!(
        !h.root_path("/var/lib/homelab").exists(),
        "nothing was written for a bad plan"
    );
}

/// A journal left in the state folder that names folders outside the
/// service: the next restore would delete one and move another into its
/// place. It is checked against the plan and refused.
#[test]
fn a_planted_journal_moves_nothing_outside_the_service() {
    let h = backed_up();
    let victim = h.dir.path().join("victim");
    let aside = h.dir.path().join("victim.before-restore-1");
    for (dir, text) in [(&victim, "precious"), (&aside, "planted")] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("file"), text).unwrap();
    }
    let journal = h.root_path("/var/lib/homelab/restore/app/journal.json");
    std::fs::create_dir_all(journal.parent().unwrap()).unwrap();
    std::fs::write(
        &journal,
        json!({ "service": "app", "moves": [[victim, aside]], "database_before": null })
            .to_string(),
    )
    .unwrap();
    let (code, _, stderr) = h.homelab(&["restore", "app"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("does not match the plan of `app`"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(victim.join("file")).unwrap(),
        "precious"
    );
    assert_eq!(
        std::fs::read_to_string(aside.join("file")).unwrap(),
        "planted"
    );
}

/// A restore cut short leaves its journal and mixed live data: backing
/// that up would make it the latest snapshot, and the next restore would
/// bring it back as good. Backup and drill refuse; status says why.
#[test]
fn a_pending_restore_stops_backup_and_drill_until_it_is_put_right() {
    let h = backed_up();
    let snapshots = |h: &Host| {
        let out = h.restic("nas", &["snapshots", "--json"]);
        serde_json::from_slice::<Vec<Value>>(&out.stdout)
            .unwrap()
            .len()
    };
    let before = snapshots(&h);
    // What a restore killed right after writing its journal leaves.
    let journal = h.root_path("/var/lib/homelab/restore/app/journal.json");
    std::fs::create_dir_all(journal.parent().unwrap()).unwrap();
    std::fs::write(
        &journal,
        json!({ "service": "app", "moves": [], "database_before": null }).to_string(),
    )
    .unwrap();
    let (code, _, stderr) = h.homelab(&["backup", "run"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("a restore of `app` was interrupted and its live data is mixed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no backup until `homelab restore app`"),
        "{stderr}"
    );
    assert_eq!(snapshots(&h), before, "no snapshot of mixed data");
    let (code, _, stderr) = h.homelab(&["backup", "drill", "app"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("no drill until"), "{stderr}");
    let (code, stdout, _) = h.homelab(&["backup", "status"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("app: a restore was cut short"), "{stdout}");
    // The restore finishes the job, and backups run again.
    let (code, stdout, stderr) = h.homelab(&["restore", "app"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let (code, _, stderr) = h.homelab(&["backup", "run"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(snapshots(&h), before + 1);
}

/// On a host the state folder is private to root (0700), and the drill's
/// throwaway PostgreSQL runs as the `postgres` user (initdb refuses root):
/// the scratch folder the build gives must be one that user can enter.
#[test]
fn the_drill_database_runs_as_postgres_beside_a_private_state_folder() {
    let h = backed_up();
    let out = h.dir.path().join("flake");
    let built = Command::new(env!("CARGO_BIN_EXE_homelab"))
        .args(["build", "--example", "frame1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");
    let plan: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("hosts/frame1/plan.json")).unwrap())
            .unwrap();
    let mut mine = h.plan_json();
    mine["drill"]["scratch_dir"] = plan["drill"]["scratch_dir"].clone();
    h.write_plan(mine);
    let state = h.root_path("/var/lib/homelab");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    let (code, stdout, stderr) = h.homelab(&["backup", "drill", "app"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("1 tables checked"), "{stdout}");
    let mode = std::fs::metadata(&state).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "the state folder stays private");
}

fn status_json(h: &Host) -> Value {
    let (code, stdout, stderr) = h.homelab(&["backup", "status", "--json"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    serde_json::from_str::<Value>(&stdout).unwrap()[0].clone()
}

fn repo<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap()
}

/// `status` read no data, so a pack that fails its checksum was
/// "healthy": it now reads a sample back when one is due.
#[test]
fn status_reads_data_back_and_finds_a_damaged_pack() {
    let (h, pack) = backed_up_with_a_data_pack();
    std::fs::set_permissions(&pack, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut bytes = std::fs::read(&pack).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0xff;
    }
    std::fs::write(&pack, bytes).unwrap();
    let s = status_json(&h);
    let nas = repo(&s, "nas");
    assert_eq!(nas["fault"], "damaged", "{nas}");
    assert_eq!(nas["healthy"], false);
    assert_eq!(nas["data_check"]["passed"], false);
    assert_eq!(repo(&s, "offsite")["healthy"], true);
    let (_, table, _) = h.homelab(&["backup", "status"]);
    assert!(table.contains("damaged"), "{table}");
    assert!(
        table.contains("fails its checksum") || table.contains("damaged:"),
        "{table}"
    );
}

/// A wrong password read "unreachable"; it is named for what it is.
#[test]
fn status_names_a_wrong_password() {
    let h = backed_up();
    std::fs::write(h.root_path("/run/agenix/restic-password"), "wrong\n").unwrap();
    let s = status_json(&h);
    let nas = repo(&s, "nas");
    assert_eq!(nas["fault"], "wrong-password", "{nas}");
    assert_eq!(nas["reachable"], true);
    let (_, table, _) = h.homelab(&["backup", "status"]);
    assert!(table.contains("wrong password"), "{table}");
}

/// A lock left by a backup that was killed read "damaged" (the structure
/// check needs an exclusive lock). The repository is sound; the stale lock
/// is a shortfall of its own.
#[test]
fn status_tells_a_stale_lock_from_damage() {
    let h = backed_up();
    let mut stuck = Command::new("restic")
        .args(["backup", "--stdin", "--host", "testhost", "--tag", "app"])
        .env("RESTIC_REPOSITORY", h.root_path("/srv/restic/nas"))
        .env(
            "RESTIC_PASSWORD_FILE",
            h.root_path("/run/agenix/restic-password"),
        )
        .env("RESTIC_CACHE_DIR", h.dir.path().join("cache"))
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let locks = h.root_path("/srv/restic/nas/locks");
    for _ in 0..200 {
        if tree(&locks).len() == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(tree(&locks).len(), 1, "restic took its lock");
    stuck.kill().unwrap();
    stuck.wait().unwrap();
    let s = status_json(&h);
    let nas = repo(&s, "nas");
    assert_eq!(nas["healthy"], true, "{nas}");
    assert!(nas["fault"].is_null(), "{nas}");
    let shortfalls = s["shortfalls"].to_string();
    assert!(
        shortfalls.contains("stale shared lock of pid"),
        "{shortfalls}"
    );
    assert!(
        shortfalls.contains("`restic unlock` removes it"),
        "{shortfalls}"
    );
}

/// restic retried a missing pack for 45 s and the drill printed its raw
/// retries; it is stopped at its first retry and the pack is named.
#[test]
fn a_missing_pack_is_named_without_restic_retrying() {
    let (h, pack) = backed_up_with_a_data_pack();
    let pack_id = pack.file_name().unwrap().to_str().unwrap().to_string();
    std::fs::remove_file(&pack).unwrap();
    let (code, stdout, stderr) = h.homelab(&["backup", "drill", "app", "--from", "nas"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "repository `nas` is damaged: data/{}",
            &pack_id[..10]
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("restic stopped at its first retry"),
        "{stdout}"
    );
    assert!(!stdout.contains("retrying after"), "{stdout}");
}
