//! Media library quotas as seed 004 keeps them (movies 6T, TV 6T, downloads
//! 2T, music and audiobooks 500G) on one dataset: ZFS project quotas on
//! folders of the media tree, set by a oneshot unit, counted by the pool
//! budget and listed by `show storage`.
//!
//! The unit's script is evaluated by the real Nix evaluator and run by the
//! real bash. Two things cannot run here and are stood in for, and only
//! they: nixpkgs' `lib` (not on this machine; `escapeShellArg` and
//! `concatMapStrings` are written out as nixpkgs defines them) and the
//! `zfs` command (no ZFS kernel module; a script that records its calls and
//! remembers project IDs the way `zfs project` does).

#[path = "support/modules.rs"]
mod modules;
use compile::nix::{Nix, print};
use compile::render::render;
use modules::{at, module};
use std::path::Path;
use std::process::Command;

const SPEC: &str = r#"[homelab]
name = "nuc"
domain = "example.org"
timezone = "Asia/Kolkata"
admin_email = "admin@example.org"
admin_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKxvdSzfFbgBFW3wZmZjF3YqAb0H2kFyQ3wZjAfSLw+6 admin@laptop"]

[hosts.nuc-server]
address = "192.168.1.50"
ram_gb = 16

[hosts.nuc-server.boot]
disk = "/dev/disk/by-id/nvme-nuc"

[hosts.nuc-server.pools.storagepool]
disks = ["/dev/disk/by-id/usb-WD_Elements"]
size = "SIZE"

[access.proxy]
dns_provider = "cloudflare"
credentials_secret = "dns-token"

[access.vpn]
wireguard_secret = "wg-conf"

[backup]
repository = "s3:https://s3.example.org/nuc"
password_secret = "restic-password"

[services.jellyfin]
[services.radarr]
[services.sonarr]
[services.prowlarr]
[services.deluge]

[media.quotas]
"library/movies" = "6T"
"library/tv" = "6T"
downloads = "2T"
"library/music" = "500G"
"library/audiobooks" = "500G"
"#;

fn spec(size: &str) -> String {
    SPEC.replace("SIZE", size)
}

fn infrastructure(size: &str) -> Nix {
    let (fleet, _) = compile::compile(&spec(size)).expect("the spec checks");
    module(&render(&fleet), "hosts/nuc-server/infrastructure.nix")
}

#[test]
fn the_pool_budget_counts_the_project_quotas() {
    // On 17T, 85% is 14.45T: the services' datasets fit, 15T of project
    // quotas on top do not.
    let without = spec("17T");
    let without = &without[..without.find("[media.quotas]").unwrap()];
    assert!(compile::compile(without).is_ok());
    let codes: Vec<&str> = match compile::compile(&spec("17T")) {
        Ok(_) => Vec::new(),
        Err(diags) => diags.iter().map(|d| d.code).collect(),
    };
    assert_eq!(codes, ["pool-overcommitted"]);
    assert!(compile::compile(&spec("20T")).is_ok());
}

#[test]
fn show_storage_lists_each_capped_folder() {
    let (fleet, _) = compile::compile(&spec("20T")).unwrap();
    let table = compile::show::storage(&fleet);
    let json = table.text();
    for (dir, size) in [
        ("/srv/media/library/movies", "6T"),
        ("/srv/media/library/tv", "6T"),
        ("/srv/media/downloads", "2T"),
        ("/srv/media/library/music", "500G"),
        ("/srv/media/library/audiobooks", "500G"),
    ] {
        assert!(json.contains(dir), "{dir} missing from {json}");
        let q = fleet.media_quotas.iter().find(|q| q.path == dir).unwrap();
        assert_eq!(q.size.value.zfs(), size);
        assert_eq!(q.id, compile::fleet::project_id(&q.dir.value));
        assert_eq!(
            q.dataset,
            Some(("storagepool".to_string(), "media/tree".to_string()))
        );
    }
    // 15T of projects on a dataset without a quota of its own.
    assert!(
        table.notes.iter().any(|n| n.contains("quotas total 15.")),
        "{:?}",
        table.notes
    );
}

