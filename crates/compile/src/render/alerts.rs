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
use crate::fleet::alerts::METRICS_DIR;
use crate::fleet::{Fleet, HostPlan, Instance};
use crate::nix::{Attrs, Nix, set};

mod mail;
mod rules;
mod tls;
mod vmalert;

/// The rule file beside the host's `default.nix`.
pub(crate) const RULES_FILE: &str = "alert-rules.yml";

/// `hosts/<h>/alerts.nix`: what `host` does for the whole fleet's alerts.
pub(crate) fn host_alerts(fleet: &Fleet, host: &HostPlan) -> Attrs {
    let mut m = Attrs::new();
    if evaluates_rules(fleet, host) {
        vmalert::vmalert(&mut m, fleet);
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
/// Alertmanager; the store's host runs vmalert.
fn evaluates_rules(fleet: &Fleet, host: &HostPlan) -> bool {
    fleet.evaluates_alert_rules(host.name())
}

/// What `[alerts]` adds to one service's file: the node exporter's
/// textfile folder, Alertmanager's mail route, Gatus' mail alerting.
pub(crate) fn contribute(m: &mut Attrs, fleet: &Fleet, i: &Instance) {
    match i.entry.name.as_str() {
        "node-exporter" => textfile_collector(m),
        "alertmanager" => mail::alertmanager(m, fleet),
        "gatus" => mail::gatus(m, fleet),
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
