//! The generated flake's operating side, for every example: the hosts run
//! `homelab backup run`, `drill` and `preseed` from the `homelab` input,
//! with the schedules, units and repositories of their `plan.json`; the
//! NAS serves an append-only repository per source host; Gatus carries a
//! heartbeat per service and job whose keys the jobs push to. Also the
//! repository's own `flake.nix` that builds that input.

use compile::plan::{Heartbeat, Plan, heartbeat_key};
use compile::render::File;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

#[path = "support/examples.rs"]
mod examples;
use examples::{example, text};

fn plans(files: &[File]) -> Vec<Plan> {
    files
        .iter()
        .filter(|f| f.path.ends_with("/plan.json"))
        .map(|f| serde_json::from_str(&f.text()).unwrap())
        .collect()
}

fn backs_up(plan: &Plan) -> bool {
    plan.services.iter().any(|s| !s.repositories.is_empty())
}

#[test]
fn hosts_back_up_drill_and_preseed_as_their_plan_says() {
    for name in compile::examples::names() {
        let (_, files) = example(name);
        for plan in plans(&files) {
            let host = &plan.host;
            let default = text(&files, &format!("hosts/{host}/default.nix"));
            if !backs_up(&plan) {
                let ops = files
                    .iter()
                    .find(|f| f.path == format!("hosts/{host}/operations.nix"));
                assert!(
                    ops.is_none_or(|f| !f.text().contains("homelab-backup")),
                    "{name}/{host}"
                );
                continue;
            }
            assert!(default.contains("./operations.nix"), "{name}/{host}");
            let ops = text(&files, &format!("hosts/{host}/operations.nix"));
            // The package the `homelab` input's NixOS module sets.
            let homelab = "${config.homelab.package}/bin/homelab";
            for command in ["backup run", "backup drill --all"] {
                let exec =
                    format!("ExecStart = \"{homelab} {command} --plan /etc/homelab/plan.json\";");
                assert!(ops.contains(&exec), "{name}/{host}: {exec}");
            }
            // The timers' calendars are the plan's; a missed run is caught up.
            let timers = ops.split("timers = {").nth(1).unwrap();
            for (timer, schedule) in [
                ("homelab-backup", &plan.services[0].schedule),
                ("homelab-drill", &plan.drill.schedule),
            ] {
                let t = timers.split(&format!("{timer} = {{")).nth(1).unwrap();
                let t = t.split("\n      };").next().unwrap();
                assert!(
                    t.contains(&format!("OnCalendar = \"{schedule}\";")),
                    "{name}/{host}: {t}"
                );
                assert!(t.contains("Persistent = true;"), "{t}");
                assert!(t.contains("wantedBy = [ \"timers.target\" ];"), "{t}");
            }
            // One preseed unit per backed-up service, before and required
            // by exactly the plan's units (the host's own state has none).
            let preseeded = plan
                .services
                .iter()
                .filter(|s| !s.repositories.is_empty() && !s.units.is_empty());
            for s in preseeded {
                let unit = ops
                    .split(&format!("homelab-preseed-{} = {{", s.name))
                    .nth(1)
                    .unwrap_or_else(|| panic!("{name}/{host}: no preseed of {}", s.name));
                let unit = unit.split("\n      };\n").next().unwrap();
                assert!(
                    unit.contains(&format!("{homelab} backup preseed {} --plan", s.name)),
                    "{unit}"
                );
                assert!(unit.contains("RemainAfterExit = true;"), "{unit}");
                for u in &s.units {
                    assert!(unit.contains(&format!("\"{u}\"")), "{name}/{}: {u}", s.name);
                }
                assert_eq!(unit.matches("requiredBy").count(), 1, "{unit}");
            }
            // The old per-host restic job is gone: one backup path.
            for f in files
                .iter()
                .filter(|f| f.path.starts_with(&format!("hosts/{host}/")))
            {
                assert!(!f.text().contains("restic.backups"), "{name}: {}", f.path);
            }
        }
    }
}

#[test]
fn the_flake_takes_homelab_as_an_input_of_the_generating_version() {
    let (_, files) = example("family");
    let flake = text(&files, "flake.nix");
    let want = format!(
        "homelab = {{\n      inputs.nixpkgs.follows = \"nixpkgs\";\n      url = \"github:homelab-nix/homelab/v{}\";\n    }};",
        env!("CARGO_PKG_VERSION")
    );
    assert!(flake.contains(&want), "{flake}");
}

