//! `[alerts]` in the generated flake of each example that asks for it,
//! with either metrics store (forge's is Prometheus, family's
//! VictoriaMetrics; each is also built with the other): the rule file is
//! valid for the real `promtool`, and its unit tests prove every alert
//! fires on the series that should raise it and stays quiet on the ones
//! that should not; Prometheus' configuration as the module writes it
//! passes `promtool check config`; Alertmanager's configuration, evaluated
//! by the real `nix-instantiate`, passes the real `amtool check-config`
//! and mails through the spec's relay, and the real Alertmanager run with
//! it mails an alert to a relay on loopback, and a degraded pool through
//! each whole chain (Prometheus scraping it; VictoriaMetrics and vmalert);
//! Gatus mails too, every check carries an alert; every host's node
//! exporter reads the metrics folder; and no password is written anywhere
//! but as a reference to its secret.
//!
//! Tools: Debian's `prometheus` (and promtool), `prometheus-alertmanager`
//! (amtool), `victoria-metrics` (vmalert) and `nix-bin`. A NixOS
//! activation cannot run here.

use compile::fleet::{Fleet, MetricsStore};
use compile::render::File;
use compile::spec::Exposure;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

#[path = "support/alertmanager.rs"]
mod alertmanager;
#[path = "support/examples.rs"]
mod examples;
use alertmanager::{Server, eval, eval_with, for_debian, free_port, run, smtp_sink, write};
use examples::{example, example_with_store, text};

#[path = "support/http.rs"]
mod http;

/// The examples whose seeds ask for alert mail.
const WITH_ALERTS: [&str; 2] = ["forge", "family"];

fn metrics_host(fleet: &Fleet) -> &str {
    fleet.metrics_host().unwrap()
}

fn store(fleet: &Fleet) -> MetricsStore {
    fleet.metrics_store().unwrap().0
}

/// The rule file beside the store host's `default.nix`, as written.
fn rules_path(fleet: &Fleet, dir: &Path) -> std::path::PathBuf {
    dir.join(format!("hosts/{}/alert-rules.yml", metrics_host(fleet)))
}

/// An example's fleet and files, and its tree written to a temporary
/// folder (removed when the folder is dropped).
fn written(name: &str) -> (Fleet, Vec<File>, tempfile::TempDir) {
    let (fleet, files) = example(name);
    let dir = tempfile::tempdir().unwrap();
    write(&files, dir.path());
    (fleet, files, dir)
}

/// `written`, with the example's metrics store swapped for `store`.
fn written_with(name: &str, store: MetricsStore) -> (Fleet, Vec<File>, tempfile::TempDir) {
    let (fleet, files) = example_with_store(name, store);
    let dir = tempfile::tempdir().unwrap();
    write(&files, dir.path());
    (fleet, files, dir)
}

#[test]
fn the_rule_files_pass_promtool() {
    for (name, with) in WITH_ALERTS
        .into_iter()
        .flat_map(|n| MetricsStore::ALL.map(|s| (n, s)))
    {
        let (fleet, files, dir) = written_with(name, with);
        let rules = rules_path(&fleet, dir.path());
        let out = run(Command::new("promtool")
            .arg("check")
            .arg("rules")
            .arg(&rules));
        assert!(out.contains("SUCCESS: 8 rules found"), "{name}: {out}");
        let host = metrics_host(&fleet);
        let alerts = text(&files, &format!("hosts/{host}/alerts.nix"));
        match with {
            // vmalert gets the file from the store, by its flake path.
            MetricsStore::VictoriaMetrics => {
                assert!(alerts.contains("\"${./alert-rules.yml}\""), "{alerts}");
                assert!(
                    alerts.contains("\"notifier.url\" = [ \"http://127.0.0.1:9093\" ];"),
                    "{alerts}"
                );
                assert!(
                    alerts.contains("\"datasource.url\" = \"http://127.0.0.1:8428\";"),
                    "{alerts}"
                );
            }
            // Prometheus lists the file by its path beside alerts.nix and
            // sends to Alertmanager itself; no vmalert.
            MetricsStore::Prometheus => {
                let file = dir.path().join(format!("hosts/{host}/alerts.nix"));
                let listed = eval(&file, "services.prometheus.ruleFiles or [ ]");
                assert_eq!(listed, serde_json::json!([rules.display().to_string()]));
                assert_eq!(
                    eval(&file, "services.prometheus.alertmanagers"),
                    serde_json::json!([{ "static_configs": [{ "targets": ["127.0.0.1:9093"] }] }])
                );
                assert!(!alerts.contains("vmalert"), "{alerts}");
            }
        }
    }
}