/// `lib` as nixpkgs defines the two functions the script uses.
const LIB: &str = r#"{
  escapeShellArg = arg: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString arg) + "'";
  concatMapStrings = f: list: builtins.concatStringsSep "" (map f list);
}"#;

/// A `zfs` that logs its arguments and keeps each folder's project ID in a
/// file, printing `zfs project -d` lines as `%5u %c %s`.
const FAKE_ZFS: &str = r#"#!/usr/bin/env bash
set -eu
echo "$*" >> "$ZFS_LOG"
key() { printf '%s' "$1" | tr '/ ' '__'; }
if [ "$1" = project ] && [ "$2" = -d ]; then
  f="$ZFS_STATE/$(key "$3")"
  if [ -f "$f" ]; then printf '%5s P %s\n' "$(cat "$f")" "$3"; else printf '%5s - %s\n' 0 "$3"; fi
elif [ "$1" = project ] && [ "$2" = -p ]; then
  echo "$3" > "$ZFS_STATE/$(key "$5")"
fi
"#;

fn run_script(script: &Path, bin: &Path, state: &Path, log: &Path) {
    let out = Command::new("bash")
        .arg("-e")
        .arg(script)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("ZFS_STATE", state)
        .env("ZFS_LOG", log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_unit_tags_each_folder_once_and_sets_its_quota() {
    let infra = infrastructure("20T");
    let unit = at(&infra, &["systemd", "services", "media-quotas"]);
    assert_eq!(at(unit, &["serviceConfig", "Type"]), &Nix::str("oneshot"));
    assert_eq!(
        at(unit, &["unitConfig", "RequiresMountsFor"]),
        &Nix::strs(["/srv/media"])
    );
    let expr = print(at(unit, &["script"]));
    assert!(expr.contains("lib.escapeShellArg q.path"), "{expr}");

    let dir = tempfile::tempdir().unwrap();
    let eval = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E"])
        .arg(format!("let lib = {LIB}; in {expr}"))
        .output()
        .expect("nix-instantiate runs");
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    let script: String = serde_json::from_slice(&eval.stdout).unwrap();
    let script_path = dir.path().join("script.sh");
    std::fs::write(&script_path, &script).unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let zfs = bin.join("zfs");
    std::fs::write(&zfs, FAKE_ZFS).unwrap();
    Command::new("chmod").arg("+x").arg(&zfs).status().unwrap();
    let state = dir.path().join("state");
    std::fs::create_dir(&state).unwrap();
    let (first, second) = (dir.path().join("first.log"), dir.path().join("second.log"));

    run_script(&script_path, &bin, &state, &first);
    let log = std::fs::read_to_string(&first).unwrap();
    let id = compile::fleet::project_id("library/movies");
    assert!(
        log.contains(&format!("project -p {id} -rs /srv/media/library/movies")),
        "{log}"
    );
    assert!(
        log.contains(&format!("set projectquota@{id}=6T storagepool/media/tree")),
        "{log}"
    );
    assert_eq!(log.matches("project -p").count(), 5, "{log}");

    // Run again: every folder is in its project already; only the quotas
    // are set (which changes nothing), no folder is walked again.
    run_script(&script_path, &bin, &state, &second);
    let log = std::fs::read_to_string(&second).unwrap();
    assert_eq!(log.matches("project -p").count(), 0, "{log}");
    assert_eq!(log.matches("set projectquota@").count(), 5, "{log}");
}

#[test]
fn quotas_without_a_media_tree_on_a_pool_are_reported() {
    let text = spec("20T")
        .replace("[services.jellyfin]\n[services.radarr]\n[services.sonarr]\n[services.prowlarr]\n[services.deluge]\n", "[services.vaultwarden]\n")
        .replace("[access.vpn]\nwireguard_secret = \"wg-conf\"\n", "");
    let (_, diags) = compile::compile(&text).unwrap();
    assert_eq!(
        diags
            .iter()
            .filter(|d| d.code == "unused-media-quota")
            .count(),
        5
    );
}
