//! `homelab install --dry-run` names every disk the target must have
//! before disko erases anything: each disk of a mirrored boot disk, and
//! the pools'. Nothing is contacted: the dry run only prints the steps.

use std::path::Path;
use std::process::Command;

#[path = "support/bin.rs"]
mod bin;
#[path = "support/own_keys.rs"]
mod own_keys;

#[test]
fn the_disk_check_lists_both_disks_of_a_boot_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let spec = own_keys::own_keys(compile::examples::get("forge").unwrap());
    std::fs::write(dir.path().join("homelab.toml"), spec).unwrap();
    let out = bin::finish_within_a_minute(
        Command::new(env!("CARGO_BIN_EXE_homelab"))
            .args(["install", "forge", "--target", "192.0.2.10", "--dry-run"])
            .current_dir(dir.path())
            .env("NO_COLOR", "1"),
        b"",
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let disks = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("4. disks"))
        .unwrap_or_else(|| panic!("no disk step:\n{stdout}"));
    let listed = disks
        .split_once("(must list ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{disks}"));
    assert_eq!(
        listed.split(", ").collect::<Vec<_>>(),
        [
            "nvme-Samsung_990_PRO_2TB_example-A",
            "nvme-Samsung_990_PRO_2TB_example-B",
            "ata-Samsung_SSD_870_EVO_4TB_example-A",
            "ata-Samsung_SSD_870_EVO_4TB_example-B",
        ]
    );
    assert!(
        !Path::new(&dir.path().join("flake")).exists(),
        "a dry run writes nothing"
    );
}