/// The real vmalert parses the rules, their MetricsQL and their templates
/// (`-dryRun`), beside the empty `{}` file the NixOS module always adds.
#[test]
fn vmalert_accepts_the_rules_beside_the_modules_own_file() {
    for name in WITH_ALERTS {
        let (fleet, _, dir) = written_with(name, MetricsStore::VictoriaMetrics);
        let rules = rules_path(&fleet, dir.path());
        let module_file = dir.path().join("rules.yml");
        std::fs::write(&module_file, "{}\n").unwrap();
        run(Command::new("vmalert")
            .arg("-dryRun")
            .arg(format!("-rule={}", module_file.display()))
            .arg(format!("-rule={}", rules.display())));
    }
}

/// Input series and the alerts they must (and must not) raise, for
/// `promtool test rules`. Times are minutes from the start of the test.
const UNIT_TESTS: &str = r#"
rule_files:
  - RULES
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      # forge's exporter stops answering; luna's keeps answering.
      - series: 'up{job="node-exporter",host="forge",instance="127.0.0.1:9100"}'
        values: '0x10'
      - series: 'up{job="node-exporter-luna",host="luna",instance="10.20.0.30:9100"}'
        values: '1x10'
      # A service down, and one up.
      - series: 'up{job="sonarr",host="forge",instance="127.0.0.1:8989"}'
        values: '0x10'
      - series: 'up{job="radarr",host="forge",instance="127.0.0.1:7878"}'
        values: '1x10'
      # 90 % full, 50 % full, and a full tmpfs that does not count.
      - series: 'node_filesystem_avail_bytes{host="forge",device="tank/immich",fstype="zfs",mountpoint="/var/lib/immich"}'
        values: '10x30'
      - series: 'node_filesystem_size_bytes{host="forge",device="tank/immich",fstype="zfs",mountpoint="/var/lib/immich"}'
        values: '100x30'
      - series: 'node_filesystem_avail_bytes{host="forge",device="tank/grafana",fstype="zfs",mountpoint="/var/lib/grafana"}'
        values: '50x30'
      - series: 'node_filesystem_size_bytes{host="forge",device="tank/grafana",fstype="zfs",mountpoint="/var/lib/grafana"}'
        values: '100x30'
      - series: 'node_filesystem_avail_bytes{host="forge",device="tmpfs",fstype="tmpfs",mountpoint="/run"}'
        values: '0x30'
      - series: 'node_filesystem_size_bytes{host="forge",device="tmpfs",fstype="tmpfs",mountpoint="/run"}'
        values: '100x30'
      # tank degraded, backup online.
      - series: 'node_zfs_zpool_state{host="forge",zpool="tank",state="online"}'
        values: '0x10'
      - series: 'node_zfs_zpool_state{host="forge",zpool="tank",state="degraded"}'
        values: '1x10'
      - series: 'node_zfs_zpool_state{host="nas-1",zpool="backup",state="online"}'
        values: '1x10'
      - series: 'node_zfs_zpool_state{host="nas-1",zpool="backup",state="degraded"}'
        values: '0x10'
      # A certificate ending in 10 days, one in 60 (the test starts at time 0).
      - series: 'homelab_tls_certificate_expiry_timestamp_seconds{host="forge",certificate="home.example.org"}'
        values: '864000x20'
      - series: 'homelab_tls_certificate_expiry_timestamp_seconds{host="luna",certificate="other.example.org"}'
        values: '5184000x20'
    alert_rule_test:
      - eval_time: 4m
        alertname: HostDown
        exp_alerts: []
      - eval_time: 6m
        alertname: HostDown
        exp_alerts:
          - exp_labels: {severity: critical, job: node-exporter, host: forge, instance: "127.0.0.1:9100"}
            exp_annotations:
              summary: "forge is down"
              description: "The node exporter of forge (127.0.0.1:9100) has not answered for 5 minutes: the machine is off, hung or off the network."
      - eval_time: 6m
        alertname: ServiceDown
        exp_alerts:
          - exp_labels: {severity: critical, job: sonarr, host: forge, instance: "127.0.0.1:8989"}
            exp_annotations:
              summary: "sonarr on forge is down"
              description: "The metrics store has not reached sonarr at 127.0.0.1:8989 for 5 minutes."
      - eval_time: 10m
        alertname: DiskAlmostFull
        exp_alerts: []
      - eval_time: 16m
        alertname: DiskAlmostFull
        exp_alerts:
          - exp_labels: {severity: warning, host: forge, device: tank/immich, fstype: zfs, mountpoint: /var/lib/immich}
            exp_annotations:
              summary: "/var/lib/immich on forge is 90 % full"
              description: "tank/immich (zfs) at /var/lib/immich is above 85 % of its size; for a ZFS dataset that is its quota."
      - eval_time: 2m
        alertname: ZfsPoolNotOnline
        exp_alerts:
          - exp_labels: {severity: critical, host: forge, zpool: tank, state: degraded}
            exp_annotations:
              summary: "ZFS pool tank on forge is degraded"
              description: "Run `zpool status tank` on forge: a disk has failed or gone missing, and the pool has less redundancy than it should."
      - eval_time: 11m
        alertname: CertificateExpiring
        exp_alerts:
          - exp_labels: {severity: warning, host: forge, certificate: home.example.org}
            exp_annotations:
              summary: "The certificate for home.example.org expires in 9d 23h 49m 0s"
              description: "ACME renews it 30 days ahead; see `systemctl status acme-home.example.org.service` on forge."
  - interval: 1m
    input_series:
      # As `homelab backup` writes them (limits shortened to hours here):
      # sonarr and radarr last backed up at 0, with a limit of 3 h; a
      # drill of sonarr passed at 0, with a limit of 6 h; radarr's last
      # drill failed.
      - series: 'homelab_backup_last_success_timestamp_seconds{host="forge",service="sonarr",repository="offsite"}'
        values: '0x400'
      - series: 'homelab_backup_max_age_seconds{host="forge",service="sonarr"}'
        values: '10800x400'
      - series: 'homelab_backup_last_success_timestamp_seconds{host="forge",service="radarr",repository="offsite"}'
        values: '0x400'
      - series: 'homelab_backup_max_age_seconds{host="forge",service="radarr"}'
        values: '10800x400'
      - series: 'homelab_drill_last_success_timestamp_seconds{host="forge",service="sonarr"}'
        values: '0x400'
      - series: 'homelab_drill_max_age_seconds{host="forge",service="sonarr"}'
        values: '21600x400'
      - series: 'homelab_drill_last_run_success{host="forge",service="sonarr"}'
        values: '1x400'
      - series: 'homelab_drill_last_run_success{host="forge",service="radarr"}'
        values: '0x400'
    alert_rule_test:
      - eval_time: 2h50m
        alertname: BackupStale
        exp_alerts: []
      - eval_time: 3h10m
        alertname: BackupStale
        exp_alerts:
          - exp_labels: {severity: critical, host: forge, service: radarr, repository: offsite}
            exp_annotations:
              summary: "No recent backup of radarr in offsite"
              description: "The last successful backup of radarr on forge is older than the plan allows; see `homelab backup status`."
          - exp_labels: {severity: critical, host: forge, service: sonarr, repository: offsite}
            exp_annotations:
              summary: "No recent backup of sonarr in offsite"
              description: "The last successful backup of sonarr on forge is older than the plan allows; see `homelab backup status`."
      - eval_time: 5h50m
        alertname: DrillStale
        exp_alerts: []
      - eval_time: 6h10m
        alertname: DrillStale
        exp_alerts:
          - exp_labels: {severity: warning, host: forge, service: sonarr}
            exp_annotations:
              summary: "No recent restore drill of sonarr"
              description: "No restore drill of sonarr on forge has passed within the plan's limit; run `homelab backup drill sonarr`."
      - eval_time: 4m
        alertname: DrillFailed
        exp_alerts: []
      - eval_time: 6m
        alertname: DrillFailed
        exp_alerts:
          - exp_labels: {severity: critical, host: forge, service: radarr}
            exp_annotations:
              summary: "The restore drill of radarr failed"
              description: "The last restore drill of radarr on forge could not restore its data; see `homelab backup status`."
