//! The VM of every host of every example: a `checks.<system>.<host>-vm`
//! NixOS test that waits for every service and health endpoint, a
//! `virtualisation.vmVariant` for `nixos-rebuild build-vm`, and stand-ins
//! for every secret. Nothing can boot a VM here: the flake's `checks` are
//! evaluated with `nix-instantiate --eval` against stand-in inputs (a
//! `runNixOSTest` that returns its argument, a `recursiveUpdate` written
//! below, a deploy-rs that offers one check per system), which proves the
//! wiring and the test script the real `runNixOSTest` would receive.

#[path = "support/examples.rs"]
mod examples;

use compile::fleet::Fleet;
use compile::render::vm_test::{probes, python_name};
use std::path::Path;
use std::process::Command;

const STAND_IN_INPUTS: &str = r#"
let
  recursiveUpdate = a: b: a // builtins.mapAttrs (n: v:
    if builtins.isAttrs v && a ? ${n} && builtins.isAttrs a.${n} then recursiveUpdate a.${n} v else v) b;
  pkgs = {
    curl = "/stand-in/curl";
    testers.runNixOSTest = test: test;
  };
  flake = import ./flake.nix;
  self = flake.outputs inputs;
  inputs = {
    inherit self;
    nixpkgs = {
      lib = { inherit recursiveUpdate; nixosSystem = args: args; };
      legacyPackages.x86_64-linux = pkgs;
      legacyPackages.aarch64-linux = pkgs;
    };
    deploy-rs.lib = {
      x86_64-linux = { deployChecks = _: { deploy-schema = "stand-in"; }; activate.nixos = c: c; };
      aarch64-linux = { deployChecks = _: { deploy-schema = "stand-in"; }; activate.nixos = c: c; };
    };
    agenix = { }; disko = { }; vpn-confinement = { }; homelab = { };
  };
in
builtins.mapAttrs (system: checks: builtins.mapAttrs (name: c:
  if name == "deploy-schema" then c else {
    inherit (c) name testScript;
    pkgsReadOnly = c.node.pkgsReadOnly;
    nodes = builtins.attrNames c.nodes;
  }) checks) self.checks
"#;

