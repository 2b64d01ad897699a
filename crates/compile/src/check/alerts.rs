//! `[alerts]` and the services that raise and send alerts: metric alerts
//! need the metrics store and Alertmanager, status-page alerts Gatus; an
//! Alertmanager without `[alerts]` has nowhere to send.

use crate::diagnostic::Diagnostic;
use crate::fleet::Fleet;

/// `[alerts]` with a metrics store but no Alertmanager: rules would fire
/// into nothing.
pub(crate) fn alerts_have_alertmanager(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let (Some(a), Some((_, store))) = (&fleet.alerts, fleet.metrics_store()) else {
        return;
    };
    if fleet.instance_of("alertmanager").is_some() {
        return;
    }
    out.push(
        Diagnostic::error(
            "alerts-without-alertmanager",
            "metric alerts need Alertmanager to send their mail",
        )
        .at(a.span.clone(), "alerts are mailed from here")
        .also(
            store.name.span.clone(),
            "the metrics store the rules run against",
        )
        .help(format!(
            "add `alertmanager = {{ host = \"{}\" }}` under `[services]`",
            store.host
        )),
    );
}

/// `[alerts]` in a fleet with neither a metrics store nor a status page:
/// nothing would ever raise an alert.
pub(crate) fn alerts_are_raised(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    let Some(a) = &fleet.alerts else { return };
    if fleet.metrics_store().is_some() || fleet.instance_of("gatus").is_some() {
        return;
    }
    out.push(
        Diagnostic::error("alerts-unwatched", "nothing in the fleet raises an alert")
            .at(a.span.clone(), "no metrics store and no status page to watch the fleet")
            .help("add a metrics store (`prometheus` or `victoriametrics`), `node-exporter` and `alertmanager` for metric alerts, and `gatus` for the status page's"),
    );
}

/// Alertmanager placed without `[alerts]`: its one receiver has no
/// address.
pub(crate) fn alertmanager_has_receiver(fleet: &Fleet, out: &mut Vec<Diagnostic>) {
    if fleet.alerts.is_some() {
        return;
    }
    let Some(am) = fleet.instance_of("alertmanager") else {
        return;
    };
    out.push(
        Diagnostic::warning(
            "alertmanager-without-alerts",
            "Alertmanager has nowhere to send alerts",
        )
        .at(am.name.span.clone(), "its receiver has no address")
        .help("add `[alerts]` with `email` and an `[alerts.smtp]` relay (see docs/alerts.md), or remove the service"),
    );
}