"#;

/// forge's rules, as Prometheus and as vmalert read them (the same file
/// but for its header).
#[test]
fn every_alert_fires_on_its_cause_and_only_then() {
    for with in MetricsStore::ALL {
        let (fleet, _, dir) = written_with("forge", with);
        let rules = rules_path(&fleet, dir.path());
        let tests = dir.path().join("alert-tests.yml");
        std::fs::write(&tests, UNIT_TESTS.replace("RULES", rules.to_str().unwrap())).unwrap();
        let out = run(Command::new("promtool")
            .arg("test")
            .arg("rules")
            .arg(&tests));
        assert!(out.contains("SUCCESS"), "{with:?}: {out}");
    }
}

#[test]
fn alertmanager_mails_through_the_relay_and_amtool_accepts_it() {
    for name in WITH_ALERTS {
        let (fleet, files, dir) = written(name);
        let am = fleet.instance_of("alertmanager").unwrap();
        let file = dir
            .path()
            .join(format!("hosts/{}/services/alertmanager.nix", am.host));
        let config = eval(&file, "services.prometheus.alertmanager.configuration");
        let global = &config["global"];
        assert_eq!(global["smtp_smarthost"], "smtp.example.org:587", "{name}");
        assert_eq!(global["smtp_auth_username"], "alerts@example.org", "{name}");
        assert_eq!(
            global["smtp_auth_password_file"],
            "/run/credentials/alertmanager.service/smtp-password"
        );
        assert!(global.get("smtp_auth_password").is_none(), "{config}");
        // A receiver per severity, each mailing the spec's address: the
        // catalog's empty one is replaced, not joined.
        let receivers = config["receivers"].as_array().unwrap();
        let names: Vec<&str> = receivers
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["critical", "warning"], "{config}");
        for r in receivers {
            assert_eq!(r["email_configs"][0]["to"], "admin@example.org", "{r}");
        }
        assert_eq!(config["route"]["receiver"], "critical");
        // As the module checks it at build time: the JSON it writes, its
        // secret files absent as in the build's sandbox. Debian's amtool
        // (0.25) needs the values of the `*_file` fields it predates.
        let mut config = config;
        for_debian(&mut config, |field, _| match field {
            "webhook_url" | "url" => "https://hooks.example.org/stand-in".into(),
            _ => "stand-in-secret".into(),
        });
        let yml = dir.path().join("alertmanager.yml");
        std::fs::write(&yml, config.to_string()).unwrap();
        let out = run(Command::new("amtool").arg("check-config").arg(&yml));
        assert!(
            out.contains("SUCCESS")
                && out.contains("1 inhibit rules")
                && out.contains("2 receivers"),
            "{out}"
        );
        // The password comes in as a credential from its agenix file.
        let module = text(
            &files,
            &format!("hosts/{}/services/alertmanager.nix", am.host),
        );
        assert!(
            module.contains("\"smtp-password:${config.age.secrets.smtp-password.path}\""),
            "{module}"
        );
    }
}

