//! Prometheus evaluates the alert rules itself: the rule file, and
//! Alertmanager as where it sends what fires. No daemon beside it: it
//! scrapes itself and the status page checks it like any service, so a
//! stopped evaluator is noticed.
//!
//! `ruleFiles` is a list of paths: the flake's file is copied into the
//! store, and the module runs `promtool check rules` on it when the system
//! is built (`checkConfig`, on by default), so a rule Prometheus would
//! reject fails the build, not the service.

use super::RULES_FILE;
use crate::fleet::{Fleet, Instance};
use crate::nix::{Attrs, Nix, set};

/// The rule file and the Alertmanager to send to, as Prometheus'
/// `alerting.alertmanagers` (the module passes the list through as it is).
pub(super) fn prometheus(m: &mut Attrs, fleet: &Fleet) {
    let Some(am) = fleet
        .instance_of("alertmanager")
        .and_then(Instance::local_endpoint)
    else {
        return;
    };
    set(
        m,
        &["services", "prometheus", "ruleFiles"],
        Nix::list([Nix::Path(format!("./{RULES_FILE}"))]),
    );
    let mut targets = Attrs::new();
    targets.insert(
        "targets".into(),
        Nix::strs([am.trim_start_matches("http://")]),
    );
    let mut alertmanager = Attrs::new();
    alertmanager.insert("static_configs".into(), Nix::list([Nix::Attrs(targets)]));
    set(
        m,
        &["services", "prometheus", "alertmanagers"],
        Nix::list([Nix::Attrs(alertmanager)]),
    );
}
