//! vmalert beside VictoriaMetrics, which evaluates no rules itself: the
//! rule file, the store as its data source, Alertmanager as its notifier;
//! the store scrapes it and the status page beside it checks it, so a
//! stopped evaluator is noticed.

use super::RULES_FILE;
use crate::fleet::VMALERT_PORT;
use crate::fleet::{Fleet, Instance, MetricsStore};
use crate::nix::{Attrs, Nix, set};
use crate::render::gatus::check_alerts;

/// The vmalert instance name (`vmalert-homelab.service`).
const VMALERT: &str = "homelab";

/// The instance: its rules, data source, notifier and listener.
pub(super) fn vmalert(m: &mut Attrs, fleet: &Fleet, vm: &Instance) {
    let (Some(store), Some(am)) = (
        vm.local_endpoint(),
        fleet
            .instance_of("alertmanager")
            .and_then(Instance::local_endpoint),
    ) else {
        return;
    };
    let at = ["services", "vmalert", "instances", VMALERT];
    set(m, &[at[0], at[1], at[2], at[3], "enable"], true);
    let settings = |key: &'static str| [at[0], at[1], at[2], at[3], "settings", key];
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
    if let Some(url) = vm.url() {
        set(m, &settings("external.url"), url);
        set(
            m,
            &["services", "victoriametrics", "extraOptions"],
            Nix::strs([format!("-vmalert.proxyURL=http://127.0.0.1:{VMALERT_PORT}")]),
        );
    }
    scraped(m, vm);
    checked(m, fleet, vm);
}

/// The store scrapes vmalert too: a stopped evaluator is a target down.
fn scraped(m: &mut Attrs, vm: &Instance) {
    crate::render::scrape::scrape_job(
        m,
        MetricsStore::VictoriaMetrics,
        &format!("vmalert-{VMALERT}"),
        format!("127.0.0.1:{VMALERT_PORT}"),
        "/metrics",
        Some(&vm.host),
    );
}

/// The status page beside it checks vmalert too, and mails on its own
/// when the evaluator itself has stopped (vmalert listens on loopback, so
/// only a status page on its host can).
fn checked(m: &mut Attrs, fleet: &Fleet, vm: &Instance) {
    if fleet.host_of("gatus") != Some(vm.host.as_str()) {
        return;
    }
    let mut check = Attrs::new();
    check.insert("name".into(), Nix::str(format!("vmalert-{VMALERT}")));
    check.insert("group".into(), Nix::str("Monitoring"));
    check.insert(
        "url".into(),
        Nix::str(format!("http://127.0.0.1:{VMALERT_PORT}/health")),
    );
    check.insert("interval".into(), Nix::str("1m"));
    check.insert("conditions".into(), Nix::strs(["[STATUS] == 200"]));
    if let Some(alerts) = check_alerts(fleet) {
        check.insert("alerts".into(), alerts);
    }
    if let Some(ui) = crate::render::gatus::check_ui(fleet) {
        check.insert("ui".into(), ui);
    }
    set(
        m,
        &["services", "gatus", "settings", "endpoints"],
        Nix::list([Nix::Attrs(check)]),
    );
}