/// What a check on a public status page keeps off the internet (Gatus'
/// endpoint `ui`).
const HIDDEN: [&str; 5] = [
    "hide-hostname",
    "hide-url",
    "hide-port",
    "hide-conditions",
    "hide-errors",
];

#[test]
fn gatus_mails_every_failing_check() {
    for name in WITH_ALERTS {
        let (fleet, files, dir) = written(name);
        let status = fleet.host_of("gatus").unwrap();
        let file = dir
            .path()
            .join(format!("hosts/{status}/services/gatus.nix"));
        let email = eval(&file, "services.gatus.settings.alerting.email");
        assert_eq!(email["host"], "smtp.example.org", "{name}");
        assert_eq!(email["port"], 587);
        assert_eq!(email["to"], "admin@example.org");
        assert_eq!(email["password"], "${SMTP_PASSWORD}");
        assert_eq!(email["default-alert"]["send-on-resolved"], true);
        let gatus = text(&files, &format!("hosts/{status}/services/gatus.nix"));
        assert!(
            gatus.contains(
                "EnvironmentFile = [\n      config.age.secrets.smtp-password-environment.path\n"
            ),
            "{gatus}"
        );
        // Every check on the status page's host, its own and the other
        // hosts' (wiring.nix), alerts the providers of the status route:
        // mail, and in forge's the phone (critical's, which it follows); on
        // a public page (forge's) each hides its address, port, conditions
        // and errors.
        let expected = match name {
            "forge" => serde_json::json!([{ "type": "pushover" }, { "type": "email" }]),
            _ => serde_json::json!([{ "type": "email" }]),
        };
        let public = fleet
            .instances
            .iter()
            .any(|i| i.entry.name == "gatus" && i.exposure.value == Exposure::Public);
        let mut checks = 0;
        for f in files
            .iter()
            .filter(|f| f.path.starts_with(&format!("hosts/{status}/")))
        {
            // NixOS modules only (not the VM's secret package or test).
            let compile::nix::Nix::Lambda { formals, .. } = &f.value else {
                continue;
            };
            if !formals.iter().any(|a| a == "config") {
                continue;
            }
            let path = dir.path().join(&f.path);
            let body = format!(
                "let m = import {} {{ config = {{ }}; lib = {{ }}; pkgs = {{ }}; inputs = {{ }}; }}; in ((m.services or {{ }}).gatus or {{ }}).settings.endpoints or [ ]",
                path.display()
            );
            let out =
                run(Command::new("nix-instantiate")
                    .args(["--eval", "--strict", "--json", "-E", &body]));
            let endpoints: Value = serde_json::from_str(&out).unwrap();
            for e in endpoints.as_array().unwrap() {
                checks += 1;
                assert_eq!(e["alerts"], expected, "{}: {e}", f.path);
                let hidden = HIDDEN.iter().all(|k| e["ui"][k] == true);
                assert_eq!(hidden, public, "{name}: {}: {e}", f.path);
            }
        }
        assert!(
            checks >= fleet.instances.len() / 2,
            "{name}: {checks} checks"
        );
        // The evaluator itself is one of them: Prometheus' own check, or
        // vmalert's beside VictoriaMetrics.
        let (with, at) = fleet.metrics_store().unwrap();
        let (file, url) = match with {
            MetricsStore::VictoriaMetrics => (
                format!("hosts/{status}/alerts.nix"),
                "http://127.0.0.1:8880/health".to_string(),
            ),
            MetricsStore::Prometheus => (
                format!("hosts/{}/services/{}.nix", at.host, at.name.value),
                format!("{}/-/healthy", at.local_endpoint().unwrap()),
            ),
        };
        let checks = text(&files, &file);
        assert!(checks.contains(&format!("url = \"{url}\";")), "{checks}");
    }
}

