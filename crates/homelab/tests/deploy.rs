//! `homelab deploy` against real parts: an example's hosts as network
//! namespaces (`support/lab.rs`), each proxy the real Caddy serving its
//! virtual hosts over HTTPS with a certificate from a test authority, a
//! stub at every bind, and on each host the real `sshd` letting root in.
//! `homelab` runs on a LAN client as an administrator at home runs it,
//! with `--ssh-config`, the authority in `SSL_CERT_FILE` and the history
//! under a folder of the test (`XDG_STATE_HOME`); the spec is the
//! example's with the lab's keys, `[status] ssh_user = "root"` (the test
//! cannot make the admin user) and a short gate (a probe every second, 2
//! passes in a row, within 8 s).
//!
//! Stand-ins, because a NixOS activation cannot run here (`Standins` in
//! `support/standins.rs`): each host's `/nix/store` (a folder of the test, in
//! the mount namespace of its sshd) holds the system it runs,
//! `nixos-system-<host>-25.11-before`, and receives the one deployed,
//! `…-after`, whose `bin/switch-to-configuration` records its goal and
//! time and does what the test says: exit with a code, leave a service
//! down (its unit `failed`, its stub answering 503 through the real
//! Caddy), bring every service back, drop SSH half way. On the host,
//! `systemd-run` runs the switch detached and keeps its unit's state for
//! `systemctl show` until `stop`/`reset-failed`, `nix-env` links the
//! profile's generations, `zfs` records what it is asked. On the admin
//! machine, `nix build` prints the `after` system and `nix copy` sends it
//! with `NIX_SSHOPTS` over the real SSH into the host's store.
//!
//! Each test asserts the exit code, the summary or the JSON, and what
//! the stand-ins recorded.
//!
//! Needs root, iproute2, iptables, curl, python3, openssl, OpenSSH,
//! Debian's nix-bin (for its `/nix`, which the hosts' mount namespaces
//! cover) and Debian's caddy.

#[path = "support/bin.rs"]
mod bin;
#[path = "support/examples.rs"]
#[allow(dead_code)]
mod examples;
#[path = "support/lab.rs"]
mod lab;
#[path = "support/netns.rs"]
mod netns;
#[path = "support/sshd.rs"]
mod sshd;
#[path = "support/standins.rs"]
mod standins;

use lab::{Lab, Serve};
use serde_json::Value;
use standins::{Activation, executable, pair};
use std::path::{Path, PathBuf};

/// Replaces every SSH public key of `v` with `key`.
fn replace_keys(v: &mut toml::Value, key: &str) {
    match v {
        toml::Value::String(s) if s.starts_with("ssh-ed25519 ") => *s = key.to_string(),
        toml::Value::Array(a) => a.iter_mut().for_each(|v| replace_keys(v, key)),
        toml::Value::Table(t) => t.iter_mut().for_each(|(_, v)| replace_keys(v, key)),
        _ => {}
    }
}

/// The example's spec as the lab runs it, with `deploy` keys on top of
/// the short gate; written beside the lab.
fn spec(lab: &Lab, deploy: toml::Table) -> PathBuf {
    let spec: toml::Table = compile::examples::get(&lab.example)
        .unwrap()
        .parse()
        .unwrap();
    let mut spec = toml::Value::Table(spec);
    // The lab's keys: the example's are refused by a build.
    replace_keys(&mut spec, &lab.client_key());
    let toml::Value::Table(mut spec) = spec else {
        unreachable!()
    };
    for (name, host) in spec["hosts"].as_table_mut().unwrap() {
        host.as_table_mut()
            .unwrap()
            .insert("host_key".into(), lab.host_key(name).into());
    }
    spec.insert("status".into(), toml::toml! { ssh_user = "root" }.into());
    let table = spec
        .entry("deploy")
        .or_insert_with(|| toml::Table::new().into())
        .as_table_mut()
        .unwrap();
    table.extend(toml::toml! {
        gate_interval = "1s"
        gate_passes = 2
        gate_window = "8s"
    });
    table.extend(deploy);
    let path = lab.dir.path().join("homelab.toml");
    std::fs::write(&path, toml::to_string(&spec).unwrap()).unwrap();
    path
}

