//! `[alerts]`: metric alerts evaluated by vmalert on the metrics store's
//! host (rules in `hosts/<h>/alert-rules.yml`, a real file `promtool`
//! checks), sent by Alertmanager; status-page alerts sent by Gatus. Both
//! mail through the relay of `[alerts.smtp]`, whose password reaches them
//! as a systemd credential (Alertmanager) and an environment file (Gatus),
//! never through the Nix store. `docs/alerts.md` says what fires when.
//!
//! The node exporter's textfile folder and the certificate metric are
//! set up whether or not the spec has `[alerts]`: the backup commands
//! write there and Grafana can chart them either way.

use super::File;
use super::infrastructure::age_secret;
use crate::fleet::alerts::{
    METRICS_DIR, PASSWORD_CREDENTIAL, PASSWORD_VARIABLE, environment_secret,
};
use crate::fleet::{Fleet, HostPlan, Instance};
use crate::nix::shell::{code, line, value};
use crate::nix::{Attrs, Nix, set};

mod rules;

/// The rule file beside the host's `default.nix`.
pub const RULES_FILE: &str = "alert-rules.yml";
/// vmalert's own port (its default), on the loopback interface.
pub const VMALERT_PORT: u16 = 8880;
/// The vmalert instance name (`vmalert-homelab.service`).
const VMALERT: &str = "homelab";
/// The unit that writes the certificate metric.
const TLS_METRICS_UNIT: &str = "homelab-tls-metrics";

/// `hosts/<h>/alerts.nix`: what `host` does for the whole fleet's alerts.
pub fn host_alerts(fleet: &Fleet, host: &HostPlan) -> Attrs {
    let mut m = Attrs::new();
    if evaluates_rules(fleet, host) {
        vmalert(&mut m, fleet);
    }
    tls_metrics(&mut m, fleet, host);
    m
}

/// `hosts/<h>/alert-rules.yml` on the host that evaluates them.
pub fn rules_file(fleet: &Fleet, host: &HostPlan) -> Option<File> {
    evaluates_rules(fleet, host).then(|| {
        File::tool(
            format!("hosts/{}/{RULES_FILE}", host.name()),
            Nix::raw(rules::rules(fleet)),
        )
    })
}

/// Metric alerts need the spec's `[alerts]`, a metrics store and an
/// Alertmanager; the store's host runs vmalert.
fn evaluates_rules(fleet: &Fleet, host: &HostPlan) -> bool {
    fleet.alerts.is_some()
        && fleet.instance_of("alertmanager").is_some()
        && fleet.host_of("victoriametrics") == Some(host.name())
}

fn vmalert(m: &mut Attrs, fleet: &Fleet) {
    let (Some(store), Some(am)) = (
        fleet
            .instance_of("victoriametrics")
            .and_then(Instance::local_endpoint),
        fleet
            .instance_of("alertmanager")
            .and_then(Instance::local_endpoint),
    ) else {
        return;
    };
    let vm = ["services", "vmalert", "instances", VMALERT];
    set(m, &[vm[0], vm[1], vm[2], vm[3], "enable"], true);
    let settings = |key: &'static str| [vm[0], vm[1], vm[2], vm[3], "settings", key];
    set(m, &settings("datasource.url"), store);
    set(m, &settings("notifier.url"), Nix::strs([am]));
    set(
        m,
        &settings("rule"),
        Nix::list([Nix::Interp(vec![Nix::Path(format!("./{RULES_FILE}"))])]),
    );
    set(
        m,
        &settings("httpListenAddr"),
        format!("127.0.0.1:{VMALERT_PORT}"),
    );
    // Links in the mail lead to the alert on the metrics store's page,
    // which shows vmalert's own under `/vmalert/`.
    if let Some(url) = fleet.instance_of("victoriametrics").and_then(Instance::url) {
        set(m, &settings("external.url"), url);
        set(
            m,
            &["services", "victoriametrics", "extraOptions"],
            Nix::strs([format!("-vmalert.proxyURL=http://127.0.0.1:{VMALERT_PORT}")]),
        );
    }
    // The store scrapes vmalert too: a stopped evaluator is a target down.
    let mut target = Attrs::new();
    target.insert(
        "targets".into(),
        Nix::strs([format!("127.0.0.1:{VMALERT_PORT}")]),
    );
    if let Some(host) = fleet.host_of("victoriametrics") {
        target.insert("labels".into(), host_label(host));
    }
    // The status page beside it checks vmalert too, and mails on its own
    // when the evaluator itself has stopped.
    if fleet.host_of("gatus").is_some()
        && fleet.host_of("gatus") == fleet.host_of("victoriametrics")
    {
        let mut check = Attrs::new();
        check.insert("name".into(), Nix::str(format!("vmalert-{VMALERT}")));
        check.insert("group".into(), Nix::str("Monitoring"));
        check.insert(
            "url".into(),
            Nix::str(format!("http://127.0.0.1:{VMALERT_PORT}/health")),
        );
        check.insert("interval".into(), Nix::str("1m"));
        check.insert("conditions".into(), Nix::strs(["[STATUS] == 200"]));
        if let Some(alerts) = endpoint_alerts(fleet) {
            check.insert("alerts".into(), alerts);
        }
        set(
            m,
            &["services", "gatus", "settings", "endpoints"],
            Nix::list([Nix::Attrs(check)]),
        );
    }
    let mut job = Attrs::new();
    job.insert("job_name".into(), Nix::str(format!("vmalert-{VMALERT}")));
    job.insert("metrics_path".into(), Nix::str("/metrics"));
    job.insert("static_configs".into(), Nix::list([Nix::Attrs(target)]));
    set(
        m,
        &[
            "services",
            "victoriametrics",
            "prometheusConfig",
            "scrape_configs",
        ],
        Nix::list([Nix::Attrs(job)]),
    );
}