#[test]
fn every_host_with_a_node_exporter_reads_the_metrics_folder() {
    for name in compile::examples::names() {
        let (fleet, files) = example(name);
        for i in fleet
            .instances
            .iter()
            .filter(|i| i.entry.name == "node-exporter")
        {
            let file = text(
                &files,
                &format!("hosts/{}/services/{}.nix", i.host, i.name.value),
            );
            assert!(
                file.contains("\"--collector.textfile.directory=/var/lib/homelab-metrics\""),
                "{name}: {file}"
            );
            assert!(
                file.contains("\"d /var/lib/homelab-metrics 0755 root root -\""),
                "{file}"
            );
            let plan = text(&files, &format!("hosts/{}/plan.json", i.host));
            assert!(
                plan.contains("\"metrics_dir\": \"/var/lib/homelab-metrics\""),
                "{plan}"
            );
        }
        // The front proxy writes the certificate's expiry there.
        let proxy = fleet
            .front_proxy()
            .filter(|p| fleet.access.proxy.is_some() && fleet.metrics_dir(p.name()).is_some());
        if let Some(proxy) = proxy {
            let alerts = text(&files, &format!("hosts/{}/alerts.nix", proxy.name()));
            assert!(
                alerts.contains("homelab_tls_certificate_expiry_timestamp_seconds"),
                "{alerts}"
            );
            assert!(alerts.contains("startAt = \"hourly\";"), "{alerts}");
        }
    }
}

/// The relay password is only ever named: Alertmanager's by its file,
/// Gatus' by its variable; no generated file holds a password value.
#[test]
fn no_file_holds_the_relay_password() {
    for name in WITH_ALERTS {
        let (_, files) = example(name);
        for f in &files {
            let t = f.text();
            assert!(!t.contains("smtp_auth_password ="), "{}", f.path);
            assert!(!t.contains("smtp_auth_password\""), "{}", f.path);
            if f.path.ends_with("vm-secrets.nix") {
                // The VM's stand-ins are throwaway values, public on purpose.
                for line in t.lines().filter(|l| l.contains("SMTP_PASSWORD=")) {
                    assert!(line.contains("=homelab-vm-stand-in-"), "{line}");
                }
                continue;
            }
            assert!(!t.contains("SMTP_PASSWORD="), "{}", f.path);
            for line in t
                .lines()
                .filter(|l| l.trim_start().starts_with("password ="))
            {
                assert_eq!(
                    line.trim(),
                    "password = \"\\${SMTP_PASSWORD}\";",
                    "{}",
                    f.path
                );
            }
        }
    }
}

/// A spec without `[alerts]` renders no rules and no mail settings.
#[test]
fn without_alerts_nothing_mails() {
    for name in ["nuc", "frame1"] {
        let (_, files) = example(name);
        assert!(
            !files.iter().any(|f| f.path.ends_with("alert-rules.yml")),
            "{name}"
        );
        for f in &files {
            let t = f.text();
            assert!(!t.contains("alerting"), "{}", f.path);
            assert!(!t.contains("vmalert.instances"), "{}", f.path);
            assert!(!t.contains("ruleFiles"), "{}", f.path);
            assert!(!t.contains("alertmanagers"), "{}", f.path);
        }
    }
}