/// The example up, every host answering over SSH and running its
/// `before` system, and an `after` system built for each: healthy unless
/// `activations` says otherwise.
fn start(example: &str, activations: &[(&str, Activation)]) -> (Lab, PathBuf) {
    let mut lab = Lab::start(example, Serve::Https { days: 90 });
    let hosts: Vec<String> = lab.hosts.keys().cloned().collect();
    for host in &hosts {
        lab.ssh(host);
        lab.running(host);
        let activation = activations
            .iter()
            .find(|(h, _)| h == host)
            .map_or_else(Activation::healthy, |(_, a)| a.clone());
        lab.built(host, &activation);
    }
    let spec = spec(&lab, toml::Table::new());
    (lab, spec)
}

/// `homelab deploy --spec SPEC --ssh-config … args` from the LAN client.
fn deploy(lab: &Lab, spec: &Path, args: &[&str]) -> (i32, String, String) {
    let config = lab.ssh_config();
    let mut all = vec![
        "deploy",
        "--spec",
        spec.to_str().unwrap(),
        "--ssh-config",
        config.to_str().unwrap(),
    ];
    all.extend(args);
    lab.admin_homelab(&all)
}

/// `--json`'s outcomes, by host.
fn deploy_json(lab: &Lab, spec: &Path, args: &[&str]) -> (i32, Vec<Value>) {
    let mut all = vec!["--json"];
    all.extend(args);
    let (code, out, err) = deploy(lab, spec, &all);
    let outcomes: Vec<Value> = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("--json does not parse: {e}\n{out}\n{err}"));
    (code, outcomes)
}

fn outcome<'a>(outcomes: &'a [Value], host: &str) -> &'a Value {
    outcomes
        .iter()
        .find(|o| o["host"] == host)
        .unwrap_or_else(|| panic!("no outcome for {host}: {outcomes:#?}"))
}

/// The summary's row of `host`, split into its columns.
fn row<'a>(out: &'a str, host: &str) -> Vec<&'a str> {
    let line = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(host))
        .unwrap_or_else(|| panic!("no row for {host}:\n{out}"));
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// The units of `service` on `host`, as the gate probes them.
fn units(spec: &Path, host: &str, service: &str) -> Vec<String> {
    let text = std::fs::read_to_string(spec).unwrap();
    let (fleet, _) = compile::compile(&text).unwrap();
    let probes = compile::probes::probes(&fleet);
    let h = probes.hosts.iter().find(|h| h.host == host).unwrap();
    let units: Vec<String> = h
        .units
        .iter()
        .filter(|u| u.service == service)
        .map(|u| u.unit.clone())
        .collect();
    assert!(!units.is_empty(), "{service} has units on {host}");
    units
}

/// What a deploy of `spec` does to each host, read off the spec.
fn targets(spec: &Path) -> Vec<compile::deploy::Target> {
    let text = std::fs::read_to_string(spec).unwrap();
    let (fleet, _) = compile::compile(&text).unwrap();
    compile::deploy::targets(&fleet)
}

/// `/nix/store/<hash>-<name>` → `<name>`.
fn name(system: &str) -> String {
    system
        .strip_prefix("/nix/store/")
        .and_then(|s| s.split_once('-'))
        .unwrap()
        .1
        .to_string()
}

fn switched(lab: &Lab, host: &str) -> Vec<(String, String)> {
    lab.standins(host).switches()
}

/// The switch units the stand-ins still hold on `host`.
fn switch_units_left(lab: &Lab, host: &str) -> Vec<String> {
    lab.standins(host)
        .unit_files()
        .into_iter()
        .filter(|u| u.starts_with("homelab-switch-"))
        .collect()
}

