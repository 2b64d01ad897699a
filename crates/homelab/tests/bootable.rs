//! The generated hosts can be installed and booted from a pinned flake:
//! every input at a commit from `nixos-options/release.json`, a boot disk
//! with an EFI partition and a root file system, a boot loader, the
//! `hardware.nix` the spec can fill, a `system.stateVersion` that stays put,
//! and one evaluation error naming every secret file not created yet.
//!
//! The generated files are evaluated by the real `nix-instantiate --eval`
//! with stand-ins for `lib` and `config` (no nixpkgs is available offline;
//! a NixOS evaluation of the whole host cannot run here).

#[path = "support/nix_eval.rs"]
mod nix_eval;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const EXAMPLES: [&str; 3] = ["family", "frame1", "nuc"];

fn build(example: &str, out: &Path) {
    let result = Command::new(env!("CARGO_BIN_EXE_homelab"))
        .args(["build", "--example", example, "--out"])
        .arg(out)
        .output()
        .expect("homelab runs");
    assert!(
        result.status.success(),
        "build --example {example}:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
}

/// Evaluates `expr` strictly and returns its JSON.
fn eval(expr: &str) -> Value {
    nix_eval::eval_json(expr)
}

/// A generated module applied to stand-in arguments: `lib.mkDefault v`
/// becomes `{ mkDefault = v; }` so the test sees the priority.
fn module(file: &Path) -> Value {
    module_part(file, "")
}

/// One attribute path of a module (`.boot`), for modules with parts the
/// JSON printer cannot show (agenix file paths it would copy).
fn module_part(file: &Path, part: &str) -> Value {
    eval(&format!(
        "(import {} {{ config = {{ age.secrets = {{ }}; hardware.enableRedistributableFirmware = true; }}; \
         lib = {{ mkDefault = v: {{ mkDefault = v; }}; }}; pkgs = {{ }}; }}){part}",
        file.display()
    ))
}

fn hosts(out: &Path) -> Vec<PathBuf> {
    let mut hosts: Vec<PathBuf> = std::fs::read_dir(out.join("hosts"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    hosts.sort();
    hosts
}

fn release() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nixos-options/release.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_flake_input_is_pinned_to_the_release_commit() {
    let release = release();
    let pin = release["nixpkgs"]["pin"].as_str().unwrap();
    for example in EXAMPLES {
        let dir = tempfile::tempdir().unwrap();
        build(example, dir.path());
        let inputs = eval(&format!(
            "(import {}/flake.nix).inputs",
            dir.path().display()
        ));
        assert_eq!(
            inputs["nixpkgs"]["url"],
            format!("github:NixOS/nixpkgs/{pin}"),
            "{example}"
        );
        // homelab itself: no release is published, so `build` names the
        // clone the binary was built from (this repository), which exists.
        let clone = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()
            .unwrap();
        assert_eq!(
            inputs["homelab"]["url"],
            format!("git+file://{}", clone.display()),
            "{example}"
        );
        for (name, input) in inputs.as_object().unwrap() {
            if name == "homelab" {
                continue;
            }
            let url = input["url"].as_str().unwrap();
            let commit = url.rsplit('/').next().unwrap();
            assert!(
                commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()),
                "{example}: input {name} is not pinned to a commit: {url}"
            );
            if name != "nixpkgs" {
                let pinned = &release["inputs"][name.as_str()];
                assert_eq!(
                    url,
                    format!(
                        "github:{}/{}",
                        pinned["repo"].as_str().unwrap(),
                        pinned["commit"].as_str().unwrap()
                    ),
                    "{example}: {name}"
                );
            }
        }
        // VPN-Confinement's flake has no inputs, so nothing may follow ours;
        // the others have a nixpkgs input and share ours.
        if let Some(vpn) = inputs.get("vpn-confinement") {
            assert_eq!(vpn.get("inputs"), None, "{example}");
        }
        for name in ["agenix", "disko", "deploy-rs", "homelab"] {
            assert_eq!(
                inputs[name]["inputs"]["nixpkgs"]["follows"], "nixpkgs",
                "{example}: {name}"
            );
        }
    }
}

/// The commits an index file was read at: its main source and every extra
/// source, each with the repository it names.
fn read_at(file: &Value) -> Vec<(String, String, String)> {
    let main = &file["source"];
    let mut sources = vec![main];
    if let Some(extra) = file["extra_sources"].as_array() {
        sources.extend(extra);
    }
    sources
        .into_iter()
        .map(|s| {
            let field = |k: &str| s[k].as_str().unwrap_or("").to_string();
            let repo = s["repo"].as_str().or(main["repo"].as_str()).unwrap_or("");
            (repo.to_string(), field("path"), field("commit"))
        })
        .collect()
}

#[test]
fn the_option_facts_and_the_generated_flake_describe_one_nixpkgs_revision() {
    let release = release();
    let dir = tempfile::tempdir().unwrap();
    build("family", dir.path());
    let inputs = eval(&format!(
        "(import {}/flake.nix).inputs",
        dir.path().display()
    ));
    let url = inputs["nixpkgs"]["url"].as_str().unwrap();
    let pin = url.strip_prefix("github:NixOS/nixpkgs/").unwrap();
    let snapshot = &release["nixpkgs"]["snapshot"];
    let (snapshot_repo, holds) = (
        snapshot["repo"].as_str().unwrap(),
        snapshot["holds"].as_str().unwrap(),
    );
    let excused = release["nixpkgs"]["outside_snapshot"].as_object().unwrap();
    // Flake inputs other than nixpkgs are read at their own pinned commits.
    let input_commit = |repo: &str| {
        release["inputs"]
            .as_object()
            .unwrap()
            .values()
            .find(|i| i["repo"] == repo)
            .map(|i| i["commit"].as_str().unwrap().to_string())
    };
    let index = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../nixos-options");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&index)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter(|p| !p.ends_with("release.json"))
        .collect();
    files.sort();
    assert!(files.len() > 80, "{}", files.len());
    let mut wrong = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for (repo, source, commit) in read_at(&file) {
            let fine = match input_commit(&repo) {
                Some(input) => commit == input,
                None if excused.contains_key(name) => !source.starts_with(holds),
                None => repo == snapshot_repo && source.starts_with(holds) && commit == pin,
            };
            if !fine {
                wrong.push(format!("{name}: {repo}:{source} @ {commit}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "index files not read at the pinned nixpkgs {pin} (or their input's commit):\n{}",
        wrong.join("\n")
    );
    // An excuse names a file that exists and says why.
    for (name, why) in excused {
        assert!(index.join(name).exists(), "{name}");
        assert!(!why.as_str().unwrap().is_empty(), "{name}");
    }
}

/// The root file system each disko.nix declares: `ext4` or `zfs`.
fn root_fs(disko: &Value) -> &'static str {
    let parts = &disko["disko"]["devices"]["disk"]["boot"]["content"]["partitions"];
    let esp = &parts["ESP"];
    assert_eq!(esp["type"], "EF00", "{disko}");
    assert_eq!(esp["content"]["format"], "vfat");
    assert_eq!(esp["content"]["mountpoint"], "/boot");
    assert_eq!(esp["size"], "1G");
    let root = &parts["root"];
    assert_eq!(root["size"], "100%");
    match root["content"]["type"].as_str().unwrap() {
        "filesystem" => {
            assert_eq!(root["content"]["format"], "ext4");
            assert_eq!(root["content"]["mountpoint"], "/");
            "ext4"
        }
        "zfs" => {
            let pool = root["content"]["pool"].as_str().unwrap();
            let zpool = &disko["disko"]["devices"]["zpool"][pool];
            assert_eq!(zpool["type"], "zpool");
            let ds = &zpool["datasets"];
            assert_eq!(ds["root"]["mountpoint"], "/");
            assert_eq!(ds["root"]["options"]["mountpoint"], "legacy");
            assert_eq!(ds["nix"]["mountpoint"], "/nix");
            "zfs"
        }
        other => panic!("root of type {other}"),
    }
}

#[test]
fn every_host_has_a_boot_disk_a_root_and_a_boot_loader() {
    let mut seen = Vec::new();
    for example in EXAMPLES {
        let dir = tempfile::tempdir().unwrap();
        build(example, dir.path());
        for host in hosts(dir.path()) {
            let fs = root_fs(&module(&host.join("disko.nix")));
            seen.push(fs);
            let core = module(&host.join("core.nix"));
            let loader = &core["boot"]["loader"];
            assert_eq!(loader["systemd-boot"]["enable"], true, "{host:?}");
            assert_eq!(loader["efi"]["canTouchEfiVariables"], true, "{host:?}");
            if fs == "zfs" {
                // The initrd imports the root pool: ZFS support and a hostId.
                let infra = host.join("infrastructure.nix");
                let boot = module_part(&infra, ".boot");
                assert_eq!(boot["supportedFilesystems"][0], "zfs");
                let scrubbed = &module_part(&infra, ".services.zfs")["autoScrub"]["pools"];
                assert!(scrubbed.as_array().unwrap().contains(&"rpool".into()));
                assert_eq!(core["networking"]["hostId"].as_str().unwrap().len(), 8);
            }
        }
    }
    assert!(seen.contains(&"ext4") && seen.contains(&"zfs"), "{seen:?}");
}

#[test]
fn the_family_swap_partition_is_declared() {
    let dir = tempfile::tempdir().unwrap();
    build("family", dir.path());
    let disko = module(&dir.path().join("hosts/server/disko.nix"));
    let swap = &disko["disko"]["devices"]["disk"]["boot"]["content"]["partitions"]["swap"];
    assert_eq!(swap["size"], "8G");
    assert_eq!(swap["content"]["type"], "swap");
}

#[test]
fn hardware_nix_has_the_microcode_and_stays_the_users() {
    let dir = tempfile::tempdir().unwrap();
    build("family", dir.path());
    let server = dir.path().join("hosts/server/hardware.nix");
    let hw = module(&server);
    assert_eq!(
        hw["hardware"]["cpu"]["amd"]["updateMicrocode"]["mkDefault"],
        true
    );
    assert_eq!(hw["hardware"]["cpu"].get("intel"), None);
    assert_eq!(
        hw["hardware"]["enableRedistributableFirmware"]["mkDefault"],
        true
    );
    let nas = module(&dir.path().join("hosts/nas/hardware.nix"));
    assert_eq!(
        nas["hardware"]["cpu"]["intel"]["updateMicrocode"]["mkDefault"],
        true
    );
    let text = std::fs::read_to_string(&server).unwrap();
    assert!(
        text.contains("--generate-hardware-config nixos-generate-config hosts/server/hardware.nix")
    );
    assert!(text.contains("boot.initrd.availableKernelModules"));

    // The user's hardware scan survives the next build.
    let scanned = "{ ... }: { boot.initrd.availableKernelModules = [ \"nvme\" ]; }\n";
    std::fs::write(&server, scanned).unwrap();
    build("family", dir.path());
    assert_eq!(std::fs::read_to_string(&server).unwrap(), scanned);
}

#[test]
fn state_version_is_the_pinned_release_until_the_spec_fixes_it() {
    let release = release();
    let version = release["nixpkgs"]["version"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    build("family", dir.path());
    for host in hosts(dir.path()) {
        let core = module(&host.join("core.nix"));
        assert_eq!(core["system"]["stateVersion"], version, "{host:?}");
    }

    // An installed host keeps the release it was installed with.
    let spec = compile::examples::get("frame1").unwrap().replace(
        "cpu = \"intel\"",
        "cpu = \"intel\"\nstate_version = \"24.11\"",
    );
    let (fleet, _) = compile::compile(&spec).unwrap();
    let core = compile::render::render(&fleet)
        .into_iter()
        .find(|f| f.path == "hosts/frame1/core.nix")
        .unwrap();
    assert!(core.text().contains("system.stateVersion = \"24.11\";"));
}

/// PostgreSQL's package and Immich's vector extension both default from
/// `system.stateVersion` (PostgreSQL 17 and VectorChord from 25.11 on;
/// pgvecto.rs, which Immich refuses on 17, before). Setting either would
/// break the pairing for hosts installed with another release.
#[test]
fn postgresql_and_immich_follow_the_state_version() {
    for example in ["family", "nuc"] {
        let dir = tempfile::tempdir().unwrap();
        build(example, dir.path());
        for host in hosts(dir.path()) {
            let mut files = vec![host.join("infrastructure.nix")];
            if let Ok(services) = std::fs::read_dir(host.join("services")) {
                files.extend(services.map(|e| e.unwrap().path()));
            }
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap();
                for set in ["postgresql.package", "enableVectors", "enableVectorChord"] {
                    assert!(!text.contains(set), "{}: sets {set}", file.display());
                }
            }
        }
    }
}

#[test]
fn missing_secret_files_are_one_evaluation_error_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    build("family", dir.path());
    // Two of the server's secrets exist; the others are still to create.
    for name in ["tailscale-authkey", "restic-password"] {
        std::fs::write(dir.path().join(format!("secrets/{name}.age")), "x").unwrap();
    }
    // Every module the host imports, evaluated with the `age.secrets` they
    // declare together, as the module system would merge them; then the
    // assertion core.nix contributes.
    let check = |host: &str| {
        eval(&format!(
            r#"let
              host = {dir}/hosts/{host};
              args = {{ inherit config; lib = {{ }}; pkgs = {{ }}; inputs = {{ }}; }};
              bodies = map (m: import m args) (import (host + "/default.nix")).imports;
              config.age.secrets = builtins.foldl' (acc: b: acc // ((b.age or {{ }}).secrets or {{ }})) {{ }} bodies;
            in (import (host + "/core.nix") args).assertions"#,
            dir = dir.path().display()
        ))
    };
    let assertions = check("server");
    let failing: Vec<&Value> = assertions
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["assertion"] == false)
        .collect();
    assert_eq!(failing.len(), 1, "{assertions}");
    let message = failing[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "secret files missing from the flake: secrets/cloudflare-dns-token.age, \
             secrets/gatus-heartbeat-token.age, secrets/grafana-admin-password.age, \
             secrets/grafana-secret-key.age, secrets/homelab-heartbeat-token.age, \
             secrets/nextcloud-admin-password.age, secrets/paperless-admin-password.age, \
             secrets/restic-nas-server.age, secrets/restic-s3-credentials.age, \
             secrets/smtp-password.age, secrets/smtp-password-environment.age, \
             secrets/vaultwarden-admin-token.age, secrets/vpn-wireguard.age. "
        ),
        "{message}"
    );
    assert!(message.contains("agenix -e <name>.age") && message.contains("git add"));

    // With every file in place the assertion holds.
    for name in [
        "cloudflare-dns-token",
        "gatus-heartbeat-token",
        "grafana-admin-password",
        "grafana-secret-key",
        "homelab-heartbeat-token",
        "nextcloud-admin-password",
        "paperless-admin-password",
        "restic-nas-server",
        "restic-s3-credentials",
        "smtp-password",
        "smtp-password-environment",
        "vaultwarden-admin-token",
        "vpn-wireguard",
    ] {
        std::fs::write(dir.path().join(format!("secrets/{name}.age")), "x").unwrap();
    }
    assert_eq!(check("server")[0]["assertion"], true);
}

/// forge boots from a mirror of its two NVMe: each has an EFI system
/// partition (`/boot`, `/boot-2`), mounted `nofail` so either may be gone,
/// and a root partition of the `rpool` mirror; GRUB, not systemd-boot,
/// writes itself and the kernels to both, at the firmware's fallback path.
#[test]
fn a_mirrored_boot_disk_boots_from_either_disk() {
    let dir = tempfile::tempdir().unwrap();
    build("forge", dir.path());
    let host = dir.path().join("hosts/forge");
    let disko = module(&host.join("disko.nix"));
    let disks = &disko["disko"]["devices"]["disk"];
    let mut devices = Vec::new();
    for (name, esp_at) in [("boot", "/boot"), ("boot-2", "/boot-2")] {
        devices.push(disks[name]["device"].as_str().unwrap().to_string());
        let parts = &disks[name]["content"]["partitions"];
        let esp = &parts["ESP"];
        assert_eq!(esp["type"], "EF00", "{name}");
        assert_eq!(esp["size"], "1G", "{name}");
        assert_eq!(esp["content"]["format"], "vfat", "{name}");
        assert_eq!(esp["content"]["mountpoint"], esp_at, "{name}");
        let options = esp["content"]["mountOptions"].as_array().unwrap();
        assert!(options.contains(&"nofail".into()), "{name}: {options:?}");
        assert_eq!(parts["root"]["content"]["type"], "zfs", "{name}");
        assert_eq!(parts["root"]["content"]["pool"], "rpool", "{name}");
    }
    assert_ne!(devices[0], devices[1]);
    assert_eq!(
        disks.as_object().unwrap().len(),
        4,
        "two boot disks, two of tank"
    );
    let rpool = &disko["disko"]["devices"]["zpool"]["rpool"];
    assert_eq!(rpool["mode"], "mirror");
    assert_eq!(rpool["datasets"]["root"]["mountpoint"], "/");

    let core = module(&host.join("core.nix"));
    let loader = &core["boot"]["loader"];
    assert_eq!(loader.get("systemd-boot"), None, "one loader: GRUB");
    let grub = &loader["grub"];
    assert_eq!(grub["enable"], true);
    assert_eq!(grub["efiSupport"], true);
    // grub.nix asserts the two go together.
    assert_eq!(grub["efiInstallAsRemovable"], true);
    assert_eq!(loader["efi"]["canTouchEfiVariables"], false);
    let mirrors = grub["mirroredBoots"].as_array().unwrap();
    let paths: Vec<&str> = mirrors
        .iter()
        .map(|m| m["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/boot", "/boot-2"]);
    for m in mirrors {
        assert_eq!(m["devices"], serde_json::json!(["nodev"]), "{m}");
    }
}