/// The real Alertmanager, running an example's generated configuration
/// with a relay on loopback whose mails the test reads.
struct LoopbackAlertmanager {
    _server: Server,
    port: u16,
    mails: std::sync::mpsc::Receiver<String>,
}

/// Starts an example's Alertmanager in `dir`, its flake written there.
/// Only what cannot be the same here changes: the relay's address (no TLS
/// on loopback), where the password file is, a 1 s group wait instead
/// of 30 s, and only mail is kept of each receiver: the other channels'
/// APIs are on the internet (`alert_channels.rs` stands in for them).
fn loopback_alertmanager(name: &str, dir: &Path) -> (Fleet, Vec<File>, LoopbackAlertmanager) {
    let (fleet, files) = example(name);
    write(&files, dir);
    let am = fleet.instance_of("alertmanager").unwrap();
    let file = dir.join(format!("hosts/{}/services/alertmanager.nix", am.host));
    let mut config = eval(&file, "services.prometheus.alertmanager.configuration");
    for receiver in config["receivers"].as_array_mut().unwrap() {
        let receiver = receiver.as_object_mut().unwrap();
        receiver.retain(|key, _| key == "name" || key == "email_configs");
    }
    let (smtp_port, mails) = smtp_sink();
    let password = dir.join("smtp-password");
    // Current Alertmanager trims the file's surrounding whitespace;
    // Debian's 0.25 sends it as it is, so the file here has no newline.
    std::fs::write(&password, "relay-password-for-the-test").unwrap();
    let global = config["global"].as_object_mut().unwrap();
    global.insert(
        "smtp_smarthost".into(),
        format!("127.0.0.1:{smtp_port}").into(),
    );
    global.insert("smtp_require_tls".into(), false.into());
    global.insert(
        "smtp_auth_password_file".into(),
        password.display().to_string().into(),
    );
    config["route"]["group_wait"] = "1s".into();
    let (server, port) = alertmanager::start(dir, &config);
    let am = LoopbackAlertmanager {
        _server: server,
        port,
        mails,
    };
    (fleet, files, am)
}

/// The generated Alertmanager configuration, run by the real Alertmanager
/// against a relay on loopback: an alert (posted as vmalert posts them)
/// arrives as a mail to the spec's address, after a login with the
/// password read from its credential file.
#[test]
fn an_alert_reaches_the_mailbox_through_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, am) = loopback_alertmanager("family", dir.path());
    let posted = alertmanager::add_alert(
        am.port,
        &[
            "DrillFailed",
            "severity=critical",
            "host=server",
            "service=immich",
            "--annotation=summary=The restore drill of immich failed",
        ],
    );
    assert!(posted, "Alertmanager did not take the alert");
    let mail = am
        .mails
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("a mail within a minute");
    assert!(mail.contains("MAIL FROM:<family@example.org>"), "{mail}");
    assert!(mail.contains("RCPT TO:<admin@example.org>"), "{mail}");
    assert!(mail.contains("DrillFailed"), "{mail}");
    // AUTH PLAIN carries "\0login\0password" in base64.
    let auth = mail
        .lines()
        .find(|l| l.starts_with("AUTH PLAIN"))
        .unwrap_or_else(|| panic!("no login in {mail}"));
    let token = auth.trim_start_matches("AUTH PLAIN").trim();
    let decoded = base64_decode(token);
    assert_eq!(
        decoded,
        b"\0alerts@example.org\0relay-password-for-the-test"
    );
}

/// Standard base64, for the one login line the sink records.
fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in s.bytes().take_while(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c).expect("base64") as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

/// Sends one HTTP POST to a loopback server; true when it answered 2xx.
fn post(port: u16, path: &str, body: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 2")
}

/// Waits for the mail about a degraded pool (the rule's own `for: 1m`
/// and an evaluation or two), doing `each_round` every 5 s meanwhile, and
/// checks it went to the spec's address about `pool` on `host`: grouped
/// by alert and host, with the pool's labels in the subject.
fn pool_mail(am: &LoopbackAlertmanager, host: &str, pool: &str, mut each_round: impl FnMut()) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(150);
    let mail = loop {
        each_round();
        if let Ok(m) = am.mails.recv_timeout(std::time::Duration::from_secs(5)) {
            break m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no mail about the degraded pool"
        );
    };
    assert!(mail.contains("RCPT TO:<admin@example.org>"), "{mail}");
    assert!(mail.contains("ZfsPoolNotOnline"), "{mail}");
    let subject = mail.lines().find(|l| l.starts_with("Subject:")).unwrap();
    assert!(
        subject.contains(&format!("[FIRING:1] ZfsPoolNotOnline {host}")),
        "{subject}"
    );
    assert!(subject.contains(&format!("degraded {pool}")), "{subject}");
}