/// `{ host = "<name>"; }`: every scrape target's host, so a mail says
/// which machine, and a host that is down silences its services' alerts.
pub fn host_label(host: &str) -> Nix {
    let mut labels = Attrs::new();
    labels.insert("host".into(), Nix::str(host));
    Nix::Attrs(labels)
}

/// The wildcard certificate's expiry as a metric, on the front proxy
/// (where ACME keeps it), written hourly into the textfile folder. A
/// missing or unreadable certificate reads as expired (0).
fn tls_metrics(m: &mut Attrs, fleet: &Fleet, host: &HostPlan) {
    let is_proxy = fleet.front_proxy().is_some_and(|p| p.name() == host.name());
    if !is_proxy || fleet.access.proxy.is_none() || fleet.metrics_dir(host.name()).is_none() {
        return;
    }
    let zone = fleet.homelab.internal_domain.value.as_str();
    let cert = format!("/var/lib/acme/{zone}/cert.pem");
    let target = format!("{METRICS_DIR}/tls.prom");
    let script = vec![
        line([code("expiry=0")]),
        line([
            code("if end=$(openssl x509 -enddate -noout -in"),
            value(cert),
            code("); then expiry=$(date -d \"$(echo \"$end\" | cut -d= -f2)\" +%s); fi"),
        ]),
        line([
            code("tmp=$(mktemp"),
            value(format!("{METRICS_DIR}/.tls.prom.XXXXXX")),
            code(")"),
        ]),
        line([
            code(
                "printf '# HELP homelab_tls_certificate_expiry_timestamp_seconds When the certificate stops being valid.\\n# TYPE homelab_tls_certificate_expiry_timestamp_seconds gauge\\nhomelab_tls_certificate_expiry_timestamp_seconds{certificate=\"%s\"} %s\\n'",
            ),
            value(zone),
            code("\"$expiry\" > \"$tmp\""),
        ]),
        line([code("chmod 0644 \"$tmp\"")]),
        line([code("mv \"$tmp\""), value(target)]),
    ];
    let u = ["systemd", "services", TLS_METRICS_UNIT];
    set(
        m,
        &[u[0], u[1], u[2], "description"],
        "Expiry of the proxy's certificate, for the node exporter",
    );
    set(m, &[u[0], u[1], u[2], "startAt"], "hourly");
    set(
        m,
        &[u[0], u[1], u[2], "path"],
        Nix::list([Nix::raw("pkgs.openssl"), Nix::raw("pkgs.coreutils")]),
    );
    set(m, &[u[0], u[1], u[2], "serviceConfig", "Type"], "oneshot");
    set(m, &[u[0], u[1], u[2], "script"], Nix::script(script));
}

/// What `[alerts]` adds to one service's file: the node exporter's
/// textfile folder, Alertmanager's mail route, Gatus' mail alerting.
pub fn contribute(m: &mut Attrs, fleet: &Fleet, i: &Instance) {
    match i.entry.name.as_str() {
        "node-exporter" => textfile_collector(m),
        "alertmanager" => alertmanager(m, fleet),
        "gatus" => gatus(m, fleet),
        _ => {}
    }
}

fn textfile_collector(m: &mut Attrs) {
    set(
        m,
        &["services", "prometheus", "exporters", "node", "extraFlags"],
        Nix::strs([format!("--collector.textfile.directory={METRICS_DIR}")]),
    );
    set(
        m,
        &["systemd", "tmpfiles", "rules"],
        Nix::strs([format!("d {METRICS_DIR} 0755 root root -")]),
    );
}