#[test]
fn a_fork_is_named_in_the_spec_and_a_bad_reference_is_refused() {
    let spec = compile::examples::get("frame1").unwrap();
    let forked = spec.replacen(
        "[homelab]\n",
        "[homelab]\nhomelab_flake = \"github:me/homelab/my-branch\"\n",
        1,
    );
    let (fleet, _) = compile::compile(&forked).expect("a valid fork reference");
    let flake = compile::render::render(&fleet)
        .into_iter()
        .find(|f| f.path == "flake.nix")
        .unwrap()
        .text();
    assert!(
        flake.contains("url = \"github:me/homelab/my-branch\";"),
        "{flake}"
    );

    let bad = spec.replacen(
        "[homelab]\n",
        "[homelab]\nhomelab_flake = \"me/homelab\"\n",
        1,
    );
    let diags = compile::compile(&bad).expect_err("not a flake reference");
    let d = diags
        .iter()
        .find(|d| d.message.contains("flake reference"))
        .unwrap_or_else(|| panic!("{diags:?}"));
    assert!(d.help.as_deref().unwrap_or("").contains("github:"), "{d:?}");
}

#[test]
fn the_nas_serves_an_append_only_repository_per_source_host() {
    for (name, nas, sources) in [
        ("family", "nas", &["server", "hub"][..]),
        ("forge", "nas-1", &["forge", "luna"][..]),
    ] {
        let (fleet, files) = example(name);
        let ops = text(&files, &format!("hosts/{nas}/operations.nix"));
        for setting in [
            "appendOnly = true;",
            "privateRepos = true;",
            "htpasswd-file = \"/run/homelab-nas/htpasswd\";",
            "dataDir = \"/srv/restic\";",
        ] {
            assert!(ops.contains(setting), "{name}: {setting}\n{ops}");
        }
        let nas_address = &fleet
            .hosts
            .iter()
            .find(|h| h.name() == nas)
            .unwrap()
            .spec
            .address
            .value;
        assert!(ops.contains(&format!("listenAddress = \"{nas_address}:8000\";")));
        for host in sources {
            let plan: Plan =
                serde_json::from_str(&text(&files, &format!("hosts/{host}/plan.json"))).unwrap();
            if !backs_up(&plan) {
                continue;
            }
            let address = &fleet
                .hosts
                .iter()
                .find(|h| h.name() == *host)
                .unwrap()
                .spec
                .address
                .value;
            // Only the source hosts reach the port.
            assert!(
                ops.contains(&format!(
                    "-s {address} -d {nas_address} --dport 8000 -j nixos-fw-accept  # {host}"
                )),
                "{name}: {host}"
            );
            // Its login is handed to the NAS as a credential of its name.
            assert!(
                ops.contains(&format!(
                    "\"{host}:${{config.age.secrets.restic-nas-{host}.path}}\""
                )),
                "{name}: {host}"
            );
            for s in plan.services.iter().filter(|s| !s.repositories.is_empty()) {
                let first = &s.repositories[0];
                assert_eq!(first.name, "nas");
                assert_eq!(first.url, format!("rest:http://{nas_address}:8000/{host}/"));
                assert!(!first.offsite);
                // Append-only: the NAS prunes, the host never forgets there.
                assert_eq!(first.keep, None);
                let login = format!("restic-nas-{host}");
                assert_eq!(first.environment_secret.as_deref(), Some(login.as_str()));
                let host_ops = text(&files, &format!("hosts/{host}/operations.nix"));
                assert!(host_ops.contains(&format!("{login} = {{")), "{name}/{host}");
                assert!(s.repositories[1].offsite);
            }
        }
        // Nothing of the NAS's own: no repository to itself.
        let nas_plan: Plan =
            serde_json::from_str(&text(&files, &format!("hosts/{nas}/plan.json"))).unwrap();
        assert!(
            nas_plan
                .services
                .iter()
                .flat_map(|s| &s.repositories)
                .all(|r| r.name != "nas")
        );
    }
}