/// The flake's `checks`, evaluated against the stand-in inputs.
fn evaluated_checks(example: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_homelab"))
        .args(["build", "--example", example, "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(dir.path().join("eval.nix"), STAND_IN_INPUTS).unwrap();
    let eval = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json"])
        .arg(dir.path().join("eval.nix"))
        .output()
        .expect("nix-instantiate runs");
    assert!(
        eval.status.success(),
        "{example}: {}",
        String::from_utf8_lossy(&eval.stderr)
    );
    serde_json::from_slice(&eval.stdout).unwrap()
}

fn fleet(example: &str) -> Fleet {
    examples::example(example).0
}

#[test]
fn every_host_has_a_vm_check_beside_the_deploy_checks() {
    for example in compile::examples::names() {
        let checks = evaluated_checks(example);
        for host in &fleet(example).hosts {
            let system = &host.spec.system.value;
            let name = format!("{}-vm", host.name());
            let check = &checks[system][&name];
            assert_eq!(check["name"], name.as_str(), "{example}: {checks}");
            assert_eq!(check["nodes"], serde_json::json!([host.name()]));
            // The host sets nixpkgs.hostPlatform: its test may not freeze nixpkgs.
            assert_eq!(check["pkgsReadOnly"], false);
            assert_eq!(
                checks[system]["deploy-schema"], "stand-in",
                "deploy-rs checks kept"
            );
        }
    }
}

#[test]
fn every_unit_and_health_endpoint_of_a_host_is_in_its_test_script() {
    let mut waited = 0;
    for example in compile::examples::names() {
        let checks = evaluated_checks(example);
        let fleet = fleet(example);
        for host in &fleet.hosts {
            let check = &checks[&host.spec.system.value][format!("{}-vm", host.name())];
            let script = check["testScript"].as_str().unwrap();
            let node = python_name(host.name());
            assert!(script.contains(&format!("{node}.start()")), "{script}");
            assert!(script.contains("curl = \"/stand-in/curl/bin/curl\""));
            for p in probes(&fleet, host) {
                if let Some(why) = &p.skipped {
                    assert!(script.contains(&format!("# {}: {why}", p.service)));
                    continue;
                }
                for unit in &p.units {
                    let wait = format!("{node}.wait_for_unit(\"{unit}\")");
                    assert!(script.contains(&wait), "{example}: no {wait} in\n{script}");
                }
                if let Some(url) = &p.health {
                    let wait = format!("{node}.wait_until_succeeds(probe(\"{url}\")");
                    assert!(script.contains(&wait), "{example}: no {wait} in\n{script}");
                    waited += 1;
                }
            }
        }
    }
    assert!(waited > 40, "health endpoints waited for: {waited}");
}

#[test]
fn the_test_script_is_python_the_driver_can_read() {
    let python = Command::new("python3").arg("--version").output();
    assert!(python.is_ok_and(|o| o.status.success()), "python3 runs");
    for example in compile::examples::names() {
        let checks = evaluated_checks(example);
        for host in &fleet(example).hosts {
            let check = &checks[&host.spec.system.value][format!("{}-vm", host.name())];
            let out = Command::new("python3")
                .args(["-c", "import ast, sys; ast.parse(sys.argv[1])"])
                .arg(check["testScript"].as_str().unwrap())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn every_secret_of_a_host_is_a_stand_in_in_its_vm() {
    for example in compile::examples::names() {
        let (fleet, files) = examples::example(example);
        for host in &fleet.hosts {
            let dir = format!("hosts/{}", host.name());
            let vm = examples::text(&files, &format!("{dir}/vm.nix"));
            let made = examples::text(&files, &format!("{dir}/vm-secrets.nix"));
            let secrets = compile::render::vm::host_secrets(&fleet, host);
            // The stand-ins are built once and named.
            if !secrets.is_empty() {
                assert!(
                    vm.contains("let\n  standIns = pkgs.callPackage ./vm-secrets.nix { };\nin\n"),
                    "{vm}"
                );
                assert_eq!(vm.matches("callPackage").count(), 1, "{vm}");
            } else {
                assert!(!vm.contains("standIns"), "{vm}");
            }
            for s in &secrets {
                let stand_in = format!(
                    "{}.file = lib.mkForce \"${{standIns}}/{}.age\";",
                    s.name, s.name
                );
                assert!(vm.contains(&stand_in), "{example}: {stand_in} not in\n{vm}");
                assert!(made.contains(&s.name), "{example}: {} not made", s.name);
            }
            if !secrets.is_empty() {
                assert!(vm.contains("identityPaths = lib.mkForce"), "{vm}");
            }
            // Nothing of the real secrets folder reaches the VM's files.
            assert!(!made.contains("secrets/") && !vm.contains("../secrets"));
        }
    }
}

#[test]
fn build_vm_uses_the_same_vm_module() {
    for example in compile::examples::names() {
        let (fleet, files) = examples::example(example);
        for host in &fleet.hosts {
            let default = examples::text(&files, &format!("hosts/{}/default.nix", host.name()));
            assert!(
                default.contains("virtualisation.vmVariant = {\n    imports = [ ./vm.nix ];"),
                "{default}"
            );
            let test = examples::text(&files, &format!("hosts/{}/vm-test.nix", host.name()));
            assert!(test.contains("./.\n    ./vm.nix\n"), "{test}");
        }
    }
}

#[test]
fn the_test_sets_only_options_of_the_test_framework() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let facts: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("nixos-options/nixos-test.json")).unwrap(),
    )
    .unwrap();
    let known: Vec<&str> = facts["test_options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["path"].as_str().unwrap())
        .collect();
    let (fleet, files) = examples::example("family");
    let host = &fleet.hosts[0];
    let file = files
        .iter()
        .find(|f| f.path == format!("hosts/{}/vm-test.nix", host.name()))
        .unwrap();
    let compile::nix::Nix::Lambda { body, .. } = &file.value else {
        panic!("vm-test.nix is a function");
    };
    let compile::nix::Nix::Call { args, .. } = body.as_ref() else {
        panic!("it calls runNixOSTest");
    };
    let compile::nix::Nix::Attrs(test) = &args[0] else {
        panic!("with a test module");
    };
    let mut paths = Vec::new();
    for (k, v) in test {
        match (k.as_str(), v) {
            ("node", compile::nix::Nix::Attrs(node)) => {
                paths.extend(node.keys().map(|n| format!("node.{n}")))
            }
            _ => paths.push(k.clone()),
        }
    }
    for p in paths {
        assert!(known.contains(&p.as_str()), "{p} is not in nixos-test.json");
    }
}

/// `vm-secrets.nix` with a `runCommand` that hands back its arguments.
const SECRETS_DERIVATION: &str = r#"
let
  made = import ./vm-secrets.nix {
    runCommand = name: attrs: script: { inherit name attrs script; };
    age = "age"; jq = "jq"; openssh = "openssh"; wireguard-tools = "wireguard-tools";
  };
in {
  inherit (made) script;
  texts = made.attrs.texts;
  sshKeys = made.attrs.sshKeys;
  wireguard = made.attrs.wireguard;
}
"#;

/// wireguard-tools is not installed here: this `wg` stands in for its
/// `genkey` and `pubkey` (a base64 key of 32 bytes, as they print).
const WG_STAND_IN: &str =
    "#!/bin/sh\n[ \"$1\" = pubkey ] && cat >/dev/null\nhead -c 32 /dev/urandom | base64\n";

#[test]
fn the_stand_in_secrets_build_and_decrypt_with_the_throwaway_identity() {
    let mut decrypted = 0;
    for example in compile::examples::names() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("flake");
        let out = Command::new(env!("CARGO_BIN_EXE_homelab"))
            .args(["build", "--example", example, "--out"])
            .arg(&tree)
            .output()
            .unwrap();
        assert!(out.status.success());
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::write(bin.join("wg"), WG_STAND_IN).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(bin.join("wg"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let fleet = fleet(example);
        for host in &fleet.hosts {
            let host_dir = tree.join("hosts").join(host.name());
            std::fs::write(host_dir.join("eval-secrets.nix"), SECRETS_DERIVATION).unwrap();
            let eval = Command::new("nix-instantiate")
                .args(["--eval", "--strict", "--json"])
                .arg(host_dir.join("eval-secrets.nix"))
                .output()
                .unwrap();
            assert!(
                eval.status.success(),
                "{}",
                String::from_utf8_lossy(&eval.stderr)
            );
            let made: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
            let texts = made["texts"].as_str().unwrap();
            let work = dir.path().join(format!("build-{}", host.name()));
            std::fs::create_dir(&work).unwrap();
            std::fs::write(work.join("texts.json"), texts).unwrap();
            let words = |k: &str| {
                made[k]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let result = Command::new("bash")
                .args(["-euo", "pipefail", "-c", made["script"].as_str().unwrap()])
                .current_dir(&work)
                .env("out", work.join("out"))
                .env("textsPath", work.join("texts.json"))
                .env("sshKeys", words("sshKeys"))
                .env("wireguard", words("wireguard"))
                .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
                .output()
                .unwrap();
            assert!(
                result.status.success(),
                "{example}/{}: {}",
                host.name(),
                String::from_utf8_lossy(&result.stderr)
            );
            let texts: serde_json::Value = serde_json::from_str(texts).unwrap();
            for s in compile::render::vm::host_secrets(&fleet, host) {
                let plain = Command::new("age")
                    .args(["--decrypt", "-i"])
                    .arg(work.join("out/identity"))
                    .arg(work.join(format!("out/{}.age", s.name)))
                    .output()
                    .unwrap();
                assert!(
                    plain.status.success(),
                    "{}: {}",
                    s.name,
                    String::from_utf8_lossy(&plain.stderr)
                );
                let plain = String::from_utf8(plain.stdout).unwrap();
                match texts.get(&s.name) {
                    Some(text) => assert_eq!(plain, text.as_str().unwrap(), "{}", s.name),
                    None if made["sshKeys"].to_string().contains(&s.name) => {
                        assert!(plain.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"))
                    }
                    None => {
                        assert!(plain.starts_with("[Interface]\nPrivateKey = "), "{plain}");
                        assert!(plain.contains("\nEndpoint = 127.0.0.1:51820\n"));
                    }
                }
                decrypted += 1;
            }
        }
    }
    assert!(decrypted > 30, "stand-ins decrypted: {decrypted}");
}
