//! `homelab status` against real parts: an example's hosts as network
//! namespaces (`support/lab.rs`), each proxy the real Caddy serving its
//! virtual hosts over HTTPS with a certificate from a test authority, a
//! stub at every bind, and on each host the real `sshd` letting root in,
//! with the host's records under its own `/var/lib/homelab` and a
//! stand-in `systemctl` (systemd cannot run here: it answers
//! `systemctl show` from states each test chooses, every unit
//! `active (running)` unless told). `homelab` runs on a LAN client, with
//! `--ssh-config` and the authority in `SSL_CERT_FILE`, as an
//! administrator at home would run it; the spec is the example's with
//! `[status] ssh_user = "root"` (the test cannot make the admin user).
//!
//! Each test asserts the exit code and names what was found, in the text
//! and in `--json`.
//!
//! Needs root, iproute2, iptables, curl, python3, openssl, OpenSSH and
//! Debian's caddy.

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

use compile::probes::Probes;
use lab::{Lab, Serve};
use serde_json::{Value, json};
use std::path::PathBuf;

/// The example's spec with `[status]` keys, written beside the lab.
fn spec(lab: &Lab, status: toml::Table) -> PathBuf {
    let mut table = toml::toml! { ssh_user = "root" };
    table.extend(status);
    lab.write_spec(table, false)
}

/// What `homelab status` will ask, read off the spec the test wrote.
fn probes(spec: &std::path::Path) -> Probes {
    let text = std::fs::read_to_string(spec).unwrap();
    let (fleet, _) = compile::compile(&text).unwrap();
    compile::probes::probes(&fleet)
}

/// An RFC 3339 time `hours` ago.
fn ago(hours: f64) -> String {
    let seconds = (hours * 3600.0) as i64;
    (jiff::Timestamp::now() - jiff::SignedDuration::from_secs(seconds)).to_string()
}

/// A backup record of `service` on `host` as `homelab backup run` keeps
/// it: each repository's last success `hours` ago.
fn backup_record(lab: &Lab, host: &str, service: &str, repositories: &[String], hours: f64) {
    let repositories: serde_json::Map<String, Value> = repositories
        .iter()
        .map(|r| {
            (
                r.clone(),
                json!({ "last_success": ago(hours), "last_snapshot": "5eed", "last_error": null }),
            )
        })
        .collect();
    let record = json!({ "service": service, "repositories": repositories });
    let file = lab
        .var_lib(host)
        .join(format!("homelab/backups/{service}.json"));
    std::fs::write(file, record.to_string()).unwrap();
}

/// A drill record of `service` on `host` as `homelab backup drill`
/// keeps it, made `hours` ago.
fn drill_record(lab: &Lab, host: &str, service: &str, repository: &str, hours: f64, passed: bool) {
    let problems: Vec<&str> = if passed {
        vec![]
    } else {
        vec!["config.toml differs from the snapshot"]
    };
    let record = json!({
        "service": service, "repository": repository, "snapshot": "5eed", "at": ago(hours),
        "passed": passed, "recovery_seconds": 4.2, "files": 12, "bytes": 3000000,
        "tables": 1, "problems": problems,
    });
    let file = lab
        .var_lib(host)
        .join(format!("homelab/drills/{service}.json"));
    std::fs::write(file, record.to_string()).unwrap();
}

/// A backup an hour ago to every repository and a drill that passed a day
/// ago, for every backed-up service of every host.
fn fresh_records(lab: &Lab, probes: &Probes) {
    for h in &probes.hosts {
        for r in &h.records {
            backup_record(lab, &h.host, &r.service, &r.repositories, 1.0);
            drill_record(lab, &h.host, &r.service, &r.repositories[0], 24.0, true);
        }
    }
}

/// `homelab status SPEC --ssh-config … args` from the LAN client.
fn status(lab: &Lab, spec: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let config = lab.ssh_config();
    let mut all = vec![
        "status",
        spec.to_str().unwrap(),
        "--ssh-config",
        config.to_str().unwrap(),
    ];
    all.extend(args);
    lab.homelab(&lab.lan, &all)
}

/// `--json`'s report, parsed.
fn report(lab: &Lab, spec: &std::path::Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["--json"];
    all.extend(args);
    let (code, out, err) = status(lab, spec, &all);
    let report: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("--json does not parse: {e}\n{out}\n{err}"));
    (code, report)
}