/// The whole chain with the real programs: a degraded pool's metric in
/// VictoriaMetrics, the generated rules in vmalert, the generated
/// Alertmanager configuration, a mail to the spec's address on a relay
/// on loopback. The metric is written the way the node exporter's is
/// scraped (with the scrape's `host` label).
#[test]
fn a_degraded_pool_is_mailed_through_vmalert_and_alertmanager() {
    let dir = tempfile::tempdir().unwrap();
    let (fleet, _, am) = loopback_alertmanager("family", dir.path());
    assert_eq!(store(&fleet), MetricsStore::VictoriaMetrics);
    let am_port = am.port;
    let quiet = || std::process::Stdio::null();
    let (vm_port, vmalert_port) = (free_port(), free_port());
    let _vm = Server(
        Command::new("victoria-metrics")
            .arg(format!(
                "-storageDataPath={}",
                dir.path().join("vm").display()
            ))
            .arg(format!("-httpListenAddr=127.0.0.1:{vm_port}"))
            // Fresh samples are queryable at once, not 30 s later.
            .arg("-search.latencyOffset=0s")
            .arg("-search.disableCache")
            .stdout(quiet())
            .stderr(quiet())
            .spawn()
            .expect("victoria-metrics runs"),
    );
    let rules = rules_path(&fleet, dir.path());
    let _vmalert = Server(
        Command::new("vmalert")
            .arg(format!("-rule={}", rules.display()))
            .arg(format!("-datasource.url=http://127.0.0.1:{vm_port}"))
            .arg(format!("-notifier.url=http://127.0.0.1:{am_port}"))
            .arg(format!("-httpListenAddr=127.0.0.1:{vmalert_port}"))
            .arg("-evaluationInterval=5s")
            .stdout(quiet())
            .stderr(quiet())
            .spawn()
            .expect("vmalert runs"),
    );
    // The node exporter's line, as scraped from the NAS every 5 s.
    let sample = "node_zfs_zpool_state{job=\"node-exporter-nas\",instance=\"192.168.1.20:9100\",host=\"nas\",zpool=\"vault\",state=\"degraded\"} 1\n\
                  node_zfs_zpool_state{job=\"node-exporter-nas\",instance=\"192.168.1.20:9100\",host=\"nas\",zpool=\"vault\",state=\"online\"} 0\n";
    pool_mail(&am, "nas", "vault", || {
        post(vm_port, "/api/v1/import/prometheus", sample);
    });
}

/// Prometheus' configuration as the NixOS module writes it from the
/// options every module of the store's host sets (prometheus/default.nix
/// `promConfig`: `global`, `scrape_configs`, `rule_files`,
/// `alerting.alertmanagers`, remote reads and writes, null values left
/// out), each module evaluated by the real `nix-instantiate`; the rule
/// files are the flake's files in `dir`.
fn rendered_prometheus_config(fleet: &Fleet, files: &[File], dir: &Path) -> Value {
    let host = metrics_host(fleet);
    let (mut jobs, mut rule_files, mut alertmanagers) = (vec![], vec![], vec![]);
    for f in files
        .iter()
        .filter(|f| f.path.starts_with(&format!("hosts/{host}/")))
    {
        // NixOS modules only (not the VM's secret package or test).
        let compile::nix::Nix::Lambda { formals, .. } = &f.value else {
            continue;
        };
        if !formals.iter().any(|a| a == "config") {
            continue;
        }
        let set = eval_with(
            &dir.join(&f.path),
            "let p = (m.services or { }).prometheus or { }; in { jobs = p.scrapeConfigs or [ ]; \
             rules = p.ruleFiles or [ ]; alertmanagers = p.alertmanagers or [ ]; }",
        );
        let list = |key: &str| set[key].as_array().unwrap().clone();
        jobs.extend(list("jobs"));
        rule_files.extend(list("rules"));
        alertmanagers.extend(list("alertmanagers"));
    }
    serde_json::json!({
        "global": {},
        "scrape_configs": jobs,
        "rule_files": rule_files,
        "alerting": { "alertmanagers": alertmanagers },
        "remote_read": [],
        "remote_write": [],
    })
}

