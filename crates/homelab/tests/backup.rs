//! Backups end to end, with real restic, a real PostgreSQL server and the
//! real `homelab` binary on a scratch root: backup run, drill, status and
//! restore of a service with files and a database, and the point-in-time
//! guarantee. Only systemd is a stand-in (see support/host.rs).

#[path = "support/host.rs"]
mod host;

use host::{Host, tree};
use serde_json::Value;

fn seed(h: &Host) {
    let data = h.root_path("/var/lib/app");
    std::fs::create_dir_all(data.join("photos/2024")).unwrap();
    std::fs::write(data.join("config.toml"), "name = \"app\"\n").unwrap();
    std::fs::write(data.join("photos/2024/a.jpg"), vec![7u8; 300_000]).unwrap();
    std::fs::write(data.join("photos/2024/b.jpg"), b"small").unwrap();
    h.sql(
        "app",
        "create table notes (id int primary key, body text); alter table notes owner to app",
    );
    h.sql(
        "app",
        "insert into notes select g, 'note ' || g from generate_series(1, 250) g",
    );
    h.sql("app", "create table tags (name text)");
    h.sql("app", "insert into tags values ('a'), ('b')");
}

#[test]
fn backup_drill_status_and_restore_of_a_service_with_files_and_a_database() {
    let h = Host::new();
    seed(&h);
    let (code, stdout, stderr) = h.homelab(&["backup", "run", "app"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("app: backed up 3 files"), "{stderr}");
    assert!(stderr.contains("1 database dump(s) to nas ("), "{stderr}");
    assert!(
        !format!("{stdout}{stderr}").contains("battery staple"),
        "no secret in the output"
    );
    // The units were stopped for the capture and started again.
    assert_eq!(h.unit_log(), "stop app.service\nstart app.service\n");
    // Both repositories hold a snapshot tagged with the service.
    for repo in ["nas", "offsite"] {
        let out = h.restic(repo, &["snapshots", "--json", "--tag", "app"]);
        let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(list.len(), 1, "{repo}");
    }
    let snapshot_tree = tree(&h.root_path("/var/lib/app"));

    // Change and delete data, in the files and in the database.
    let data = h.root_path("/var/lib/app");
    std::fs::remove_file(data.join("photos/2024/a.jpg")).unwrap();
    std::fs::write(data.join("config.toml"), "name = \"changed\"\n").unwrap();
    std::fs::write(data.join("new.txt"), "after the backup").unwrap();
    h.sql("app", "delete from notes where id > 100");
    h.sql("app", "drop table tags");

    // The drill restores into scratch space and passes: the snapshot is
    // whole, whatever happened to the live data since.
    let (code, stdout, stderr) = h.homelab(&["backup", "drill", "app"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("app: drill passed: snapshot"), "{stdout}");
    assert!(stdout.contains("3 files"), "{stdout}");
    assert!(stdout.contains("2 tables checked"), "{stdout}");
    let drill_dir = h.root_path("/var/lib/homelab-drill");
    assert!(
        std::fs::read_dir(&drill_dir).map_or(true, |mut d| d.next().is_none()),
        "the drill cleans up after itself"
    );
    let (code, stdout, _) = h.homelab(&["backup", "drill", "--all", "--json"]);
    assert_eq!(code, 0);
    let records: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(records[0]["passed"], true);
    assert!(records[0]["recovery_seconds"].as_f64().unwrap() > 0.0);

    // Status: every repository healthy with a fresh snapshot, the drill
    // recorded, nothing falls short.
    let (code, stdout, stderr) = h.homelab(&["backup", "status"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    for repo in ["nas", "offsite"] {
        let line = stdout
            .lines()
            .find(|l| l.contains(&format!(" {repo} ")))
            .unwrap();
        assert!(line.starts_with("app "), "{line}");
        assert!(
            line.contains("critical") && line.contains("healthy") && line.contains("passed"),
            "{line}"
        );
    }
    assert!(
        stdout.contains("every service meets its policy"),
        "{stdout}"
    );
    let (code, stdout, _) = h.homelab(&["backup", "status", "--json"]);
    assert_eq!(code, 0);
    let status: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let app = &status[0];
    assert_eq!(app["service"], "app");
    assert_eq!(app["shortfalls"], serde_json::json!([]));
    assert_eq!(app["repositories"].as_array().unwrap().len(), 2);
    assert!(app["repositories"][1]["age_hours"].as_f64().unwrap() < 1.0);
    assert_eq!(app["last_drill"]["passed"], true);

    // Restore: live data equals the snapshot again, files and database,
    // and the data it replaced is kept.
    let (code, stdout, stderr) = h.homelab(&["restore", "app", "--from", "offsite"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("verified and healthy"), "{stdout}");
    assert_eq!(tree(&data), snapshot_tree);
    assert_eq!(h.sql("app", "select count(*) from notes"), "250");
    assert_eq!(h.sql("app", "select count(*) from tags"), "2");
    let kept = stdout
        .lines()
        .find_map(|l| l.split("kept at ").nth(1))
        .unwrap();
    let kept = kept.split(';').next().unwrap();
    assert_eq!(
        std::fs::read_to_string(std::path::Path::new(kept).join("new.txt")).unwrap(),
        "after the backup"
    );
}

#[test]
fn status_names_every_shortfall_and_exits_1() {
    let h = Host::new();
    seed(&h);
    // Only a repository on the premises, never drilled, no snapshot yet.
    let mut plan = h.plan_json();
    plan["services"][0]["repositories"]
        .as_array_mut()
        .unwrap()
        .truncate(1);
    h.write_plan(plan);
    std::fs::create_dir_all(h.root_path("/srv/restic")).unwrap();
    let init = h.restic("nas", &["init"]);
    assert!(init.status.success());
    let (code, stdout, _) = h.homelab(&["backup", "status"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("app: no offsite copy"), "{stdout}");
    assert!(
        stdout.contains("app: repository `nas` holds no snapshot"),
        "{stdout}"
    );
    assert!(stdout.contains("app: never drilled"), "{stdout}");
}

/// The point-in-time guarantee. A writer runs as the service's unit and,
/// every few milliseconds, appends one row to the database and then
/// rewrites a file with the same counter. While the backup runs it keeps
/// writing, so without quiescing a dump taken before the file capture
/// would hold fewer rows than the file says. The backup stops the unit
/// (SIGTERM; it finishes its current step) before the dump and starts it
/// after the capture, so in the restored copy the counter file and the
/// row count agree, although the writer was busy before and after.
#[test]
fn files_and_database_are_captured_at_one_moment() {
    let h = Host::new();
    h.sql("app", "create table ticks (n int)");
    let counter = h.root_path("/var/lib/app/counter");
    let psql = host::pg_tool("psql");
    h.unit(
        "app.service",
        &format!(
            "stop=; trap 'stop=1' TERM\nn=$({psql} -h {sock} -U postgres -At -d app -c 'select count(*) from ticks')\n\
             while [ -z \"$stop\" ]; do\n  n=$((n+1))\n  {psql} -h {sock} -U postgres -q -d app -c \"insert into ticks values ($n)\"\n  \
             sleep 0.01\n  echo $n > {counter}.tmp && mv {counter}.tmp {counter}\ndone\n",
            sock = h.socket_dir().display(),
            counter = counter.display()
        ),
    );
    let systemctl = h.bin.join("systemctl");
    assert!(
        std::process::Command::new(&systemctl)
            .args(["start", "app.service"])
            .status()
            .unwrap()
            .success()
    );
    while !counter.exists() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (code, stdout, stderr) = h.homelab(&["backup", "run"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (code, stdout, stderr) = h.homelab(&["restore", "app"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // The restore stopped the writer; now compare what came back.
    std::process::Command::new(&systemctl)
        .args(["stop", "app.service"])
        .status()
        .unwrap();
    let rows: u64 = h.sql("app", "select count(*) from ticks").parse().unwrap();
    let restored: u64 = {
        // The restore started the writer again, which kept counting from
        // the restored rows: take the snapshot's own values instead.
        let out = h.restic(
            "offsite",
            &["dump", "latest", &format!("{}", counter.display())],
        );
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let manifest = h.restic(
        "offsite",
        &[
            "dump",
            "latest",
            &format!(
                "{}/manifest.json",
                h.root_path("/var/lib/homelab/dumps/app").display()
            ),
        ],
    );
    let manifest: Value = serde_json::from_slice(&manifest.stdout).unwrap();
    let dumped = manifest["dumps"][0]["tables"]["public.ticks"]
        .as_u64()
        .unwrap();
    assert!(dumped > 0, "the writer was running before the backup");
    assert_eq!(dumped, restored, "database and files show the same moment");
    assert!(
        rows >= dumped,
        "restored rows {rows} start from the snapshot's {dumped}"
    );
}

/// Preseed on a fresh host: the first repository that has the service
/// fills its empty folders and database; present data is never touched.
#[test]
fn preseed_fills_empty_data_from_the_first_repository_that_has_it() {
    let h = Host::new();
    seed(&h);
    // Only offsite holds the service; the NAS repository exists but is empty.
    let full = h.plan_json();
    let mut offsite_only = full.clone();
    offsite_only["services"][0]["repositories"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    h.write_plan(offsite_only);
    let (code, out, err) = h.homelab(&["backup", "run"]);
    assert_eq!(code, 0, "{out}{err}");
    h.write_plan(full);
    assert!(h.restic("nas", &["init"]).status.success());
    let data = h.root_path("/var/lib/app");
    let snapshot_tree = tree(&data);

    // A fresh host: empty folder, empty database.
    std::fs::remove_dir_all(&data).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    h.sql("app", "drop table notes; drop table tags");
    let (code, stdout, stderr) = h.homelab(&["backup", "preseed"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("app: restored snapshot"), "{stderr}");
    assert!(stderr.contains("from offsite"), "{stderr}");
    assert_eq!(tree(&data), snapshot_tree);
    assert_eq!(h.sql("app", "select count(*) from notes"), "250");
    assert_eq!(
        h.unit_log(),
        "stop app.service\nstart app.service\n",
        "preseed never runs the units"
    );

    // Present data is never touched: files, or only a database.
    std::fs::write(data.join("config.toml"), "mine\n").unwrap();
    let (code, _, stderr) = h.homelab(&["backup", "preseed", "app"]);
    assert_eq!(code, 0);
    assert!(
        stderr.contains("app: left alone, /var/lib/app is not empty"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(data.join("config.toml")).unwrap(),
        "mine\n"
    );
    std::fs::remove_dir_all(&data).unwrap();
    h.sql("app", "delete from notes where id > 5");
    let (code, stdout, _) = h.homelab(&["backup", "preseed", "app", "--json"]);
    assert_eq!(code, 0);
    let result: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(result[0]["result"]["outcome"], "present");
    assert_eq!(result[0]["result"]["reason"], "database `app` has tables");
    assert_eq!(h.sql("app", "select count(*) from notes"), "5");
    assert!(!data.exists());
}
