//! Plain datasets (`[hosts.<h>.data.<name>]`) through the real backup
//! path: the host plan the build writes for a spec with a critical and a
//! disposable plain dataset, real restic repositories and the real
//! `homelab` binary on a scratch root. `backup run` backs up the critical
//! one's folder and passes the disposable one by in silence; drill, status
//! and restore see the dataset like a service.
//!
//! ZFS cannot run here: the datasets are dropped from the plan, so their
//! folders are read live, as on a host without a pool. systemd is the
//! stand-in of support/host.rs (a plain dataset stops no unit).

#[path = "support/host.rs"]
mod host;

use host::{Host, tree};
use serde_json::Value;

const SPEC: &str = r#"[homelab]
name = "home"
domain = "example.org"
timezone = "Europe/Prague"
admin_email = "admin@example.org"
admin_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEBTIGiXnUDiGk9cY1PIrmdVLGAqMXOkUmnI4w2GTgRN me@laptop"]

[hosts.server]
address = "192.168.1.10"
ram_gb = 8

[hosts.server.boot]
disk = "/dev/disk/by-id/nvme-server"

[hosts.server.pools.tank]
disks = ["/dev/disk/by-id/ata-A"]
size = "4T"

[hosts.server.data.archive]
path = "/srv/archive"
class = "critical"
snapshots = { frequently = 0 }
silence = { no-offsite = "the test's repository is a folder of the host", no-replica = "one machine" }

[hosts.server.data.isos]
path = "/srv/isos"
class = "disposable"
recordsize = "1M"

[backup]
repository = "/srv/restic"
password_secret = "restic-password"
"#;

/// The plan `homelab build` writes for the spec's host, with the
/// datasets left out (no ZFS here).
fn built_plan() -> Value {
    let (fleet, _) = compile::compile(SPEC).expect("the spec compiles");
    let plan = compile::plan::plan(&fleet, &fleet.hosts[0]);
    let mut plan: Value = serde_json::from_str(&compile::plan::to_json(&plan)).unwrap();
    for service in plan["services"].as_array_mut().unwrap() {
        for path in service["paths"].as_array_mut().unwrap() {
            path["dataset"] = Value::Null;
        }
    }
    plan
}

/// A scratch host with the built plan and data in both datasets.
fn host() -> Host {
    let h = Host::new();
    h.write_plan(built_plan());
    let archive = h.root_path("/srv/archive");
    std::fs::create_dir_all(archive.join("2024")).unwrap();
    std::fs::write(archive.join("2024/scan.pdf"), vec![3u8; 50_000]).unwrap();
    std::fs::write(archive.join("index.txt"), "scans\n").unwrap();
    let isos = h.root_path("/srv/isos");
    std::fs::create_dir_all(&isos).unwrap();
    std::fs::write(isos.join("debian.iso"), vec![1u8; 20_000]).unwrap();
    h
}

fn snapshots(h: &Host, tag: &str) -> Vec<Value> {
    let out = h.restic("server", &["snapshots", "--json", "--tag", tag]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_plan_lists_both_datasets_and_repositories_only_for_the_kept_one() {
    let plan = built_plan();
    let services = plan["services"].as_array().unwrap();
    let names: Vec<&str> = services
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["archive", "isos"]);
    for s in services {
        assert_eq!(s["entry"], "dataset");
        assert_eq!(s["units"], serde_json::json!([]));
    }
    assert_eq!(services[0]["paths"][0]["path"], "/srv/archive");
    assert_eq!(services[0]["paths"][0]["backed_up"], true);
    assert_eq!(services[0]["repositories"][0]["url"], "/srv/restic/server");
    assert_eq!(services[1]["class"], "disposable");
    assert_eq!(services[1]["paths"][0]["backed_up"], false);
    assert_eq!(services[1]["repositories"], serde_json::json!([]));
}

#[test]
fn a_plain_dataset_is_backed_up_drilled_and_restored_and_a_disposable_one_passed_by() {
    let h = host();
    let (code, stdout, stderr) = h.homelab(&["backup", "run"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stderr.contains("archive: backed up 2 files"), "{stderr}");
    assert!(
        !format!("{stdout}{stderr}").contains("isos"),
        "the disposable dataset is passed by without a word: {stderr}"
    );
    assert_eq!(h.unit_log(), "", "a plain dataset stops no unit");
    assert_eq!(snapshots(&h, "archive").len(), 1);
    assert!(snapshots(&h, "isos").is_empty());
    let listed = h.restic("server", &["ls", "latest"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("/srv/archive/2024/scan.pdf"), "{listed}");
    assert!(!listed.contains("/srv/isos"), "{listed}");

    // Naming it is asking for what its class rules out.
    let (code, _, stderr) = h.homelab(&["backup", "run", "isos"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("`isos` is disposable"), "{stderr}");

    let (code, stdout, stderr) = h.homelab(&["backup", "drill", "--all"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("archive: drill passed"), "{stdout}");
    assert!(!stdout.contains("isos"), "{stdout}");

    // Status sees both; only the kept one can fall short (here: its one
    // repository is on the premises), the disposable one never does.
    let (_, stdout, _) = h.homelab(&["backup", "status", "--json"]);
    let status: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    let of = |name: &str| status.iter().find(|s| s["service"] == name).unwrap();
    assert_eq!(of("archive")["repositories"][0]["snapshots"], 1);
    assert_eq!(of("archive")["last_drill"]["passed"], true);
    assert_eq!(of("isos")["class"], "disposable");
    assert_eq!(of("isos")["shortfalls"], serde_json::json!([]));

    // Restore puts the dataset's folder back as it was backed up.
    let archive = h.root_path("/srv/archive");
    let backed_up = tree(&archive);
    std::fs::remove_file(archive.join("2024/scan.pdf")).unwrap();
    std::fs::write(archive.join("index.txt"), "changed\n").unwrap();
    let (code, stdout, stderr) = h.homelab(&["restore", "archive"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(tree(&archive), backed_up);
}
