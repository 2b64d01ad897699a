//! `[alerts]`: metric alerts evaluated on the metrics store's host, by
//! Prometheus itself or by vmalert beside VictoriaMetrics (rules in
//! `hosts/<h>/alert-rules.yml`, a real file `promtool` checks), sent by
//! Alertmanager; status-page alerts sent by Gatus. Both
//! mail through the relay of `[alerts.smtp]` (`mail.rs`) and send to the
//! channels of `[alerts.channels]` by the routes (`channels.rs`); secrets
//! reach them as systemd credentials (Alertmanager) and environment files,
//! never through the Nix store. `docs/alerts.md` says what fires when.
//!
//! The node exporter's textfile folder and the certificate metric are
//! set up whether or not the spec has `[alerts]`: the backup commands
//! write there and Grafana can chart them either way.

use super::File;
use crate::fleet::alerts::METRICS_DIR;
use crate::fleet::{Fleet, HostPlan, Instance, MetricsStore};
use crate::nix::{Attrs, Nix, set};

mod channels;
mod mail;
mod prometheus;
mod rules;
mod tls;
mod vmalert;

/// The rule file beside the host's `default.nix`.
pub(crate) const RULES_FILE: &str = "alert-rules.yml";

/// `hosts/<h>/alerts.nix`: what `host` does for the whole fleet's alerts.
pub(crate) fn host_alerts(fleet: &Fleet, host: &HostPlan) -> Attrs {
    let mut m = Attrs::new();
    if evaluates_rules(fleet, host) {
        evaluator(&mut m, fleet);
    }
    tls::tls_metrics(&mut m, fleet, host);
    m
}

/// `hosts/<h>/alert-rules.yml` on the host that evaluates them.
pub(crate) fn rules_file(fleet: &Fleet, host: &HostPlan) -> Option<File> {
    evaluates_rules(fleet, host).then(|| {
        File::tool(
            format!("hosts/{}/{RULES_FILE}", host.name()),
            Nix::raw(rules::rules(fleet)),
        )
    })
}

/// Metric alerts need the spec's `[alerts]`, a metrics store and an
/// Alertmanager; the store's host evaluates the rules.
fn evaluates_rules(fleet: &Fleet, host: &HostPlan) -> bool {
    fleet.evaluates_alert_rules(host.name())
}

/// What evaluates the rules: Prometheus itself, or vmalert beside
/// VictoriaMetrics.
fn evaluator(m: &mut Attrs, fleet: &Fleet) {
    match fleet.metrics_store() {
        Some((MetricsStore::Prometheus, _)) => prometheus::prometheus(m, fleet),
        Some((MetricsStore::VictoriaMetrics, vm)) => vmalert::vmalert(m, fleet, vm),
        None => {}
    }
}

/// What `[alerts]` adds to one service's file: the node exporter's
/// textfile folder, Alertmanager's relay, receivers and routes, Gatus'
/// mail and channel alerting.
pub(crate) fn contribute(m: &mut Attrs, fleet: &Fleet, i: &Instance) {
    match i.entry.name.as_str() {
        "node-exporter" => textfile_collector(m),
        "alertmanager" => {
            mail::alertmanager(m, fleet);
            channels::alertmanager(m, fleet);
        }
        "gatus" => {
            mail::gatus(m, fleet);
            channels::gatus(m, fleet);
        }
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