/// Runs `promtool check config` on a configuration, as the module does
/// when the system is built (`checkConfig`), rule files included.
fn promtool_checks(config: &Value, at: &Path) {
    std::fs::write(at, config.to_string()).unwrap();
    let out = run(Command::new("promtool").arg("check").arg("config").arg(at));
    assert!(out.contains("SUCCESS: 8 rules found"), "{out}");
}

/// What the module would build from forge's flake passes `promtool check
/// config`: every scrape job of every service on every host, the rule
/// file by its path, Alertmanager as the target.
#[test]
fn prometheus_accepts_its_configuration_as_the_module_writes_it() {
    let (fleet, files, dir) = written("forge");
    assert_eq!(store(&fleet), MetricsStore::Prometheus);
    let config = rendered_prometheus_config(&fleet, &files, dir.path());
    let jobs = config["scrape_configs"].as_array().unwrap();
    // A job per service with metrics, wherever it runs, and none twice.
    let with_metrics = fleet
        .instances
        .iter()
        .filter(|i| i.entry.metrics.is_some())
        .count();
    assert_eq!(jobs.len(), with_metrics, "{config}");
    assert!(
        jobs.iter()
            .all(|j| j["static_configs"][0]["labels"]["host"].is_string()),
        "{config}"
    );
    assert_eq!(
        config["rule_files"],
        serde_json::json!([rules_path(&fleet, dir.path()).display().to_string()])
    );
    promtool_checks(&config, &dir.path().join("prometheus.yml"));
}

/// Node exporter lines of a degraded pool, as the exporter serves them.
const DEGRADED_POOL: &str = "# TYPE node_zfs_zpool_state gauge\n\
    node_zfs_zpool_state{state=\"degraded\",zpool=\"tank\"} 1\n\
    node_zfs_zpool_state{state=\"online\",zpool=\"tank\"} 0\n";

/// A stand-in for the node exporter on loopback (a real one reports this
/// machine's pools, and it has none): every request gets `body` in the
/// exporter's text format.
fn exporter_stub(body: &'static str) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            // The path the scrape job names.
            match http::read(&stream).path.as_str() {
                "/metrics" => http::reply_as(&mut &stream, 200, "text/plain; version=0.0.4", body),
                _ => http::reply_as(&mut &stream, 404, "text/plain", ""),
            }
        }
    });
    port
}

/// The whole chain with the real programs and forge's generated
/// configuration: the real Prometheus scrapes a degraded pool with the
/// node exporter's scrape job, evaluates the generated rules and sends to
/// the generated Alertmanager target, whose mail reaches a relay on
/// loopback. Only what cannot be the same here changes: the job scrapes
/// the exporter's stand-in (the other jobs' targets do not run here and
/// are left out), the target is the test's Alertmanager, and Prometheus
/// scrapes and evaluates every 5 s instead of every minute.
#[test]
fn a_degraded_pool_is_mailed_through_prometheus_and_alertmanager() {
    let dir = tempfile::tempdir().unwrap();
    let (fleet, files, am) = loopback_alertmanager("forge", dir.path());
    assert_eq!(store(&fleet), MetricsStore::Prometheus);
    let host = metrics_host(&fleet).to_string();
    let mut config = rendered_prometheus_config(&fleet, &files, dir.path());
    let exporter = fleet
        .instances
        .iter()
        .find(|i| i.entry.name == "node-exporter" && i.host == host)
        .unwrap();
    let jobs = config["scrape_configs"].as_array_mut().unwrap();
    jobs.retain(|j| j["job_name"] == exporter.name.value.as_str());
    let job = &mut jobs[0]["static_configs"][0];
    assert_eq!(job["labels"]["host"], host.as_str());
    job["targets"] = serde_json::json!([format!("127.0.0.1:{}", exporter_stub(DEGRADED_POOL))]);
    let alerting = &mut config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"];
    let rendered = fleet
        .instance_of("alertmanager")
        .unwrap()
        .local_endpoint()
        .unwrap();
    assert_eq!(
        *alerting,
        serde_json::json!([rendered.trim_start_matches("http://")])
    );
    *alerting = serde_json::json!([format!("127.0.0.1:{}", am.port)]);
    config["global"] = serde_json::json!({ "scrape_interval": "5s", "evaluation_interval": "5s" });
    let yml = dir.path().join("prometheus.yml");
    promtool_checks(&config, &yml);
    let _prometheus = Server(
        Command::new("prometheus")
            .arg(format!("--config.file={}", yml.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("prometheus").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{}", free_port()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("prometheus runs"),
    );
    pool_mail(&am, &host, "tank", || {});
}