/// Alertmanager's configuration: the relay, one receiver (the spec's
/// address) in place of the catalog's empty one, grouping by alert and
/// host, and a host that is down holding back its services' alerts.
fn alertmanager(m: &mut Attrs, fleet: &Fleet) {
    let Some(a) = &fleet.alerts else { return };
    let conf = ["services", "prometheus", "alertmanager", "configuration"];
    let global = |key: &'static str| [conf[0], conf[1], conf[2], conf[3], "global", key];
    set(
        m,
        &global("smtp_smarthost"),
        format!("{}:{}", a.smtp.host.value, a.smtp.port.value),
    );
    set(m, &global("smtp_from"), a.smtp.from.value.as_str());
    if let (Some(user), Some(secret)) = (&a.smtp.username, &a.smtp.password_secret) {
        set(m, &global("smtp_auth_username"), user.value.as_str());
        set(
            m,
            &global("smtp_auth_password_file"),
            format!("/run/credentials/alertmanager.service/{PASSWORD_CREDENTIAL}"),
        );
        set(
            m,
            &[
                "systemd",
                "services",
                "alertmanager",
                "serviceConfig",
                "LoadCredential",
            ],
            Nix::list([Nix::Interp(vec![
                Nix::str(format!("{PASSWORD_CREDENTIAL}:")),
                Nix::age_secret_path(&secret.value),
            ])]),
        );
        age_secret(m, fleet, &secret.value, 3);
    }
    let mut email = Attrs::new();
    email.insert("to".into(), Nix::str(&a.email.value));
    email.insert("send_resolved".into(), Nix::Bool(true));
    let mut receiver = Attrs::new();
    receiver.insert("name".into(), Nix::str("admin"));
    receiver.insert("email_configs".into(), Nix::list([Nix::Attrs(email)]));
    replace(
        m,
        &[conf[0], conf[1], conf[2], conf[3], "receivers"],
        Nix::list([Nix::Attrs(receiver)]),
    );
    let route = |key: &'static str| [conf[0], conf[1], conf[2], conf[3], "route", key];
    set(m, &route("group_by"), Nix::strs(["alertname", "host"]));
    set(m, &route("repeat_interval"), "12h");
    let mut inhibit = Attrs::new();
    inhibit.insert(
        "source_matchers".into(),
        Nix::strs(["alertname = HostDown"]),
    );
    inhibit.insert(
        "target_matchers".into(),
        Nix::strs(["alertname = ServiceDown"]),
    );
    inhibit.insert("equal".into(), Nix::strs(["host"]));
    set(
        m,
        &[conf[0], conf[1], conf[2], conf[3], "inhibit_rules"],
        Nix::list([Nix::Attrs(inhibit)]),
    );
}

/// Sets `path` to `value`, replacing a list instead of extending it.
fn replace(m: &mut Attrs, path: &[&str], value: Nix) {
    let (last, parents) = path.split_last().expect("a path is never empty");
    set(m, path, Nix::Null);
    let mut at = m;
    for p in parents {
        let Some(Nix::Attrs(inner)) = at.get_mut(*p) else {
            return;
        };
        at = inner;
    }
    at.insert((*last).to_string(), value);
}

/// Gatus' mail alerting: the relay, and the default every endpoint's
/// `alerts` entry uses (three failed checks open an alert, two passing
/// ones resolve it with a second mail).
fn gatus(m: &mut Attrs, fleet: &Fleet) {
    let Some(a) = &fleet.alerts else { return };
    let email = ["services", "gatus", "settings", "alerting", "email"];
    let key = |k: &'static str| [email[0], email[1], email[2], email[3], email[4], k];
    set(m, &key("from"), a.smtp.from.value.as_str());
    set(m, &key("host"), a.smtp.host.value.as_str());
    set(m, &key("port"), a.smtp.port.value);
    set(m, &key("to"), a.email.value.as_str());
    if let (Some(user), Some(secret)) = (&a.smtp.username, &a.smtp.password_secret) {
        set(m, &key("username"), user.value.as_str());
        // Gatus expands `${VAR}` in its configuration when it starts.
        set(m, &key("password"), format!("${{{PASSWORD_VARIABLE}}}"));
        let env = environment_secret(&secret.value);
        // A list, so other environment files of Gatus add to it.
        set(
            m,
            &[
                "systemd",
                "services",
                "gatus",
                "serviceConfig",
                "EnvironmentFile",
            ],
            Nix::list([Nix::age_secret_path(&env)]),
        );
        age_secret(m, fleet, &env, 3);
    }
    let default = |k: &'static str| {
        [
            email[0],
            email[1],
            email[2],
            email[3],
            email[4],
            "default-alert",
            k,
        ]
    };
    set(m, &default("failure-threshold"), 3i64);
    set(m, &default("success-threshold"), 2i64);
    set(m, &default("send-on-resolved"), true);
}

/// The `alerts` of every status check when the spec has `[alerts]`.
pub fn endpoint_alerts(fleet: &Fleet) -> Option<Nix> {
    fleet.alerts.as_ref()?;
    let mut alert = Attrs::new();
    alert.insert("type".into(), Nix::str("email"));
    Some(Nix::list([Nix::Attrs(alert)]))
}