/// The deploy history, as `--log --json` shows it.
fn history(lab: &Lab) -> Vec<Value> {
    let (code, out, err) = lab.admin_homelab(&["deploy", "--log", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn every_host_deploys_passes_its_gate_and_is_kept_in_the_history() {
    let (lab, spec) = start("family", &[]);
    let targets = targets(&spec);
    let before: Vec<String> = targets.iter().map(|t| lab.system(&t.host)).collect();

    let (code, out, err) = deploy(&lab, &spec, &[]);
    assert_eq!(code, 0, "{out}{err}");
    // What the build wrote, then the summary.
    assert!(out.starts_with("wrote "), "{out}");
    assert!(out.lines().any(|l| l.starts_with("HOST ")), "{out}");
    for t in &targets {
        let host = &t.host;
        let cells = row(&out, host);
        assert_eq!(cells[1], "deployed", "{out}");
        assert_eq!(cells[2], format!("nixos-system-{host}-25.11-before"));
        assert_eq!(cells[3], format!("nixos-system-{host}-25.11-after"));
        assert_eq!(cells[4], "passed (2 rounds)", "{out}");
    }
    assert!(!out.contains("error"), "{out}");
    // The live lines, one per step, in a pipe.
    assert!(err.contains("server: switching"), "{err}");
    assert!(
        err.contains("server: health gate: round 2, 2 of 2 passes in a row"),
        "{err}"
    );

    let entries = history(&lab);
    assert_eq!(entries.len(), 3, "{entries:#?}");
    let id = entries[0]["id"].as_str().unwrap().to_string();
    let admin = lab.admin();
    let copies = std::fs::read_to_string(admin.join("copies")).unwrap();
    for (t, before) in targets.iter().zip(&before) {
        let host = &t.host;
        let after = lab.system(host);
        assert_eq!(name(&after), format!("nixos-system-{host}-25.11-after"));
        let s = lab.standins(host);
        assert_eq!(s.switches(), vec![pair(&name(&after), "switch")]);
        assert_eq!(
            s.calls("nix-env"),
            vec![format!("-p /nix/var/nix/profiles/system --set {after}")]
        );
        let unit = format!("homelab-switch-{id}");
        assert_eq!(
            s.calls("systemd-run"),
            vec![format!(
                "--unit={unit} --description=homelab: switch to {after} \
                 --property=RemainAfterExit=yes --service-type=exec --quiet -- \
                 {after}/bin/switch-to-configuration switch"
            )]
        );
        assert_eq!(
            s.calls("systemctl"),
            vec![
                format!("stop {unit}.service"),
                format!("reset-failed {unit}.service")
            ]
        );
        assert_eq!(switch_units_left(&lab, host), Vec::<String>::new());
        // The critical datasets, in one snapshot named after the deploy.
        let snapshot: Vec<String> = t
            .datasets
            .iter()
            .map(|d| format!("{d}@homelab-deploy-{id}"))
            .collect();
        if t.datasets.is_empty() {
            assert_eq!(s.calls("zfs"), Vec::<String>::new(), "{host}");
        } else {
            assert_eq!(
                s.calls("zfs"),
                vec![format!("snapshot {}", snapshot.join(" "))]
            );
        }
        // Copied over SSH with the ssh options of the deploy.
        let address = &t.probes.address;
        let copy = format!(
            "NIX_SSHOPTS=-p 22 -F {} --extra-experimental-features nix-command flakes \
             copy --to ssh-ng://root@{address} {after}",
            lab.ssh_config().display()
        );
        assert!(
            copies.lines().any(|l| l == copy),
            "{copy}\nnot in:\n{copies}"
        );
        let entry = entries.iter().find(|e| e["host"] == *host).unwrap();
        assert_eq!(entry["result"], "deployed");
        assert_eq!(entry["before"], before.as_str());
        assert_eq!(entry["after"], after.as_str());
        assert!(
            entry["gate"]
                .as_str()
                .unwrap()
                .starts_with("passed after 2 rounds in "),
            "{entry}"
        );
        assert!(entry["message"].is_null());
    }
    assert!(
        targets.iter().any(|t| !t.datasets.is_empty())
            && targets.iter().any(|t| t.datasets.is_empty()),
        "family has hosts with and without critical datasets"
    );

    let (code, out, _) = lab.admin_homelab(&["deploy", "--log"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("DEPLOY "), "{out}");
    for t in &targets {
        let line = out
            .lines()
            .find(|l| l.contains(&format!("{id}  {}  ", t.host)))
            .unwrap_or_else(|| panic!("{} not in the history:\n{out}", t.host));
        assert!(line.contains("deployed"), "{line}");
        assert!(
            line.contains(&format!("nixos-system-{}-25.11-after", t.host)),
            "{line}"
        );
    }
}

#[test]
fn a_unit_that_fails_to_start_is_named_and_the_host_is_switched_back() {
    let mut lab = Lab::start("frame1", Serve::Https { days: 90 });
    lab.ssh("frame1");
    let before = lab.running("frame1");
    let spec = spec(&lab, toml::Table::new());
    let grafana = units(&spec, "frame1", "grafana");
    // Grafana does not start: the switch exits 4.
    let after = lab.built(
        "frame1",
        &Activation {
            exit: 4,
            ..Activation::breaking("grafana", &grafana)
        },
    );

    let (code, outcomes) = deploy_json(&lab, &spec, &[]);
    assert_eq!(code, 1, "{outcomes:#?}");
    let o = outcome(&outcomes, "frame1");
    assert_eq!(o["result"], "rolled-back", "{o:#}");
    let message = o["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "frame1: switch-to-configuration exited 4: a unit failed to start or a job timed out"
        ),
        "{message}"
    );
    assert!(
        message.ends_with("; back on the previous system, which is healthy"),
        "{message}"
    );
    assert_eq!(o["before"], before.as_str());
    assert_eq!(o["after"], before.as_str());
    assert!(o["gate"].is_null(), "a failed switch is not gated");
    // Gated again on the old system.
    assert_eq!(o["regate"]["passed"], true, "{o:#}");
    assert_eq!(o["regate"]["rounds"], 2);

    assert_eq!(lab.system("frame1"), before);
    let s = lab.standins("frame1");
    assert_eq!(
        s.switches(),
        vec![
            pair(&name(&after), "switch"),
            pair(&name(&before), "switch")
        ]
    );
    assert_eq!(
        s.calls("nix-env"),
        vec![
            format!("-p /nix/var/nix/profiles/system --set {after}"),
            format!("-p /nix/var/nix/profiles/system --set {before}"),
        ]
    );
    let units: Vec<String> = s
        .calls("systemd-run")
        .iter()
        .map(|c| c.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(units.len(), 2, "{units:?}");
    assert!(units[1].ends_with("-back"), "{units:?}");
    // The failed unit was reset, the other stopped: none is left.
    let calls = s.calls("systemctl");
    assert_eq!(calls.len(), 4, "{calls:?}");
    assert!(
        calls[1].starts_with("reset-failed homelab-switch-"),
        "{calls:?}"
    );
    assert_eq!(switch_units_left(&lab, "frame1"), Vec::<String>::new());
    // The old system brought grafana back.
    assert_eq!(s.unit_files(), Vec::<String>::new());
}

#[test]
fn a_system_that_breaks_a_service_fails_the_gate_and_is_rolled_back() {
    let mut lab = Lab::start("frame1", Serve::Https { days: 90 });
    lab.ssh("frame1");
    let before = lab.running("frame1");
    let spec = spec(&lab, toml::Table::new());
    let grafana = units(&spec, "frame1", "grafana");
    // The switch succeeds; grafana is down after it.
    let after = lab.built("frame1", &Activation::breaking("grafana", &grafana));

    let (code, out, err) = deploy(&lab, &spec, &[]);
    assert_eq!(code, 1, "{out}{err}");
    let cells = row(&out, "frame1");
    assert_eq!(cells[1], "rolled-back", "{out}");
    assert_eq!(cells[3], "nixos-system-frame1-25.11-before", "{out}");
    assert!(cells[4].starts_with("FAILED ("), "{out}");
    let error = format!(
        "error: frame1: the health gate failed: grafana unit {}: failed (exit-code); \
         back on the previous system, which is healthy",
        grafana[0]
    );
    assert!(out.contains(&error), "{error}\n{out}");
    assert!(
        err.contains("frame1: rolling back: frame1: the health gate failed: "),
        "{err}"
    );
    assert!(
        err.contains("frame1: health gate on the previous system: round 2, 2 of 2"),
        "{err}"
    );

    assert_eq!(lab.system("frame1"), before);
    let s = lab.standins("frame1");
    assert_eq!(
        s.switches(),
        vec![
            pair(&name(&after), "switch"),
            pair(&name(&before), "switch")
        ]
    );
    assert_eq!(s.unit_files(), Vec::<String>::new(), "grafana is back");

    // The history has the gate's verdict and the message.
    let entries = history(&lab);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["result"], "rolled-back");
    assert!(
        entries[0]["gate"]
            .as_str()
            .unwrap()
            .starts_with("failed after "),
        "{:#}",
        entries[0]
    );
    assert_eq!(
        entries[0]["message"].as_str().unwrap(),
        error.strip_prefix("error: ").unwrap()
    );

    // The web probe names what it saw, through the proxy, when the unit
    // is up but the service does not answer.
    let only_web = lab.built(
        "frame1",
        &Activation {
            down: vec!["grafana".into()],
            ..Activation::default()
        },
    );
    assert_eq!(only_web, after, "the same system, built again");
    let (code, outcomes) = deploy_json(&lab, &spec, &[]);
    assert_eq!(code, 1, "{outcomes:#?}");
    let o = outcome(&outcomes, "frame1");
    let failed = o["gate"]["failed"].as_array().unwrap();
    assert!(
        failed[0].as_str().unwrap().starts_with("grafana https://"),
        "{o:#}"
    );
    assert!(
        failed[1].as_str().unwrap().contains("503 in "),
        "{failed:?}"
    );
    assert!(
        failed[1].as_str().unwrap().ends_with("ms, expected 200"),
        "{failed:?}"
    );
    assert_eq!(o["regate"]["passed"], true);
    assert_eq!(lab.system("frame1"), before);
}

#[test]
fn one_host_failing_leaves_the_others_deployed() {
    // nas's activation script fails.
    let failing = Activation {
        exit: 2,
        ..Activation::default()
    };
    let (lab, spec) = start("family", &[("nas", failing)]);
    let before = lab.system("nas");

    let (code, outcomes) = deploy_json(&lab, &spec, &[]);
    assert_eq!(code, 1, "{outcomes:#?}");
    let nas = outcome(&outcomes, "nas");
    assert_eq!(nas["result"], "rolled-back", "{nas:#}");
    assert!(
        nas["message"]
            .as_str()
            .unwrap()
            .starts_with("nas: switch-to-configuration exited 2: the activation script failed"),
        "{nas:#}"
    );
    assert_eq!(nas["regate"]["passed"], true);
    assert_eq!(lab.system("nas"), before);
    for host in ["server", "hub"] {
        let o = outcome(&outcomes, host);
        assert_eq!(o["result"], "deployed", "{o:#}");
        assert_eq!(o["gate"]["passed"], true);
        assert!(o["message"].is_null());
        let after = lab.system(host);
        assert_eq!(o["after"], after.as_str());
        assert_eq!(name(&after), format!("nixos-system-{host}-25.11-after"));
        assert_eq!(switched(&lab, host), vec![pair(&name(&after), "switch")]);
    }
    assert_eq!(
        switched(&lab, "nas"),
        vec![
            pair("nixos-system-nas-25.11-after", "switch"),
            pair("nixos-system-nas-25.11-before", "switch")
        ]
    );
    // All at once: the switches started closer together than the time
    // any one host's deploy took, which one after the other they could
    // not.
    let started: Vec<f64> = ["server", "nas", "hub"]
        .iter()
        .map(|h| {
            let line = &lab.standins(h).calls("switch-to-configuration")[0];
            line.split_whitespace().nth(2).unwrap().parse().unwrap()
        })
        .collect();
    let spread = started.iter().cloned().fold(f64::MIN, f64::max)
        - started.iter().cloned().fold(f64::MAX, f64::min);
    let shortest = outcomes
        .iter()
        .map(|o| o["seconds"].as_f64().unwrap())
        .fold(f64::MAX, f64::min);
    assert!(
        spread < shortest,
        "the switches started {spread:.2} s apart; the shortest deploy took {shortest:.2} s"
    );
}

#[test]
fn all_or_nothing_switches_the_deployed_hosts_back_too() {
    let failing = Activation {
        exit: 2,
        ..Activation::default()
    };
    let (lab, spec) = start("family", &[("nas", failing)]);
    let before: Vec<(String, String)> = ["server", "nas", "hub"]
        .iter()
        .map(|h| (h.to_string(), lab.system(h)))
        .collect();

    let (code, out, err) = deploy(&lab, &spec, &["--all-or-nothing"]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(row(&out, "nas")[1], "rolled-back", "{out}");
    for host in ["server", "hub"] {
        let cells = row(&out, host);
        assert_eq!(cells[1], "rolled-back-with-the-others", "{out}");
        assert_eq!(cells[4], "passed (2 rounds)", "its own gate passed: {out}");
        assert!(
            out.contains(&format!(
                "error: {host}: another host failed (--all-or-nothing); \
                 back on the previous system, which is healthy"
            )),
            "{out}"
        );
        assert_eq!(
            switched(&lab, host),
            vec![
                pair(&format!("nixos-system-{host}-25.11-after"), "switch"),
                pair(&format!("nixos-system-{host}-25.11-before"), "switch"),
            ]
        );
    }
    for (host, system) in &before {
        assert_eq!(&lab.system(host), system, "{host} is back");
    }
    let entries = history(&lab);
    let results: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["host"].as_str().unwrap(), e["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        results,
        vec![
            ("server", "rolled-back-with-the-others"),
            ("nas", "rolled-back"),
            ("hub", "rolled-back-with-the-others")
        ]
    );
}

#[test]
fn a_host_that_does_not_answer_over_ssh_fails_before_anything_changes() {
    let (mut lab, spec) = start("forge", &[]);
    lab.stop_ssh("luna");
    let before = lab.system("luna");

    let (code, out, err) = deploy(&lab, &spec, &[]);
    assert_eq!(code, 1, "{out}{err}");
    let cells = row(&out, "luna");
    assert_eq!(cells[1], "failed", "{out}");
    assert_eq!((cells[2], cells[3], cells[4]), ("-", "-", "-"), "{out}");
    assert!(
        out.contains(
            "error: luna: reading the current system failed (the SSH connection failed): "
        ),
        "{out}"
    );
    assert!(out.contains("Connection refused"), "{out}");
    // Nothing reached luna, nothing was copied there.
    let s = lab.standins("luna");
    for program in ["switch-to-configuration", "nix-env", "systemd-run", "zfs"] {
        assert_eq!(s.calls(program), Vec::<String>::new(), "{program}");
    }
    assert_eq!(lab.system("luna"), before);
    let copies = std::fs::read_to_string(lab.admin().join("copies")).unwrap();
    assert!(!copies.contains(&lab.lan_address["luna"]), "{copies}");
    // The others deployed.
    for host in ["forge", "nas-1"] {
        assert_eq!(row(&out, host)[1], "deployed", "{out}");
        assert_eq!(
            name(&lab.system(host)),
            format!("nixos-system-{host}-25.11-after")
        );
    }
}

#[test]
fn a_switch_that_drops_the_ssh_connection_is_still_read_and_gated() {
    let mut lab = Lab::start("frame1", Serve::Https { days: 90 });
    lab.ssh("frame1");
    lab.running("frame1");
    let after = lab.built(
        "frame1",
        &Activation {
            drop_ssh: true,
            ..Activation::healthy()
        },
    );
    let spec = spec(&lab, toml::Table::new());

    let (code, outcomes) = deploy_json(&lab, &spec, &[]);
    assert_eq!(code, 0, "{outcomes:#?}");
    let o = outcome(&outcomes, "frame1");
    assert_eq!(o["result"], "deployed", "{o:#}");
    assert_eq!(o["gate"]["passed"], true);
    assert_eq!(lab.system("frame1"), after);
    let s = lab.standins("frame1");
    let ssh: Vec<String> = s
        .calls("ssh")
        .iter()
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(ssh, ["dropped", "back"], "sshd went away and came back");
    assert_eq!(s.switches(), vec![pair(&name(&after), "switch")]);
    // Its end was read over a new connection, and its unit ended.
    let unit = s.calls("systemd-run")[0]
        .split_whitespace()
        .next()
        .unwrap()
        .strip_prefix("--unit=")
        .unwrap()
        .to_string();
    assert_eq!(
        s.calls("systemctl"),
        vec![
            format!("stop {unit}.service"),
            format!("reset-failed {unit}.service")
        ]
    );
    assert_eq!(switch_units_left(&lab, "frame1"), Vec::<String>::new());
}

#[test]
fn a_dry_run_prints_the_commands_and_changes_nothing() {
    let (lab, spec) = start("family", &[]);
    let before: Vec<String> = ["server", "nas", "hub"]
        .iter()
        .map(|h| lab.system(h))
        .collect();

    let (code, out, err) = deploy(&lab, &spec, &["--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("deploy ")
            && first.ends_with(": 3 host(s); nothing is changed (--dry-run)"),
        "{out}"
    );
    let id = first
        .strip_prefix("deploy ")
        .unwrap()
        .split(':')
        .next()
        .unwrap();
    let flake = lab.dir.path().join("flake");
    for t in targets(&spec) {
        assert!(out.contains(&format!("\n{}:\n", t.host)), "{out}");
        assert!(
            out.contains(&format!(
                "nix build --no-link --print-out-paths path:{}#{}",
                flake.display(),
                t.attribute
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "root@{} readlink -f /nix/var/nix/profiles/system",
                t.probes.address
            )),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "nix copy --to ssh-ng://root@{} <system>",
                t.probes.address
            )),
            "{out}"
        );
        if !t.datasets.is_empty() {
            let snapshots: Vec<String> = t
                .datasets
                .iter()
                .map(|d| format!("{d}@homelab-deploy-{id}"))
                .collect();
            assert!(
                out.contains(&format!("zfs snapshot {}\n", snapshots.join(" "))),
                "{out}"
            );
        }
    }
    assert!(
        out.contains("nix-env -p /nix/var/nix/profiles/system --set <system>"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "systemd-run --unit=homelab-switch-{id} '--description=homelab: switch to <system>' \
             --property=RemainAfterExit=yes --service-type=exec --quiet -- \
             <system>/bin/switch-to-configuration switch"
        )),
        "{out}"
    );
    assert!(out.contains("6. gate       "), "the gate is named: {out}");

    // Nothing changed: no flake written, nothing built, no host asked, no
    // history.
    assert!(!flake.exists(), "the flake was written");
    let admin = lab.admin();
    assert!(!admin.join("calls").exists(), "nix was run");
    assert!(!admin.join("state").exists(), "a history was kept");
    for (host, system) in ["server", "nas", "hub"].iter().zip(&before) {
        assert_eq!(&lab.system(host), system);
        let s = lab.standins(host);
        for program in ["switch-to-configuration", "nix-env", "systemd-run", "zfs"] {
            assert_eq!(s.calls(program), Vec::<String>::new(), "{host} {program}");
        }
    }
}

#[test]
fn boot_stages_the_new_system_without_activating_or_gating_it() {
    let mut lab = Lab::start("frame1", Serve::Https { days: 90 });
    lab.ssh("frame1");
    let before = lab.running("frame1");
    let spec = spec(&lab, toml::Table::new());
    // Activated, it would break grafana: --boot activates nothing.
    let grafana = units(&spec, "frame1", "grafana");
    let after = lab.built("frame1", &Activation::breaking("grafana", &grafana));

    let (code, out, err) = deploy(&lab, &spec, &["--boot"]);
    assert_eq!(code, 0, "{out}{err}");
    let cells = row(&out, "frame1");
    assert_eq!(cells[1], "staged", "{out}");
    assert_eq!(cells[2], "nixos-system-frame1-25.11-before");
    assert_eq!(
        cells[3], "nixos-system-frame1-25.11-before",
        "it runs the old system until it boots"
    );
    assert_eq!(cells[4], "-", "no gate: {out}");
    assert!(!err.contains("health gate"), "{err}");

    // The profile boots the new system; its switch ran for `boot` only.
    assert_eq!(lab.system("frame1"), after);
    let s = lab.standins("frame1");
    assert_eq!(s.switches(), vec![pair(&name(&after), "boot")]);
    assert!(
        s.calls("systemd-run")[0].ends_with(&format!("{after}/bin/switch-to-configuration boot")),
        "{:?}",
        s.calls("systemd-run")
    );
    assert_eq!(s.unit_files(), Vec::<String>::new(), "nothing was broken");
    let entries = history(&lab);
    assert_eq!(entries[0]["result"], "staged");
    assert_eq!(entries[0]["before"], before.as_str());
    assert!(entries[0]["gate"].is_null());
}

/// `tool = "deploy-rs"`: deploy-rs copies and activates (a stand-in on the
/// admin's PATH records what it was asked: deploy-rs cannot reach a
/// NixOS activation here), homelab neither copies nor switches, and the
/// gate follows as for its own switch.
#[test]
fn deploy_rs_activates_and_homelab_gates() {
    let mut lab = Lab::start("frame1", Serve::Https { days: 90 });
    lab.ssh("frame1");
    lab.running("frame1");
    lab.built("frame1", &Activation::healthy());
    let spec = spec(&lab, toml::toml! { tool = "deploy-rs" });
    let admin = lab.admin();
    let calls = admin.join("deploy-rs-calls");
    let standin = admin.join("bin").join("deploy");
    executable(
        &standin,
        &format!("#!/bin/sh\necho \"$*\" >> {}\n", calls.display()),
    );

    // The dry run says so: deploy-rs copies and activates.
    let (code, out, err) = deploy(&lab, &spec, &["--dry-run"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("  4. copy       deploy --skip-checks 'path:"),
        "{out}"
    );
    assert!(
        !out.contains("nix copy") && !out.contains("nix-env"),
        "{out}"
    );
    assert!(!calls.exists(), "a dry run ran deploy-rs");

    let (code, out, err) = deploy(&lab, &spec, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(row(&out, "frame1")[1], "deployed", "{out}");
    let asked = std::fs::read_to_string(&calls).expect("deploy-rs ran");
    assert!(
        asked.starts_with("--skip-checks ") && asked.trim_end().ends_with("#frame1"),
        "{asked}"
    );
    assert_eq!(switched(&lab, "frame1"), Vec::new(), "homelab switched too");
    assert!(
        !admin.join("copies").exists(),
        "homelab copied what deploy-rs copies"
    );
}