/// Every finding of the report: (host, finding).
fn findings(report: &Value) -> Vec<(String, Value)> {
    report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| {
            let host = h["host"].as_str().unwrap().to_string();
            h["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |f| (host.clone(), f.clone()))
        })
        .collect()
}

/// The one finding of `service` on `host` whose probe is `probe`.
fn finding(report: &Value, host: &str, service: &str, probe: &str) -> Value {
    let found: Vec<Value> = findings(report)
        .into_iter()
        .filter(|(h, f)| h == host && f["service"] == service && f["probe"] == probe)
        .map(|(_, f)| f)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one `{probe}` of {service} on {host}: {report:#}"
    );
    found[0].clone()
}

/// Every finding that is not up: (host, service, probe, saw).
fn down(report: &Value) -> Vec<(String, String, String, String)> {
    findings(report)
        .into_iter()
        .filter(|(_, f)| f["up"] != true)
        .map(|(h, f)| {
            let text = |k: &str| f[k].as_str().unwrap().to_string();
            (h, text("service"), text("probe"), text("saw"))
        })
        .collect()
}

/// The frame1 example, up: its proxy serves a certificate valid for
/// `days`, its sshd answers, its records are fresh.
fn frame1(days: u32) -> (Lab, PathBuf, Probes) {
    let mut lab = Lab::start("frame1", Serve::Https { days });
    lab.ssh("frame1");
    let spec = spec(&lab, toml::Table::new());
    let probes = probes(&spec);
    fresh_records(&lab, &probes);
    (lab, spec, probes)
}

#[test]
fn a_homelab_with_everything_up_is_all_up() {
    let (lab, spec, probes) = frame1(90);
    let (code, out, err) = status(&lab, &spec, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(": all up"), "{out}");
    assert!(out.contains("frame1 (192.168.2.241)"), "{out}");

    let (code, report) = report(&lab, &spec, &[]);
    assert_eq!(code, 0);
    assert_eq!(down(&report), vec![], "{report:#}");
    let host = &probes.hosts[0];
    assert_eq!(report["hosts"][0]["reachable"], true);
    assert_eq!(
        finding(&report, "frame1", "host", "ssh root@192.168.2.241")["saw"],
        "answers"
    );
    // Every probe the fleet defines was asked, and what it saw is named.
    for u in &host.units {
        let f = finding(&report, "frame1", &u.service, &format!("unit {}", u.unit));
        assert_eq!(f["saw"], "active (running)", "{f}");
    }
    assert!(!host.web.is_empty());
    for w in &host.web {
        let f = finding(
            &report,
            "frame1",
            &w.service,
            &format!("https://{}{}", w.name, w.path),
        );
        assert!(f["saw"].as_str().unwrap().starts_with("200 in "), "{f}");
    }
    let certificate = finding(&report, "frame1", "caddy", "certificate");
    assert!(
        certificate["saw"]
            .as_str()
            .unwrap()
            .starts_with("valid for 89 more days"),
        "{certificate}"
    );
    assert!(!host.records.is_empty(), "frame1 backs up services");
    for r in &host.records {
        for repo in &r.repositories {
            let f = finding(&report, "frame1", &r.service, &format!("backup to {repo}"));
            assert_eq!(f["saw"], "1.0 h ago", "{f}");
        }
    }
    let drills: Vec<(String, Value)> = findings(&report)
        .into_iter()
        .filter(|(_, f)| f["probe"] == "drill")
        .collect();
    assert_eq!(drills.len(), host.records.len());
    for (_, d) in drills {
        assert_eq!(d["saw"], "passed 1.0 days ago", "{d}");
    }
}

#[test]
fn a_service_that_is_down_is_named_with_what_its_probe_saw() {
    let (mut lab, spec, probes) = frame1(90);
    let host = &probes.hosts[0];
    let grafana = host.units.iter().find(|u| u.service == "grafana").unwrap();
    let web = host.web.iter().find(|w| w.service == "grafana").unwrap();
    // The process is gone and systemd says why.
    lab.stop("frame1", "grafana");
    lab.unit_state("frame1", &grafana.unit, "failed failed exit-code");

    let (code, out, err) = status(&lab, &spec, &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains(": 2 down"), "{out}");
    assert!(
        out.contains(&format!(
            "frame1 grafana: unit {}: failed (exit-code)",
            grafana.unit
        )),
        "{out}"
    );
    let page = format!("frame1 grafana: https://{}{}: 502 in ", web.name, web.path);
    assert!(out.contains(&page), "{out}");
    assert!(out.contains("ms, expected 200"), "{out}");

    let (code, report) = report(&lab, &spec, &[]);
    assert_eq!(code, 1);
    let down = down(&report);
    assert_eq!(down.len(), 2, "{down:?}");
    assert!(
        down.iter()
            .all(|(h, s, _, _)| h == "frame1" && s == "grafana")
    );
    let unit = finding(
        &report,
        "frame1",
        "grafana",
        &format!("unit {}", grafana.unit),
    );
    assert_eq!(unit["saw"], "failed (exit-code)");
    assert_eq!(unit["asked"], true);
}

