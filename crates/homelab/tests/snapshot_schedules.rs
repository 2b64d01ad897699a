//! Snapshot schedules and plain datasets in the generated Nix: a data
//! entry's `snapshots = { … }` becomes the dataset's own sanoid settings
//! over its class's template (every count written out for a disposable
//! dataset, which has no template), and `[hosts.<h>.data.<name>]` a disko
//! dataset of the host's pool. The files are pinned (insta) and parsed by
//! `nix-instantiate --parse`; the examples keep the seeds' schedules.

use compile::render::{File, render};
use std::process::Command;

#[path = "support/examples.rs"]
mod examples;
use examples::{example, text};

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
quota = "1T"
snapshots = { hourly = 0, yearly = 3 }
silence = { no-replica = "one machine" }

[hosts.server.data.isos]
path = "/srv/isos"
class = "disposable"
recordsize = "1M"

[hosts.server.data.downloads]
path = "/srv/downloads"
class = "disposable"
snapshots = { daily = 3, weekly = 4 }

[services.vaultwarden]
exposure = "host"
silence = { no-replica = "one machine" }

[services.vaultwarden.data.data]
snapshots = { frequently = 8 }

[backup]
repository = "s3:https://s3.example.org/home"
password_secret = "restic-password"
"#;

fn files() -> Vec<File> {
    let (fleet, warnings) = compile::compile(SPEC).expect("the spec compiles");
    assert!(warnings.iter().all(|w| w.code != "critical-without-daily"));
    render(&fleet)
}

/// `nix-instantiate --parse` of one file's text.
fn parses(name: &str, nix: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name.replace('/', "-"));
    std::fs::write(&path, nix).unwrap();
    let out = Command::new("nix-instantiate")
        .arg("--parse")
        .arg(&path)
        .output()
        .expect("nix-instantiate runs (install Debian's nix-bin)");
    assert!(
        out.status.success(),
        "{name} does not parse:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn schedules_and_plain_datasets_render_as_pinned() {
    let files = files();
    let infrastructure = text(&files, "hosts/server/infrastructure.nix");
    parses("infrastructure.nix", &infrastructure);
    insta::assert_snapshot!("infrastructure", infrastructure);
    let vaultwarden = text(&files, "hosts/server/services/vaultwarden.nix");
    parses("vaultwarden.nix", &vaultwarden);
    let sanoid = vaultwarden
        .split_once("    sanoid.datasets")
        .and_then(|(_, rest)| rest.split_once("\n    };"))
        .map(|(body, _)| format!("sanoid.datasets{body}\n}};"))
        .expect("the service sets its dataset's sanoid settings");
    insta::assert_snapshot!("vaultwarden-sanoid", sanoid);
}

#[test]
fn the_plain_datasets_go_into_the_host_plan_and_the_storage_table() {
    let (fleet, _) = compile::compile(SPEC).unwrap();
    let plan = compile::plan::plan(&fleet, &fleet.hosts[0]);
    let names: Vec<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["vaultwarden", "archive", "isos", "downloads"]);
    let storage = compile::show::storage(&fleet).text();
    for row in ["tank/archive", "tank/isos", "tank/downloads"] {
        assert!(storage.contains(row), "{storage}");
    }
    let snapshots = compile::show::snapshots(&fleet).text();
    let archive = snapshots
        .lines()
        .find(|l| l.starts_with("tank/archive"))
        .unwrap();
    assert_eq!(
        archive.split_whitespace().collect::<Vec<_>>(),
        ["tank/archive", "critical", "4", "0", "7", "4", "12", "3"]
    );
}

#[test]
fn the_examples_keep_the_seeds_schedules_and_tier_2_data() {
    // nuc (seed 004, 5.4): photos keep daily, weekly and monthly only.
    let (_, nuc) = example("nuc");
    let immich = text(&nuc, "hosts/nuc-server/services/immich.nix");
    assert!(
        immich.contains(
            "\"storagepool/immich/library\" = {\n        frequently = 0;\n        hourly = 0;\n        use_template = [ \"critical\" ];\n      };"
        ),
        "{immich}"
    );
    let infra = text(&nuc, "hosts/nuc-server/infrastructure.nix");
    assert!(
        infra.contains("backups = {\n      mountpoint = \"/srv/backups\";"),
        "{infra}"
    );
    // frame1 (seed 002): tier-2 data has a dataset and nothing else.
    let (_, frame1) = example("frame1");
    let infra = text(&frame1, "hosts/frame1/infrastructure.nix");
    assert!(
        infra.contains(
            "isos = {\n      mountpoint = \"/srv/isos\";\n      options.recordsize = \"1M\";"
        ),
        "{infra}"
    );
    assert!(
        !infra.contains("\"tank/isos\""),
        "no snapshots of tier-2 data: {infra}"
    );
    for (name, files) in [("nuc", &nuc), ("frame1", &frame1)] {
        for f in files.iter().filter(|f| f.path.ends_with(".nix")) {
            parses(&format!("{name}/{}", f.path), &f.text());
        }
    }
}

#[test]
fn a_critical_plain_dataset_is_replicated_and_reports_to_the_status_page() {
    let mut spec = compile::examples::get("family").unwrap().to_string();
    spec.push_str("\n[hosts.server.data.scans]\npath = \"/srv/scans\"\nclass = \"critical\"\n");
    let (fleet, _) = compile::compile(&spec).expect("the family with a plain dataset compiles");
    let files = render(&fleet);
    let nas = text(&files, "hosts/nas/infrastructure.nix");
    assert!(
        nas.contains("source = \"syncoid@192.168.1.10:tank/scans\";")
            && nas.contains("target = \"vault/replicas/server/scans\";"),
        "the NAS pulls it: {nas}"
    );
    let server = text(&files, "hosts/server/infrastructure.nix");
    assert!(server.contains("zfs allow -u syncoid hold,send ${lib.escapeShellArg \"tank/scans\"}"));
    let operations = text(&files, "hosts/server/operations.nix");
    for heartbeat in ["name = \"scans-backup\";", "name = \"scans-drill\";"] {
        assert!(operations.contains(heartbeat), "{operations}");
    }
}