#[test]
fn gatus_has_a_heartbeat_for_every_job_that_pushes() {
    for name in ["family", "forge", "frame1", "nuc"] {
        let (fleet, files) = example(name);
        let Some(gatus_host) = fleet.host_of("gatus") else {
            continue;
        };
        let mut pushed = BTreeSet::new();
        for plan in plans(&files) {
            let Some(page) = &plan.status_page else {
                assert!(!backs_up(&plan), "{name}/{}: no status page", plan.host);
                continue;
            };
            assert_eq!(page.token_secret, "homelab-heartbeat-token");
            if plan.host == gatus_host {
                assert!(page.url.starts_with("http://"), "{}", page.url);
            } else {
                assert!(page.url.starts_with("https://"), "{}", page.url);
            }
            let ops = text(&files, &format!("hosts/{}/operations.nix", plan.host));
            assert!(
                ops.contains("homelab-heartbeat-token = {"),
                "{name}/{}",
                plan.host
            );
            // The push to an `https://` status page goes through curl.
            assert_eq!(
                ops.contains("pkgs.curl"),
                page.url.starts_with("https://"),
                "{name}/{}",
                plan.host
            );
            for s in plan.services.iter().filter(|s| !s.repositories.is_empty()) {
                pushed.insert(heartbeat_key(&s.name, Heartbeat::Backup));
                pushed.insert(heartbeat_key(&s.name, Heartbeat::Drill));
            }
        }
        let ops = text(&files, &format!("hosts/{gatus_host}/operations.nix"));
        let endpoints = ops.split("external-endpoints = [").nth(1).unwrap();
        let endpoints = endpoints.split("\n  ];").next().unwrap();
        // Gatus keys an endpoint `<group>_<name>`.
        let names: Vec<&str> = endpoints
            .split("name = \"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
            .collect();
        let keys: BTreeSet<String> = names.iter().map(|n| format!("backups_{n}")).collect();
        // One endpoint per key: two hosts never push to one heartbeat.
        assert_eq!(keys.len(), names.len(), "{name}: {names:?}");
        assert_eq!(keys, pushed, "{name}");
        assert_eq!(
            endpoints
                .matches("token = \"\\${HOMELAB_HEARTBEAT_TOKEN}\";")
                .count(),
            keys.len()
        );
        assert!(ops.contains(
            "EnvironmentFile = [\n          config.age.secrets.gatus-heartbeat-token.path\n        ];"
        ), "{ops}");
        // With `[alerts]`, a missed or failed run is mailed like any check.
        let mailed = endpoints.matches("type = \"email\";").count();
        let expected = if fleet.alerts.is_some() {
            keys.len()
        } else {
            0
        };
        assert_eq!(mailed, expected, "{name}");
    }
}

#[test]
fn the_repository_flake_parses_and_pins_the_release_nixpkgs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let flake = root.join("flake.nix");
    let parsed = Command::new("nix-instantiate")
        .arg("--parse")
        .arg(&flake)
        .output()
        .expect("nix-instantiate runs (install Debian's nix-bin)");
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    let release: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("nixos-options/release.json")).unwrap(),
    )
    .unwrap();
    let pin = release["nixpkgs"]["pin"].as_str().unwrap();
    let inputs = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "-E"])
        .arg(format!("(import {}).inputs", flake.display()))
        .output()
        .unwrap();
    assert!(
        inputs.status.success(),
        "{}",
        String::from_utf8_lossy(&inputs.stderr)
    );
    let inputs: serde_json::Value = serde_json::from_slice(&inputs.stdout).unwrap();
    assert_eq!(
        inputs["nixpkgs"]["url"],
        format!("github:NixOS/nixpkgs/{pin}")
    );
}