#[test]
fn a_certificate_about_to_expire_or_untrusted_is_down_and_says_why() {
    let (lab, spec, _) = frame1(3);
    let (code, out, err) = status(&lab, &spec, &[]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains(": 1 down"), "{out}");
    // Issued for 3 days a moment ago: 2 whole days left.
    assert!(
        out.contains("frame1 caddy: certificate: valid for 2 more days (until "),
        "{out}"
    );
    assert!(out.contains("), fewer than 14"), "{out}");

    let (code, report) = report(&lab, &spec, &[]);
    assert_eq!(code, 1);
    let expiring = down(&report);
    assert_eq!(expiring.len(), 1, "{expiring:?}");
    assert_eq!(
        (expiring[0].1.as_str(), expiring[0].2.as_str()),
        ("caddy", "certificate")
    );

    // Served by an authority the client does not trust: every name and
    // the certificate are down, and say why.
    let other = lab::Tls::new(&lab.dir.path().join("other"), "local.kaifer.dev", 90);
    let config = lab.ssh_config();
    let args = [
        "status",
        spec.to_str().unwrap(),
        "--ssh-config",
        config.to_str().unwrap(),
        "--json",
    ];
    let (code, out, _) = lab.homelab_trusting(&lab.lan, Some(&other.ca), &args);
    assert_eq!(code, 1, "{out}");
    let report: Value = serde_json::from_str(&out).unwrap();
    let untrusted = "the certificate is signed by an authority this machine does not trust";
    let untrusting = down(&report);
    assert_eq!(
        untrusting.len(),
        5,
        "4 names and the certificate: {untrusting:?}"
    );
    for (_, _, probe, saw) in &untrusting {
        assert!(probe.starts_with("https://") || probe == "certificate");
        assert_eq!(saw, untrusted);
    }

    // A limit of 1 day lets it pass.
    let relaxed = self::spec(&lab, toml::toml! { certificate_days = 1 });
    let (code, out, err) = status(&lab, &relaxed, &[]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn a_stale_backup_and_a_failed_drill_are_named_against_their_class() {
    let (lab, spec, probes) = frame1(90);
    let host = &probes.hosts[0];
    assert!(host.records.len() >= 2, "{:?}", host.records);
    let (stale, failed) = (&host.records[0], &host.records[1]);
    let limit = f64::from(stale.backup_max_age_hours);
    backup_record(
        &lab,
        "frame1",
        &stale.service,
        &stale.repositories,
        limit + 10.0,
    );
    drill_record(
        &lab,
        "frame1",
        &failed.service,
        &failed.repositories[0],
        2.0,
        false,
    );

    let (code, out, err) = status(&lab, &spec, &[]);
    assert_eq!(code, 1, "{out}{err}");
    let backup = format!(
        "frame1 {}: backup to {}: {:.1} h ago, {} allows {} h",
        stale.service,
        stale.repositories[0],
        limit + 10.0,
        stale.class.as_str(),
        stale.backup_max_age_hours
    );
    assert!(out.contains(&backup), "{backup}\n{out}");
    let drill = format!(
        "frame1 {}: drill: the last drill failed: config.toml differs from the snapshot",
        failed.service
    );
    assert!(out.contains(&drill), "{drill}\n{out}");

    let (code, report) = report(&lab, &spec, &[]);
    assert_eq!(code, 1);
    let down = down(&report);
    assert_eq!(
        down.len(),
        stale.repositories.len() + 1,
        "the stale backups and the failed drill, nothing else: {down:?}"
    );
}

/// forge, luna and nas-1: luna's sshd does not run, nas-1 is off the
/// network; forge answers, its proxy reaches luna's service.
#[test]
fn an_unreachable_host_is_named_and_the_others_are_still_probed() {
    let mut lab = Lab::start("forge", Serve::Https { days: 90 });
    for host in ["forge", "luna", "nas-1"] {
        lab.ssh(host);
    }
    lab.stop_ssh("luna");
    let mut c = std::process::Command::new("ip");
    c.args([
        "-n",
        &lab.hosts["nas-1"].name,
        "link",
        "set",
        "eth0",
        "down",
    ]);
    lab::run(c, "nas-1 off the LAN");
    // A short probe limit: nas-1 never answers.
    let spec = spec(&lab, toml::toml! { probe_timeout = "2s" });
    let probes = probes(&spec);
    fresh_records(&lab, &probes);

    let (code, out, err) = status(&lab, &spec, &[]);
    assert_eq!(code, 1, "{out}{err}");
    let unasked: usize = probes
        .hosts
        .iter()
        .filter(|h| h.host != "forge")
        .map(|h| h.units.len())
        .sum();
    // Two hosts down; what they could not be asked is counted apart.
    let summary = format!(": 2 down, {unasked} not asked");
    assert!(out.lines().next().unwrap().ends_with(&summary), "{out}");
    assert!(
        out.contains("luna host: ssh root@10.20.0.30: unreachable over SSH: ")
            && out.contains("Connection refused"),
        "{out}"
    );
    assert!(
        out.contains("nas-1 host: ssh root@10.20.0.21: unreachable over SSH: "),
        "{out}"
    );
    // One line per host that does not answer, not one per probe it could
    // not be asked.
    let listed: Vec<&str> = out.lines().skip(1).take_while(|l| !l.is_empty()).collect();
    assert_eq!(listed.len(), 2, "{out}");

    let (code, report) = report(&lab, &spec, &[]);
    assert_eq!(code, 1);
    let hosts: Vec<(&str, bool)> = report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["host"].as_str().unwrap(), h["reachable"] == true))
        .collect();
    let expected: Vec<(&str, bool)> = probes
        .hosts
        .iter()
        .map(|h| (h.host.as_str(), h.host == "forge"))
        .collect();
    assert_eq!(hosts, expected, "{report:#}");
    // forge is probed in full, and all up: units, the names its proxy
    // serves (those behind the sign-in gateway send a visitor to it), the
    // certificate, its backups and drills.
    let forge = findings(&report)
        .into_iter()
        .filter(|(h, _)| h == "forge")
        .map(|(_, f)| f)
        .collect::<Vec<_>>();
    let p = probes.hosts.iter().find(|h| h.host == "forge").unwrap();
    assert_eq!(
        forge.len(),
        1 + p.units.len()
            + p.web.len()
            + 1
            + p.records
                .iter()
                .map(|r| r.repositories.len() + 1)
                .sum::<usize>()
    );
    for f in &forge {
        assert_eq!(f["up"], true, "{f}");
    }
    let gated = p
        .web
        .iter()
        .find(|w| w.expect == compile::probes::Expect::SignIn)
        .expect("forge has a service behind the sign-in gateway");
    let f = finding(
        &report,
        "forge",
        &gated.service,
        &format!("https://{}{}", gated.name, gated.path),
    );
    assert!(f["saw"].as_str().unwrap().contains(" to /oauth2/"), "{f}");
    // luna's units were not asked; its service still answers through
    // forge's proxy.
    let luna = probes.hosts.iter().find(|h| h.host == "luna").unwrap();
    for u in &luna.units {
        let f = finding(&report, "luna", &u.service, &format!("unit {}", u.unit));
        assert_eq!(
            (f["up"].clone(), f["asked"].clone()),
            (json!(false), json!(false))
        );
        assert_eq!(f["saw"], "not asked: the host did not answer");
    }
    assert!(!luna.web.is_empty());
    for w in &luna.web {
        let f = finding(
            &report,
            "luna",
            &w.service,
            &format!("https://{}{}", w.name, w.path),
        );
        assert_eq!(f["up"], true, "{f}");
    }

    // --host limits the run: forge alone is all up.
    let (code, report) = self::report(&lab, &spec, &["--host", "forge"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["hosts"].as_array().unwrap().len(), 1);
    assert_eq!(report["hosts"][0]["host"], "forge");
    let (code, report) = self::report(&lab, &spec, &["--host", "luna"]);
    assert_eq!(code, 1);
    assert_eq!(report["hosts"].as_array().unwrap().len(), 1);
    assert_eq!(report["hosts"][0]["reachable"], false);
    // A host the spec does not have: the command cannot run.
    let (code, out, err) = status(&lab, &spec, &["--host", "nas-0"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("the spec has no host `nas-0`"), "{err}");
}