/// Every file `cargo build` reads through `include_str!`/`include_dir!`
/// lies inside the flake's source filter.
#[test]
fn the_flake_source_keeps_what_the_build_embeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let flake = std::fs::read_to_string(root.join("flake.nix")).unwrap();
    let kept: Vec<&str> = flake
        .split("fileset.unions [")
        .nth(1)
        .unwrap()
        .split(']')
        .next()
        .unwrap()
        .split_whitespace()
        .map(|p| p.trim_start_matches("./"))
        .collect();
    let mut embedded = Vec::new();
    for entry in walk(&root.join("crates")) {
        if entry.extension().is_none_or(|e| e != "rs")
            || entry.components().any(|c| c.as_os_str() == "tests")
        {
            continue;
        }
        let source = std::fs::read_to_string(&entry).unwrap();
        for m in ["include_str!(\"", "include_dir!(\""] {
            for rest in source.split(m).skip(1) {
                let arg = rest.split('"').next().unwrap();
                let path = arg.replace(
                    "$CARGO_MANIFEST_DIR",
                    &entry
                        .ancestors()
                        .find(|a| a.join("Cargo.toml").exists())
                        .unwrap()
                        .display()
                        .to_string(),
                );
                let target = if Path::new(&path).is_absolute() {
                    std::path::PathBuf::from(path)
                } else {
                    entry.parent().unwrap().join(path)
                };
                embedded.push(
                    target
                        .canonicalize()
                        .unwrap_or_else(|e| panic!("{}: {e}", target.display())),
                );
            }
        }
    }
    assert!(embedded.len() >= 5, "{embedded:?}");
    let root = root.canonicalize().unwrap();
    for target in embedded {
        let relative = target.strip_prefix(&root).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        assert!(
            kept.contains(&top),
            "{} is outside the flake's source",
            relative.display()
        );
    }
    for needed in ["Cargo.toml", "Cargo.lock", "crates"] {
        assert!(kept.contains(&needed), "{needed}");
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[path = "support/bin.rs"]
mod bin;
#[path = "support/own_keys.rs"]
mod own_keys;

/// The operating secrets, made by `homelab secrets generate` and read back
/// with the real `age`: the NAS login as restic's environment lines, the
/// heartbeat token raw for the pushers and as Gatus's environment line
/// (the same value), and none of the values anywhere in the flake.
#[test]
fn operating_secrets_are_made_by_machine_and_never_written_out() {
    let dir = tempfile::tempdir().unwrap();
    let admin = bin::keygen(dir.path(), "admin");
    let spec = own_keys::own_keys(compile::examples::get("family").unwrap());
    let example_key = spec
        .lines()
        .find_map(|l| l.strip_prefix("admin_keys = [\""))
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    std::fs::write(
        dir.path().join("homelab.toml"),
        spec.replace(example_key, &admin),
    )
    .unwrap();
    let (code, _, err) = bin::run_in(dir.path(), &["build"]);
    assert!(code == 0, "{err}");
    let (code, _, err) = bin::run_in(dir.path(), &["secrets", "generate", "--identity", "admin"]);
    assert!(code == 0, "{err}");
    let (code, _, err) = bin::run_in(dir.path(), &["build"]);
    assert!(code == 0, "{err}");
    let decrypt = |name: &str| {
        let out = Command::new("age")
            .args(["-d", "-i"])
            .arg(dir.path().join("admin"))
            .arg(dir.path().join(format!("flake/secrets/{name}.age")))
            .output()
            .expect("age runs (Debian age)");
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let login = decrypt("restic-nas-server");
    let password = login
        .strip_prefix("RESTIC_REST_USERNAME=server\nRESTIC_REST_PASSWORD=")
        .and_then(|p| p.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("not restic's environment lines"));
    assert_eq!(password.len(), 40);
    let token = decrypt("homelab-heartbeat-token");
    assert_eq!(token.trim().len(), 40);
    assert_eq!(
        decrypt("gatus-heartbeat-token"),
        format!("HOMELAB_HEARTBEAT_TOKEN={}\n", token.trim())
    );
    for file in walk(&dir.path().join("flake")) {
        if file.extension().is_some_and(|e| e == "age") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for value in [password, token.trim()] {
            assert!(
                !text.contains(value),
                "{} holds a secret value",
                file.display()
            );
        }
    }
}

/// `[deploy] schedule` and `source`: each host gets a timer that runs
/// `homelab upgrade`, never restarted by its own switch; its plan carries
/// the flake, the gate and a check per service (its units, its health URL
/// as the host reaches it); the status page has an upgrade heartbeat per
/// host, which mails on failure like every check.
#[test]
fn a_scheduled_upgrade_runs_on_every_host_from_its_plan() {
    let spec = compile::examples::get("family").unwrap().to_string()
        + "\n[deploy]\nschedule = \"Sun 04:00\"\nsource = \"git+https://git.example.org/me/homelab-flake.git\"\ngate_window = \"3m\"\n";
    let (fleet, _) = compile::compile(&spec).unwrap_or_else(|d| panic!("{d:?}"));
    let files = compile::render::render(&fleet);
    for plan in plans(&files) {
        let host = &plan.host;
        let u = plan
            .upgrade
            .as_ref()
            .unwrap_or_else(|| panic!("{host}: no upgrade"));
        assert_eq!(u.source, "git+https://git.example.org/me/homelab-flake.git");
        assert_eq!(
            u.attribute,
            format!("nixosConfigurations.{host}.config.system.build.toplevel")
        );
        assert_eq!(
            (u.gate.window_ms, u.gate.interval_ms, u.gate.passes),
            (180_000, 2_000, 3)
        );
        assert!(!u.checks.is_empty(), "{host}");
        let ops = text(&files, &format!("hosts/{host}/operations.nix"));
        let unit = ops.split("homelab-upgrade = {").nth(1).unwrap();
        assert!(
            unit.contains("/bin/homelab upgrade --plan /etc/homelab/plan.json"),
            "{unit}"
        );
        assert!(unit.contains("restartIfChanged = false;"), "{unit}");
        let timer = ops.split("timers = {").nth(1).unwrap();
        assert!(timer.contains("OnCalendar = \"Sun 04:00\";"), "{timer}");
        assert!(plan.status_page.is_some(), "{host} reports its upgrades");
        // The plan a host loads is a plan homelab accepts.
        compile::plan::load(&compile::plan::to_json(&plan)).unwrap();
    }
    let server = plans(&files)
        .into_iter()
        .find(|p| p.host == "server")
        .unwrap();
    let immich = server
        .upgrade
        .as_ref()
        .unwrap()
        .checks
        .iter()
        .find(|c| c.service == "immich")
        .unwrap();
    assert!(immich.units.contains(&"immich-server.service".to_string()));
    assert_eq!(
        immich.health.as_ref().unwrap().url,
        "http://127.0.0.1:2283/api/server/ping"
    );
    let gatus = files
        .iter()
        .map(|f| f.text())
        .find(|t| t.contains("external-endpoints"))
        .unwrap();
    for host in ["server", "nas", "hub"] {
        assert!(
            gatus.contains(&format!("name = \"{host}-upgrade\";")),
            "{host}"
        );
    }
    assert!(gatus.contains("group = \"upgrades\";"));
    assert_eq!(
        heartbeat_key("hub", Heartbeat::Upgrade),
        "upgrades_hub-upgrade"
    );
}

/// A schedule without a source cannot upgrade anything: it is refused.
#[test]
fn a_schedule_needs_a_source() {
    let spec =
        compile::examples::get("nuc").unwrap().to_string() + "\n[deploy]\nschedule = \"daily\"\n";
    let diags = compile::compile(&spec).unwrap_err();
    assert!(diags.iter().any(|d| d.code == "missing-key"), "{diags:?}");
}

/// The repository, as the binary under test knows it.
fn repository() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

#[test]
fn build_names_a_homelab_input_that_exists_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let build = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_homelab"))
            .args(["build", "--example", "frame1", "--out", "flake"])
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let url = |dir: &Path| {
        let flake = std::fs::read_to_string(dir.join("flake/flake.nix")).unwrap();
        let homelab = flake.split("homelab = {").nth(1).unwrap();
        homelab
            .split("url = \"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };

    // No flag, no spec key: the clone this binary was built from.
    let (code, stdout, stderr) = build(&[]);
    assert_eq!(code, Some(0), "{stderr}");
    let clone = format!("git+file://{}", repository().display());
    assert_eq!(url(dir.path()), clone);
    assert!(
        stdout.contains(&format!(
            "homelab input: {clone} (the clone this homelab was built from)"
        )),
        "{stdout}"
    );

    // A local path that holds the flake.
    let path = format!("path:{}", repository().display());
    let (code, stdout, stderr) = build(&["--homelab-flake", &path]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(url(dir.path()), path);
    assert!(stdout.contains("(--homelab-flake)"), "{stdout}");

    // A folder without a flake: refused, the old tree left as it was.
    let empty = tempfile::tempdir().unwrap();
    let missing = format!("path:{}", empty.path().display());
    let (code, _, stderr) = build(&["--homelab-flake", &missing]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("which holds no flake.nix") && stderr.ends_with("nothing was written\n"),
        "{stderr}"
    );
    assert_eq!(url(dir.path()), path);
}

#[test]
fn the_repository_flake_exports_the_module_generated_hosts_import() {
    // The module, called as the module system would, with this flake's
    // package as the default of `homelab.package` (the real evaluator).
    let expr = format!(
        r#"let
          flake = import {repo}/flake.nix;
          self = {{ packages.x86_64-linux.default = "the-package"; }};
          outputs = flake.outputs {{ inherit self; nixpkgs = null; }};
          lib = {{ mkOption = o: o; types.package = "package"; literalExpression = t: t; }};
          pkgs = {{ stdenv.hostPlatform.system = "x86_64-linux"; }};
          module = outputs.nixosModules.default {{
            inherit lib pkgs;
            config.homelab.package = "chosen";
          }};
        in {{
          default = module.options.homelab.package.default;
          path = module.config.environment.systemPackages;
        }}"#,
        repo = repository().display()
    );
    let out = Command::new("nix-instantiate")
        .args(["--eval", "--strict", "--json", "--expr", &expr])
        .output()
        .expect("nix-instantiate runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["default"], "the-package");
    assert_eq!(got["path"], serde_json::json!(["chosen"]));

    // Every generated host imports it, and the units run its package.
    let (_, files) = example("family");
    let flake = text(&files, "flake.nix");
    assert!(flake.contains("homelab.nixosModules.default"), "{flake}");
}
